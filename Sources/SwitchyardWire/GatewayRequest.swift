/// A request as the router and the providers see it, whichever front end it came through.
public struct GatewayRequest: Sendable {
    /// What routing decides on.
    public var summary: RequestSummary
    /// The request in OpenAI chat form: what the local engine and OpenAI-compatible targets are
    /// sent (the client's own body from the OpenAI front, a translation from the others).
    public var chat: ChatRequest
    /// The client's Anthropic Messages body when it came in that format: an Anthropic target is
    /// sent it as it is but for the model, so nothing is lost on a round trip through `chat`.
    public var messages: MessagesRequest?
    /// The client's `anthropic-beta` features (checked to be feature names, so the header carries
    /// nothing else to an upstream), sent on with `messages`.
    public var anthropicBeta: String?
    /// The client's Responses request when it came in that format, and the whole conversation it
    /// makes (the continued response's items first): what the answer is built from and stored.
    public var responses: ResponsesCall?

    /// A request from the OpenAI front.
    public init(_ chat: ChatRequest) {
        summary = chat.summary
        self.chat = chat
        messages = nil
    }

    /// A request from the Anthropic front.
    public init(_ messages: MessagesRequest, chat: ChatRequest, anthropicBeta: String? = nil) {
        summary = messages.summary
        self.chat = chat
        self.messages = messages
        self.anthropicBeta = anthropicBeta
    }

    /// A request from the Responses front: served in its chat form by every target.
    public init(_ call: ResponsesCall) {
        summary = call.conversation.summary
        chat = call.conversation.chat
        messages = nil
        responses = call
    }
}

/// A Responses request as the gateway serves it: the client's request (its settings, echoed in
/// the answer) and the conversation it makes.
public struct ResponsesCall: Sendable {
    public let request: ResponsesRequest
    public let conversation: ResponsesConversation

    public init(request: ResponsesRequest, conversation: ResponsesConversation) {
        self.request = request
        self.conversation = conversation
    }
}

extension JSONObject {
    /// A request body: one JSON document (a repeated key refused with its path) that is an object;
    /// every failure a 400 in the gateway's terms, which each front renders in its own shape.
    public static func requestBody(_ bytes: some Collection<UInt8>) throws(GatewayError) -> JSONObject {
        let json: JSON
        do {
            json = try JSON.parse(bytes)
        } catch {
            throw GatewayError(jsonError: error)
        }
        guard case .object(let body) = json else {
            throw .invalidRequest("The request body must be a JSON object, not \(json.typeName).")
        }
        return body
    }
}
