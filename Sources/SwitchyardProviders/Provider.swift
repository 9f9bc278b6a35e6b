import SwitchyardPolicy
import SwitchyardWire

/// One upstream kind behind a common face. The router hands every provider the gateway's request
/// (its OpenAI chat form, and the client's Anthropic body when it came in that format) and gets
/// answers in OpenAI's shape, or in Anthropic's when an Anthropic upstream answers an Anthropic
/// request as it is (`AnswerFormat`): the front end renders either for its client.
public protocol Provider: Sendable {
    var target: ModelTarget { get }

    /// Whether a request could be sent now; checked by the router before it picks this target.
    var availability: ProviderAvailability { get }

    /// A whole completion.
    func complete(_ request: GatewayRequest, context: ProviderContext) async throws(ProviderError) -> Completion

    /// A streamed completion. Returns once the upstream has accepted the request (2xx head),
    /// so a failure before that can still be answered another way.
    func stream(_ request: GatewayRequest, context: ProviderContext) async throws(ProviderError) -> CompletionStream
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
    /// Headers that continue the request's trace upstream (`traceparent`, `tracestate`): the
    /// attempt's span's, when the gateway traces; none otherwise.
    public var traceHeaders: [(name: String, value: String)] = []

    public init(requestID: String) { self.requestID = requestID }

    /// `headers` and the trace's, without a copy when there are none.
    func withTraceHeaders(_ headers: [(name: String, value: String)]) -> [(name: String, value: String)] {
        traceHeaders.isEmpty ? headers : headers + traceHeaders
    }
}

/// The shape of a provider's answer.
public enum AnswerFormat: Sendable {
    /// `chat.completion` objects and `chat.completion.chunk`s (every translation's common form).
    case openAI
    /// An Anthropic message and its stream events' data, exactly as an Anthropic upstream sent them.
    case anthropic
    /// A Responses `response` object and its stream events' data, as an OpenAI Responses upstream
    /// sent them (only for a request from the Responses front, passed through).
    case responses
}

/// A whole answer and the usage read from it.
public struct Completion: Sendable {
    public var format: AnswerFormat
    public var body: JSONObject
    public var usage: TokenUsage?

    /// An OpenAI `chat.completion`.
    public init(body: JSONObject) {
        format = .openAI
        self.body = body
        usage = TokenUsage(openAI: body["usage"])
    }

    /// A Responses `response` object, as its upstream sent it.
    public init(response: JSONObject) {
        format = .responses
        body = response
        usage = TokenUsage(responses: response["usage"])
    }

    /// An Anthropic message, as its upstream sent it.
    public init(anthropicMessage: JSONObject) {
        format = .anthropic
        body = anthropicMessage
        usage = TokenUsage(anthropic: anthropicMessage["usage"])
    }
}

/// Stream elements in the stream's `format`: OpenAI `chat.completion.chunk` objects, translated
/// from whatever the upstream streams, usage included (the server forwards it only to clients
/// that asked for it); or, passed through, the data of an Anthropic upstream's events.
/// Ends normally only after the upstream's own end marker; a stream cut short throws
/// `ProviderError.truncated`, so a broken stream is never passed off as complete.
public struct CompletionStream: Sendable {
    public let chunks: any AsyncSequence<JSONObject, any Error> & Sendable
    public var format: AnswerFormat
    /// What must live as long as the stream is being written (the target's admission permit):
    /// released with the stream, whether it finishes, breaks or is dropped.
    public var retained: [any AnyObject & Sendable] = []

    public init(chunks: some AsyncSequence<JSONObject, any Error> & Sendable, format: AnswerFormat = .openAI,
                retained: [any AnyObject & Sendable] = []) {
        self.chunks = chunks
        self.format = format
        self.retained = retained
    }
}

public enum ProviderError: Error, Sendable, Equatable, CustomStringConvertible {
    case unavailable(String, retryAfterSeconds: Int)
    case unconfigured(String)
    /// The upstream could not be reached (DNS, connection refused): it never saw the request.
    case unreachable(String)
    /// The transfer failed or timed out after the request was sent.
    case transport(String, timeout: Bool)
    /// The upstream answered with an error status (and, for 429 and 503, when to come back).
    case upstreamStatus(Int, message: String, retryAfterSeconds: Int? = nil)
    /// The upstream answered 2xx with something that is not the expected format.
    case malformedResponse(String)
    /// The stream ended without its end marker.
    case truncated(String)
    /// A whole answer larger than the target's `max_response_bytes`; its transfer was aborted.
    case responseTooLarge(limit: Int)
    /// The target's concurrency limit and queue are full, or the queue wait timed out.
    case busy(String, local: Bool)

    public var description: String {
        switch self {
        case .unavailable(let detail, _): detail
        case .unconfigured(let detail): detail
        case .unreachable(let detail): detail
        case .transport(let detail, _): detail
        case .upstreamStatus(let status, let message, _): "upstream answered \(status): \(message)"
        case .malformedResponse(let detail): "malformed upstream response: \(detail)"
        case .truncated(let detail): "upstream stream cut short: \(detail)"
        case .responseTooLarge(let limit): "upstream response larger than the limit of \(limit) bytes"
        case .busy(let detail, _): detail
        }
    }

    /// How it failed as a short, stable name (a span's `error.type`): never the upstream's own
    /// words, which may quote the request.
    public var errorType: String {
        switch self {
        case .unavailable: "unavailable"
        case .unconfigured: "unconfigured"
        case .unreachable: "unreachable"
        case .transport(_, let timeout): timeout ? "timeout" : "transport"
        case .upstreamStatus(let status, _, _): "upstream_status_\(status)"
        case .malformedResponse: "malformed_response"
        case .truncated: "truncated"
        case .responseTooLarge: "response_too_large"
        case .busy: "busy"
        }
    }

    /// Whether another target may still be tried: the upstream did not reject the request itself.
    public var allowsFallback: Bool {
        switch self {
        case .unavailable, .unconfigured, .unreachable, .transport, .malformedResponse, .truncated, .responseTooLarge, .busy: true
        case .upstreamStatus(let status, _, _): status == 408 || status == 429 || status >= 500 || !(400..<600).contains(status)
        }
    }

    /// How the gateway answers its client when no target is left.
    public var gatewayError: GatewayError {
        switch self {
        case .unavailable(let detail, let retry):
            return .engineUnavailable(detail, retryAfterSeconds: retry)
        case .unconfigured(let detail):
            return GatewayError(status: 503, code: "target_unconfigured", message: detail)
        case .unreachable(let detail):
            return .upstream("upstream unreachable: \(detail)", code: "upstream_unreachable")
        case .transport(let detail, let timeout):
            return timeout
                ? GatewayError(status: 504, code: "upstream_timeout", message: "upstream timed out: \(detail)")
                : .upstream("upstream transfer failed: \(detail)", code: "upstream_unreachable")
        case .upstreamStatus(let status, let message, let retry):
            switch status {
            case 400, 404, 413, 422:
                return .invalidRequest("upstream rejected the request: \(message)", code: "upstream_rejected")
            case 429:
                return GatewayError(status: 429, code: "upstream_rate_limited", message: message,
                                retryAfterSeconds: retry ?? 1)
            case 503 where retry != nil:
                return GatewayError(status: 503, code: "upstream_unavailable",
                                message: "upstream answered 503: \(message)", retryAfterSeconds: retry)
            case 529:
                // Anthropic's "overloaded": a 503 to come back to, which each front renders as its overloaded error.
                return GatewayError(status: 503, code: "upstream_overloaded", message: "upstream overloaded (529): \(message)",
                                    retryAfterSeconds: retry ?? 1)
            default:
                return .upstream("upstream answered \(status): \(message)")
            }
        case .malformedResponse, .truncated:
            return .upstream(description)
        case .responseTooLarge:
            return .upstream(description, code: "upstream_response_too_large")
        case .busy(let detail, let local):
            // The box is overloaded (503), or a cloud target is at the concurrency the operator allows (429).
            return local
                ? GatewayError(status: 503, code: "engine_overloaded", message: detail, retryAfterSeconds: 1)
                : GatewayError(status: 429, code: "target_busy", message: detail, retryAfterSeconds: 1)
        }
    }
}
