import SwitchyardWire

/// The text of an answer, of either format (an OpenAI completion's first choice, an Anthropic
/// message's text blocks), cut to `limit` characters: what a judge compares, never stored.
public enum AnswerText {
    /// The most a judged answer keeps: a judge compares short answers, and what it holds is memory.
    public static let limit = 16_384

    public static func of(_ body: JSONObject, limit: Int = limit) -> String {
        var text = ""
        if let message = body["choices"]?.arrayValue?.first?["message"] {
            text = message["content"]?.stringValue ?? ""
        } else {
            for block in body["content"]?.arrayValue ?? [] where block["type"] == .string("text") {
                text += block["text"]?.stringValue ?? ""
            }
        }
        return String(text.prefix(limit))
    }

    /// The text one stream chunk adds, of either format (`choices[0].delta.content`, or an
    /// Anthropic `content_block_delta`'s `delta.text`).
    public static func ofChunk(_ chunk: JSONObject) -> String {
        if let delta = chunk["choices"]?.arrayValue?.first?["delta"] { return delta["content"]?.stringValue ?? "" }
        if chunk["type"] == .string("content_block_delta") { return chunk["delta"]?["text"]?.stringValue ?? "" }
        return ""
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
