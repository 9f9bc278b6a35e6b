/// Why the gateway refuses or fails a request, in its own terms: an HTTP status, a stable code
/// (`budget_exceeded`, `engine_unavailable`, …), a message and, for a bad field, its name. Each
/// front end renders it in its clients' format (an OpenAI error body, an Anthropic one), so the
/// router and the providers never choose a wire format for an error.
public struct GatewayError: Error, Sendable, Equatable, CustomStringConvertible {
    public var status: Int
    /// Stable and machine-readable; what tests, logs and clients match on.
    public var code: String?
    public var message: String
    /// The offending request field (`messages[0].content`), when there is one.
    public var param: String?
    /// Sent as `Retry-After` (seconds) when the client should come back later.
    public var retryAfterSeconds: Int?
    /// Further response headers (`x-ratelimit-*` on a rate-limit refusal).
    public var headers: [String: String] = [:]

    public init(status: Int, code: String? = nil, message: String, param: String? = nil, retryAfterSeconds: Int? = nil) {
        self.status = status
        self.code = code
        self.message = message
        self.param = param
        self.retryAfterSeconds = retryAfterSeconds
    }

    public var description: String { "\(status) \(code ?? "error"): \(message)" }

    /// Always an error status, whatever an upstream's number was.
    public var httpStatus: Int { (400...599).contains(status) ? status : 502 }
}

extension GatewayError {
    public static func invalidRequest(_ message: String, param: String? = nil, code: String? = nil) -> GatewayError {
        GatewayError(status: 400, code: code, message: message, param: param)
    }

    /// A body that is not one JSON document, or that repeats a key (named with its path).
    public init(jsonError error: JSONParseError) {
        if let key = error.duplicateKey {
            // A key that names no path (`""` at the top level) leaves no param rather than an empty one.
            let param = error.path.isEmpty ? nil : error.path
            self = .invalidRequest("The request body repeats the key '\(key)'\(param.map { " at '\($0)'" } ?? ""); each key may appear once.",
                                   param: param, code: "duplicate_key")
        } else {
            self = .invalidRequest("The request body is not valid JSON: \(error).", code: "invalid_json")
        }
    }

    /// A missing, unknown or revoked API key: 401, which every SDK raises as its auth error.
    public static func unauthorized(_ message: String, code: String = "invalid_api_key") -> GatewayError {
        GatewayError(status: 401, code: code, message: message)
    }

    /// An exhausted budget under `on_exhausted: deny`: 429 with when it resets.
    public static func budgetExceeded(scope: String, resetsInSeconds: Int?) -> GatewayError {
        var error = GatewayError(status: 429, code: "budget_exceeded",
                                 message: "The \(scope) budget is exhausted" + (resetsInSeconds.map { "; it resets in \($0) s." } ?? "; it does not reset."),
                                 retryAfterSeconds: resetsInSeconds.map { max(1, $0) })
        error.headers["x-switchyard-budget"] = "exhausted(\(scope))"
        return error
    }

    public static func modelNotFound(_ model: String, available: [String]) -> GatewayError {
        GatewayError(status: 404, code: "model_not_found",
                     message: "The model '\(model)' does not exist in this gateway's policy. Available: \(available.joined(separator: ", ")).",
                     param: "model")
    }

    /// A `deny` rule or a private-data refusal.
    public static func policyDenied(_ message: String) -> GatewayError {
        GatewayError(status: 403, code: "policy_denied", message: message)
    }

    public static func payloadTooLarge(limit: Int) -> GatewayError {
        GatewayError(status: 413, code: "request_too_large", message: "Request body exceeds the limit of \(limit) bytes.")
    }

    public static func notFound(path: String) -> GatewayError {
        GatewayError(status: 404, code: "unknown_url", message: "Unknown request URL: \(path).")
    }

    public static func engineUnavailable(_ detail: String, retryAfterSeconds: Int) -> GatewayError {
        GatewayError(status: 503, code: "engine_unavailable", message: detail, retryAfterSeconds: retryAfterSeconds)
    }

    public static func upstream(_ detail: String, code: String = "upstream_error") -> GatewayError {
        GatewayError(status: 502, code: code, message: detail)
    }

    public static func internalError(_ detail: String) -> GatewayError {
        GatewayError(status: 500, code: "internal_error", message: detail)
    }
}
