import SwitchyardPolicy
import SwitchyardWire

/// One upstream kind behind a common face: the router hands every provider an OpenAI-shaped
/// request and gets OpenAI-shaped answers back, whatever the provider speaks on the wire.
public protocol Provider: Sendable {
    var target: ModelTarget { get }

    /// Whether a request could be sent now; checked by the router before it picks this target.
    var availability: ProviderAvailability { get }

    /// A whole completion.
    func complete(_ request: ChatRequest, context: ProviderContext) async throws(ProviderError) -> Completion

    /// A streamed completion. Returns once the upstream has accepted the request (2xx head),
    /// so a failure before that can still be answered another way.
    func stream(_ request: ChatRequest, context: ProviderContext) async throws(ProviderError) -> CompletionStream
}

public enum ProviderAvailability: Sendable, Equatable {
    case available
    /// Missing configuration (an API key): it will not work until an operator acts.
    case unconfigured(String)
    /// Temporarily unable (the local engine is starting or restarting).
    case unavailable(String, retryAfterSeconds: Int)
}

/// Per-request facts a provider needs besides the request itself.
public struct ProviderContext: Sendable {
    public var requestID: String
    public init(requestID: String) { self.requestID = requestID }
}

/// An OpenAI `chat.completion` object and the usage read from it.
public struct Completion: Sendable {
    public var body: JSONObject
    public var usage: TokenUsage?

    public init(body: JSONObject) {
        self.body = body
        usage = TokenUsage(openAI: body["usage"])
    }
}

/// OpenAI `chat.completion.chunk` objects, translated from whatever the upstream streams,
/// usage included (the server forwards it only to clients that asked for it).
/// Ends normally only after the upstream's own end marker; a stream cut short throws
/// `ProviderError.truncated`, so a broken stream is never passed off as complete.
public struct CompletionStream: Sendable {
    public let chunks: any AsyncSequence<JSONObject, any Error> & Sendable
    public init(chunks: some AsyncSequence<JSONObject, any Error> & Sendable) { self.chunks = chunks }
}

public enum ProviderError: Error, Sendable, Equatable, CustomStringConvertible {
    case unavailable(String, retryAfterSeconds: Int)
    case unconfigured(String)
    /// The upstream could not be reached or the transfer failed.
    case transport(String, timeout: Bool)
    /// The upstream answered with an error status.
    case upstreamStatus(Int, message: String)
    /// The upstream answered 2xx with something that is not the expected format.
    case malformedResponse(String)
    /// The stream ended without its end marker.
    case truncated(String)

    public var description: String {
        switch self {
        case .unavailable(let detail, _): detail
        case .unconfigured(let detail): detail
        case .transport(let detail, _): detail
        case .upstreamStatus(let status, let message): "upstream answered \(status): \(message)"
        case .malformedResponse(let detail): "malformed upstream response: \(detail)"
        case .truncated(let detail): "upstream stream cut short: \(detail)"
        }
    }

    /// Whether another target may still be tried: the upstream did not reject the request itself.
    public var allowsFallback: Bool {
        switch self {
        case .unavailable, .unconfigured, .transport, .malformedResponse, .truncated: true
        case .upstreamStatus(let status, _): status == 408 || status == 429 || status >= 500
        }
    }

    /// How the gateway answers its client when no target is left.
    public var apiError: APIError {
        switch self {
        case .unavailable(let detail, let retry):
            return .engineUnavailable(detail, retryAfterSeconds: retry)
        case .unconfigured(let detail):
            return APIError(status: 503, type: "server_error", code: "target_unconfigured", message: detail)
        case .transport(let detail, let timeout):
            return .upstream("upstream unreachable: \(detail)", code: timeout ? "upstream_timeout" : "upstream_unreachable")
        case .upstreamStatus(let status, let message):
            switch status {
            case 400, 404, 413, 422:
                return .invalidRequest("upstream rejected the request: \(message)", code: "upstream_rejected")
            case 429:
                return APIError(status: 429, type: "rate_limit_error", code: "upstream_rate_limited", message: message, retryAfterSeconds: 1)
            default:
                return .upstream("upstream answered \(status): \(message)")
            }
        case .malformedResponse, .truncated:
            return .upstream(description)
        }
    }
}
