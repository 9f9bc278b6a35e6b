import Logging
import SwitchyardPolicy
import SwitchyardDecision
import SwitchyardExecution
import SwitchyardSignals

/// The gateway's accounting hook: every attempt's end, whatever it was, is counted in the
/// metrics and logged here, and nowhere else.
struct GatewayAccounting: AttemptSink {
    let metrics: GatewayMetrics
    let logger: Logger
    let rateLimiter: RateLimiter

    func attemptEnded(_ attempt: Attempt, of request: AttemptRequest) async {
        metrics.attemptEnded(attempt, tenant: request.caller.tenant)
        if let key = request.caller.keyID, let usage = attempt.usage { rateLimiter.charge(keyID: key, tokens: usage.totalTokens) }
        logger.debug("attempt", metadata: [
            "request_id": "\(request.requestID)",
            "attempt": "\(attempt.id)",
            "target": "\(attempt.target.name)",
            "tier": "\(attempt.tier.rawValue)",
            "outcome": "\(attempt.outcome.rawValue)",
            "prompt_tokens": "\(attempt.usage?.promptTokens ?? 0)",
            "completion_tokens": "\(attempt.usage?.completionTokens ?? 0)",
            "usage_estimated": "\(attempt.usageEstimated)",
            "duration_ms": "\(attempt.durationMilliseconds)",
            "detail": "\(attempt.detail ?? "")",
            "retry_after_ms": "\(attempt.retryAfter.map { String($0.wholeMilliseconds) } ?? "")",
        ])
    }
}
