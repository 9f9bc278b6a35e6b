import HTTPTypes

/// The gateway's own response headers: every answer says which request it was and where it was served.
extension HTTPField.Name {
    /// Anthropic-style API key header, accepted beside `Authorization: Bearer`.
    static let xAPIKey = HTTPField.Name("x-api-key")!
    /// Anthropic beta features a client asks for, sent on with its body to an Anthropic upstream.
    static let anthropicBeta = HTTPField.Name("anthropic-beta")!
    /// Anthropic's request id header, which its SDKs expose as `_request_id`.
    static let anthropicRequestID = HTTPField.Name("request-id")!
    static let switchyardRequestID = HTTPField.Name("x-switchyard-request-id")!
    /// W3C Trace Context: the caller's span, which a traced request continues (docs/operations.md, "Tracing").
    static let traceparent = HTTPField.Name("traceparent")!
    static let tracestate = HTTPField.Name("tracestate")!
    /// `local` or `cloud`: the tier that served the answer.
    static let switchyardRoute = HTTPField.Name("x-switchyard-route")!
    /// The policy model that served the answer.
    static let switchyardModel = HTTPField.Name("x-switchyard-model")!
    /// The policy rule that decided.
    static let switchyardRule = HTTPField.Name("x-switchyard-rule")!
    /// A short machine-readable reason for the decision.
    static let switchyardReason = HTTPField.Name("x-switchyard-reason")!
    /// Targets passed over before the one that served, and why.
    static let switchyardFallback = HTTPField.Name("x-switchyard-fallback")!
    /// What the request cost in USD (every attempt's priced usage; estimated when an upstream reported none).
    static let switchyardCostUSD = HTTPField.Name("x-switchyard-cost-usd")!
    /// Set when an exhausted budget kept the request on the box.
    static let switchyardBudget = HTTPField.Name("x-switchyard-budget")!
    /// `true` when a token count is the estimate (four characters a token), not the local model's tokenizer.
    static let switchyardTokensEstimated = HTTPField.Name("x-switchyard-tokens-estimated")!
    /// What of an Anthropic request the target that served it never saw, having been sent the
    /// OpenAI chat form (`document,server_tool`).
    static let switchyardDropped = HTTPField.Name("x-switchyard-dropped")!
    /// Why a cascade escalated to the cloud (`confidence=0.41<0.6`), or why it could not.
    static let switchyardEscalated = HTTPField.Name("x-switchyard-escalated")!
}

/// Header values are read trimmed of the spaces around them (and around list items).
extension Substring {
    func trimming(_ set: Character) -> Substring {
        var s = self
        while s.first == set { s = s.dropFirst() }
        while s.last == set { s = s.dropLast() }
        return s
    }
}

extension HTTPFields {
    /// Adds headers given by name (names that are not valid header names are dropped).
    mutating func append(_ extra: [String: String]) {
        for (name, value) in extra.sorted(by: { $0.key < $1.key }) {
            if let field = HTTPField.Name(name) { self[field] = value }
        }
    }
}
