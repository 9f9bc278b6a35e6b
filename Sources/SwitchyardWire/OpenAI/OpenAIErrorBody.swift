extension GatewayError {
    /// The OpenAI error body `{"error": {"message", "type", "param", "code"}}`, which every
    /// OpenAI SDK parses; `type` is OpenAI's family for the status.
    public var openAIBody: JSON {
        .object(["error": .object([
            "message": .string(message),
            "type": .string(openAIType),
            "param": param.map(JSON.string) ?? .null,
            "code": code.map(JSON.string) ?? .null,
        ])])
    }

    var openAIType: String {
        switch httpStatus {
        case 429: code == "budget_exceeded" ? "insufficient_quota" : "rate_limit_error"
        case 500...: "server_error"
        default: "invalid_request_error"
        }
    }
}
