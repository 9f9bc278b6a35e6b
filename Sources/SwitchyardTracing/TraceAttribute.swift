/// The names of what the gateway's spans carry. Where OpenTelemetry has a convention the
/// gateway uses it: the GenAI conventions for model calls (semantic conventions 1.37+, which
/// name the provider `gen_ai.provider.name`; `gen_ai.system`, its name before, is set beside it
/// for backends that still read that), and the HTTP ones for the request as a server saw it.
/// The rest, what only a routing gateway knows (rules, routes, cascades, cost), is under
/// `switchyard.`. The conventions ship as a package too (swift-otel-semantic-conventions), but
/// its GenAI names sit behind an experimental trait in 2 MB of generated code: a few names are
/// cheaper written out here.
public enum TraceAttribute {
    // GenAI (https://opentelemetry.io/docs/specs/semconv/gen-ai/gen-ai-spans/)
    public static let operationName = "gen_ai.operation.name"
    public static let providerName = "gen_ai.provider.name"
    public static let system = "gen_ai.system"
    public static let requestModel = "gen_ai.request.model"
    public static let requestMaxTokens = "gen_ai.request.max_tokens"
    public static let requestStream = "gen_ai.request.stream"
    public static let responseModel = "gen_ai.response.model"
    public static let inputTokens = "gen_ai.usage.input_tokens"
    public static let outputTokens = "gen_ai.usage.output_tokens"
    /// Opt-in (`tracing.capture_content`): the messages as the conventions' JSON, and the answer.
    public static let inputMessages = "gen_ai.input.messages"
    public static let outputMessages = "gen_ai.output.messages"

    // General and HTTP
    public static let errorType = "error.type"
    public static let serverAddress = "server.address"
    public static let serverPort = "server.port"
    public static let httpMethod = "http.request.method"
    public static let httpRoute = "http.route"
    public static let httpStatus = "http.response.status_code"

    // The gateway's own
    public static let requestID = "switchyard.request_id"
    public static let front = "switchyard.front"
    public static let rule = "switchyard.rule"
    public static let reason = "switchyard.reason"
    public static let action = "switchyard.action"
    public static let privateData = "switchyard.private_data"
    public static let route = "switchyard.route"
    public static let target = "switchyard.target"
    public static let tier = "switchyard.tier"
    public static let attemptID = "switchyard.attempt.id"
    public static let outcome = "switchyard.attempt.outcome"
    public static let usageEstimated = "switchyard.usage.estimated"
    public static let costUSD = "switchyard.cost_usd"
    public static let retryAfterMilliseconds = "switchyard.retry_after_ms"
    public static let escalated = "switchyard.cascade.escalated"
    public static let escalation = "switchyard.cascade.reason"
    public static let confidence = "switchyard.cascade.confidence"
    public static let threshold = "switchyard.cascade.threshold"
    public static let scoredTokens = "switchyard.cascade.scored_tokens"
    public static let fallback = "switchyard.fallback"
    public static let ledgerOutcome = "switchyard.ledger.outcome"
}

/// The spans' names (docs/operations.md, "Tracing", lists them with their attributes).
public enum SpanName {
    public static let decision = "switchyard.decide"
    public static let score = "switchyard.cascade.score"
    public static let ledgerWrite = "switchyard.ledger.write"
}
