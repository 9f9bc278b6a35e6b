/// An error as the gateway answers it: HTTP status plus the OpenAI error body
/// `{"error": {"message", "type", "param", "code"}}`, which every OpenAI SDK understands.
public struct APIError: Error, Sendable, Equatable, CustomStringConvertible {
    public var status: Int
    public var type: String
    public var code: String?
    public var message: String
    public var param: String?
    /// Sent as `Retry-After` (seconds) when the client should come back later.
    public var retryAfterSeconds: Int?
    /// Further response headers (`x-ratelimit-*` on a rate-limit refusal).
    public var headers: [String: String] = [:]

    public init(status: Int, type: String, code: String? = nil, message: String, param: String? = nil, retryAfterSeconds: Int? = nil) {
        self.status = status
        self.type = type
        self.code = code
        self.message = message
        self.param = param
        self.retryAfterSeconds = retryAfterSeconds
    }

    public var description: String { "\(status) \(code ?? type): \(message)" }

    public var json: JSON {
        .object(["error": .object([
            "message": .string(message),
            "type": .string(type),
            "param": param.map(JSON.string) ?? .null,
            "code": code.map(JSON.string) ?? .null,
        ])])
    }

    public func body() -> [UInt8] { json.serialized() }
}

extension APIError {
    public static func invalidRequest(_ message: String, param: String? = nil, code: String? = nil) -> APIError {
        APIError(status: 400, type: "invalid_request_error", code: code, message: message, param: param)
    }

    /// A body that is not one JSON document, or that repeats a key (named with its path).
    public init(jsonError error: JSONParseError) {
        if let key = error.duplicateKey {
            self = .invalidRequest("The request body repeats the key '\(key)' at '\(error.path)'; each key may appear once.",
                                   param: error.path, code: "duplicate_key")
        } else {
            self = .invalidRequest("The request body is not valid JSON: \(error).", code: "invalid_json")
        }
    }

    /// A missing, unknown or revoked API key: what OpenAI answers, so SDKs raise their auth error.
    public static func unauthorized(_ message: String, code: String = "invalid_api_key") -> APIError {
        APIError(status: 401, type: "invalid_request_error", code: code, message: message)
    }

    /// An exhausted budget under `on_exhausted: deny`: 429 with when it resets.
    public static func budgetExceeded(scope: String, resetsInSeconds: Int?) -> APIError {
        var error = APIError(status: 429, type: "insufficient_quota", code: "budget_exceeded",
                             message: "The \(scope) budget is exhausted" + (resetsInSeconds.map { "; it resets in \($0) s." } ?? "; it does not reset."),
                             retryAfterSeconds: resetsInSeconds.map { max(1, $0) })
        error.headers["x-switchyard-budget"] = "exhausted(\(scope))"
        return error
    }

    public static func modelNotFound(_ model: String, available: [String]) -> APIError {
        APIError(status: 404, type: "invalid_request_error", code: "model_not_found",
                 message: "The model '\(model)' does not exist in this gateway's policy. Available: \(available.joined(separator: ", ")).",
                 param: "model")
    }

    /// A `deny` rule or a private-data refusal.
    public static func policyDenied(_ message: String) -> APIError {
        APIError(status: 403, type: "invalid_request_error", code: "policy_denied", message: message)
    }

    public static func payloadTooLarge(limit: Int) -> APIError {
        APIError(status: 413, type: "invalid_request_error", code: "request_too_large",
                 message: "Request body exceeds the limit of \(limit) bytes.")
    }

    public static func notFound(path: String) -> APIError {
        APIError(status: 404, type: "invalid_request_error", code: "unknown_url", message: "Unknown request URL: \(path).")
    }

    public static func engineUnavailable(_ detail: String, retryAfterSeconds: Int) -> APIError {
        APIError(status: 503, type: "server_error", code: "engine_unavailable", message: detail, retryAfterSeconds: retryAfterSeconds)
    }

    public static func upstream(_ detail: String, code: String = "upstream_error") -> APIError {
        APIError(status: 502, type: "server_error", code: code, message: detail)
    }

    public static func internalError(_ detail: String) -> APIError {
        APIError(status: 500, type: "server_error", code: "internal_error", message: detail)
    }
}
