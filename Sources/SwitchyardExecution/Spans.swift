import SwitchyardDecision
import SwitchyardPolicy
import SwitchyardProviders
import SwitchyardTracing
import Tracing

/// What execution's spans say: an attempt's end (its usage, cost and outcome, in the GenAI
/// conventions' names) and a cascade's scoring. Nothing here runs when the gateway does not trace.
extension Attempt {
    /// Ends its span, if it has one, with what it came to.
    func endSpan() {
        guard let span else { return }
        let failed = outcome == .failed || outcome == .broken || outcome == .cancelled || outcome == .interrupted
        span.updateAttributes { attributes in
            attributes[TraceAttribute.outcome] = outcome.rawValue
            if let usage {
                attributes[TraceAttribute.inputTokens] = usage.promptTokens
                attributes[TraceAttribute.outputTokens] = usage.completionTokens
                if usageEstimated { attributes[TraceAttribute.usageEstimated] = true }
            }
            if costNanodollars > 0 { attributes[TraceAttribute.costUSD] = Double(costNanodollars) / 1e9 }
            // The local engine answers as the policy names it.
            if let model = responseModel ?? (target.isLocal ? target.name : nil) { attributes[TraceAttribute.responseModel] = model }
            if let retryAfter { attributes[TraceAttribute.retryAfterMilliseconds] = retryAfter.wholeMilliseconds }
            if failed { attributes[TraceAttribute.errorType] = errorType ?? outcome.rawValue }
        }
        if failed { span.setStatus(SpanStatus(code: .error)) }
        span.end()
    }
}

extension ProviderContext {
    /// This context for one attempt: with the headers that continue the attempt's span upstream.
    func continuing(_ attempt: Attempt, in trace: RequestTrace?) -> ProviderContext {
        guard let trace, let span = attempt.span else { return self }
        var context = self
        context.traceHeaders = trace.headers(continuing: span)
        return context
    }
}

extension CascadeVerdict {
    /// Ends a cascade's scoring span with its verdict: the confidence, the threshold in force,
    /// whether it escalates and the facts that made it (names and numbers, no text).
    func end(_ span: any Span, scoredTokens: Int) {
        span.updateAttributes { attributes in
            attributes[TraceAttribute.escalated] = escalate
            if let confidence { attributes[TraceAttribute.confidence] = confidence }
            if let threshold { attributes[TraceAttribute.threshold] = threshold.summary }
            attributes[TraceAttribute.scoredTokens] = scoredTokens
            if !facts.isEmpty { attributes[TraceAttribute.escalation] = facts.joined(separator: " ") }
        }
        span.end()
    }
}
