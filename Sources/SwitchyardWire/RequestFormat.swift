/// The wire formats a request can come in, for what reads a request without serving it:
/// explain, `policy test`, `policy explain`. Each gives the same `RequestSummary` its front does.
public enum RequestFormat: String, Sendable, CaseIterable {
    /// Chat completions (`/v1/chat/completions`).
    case openAI = "openai"
    /// Anthropic messages (`/v1/messages`).
    case anthropic
    /// OpenAI responses (`/v1/responses`), without `previous_response_id` (nothing is stored here).
    case responses

    /// The summary routing reads, or the 400 the front would answer.
    public func summary(of body: JSONObject) throws(GatewayError) -> RequestSummary {
        switch self {
        case .openAI: try ChatRequest(body: body).summary
        case .anthropic: try MessagesRequest(body: body).summary
        case .responses: try ResponsesRequest(body: body).conversation().summary
        }
    }
}
