/// OpenAI chat answers rendered as Anthropic Messages answers, for a client of the Anthropic
/// front served by the local engine or an OpenAI-compatible cloud.
public enum AnthropicMessages {
    /// An OpenAI `chat.completion` as an Anthropic `message`. Tolerant: a field missing or of
    /// the wrong type reads as absent, since the completion is an upstream's and unchecked.
    ///
    /// Tool-call arguments that are not a JSON object become `{}`, as the provider's opposite
    /// translation does: `input` must be an object, and an invented key (`{"_raw": …}`) could
    /// be taken by a lenient tool as a real argument, while `{}` fails the tool's own schema
    /// check (its required fields) visibly.
    public static func message(from completion: JSONObject, id: String, model: String) -> JSONObject {
        let choice = completion["choices"]?.arrayValue?.first
        let answer = choice?["message"]
        let text = Self.text(answer?["content"])
        var content: [JSON] = []
        var toolUses: [JSON] = []
        for call in answer?["tool_calls"]?.arrayValue ?? [] {
            guard let function = call["function"], let name = function["name"]?.stringValue else { continue }
            toolUses.append(.object([
                "type": .string("tool_use"),
                "id": .string(call["id"]?.stringValue ?? "toolu_\(id)_\(toolUses.count)"),
                "name": .string(name),
                "input": .object(input(fromArguments: function["arguments"]?.stringValue)),
            ]))
        }
        // Content is never empty: an answer with nothing in it is one empty text block.
        if !text.isEmpty || toolUses.isEmpty { content.append(.object(["type": .string("text"), "text": .string(text)])) }
        content += toolUses
        let reason = stopReason(finishReason: choice?["finish_reason"]?.stringValue, calledTools: !toolUses.isEmpty)
        let usage = TokenUsage(openAI: completion["usage"])
        return [
            "id": .string(id),
            "type": .string("message"),
            "role": .string("assistant"),
            "model": .string(model),
            "content": .array(content),
            "stop_reason": .string(reason),
            "stop_sequence": .null,
            "usage": .object([
                "input_tokens": .int(usage?.promptTokens ?? 0),
                "output_tokens": .int(usage?.completionTokens ?? 0),
            ]),
        ]
    }

    /// OpenAI's `finish_reason` as Anthropic's `stop_reason`. `stop` cannot tell a stop sequence
    /// from a natural end, so it is `end_turn`; unknown reasons are too. Some OpenAI-compatible
    /// servers say `stop` after tool calls, and Anthropic clients loop on `tool_use`: an answer that
    /// `calledTools` is announced as such whatever its finish reason says.
    public static func stopReason(finishReason: String?, calledTools: Bool = false) -> String {
        switch finishReason {
        case "length": "max_tokens"
        case "tool_calls", "function_call": "tool_use"
        case "content_filter": "refusal"
        default: calledTools ? "tool_use" : "end_turn"
        }
    }

    /// The arguments string as a tool's `input` object; `{}` when empty or not an object.
    static func input(fromArguments arguments: String?) -> JSONObject {
        guard let arguments, let parsed = try? JSON.parse(arguments), let object = parsed.objectValue else { return [:] }
        return object
    }

    /// A message's content as text: a string, or the text of an array of parts.
    static func text(_ content: JSON?) -> String {
        switch content {
        case .string(let s)?: s
        case .array(let parts)?: parts.compactMap { $0["type"]?.stringValue == "text" ? $0["text"]?.stringValue : nil }.joined()
        default: ""
        }
    }
}
