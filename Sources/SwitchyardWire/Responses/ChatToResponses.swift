/// OpenAI chat answers rendered as Responses answers, for a client of the Responses front served
/// by the local engine, an OpenAI-compatible chat target, or an Anthropic target (whose provider
/// answers a request without an Anthropic body in chat form).
public enum ResponsesAnswer {
    /// A `chat.completion` as a `response` object. Tolerant: a field missing or of the wrong type
    /// reads as absent, since the completion is an upstream's and unchecked.
    ///
    /// Output: one assistant `message` item with an `output_text` part (and a `refusal` part when
    /// the model refused), then one `function_call` item per tool call; an answer with nothing in
    /// it has no items, as OpenAI's own may. A `length` finish is `incomplete` with
    /// `incomplete_details.reason` `max_output_tokens` (`content_filter` likewise); the items of an
    /// incomplete answer are `incomplete` too.
    public static func response(from completion: JSONObject, envelope: ResponseEnvelope) -> JSONObject {
        let choice = completion["choices"]?.arrayValue?.first
        let answer = choice?["message"]
        let status = ResponseEnvelope.Status.of(finishReason: choice?["finish_reason"]?.stringValue)
        var output: [JSON] = []
        var parts: [JSON] = []
        let text = AnthropicMessages.text(answer?["content"])
        if !text.isEmpty { parts.append(ResponseEnvelope.textPart(text)) }
        if let refusal = answer?["refusal"]?.stringValue, !refusal.isEmpty { parts.append(ResponseEnvelope.refusalPart(refusal)) }
        if !parts.isEmpty { output.append(envelope.message(index: 0, parts: parts, status: status.itemStatus)) }
        for call in answer?["tool_calls"]?.arrayValue ?? [] {
            guard let function = call["function"], let name = function["name"]?.stringValue else { continue }
            output.append(envelope.functionCall(index: output.count, callID: call["id"]?.stringValue, name: name,
                                                arguments: function["arguments"]?.stringValue ?? "", status: status.itemStatus))
        }
        let usage = ResponseEnvelope.usage(TokenUsage(openAI: completion["usage"]), details: completion["usage"])
        return envelope.response(status: status, output: output, usage: usage)
    }
}
