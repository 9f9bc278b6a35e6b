// Shared by the harnesses of the fronts that encode chat streams (messages_request, responses_request).
import SwitchyardWire

/// A chat stream that answers with what some chat messages hold (the model repeating the
/// translated request): each message's text in pieces of `pieceLength` characters, each tool call
/// as an opening delta and two argument pieces, chat indices numbered across the whole stream, as
/// one answer's calls are. No finish chunk: the harness picks the finish reason.
struct FedChatStream {
    var chunks: [JSONObject] = []
    /// What was fed, for the "nothing lost" oracles.
    var texts: [String] = []
    var calls: [(id: String, name: String, arguments: String)] = []

    init(answering messages: [JSON], pieceLength: Int) {
        for message in messages {
            if let text = chatText(message["content"]), !text.isEmpty {
                texts.append(text)
                var rest = Substring(text)
                while !rest.isEmpty {
                    chunks.append(chatChunk(["content": .string(String(rest.prefix(pieceLength)))]))
                    rest = rest.dropFirst(pieceLength)
                }
            }
            for call in message["tool_calls"]?.arrayValue ?? [] {
                let id = call["id"]?.stringValue ?? "call"
                let name = call["function"]?["name"]?.stringValue ?? "tool"
                let arguments = call["function"]?["arguments"]?.stringValue ?? "{}"
                let index = calls.count
                calls.append((id, name, arguments))
                chunks.append(chatChunk(["tool_calls": .array([.object([
                    "index": .int(index), "id": .string(id), "type": .string("function"),
                    "function": .object(["name": .string(name), "arguments": .string("")]),
                ])])]))
                let half = arguments.index(arguments.startIndex, offsetBy: arguments.count / 2)
                for piece in [arguments[..<half], arguments[half...]] where !piece.isEmpty {
                    chunks.append(chatChunk(["tool_calls": .array([.object(["index": .int(index), "function": .object(["arguments": .string(String(piece))])])])]))
                }
            }
        }
    }
}

/// The text the encoders read from a chat message's content (a string, or its text parts).
func chatText(_ content: JSON?) -> String? {
    switch content {
    case .string(let s)?: s
    case .array(let parts)?: parts.compactMap { $0["type"]?.stringValue == "text" ? $0["text"]?.stringValue : nil }.joined()
    default: nil
    }
}

func chatChunk(_ delta: JSONObject, finishReason: String? = nil) -> JSONObject {
    [
        "id": .string("chatcmpl-fuzz"), "object": .string("chat.completion.chunk"),
        "choices": .array([.object(["index": .int(0), "delta": .object(delta), "finish_reason": finishReason.map(JSON.string) ?? .null])]),
    ]
}
