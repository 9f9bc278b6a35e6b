/// A validated Anthropic `POST /v1/messages` (or `/v1/messages/count_tokens`) body.
///
/// The gateway checks what it translates and routes on, as Anthropic would, so a bad request is
/// refused with a 400 naming the field before any upstream is tried; everything else in `body`
/// (cache_control, server tools, future fields) is kept as received for an Anthropic target.
public struct MessagesRequest: Sendable {
    /// The request exactly as received (keys in order).
    public var body: JSONObject
    public let model: String
    /// 0 for a token count, which takes no `max_tokens`.
    public let maxTokens: Int
    public let stream: Bool
    /// `system` as one text (a string, or its text blocks joined by newlines).
    let system: String
    /// What routing reads of it (sized once parsed from bytes).
    public private(set) var summary: RequestSummary

    /// Parses and validates; every failure names the offending field as Anthropic does.
    public static func parse(_ bytes: some Collection<UInt8>, countingTokens: Bool = false) throws(GatewayError) -> MessagesRequest {
        let json: JSON
        do {
            json = try JSON.parse(bytes)
        } catch {
            var error = error
            error.path = dotted(error.path)
            throw GatewayError(jsonError: error)
        }
        guard case .object(let body) = json else {
            throw .invalidRequest("The request body must be a JSON object, not \(json.typeName).")
        }
        var request = try MessagesRequest(body: body, countingTokens: countingTokens)
        request.summary.sizeInBytes = bytes.count
        return request
    }

    /// The parser's `messages[0].role` in Anthropic's `messages.0.role` form, so that a repeated
    /// key is named the way every other error of this front names its field.
    static func dotted(_ path: String) -> String {
        var out = ""
        for character in path {
            switch character {
            case "[": if !out.isEmpty { out.append(".") }
            case "]": break
            default: out.append(character)
            }
        }
        return out
    }

    /// `countingTokens`: the body of a count_tokens call, where `max_tokens` is not required.
    public init(body: JSONObject, countingTokens: Bool = false) throws(GatewayError) {
        self.body = body
        let fields = FieldReader(body)
        model = try fields.requiredString("model")
        let maxTokens = try fields.int("max_tokens", minimum: 1)
        if maxTokens == nil, !countingTokens { throw fields.missing("max_tokens") }
        self.maxTokens = maxTokens ?? 0

        guard let items = try fields.array("messages") else { throw fields.missing("messages") }
        guard !items.isEmpty else { throw .invalidRequest("'messages' must contain at least one message.", param: "messages") }
        var turns: [RequestSummary.Turn] = []
        system = try Self.systemText(fields)
        if !system.isEmpty { turns.append(RequestSummary.Turn(role: .system, text: system)) }
        for (index, item) in items.enumerated() {
            let message = try FieldReader.element(item, path: "messages.\(index)")
            let role = try message.requiredChoice("role", of: MessagesContent.roles)
            let reading = try MessagesContent.read(message.present("content"), path: message.path("content"), role: role)
            // A user turn that only returns tool results is the OpenAI front's `tool` message:
            // the same conversation reads the same to routing whichever front it came through.
            let turnRole: RequestSummary.Role = role == "assistant" ? .assistant
                : (reading.toolResults > 0 && reading.otherBlocks == 0 ? .tool : .user)
            turns.append(RequestSummary.Turn(role: turnRole, text: reading.texts.joined(separator: "\n"), hasImages: reading.hasImages))
        }

        _ = try fields.double("temperature", range: 0...1)
        _ = try fields.double("top_p", range: 0...1)
        _ = try fields.int("top_k", minimum: 0)
        try Self.checkStopSequences(fields)
        stream = try fields.bool("stream") ?? false
        let hasTools = try Self.checkTools(fields)
        try Self.checkToolChoice(fields)
        if let metadata = try fields.object("metadata") {
            _ = try FieldReader(metadata, path: "metadata").string("user_id")
        }
        try Self.checkThinking(fields)

        summary = RequestSummary(model: model, turns: turns, hasTools: hasTools, maxTokens: countingTokens ? nil : maxTokens,
                                 stream: stream, sizeInBytes: 0, body: body)
    }

    /// The system prompt's text: a string, or text blocks joined by newlines.
    static func systemText(_ fields: FieldReader) throws(GatewayError) -> String {
        switch fields.present("system") {
        case nil:
            return ""
        case .string(let s)?:
            return s
        case .array(let blocks)?:
            var texts: [String] = []
            for (index, block) in blocks.enumerated() {
                let part = try FieldReader.element(block, path: "system.\(index)")
                _ = try part.requiredChoice("type", of: ["text"])
                texts.append(try part.requiredString("text"))
            }
            return texts.joined(separator: "\n")
        case let other?:
            throw .invalidRequest("'system' must be a string or an array of text blocks, not \(other.typeName).", param: "system")
        }
    }

    /// The most stop sequences an OpenAI-compatible target accepts; Anthropic takes more, but a
    /// request the gateway may route to either must fit both.
    static let maxStopSequences = 4

    static func checkStopSequences(_ fields: FieldReader) throws(GatewayError) {
        guard let sequences = try fields.array("stop_sequences") else { return }
        for (index, sequence) in sequences.enumerated() where sequence.stringValue == nil {
            throw .invalidRequest("'stop_sequences.\(index)' must be a string, not \(sequence.typeName).", param: "stop_sequences.\(index)")
        }
        guard sequences.count <= maxStopSequences else {
            throw .invalidRequest("'stop_sequences' has \(sequences.count) entries; this gateway accepts at most \(maxStopSequences), "
                                  + "the most an OpenAI-compatible target takes.", param: "stop_sequences")
        }
    }

    /// Returns whether any tool is declared.
    static func checkTools(_ fields: FieldReader) throws(GatewayError) -> Bool {
        guard let tools = try fields.array("tools") else { return false }
        for (index, item) in tools.enumerated() {
            let tool = try FieldReader.element(item, path: "tools.\(index)")
            _ = try tool.requiredString("name")
            // Server tools (web search, code execution, …) have a versioned type and no schema.
            let type = try tool.string("type") ?? "custom"
            if type == "custom" { _ = try tool.requiredObject("input_schema") }
        }
        return !tools.isEmpty
    }

    static func checkToolChoice(_ fields: FieldReader) throws(GatewayError) {
        guard let choice = try fields.object("tool_choice") else { return }
        let choiceFields = FieldReader(choice, path: "tool_choice")
        if try choiceFields.requiredChoice("type", of: ["auto", "any", "tool", "none"]) == "tool" {
            _ = try choiceFields.requiredString("name")
        }
        _ = try choiceFields.bool("disable_parallel_tool_use")
    }

    static func checkThinking(_ fields: FieldReader) throws(GatewayError) {
        guard let thinking = try fields.object("thinking") else { return }
        let thinkingFields = FieldReader(thinking, path: "thinking")
        // Anthropic also wants budget_tokens < max_tokens; that rule is its own to enforce.
        if try thinkingFields.requiredChoice("type", of: ["enabled", "disabled", "adaptive"]) == "enabled" {
            guard try thinkingFields.int("budget_tokens", minimum: 1024) != nil else { throw thinkingFields.missing("budget_tokens") }
        }
    }
}
