import SwitchyardWire

/// The text of an answer, of any format (an OpenAI completion's first choice, an Anthropic
/// message's text blocks, a Responses response's text parts), cut to `limit` characters: what a judge compares, never stored.
public enum AnswerText {
    /// The most a judged answer keeps: a judge compares short answers, and what it holds is memory.
    public static let limit = 16_384

    public static func of(_ body: JSONObject, limit: Int = limit) -> String {
        var text = ""
        if let message = body["choices"]?.arrayValue?.first?["message"] {
            text = message["content"]?.stringValue ?? ""
        } else if let output = body["output"]?.arrayValue {
            // A Responses `response`: its messages' text parts.
            for item in output where item["type"] == .string("message") {
                for part in item["content"]?.arrayValue ?? [] where part["type"] == .string("output_text") {
                    text += part["text"]?.stringValue ?? ""
                }
            }
        } else {
            for block in body["content"]?.arrayValue ?? [] where block["type"] == .string("text") {
                text += block["text"]?.stringValue ?? ""
            }
        }
        return String(text.prefix(limit))
    }

    /// The text one stream chunk adds, of any format (`choices[0].delta.content`, an Anthropic
    /// `content_block_delta`'s `delta.text`, a Responses `response.output_text.delta`'s `delta`).
    public static func ofChunk(_ chunk: JSONObject) -> String {
        if let delta = chunk["choices"]?.arrayValue?.first?["delta"] { return delta["content"]?.stringValue ?? "" }
        switch chunk["type"]?.stringValue {
        case "content_block_delta": return chunk["delta"]?["text"]?.stringValue ?? ""
        case "response.output_text.delta": return chunk["delta"]?.stringValue ?? ""
        default: return ""
        }
    }
}

/// A stream's text as it passes, up to `AnswerText.limit` characters.
public struct StreamText: Sendable {
    public private(set) var text = ""
    /// More arrived than was kept: the text is only the answer's start.
    public private(set) var truncated = false
    private var characters = 0

    public init() {}

    public mutating func add(_ chunk: JSONObject) {
        let piece = AnswerText.ofChunk(chunk)
        guard !piece.isEmpty, !truncated else { return }
        let room = AnswerText.limit - characters
        let count = piece.count
        if count > room {
            text += piece.prefix(room)
            characters = AnswerText.limit
            truncated = true
        } else {
            text += piece
            characters += count
        }
    }
}
