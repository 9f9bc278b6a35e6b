import SwitchyardWire

/// The usage a stream reports, read from its elements as they pass: an OpenAI stream's usage
/// chunk; an Anthropic stream's input in `message_start` and output in `message_delta`.
public struct StreamUsage: Sendable {
    public private(set) var usage: TokenUsage?
    private var anthropicStart: JSON?

    public init() {}

    /// Reads one element; true when it reported (or completed) the usage.
    public mutating func read(_ element: JSONObject, format: AnswerFormat) -> Bool {
        switch format {
        case .openAI:
            guard let reported = TokenUsage(openAI: element["usage"]) else { return false }
            usage = reported
            return true
        case .responses:
            // The final response, with its usage, ends a Responses stream.
            guard let type = element["type"]?.stringValue, ResponsesPassThrough.terminalEvents.contains(type),
                  let reported = TokenUsage(responses: element["response"]?["usage"]) else { return false }
            usage = reported
            return true
        case .anthropic:
            switch element["type"]?.stringValue {
            case "message_start":
                anthropicStart = element["message"]?["usage"]
                return false
            case "message_delta":
                // The final counts. They are cumulative: a field absent here, or smaller than in
                // `message_start` (a server that sends 0 for what it reported there), is taken
                // from `message_start`, so a cached prompt is never charged as none.
                guard case .object(var counts)? = element["usage"] else { return false }
                if case .object(let start)? = anthropicStart {
                    for field in start.fields {
                        let later = counts[field.key]
                        let smaller = later?.tokenCount.flatMap { later in field.value.tokenCount.map { later < $0 } } ?? false
                        if later == nil || later == .null || smaller { counts[field.key] = field.value }
                    }
                }
                guard let reported = TokenUsage(anthropic: .object(counts)) else { return false }
                usage = reported
                return true
            default:
                return false
            }
        }
    }
}
