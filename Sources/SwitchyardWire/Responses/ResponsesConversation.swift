/// A Responses request as the gateway routes and serves it: the whole conversation, the stored
/// items of the response it continues (`previous_response_id`) first, then its own input. A
/// continuation is routed as the whole conversation it makes, so a private-data turn stored
/// earlier keeps it on the box as it kept the first request.
public struct ResponsesConversation: Sendable {
    /// The request as one self-contained Responses body: the client's body with `input` holding the
    /// earlier items and then its own, and no `previous_response_id` (the client's body as received
    /// when it continues nothing). What the private-data scan reads, and what an OpenAI Responses
    /// target would be sent.
    public let body: JSONObject
    /// The earlier items and then the request's own input (a string input as a user message): what
    /// a stored response keeps, with its output, for the next continuation.
    public let items: [JSON]
    /// What routing reads: the turns of `chat` (so the same conversation sent through any front
    /// reads the same), the request's tools, output cap and `stream`, and `body`.
    public let summary: RequestSummary
    /// The conversation in OpenAI chat form, for the local engine and chat targets
    /// (`ResponsesToChat`).
    public let chat: ChatRequest
    /// What `chat` could not carry, sorted, each kind once (`ResponsesToChat`): for
    /// `x-switchyard-dropped` on an answer served from it.
    public let untranslatable: [String]
}

extension ResponsesRequest {
    /// The conversation this request makes after `earlier`, the items of the response it continues
    /// (that response's own `items` and its output items), as the server found them for
    /// `previous_response_id`; none when it continues nothing. Earlier items are the gateway's
    /// records, not the client's bytes, so they are not checked again: the translation reads them
    /// tolerantly and names what it cannot carry.
    ///
    /// Fails only when the conversation holds no item at all (a continuation of nothing).
    public func conversation(continuing earlier: [JSON] = []) throws(GatewayError) -> ResponsesConversation {
        let items = earlier + inputItems
        guard !items.isEmpty else {
            throw .invalidRequest("The conversation is empty: 'input' has no items and the earlier response none either.", param: "input")
        }
        var whole = body
        var size = sizeInBytes
        if !earlier.isEmpty || previousResponseID != nil {
            whole["previous_response_id"] = nil
            whole["input"] = .array(items)
            size = whole.serialized().count
        }
        let translation = ResponsesToChat(request: self, items: items)
        let chat = try ChatRequest(body: translation.body)
        let hasTools = !(body["tools"]?.arrayValue?.isEmpty ?? true)
        let summary = RequestSummary(model: model, turns: chat.summary.turns, hasTools: hasTools, maxTokens: maxOutputTokens,
                                     stream: stream, sizeInBytes: size, body: whole)
        return ResponsesConversation(body: whole, items: items, summary: summary, chat: chat, untranslatable: translation.dropped.sorted())
    }
}
