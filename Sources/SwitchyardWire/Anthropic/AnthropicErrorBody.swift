extension GatewayError {
    /// The Anthropic error body `{"type": "error", "error": {"type", "message"}}`; the SDKs pick
    /// their exception from the HTTP status, and `type` names its family as Anthropic's API does.
    /// The gateway's own `code` leads the message, since this shape has no field for it.
    public var anthropicBody: JSON {
        .object([
            "type": .string("error"),
            "error": .object([
                "type": .string(anthropicType),
                "message": .string(code.map { "\($0): \(message)" } ?? message),
            ]),
        ])
    }

    var anthropicType: String {
        switch httpStatus {
        case 401: "authentication_error"
        case 403: "permission_error"
        case 404: "not_found_error"
        case 413: "request_too_large"
        case 429: "rate_limit_error"
        case 503, 529: "overloaded_error"
        case 500...: "api_error"
        default: "invalid_request_error"
        }
    }
}
