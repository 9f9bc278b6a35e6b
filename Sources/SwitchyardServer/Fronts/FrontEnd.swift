import HTTPTypes
import Hummingbird
import SwitchyardWire

/// The wire formats clients speak to the gateway. Each renders the gateway's errors its own way,
/// so a client's SDK raises the exception it knows.
enum FrontEnd: String, Sendable, CaseIterable {
    /// The raw value names the front in logs and metrics.
    case openAI = "openai"
    case anthropic
    /// OpenAI's Responses API: OpenAI's error shape, counted apart.
    case responses

    /// The front a path belongs to: Anthropic's Messages API under `/v1/messages`, Responses under
    /// `/v1/responses`, OpenAI's chat for everything else (the gateway's own endpoints answer
    /// errors in OpenAI's shape).
    init(path: String) {
        func under(_ route: String) -> Bool { path == route || path.hasPrefix(route + "/") }
        self = under("/v1/messages") ? .anthropic : under("/v1/responses") ? .responses : .openAI
    }

    /// The path of its model requests.
    var route: String {
        switch self {
        case .openAI: "/v1/chat/completions"
        case .anthropic: "/v1/messages"
        case .responses: "/v1/responses"
        }
    }

    /// The name of a model request's span (the HTTP conventions': method and route).
    var spanName: String { "POST " + route }

    func body(_ error: GatewayError) -> JSON {
        switch self {
        case .openAI, .responses: error.openAIBody
        case .anthropic: error.anthropicBody
        }
    }

    func errorResponse(_ error: GatewayError, headers: HTTPFields = [:]) -> Response {
        var headers = headers
        headers[.contentType] = "application/json"
        if let retry = error.retryAfterSeconds { headers[.retryAfter] = String(retry) }
        if error.status == 413 { headers[.connection] = "close" }
        headers.append(error.headers)
        return Response(status: .init(code: error.httpStatus), headers: headers,
                        body: .init(byteBuffer: ByteBuffer(bytes: body(error).serialized())))
    }
}
