import SwitchyardDecision
import SwitchyardPolicy
import SwitchyardProviders
import SwitchyardSignals
import SwitchyardTracing
import SwitchyardWire

extension Executor {
    /// Generates on the cascade's first (local) target with log-probabilities, estimates the
    /// answer's confidence, and escalates when the cascade's condition holds. If the escalation
    /// cannot be served, the local answer is kept and the escalation says why.
    func runCascade(_ cascade: Cascade, request: GatewayRequest, decision: Decision, context: ProviderContext,
                            tracker: AttemptTracker) async throws(GatewayError) -> Served<Completion> {
        let escalationTargets = [cascade.escalateTo] + cascade.fallbacks
        let scored = scoredRequest(request, decision)
        let local: Served<Completion>
        do {
            local = try await serve([cascade.first], localLastResort: false, tracker, context) { (provider, context) throws(ProviderError) in
                try await provider.complete(scored, context: context)
            }
        } catch let localError {
            // The local model could not answer at all: the cascade's next step is the cloud.
            do {
                return try await serve(escalationTargets, localLastResort: false, tracker, context) { (provider, context) throws(ProviderError) in
                    try await provider.complete(request, context: context)
                }
            } catch {
                throw Self.moreTelling(localError, error)
            }
        }
        let content = local.answer.body["choices"]?.arrayValue?.first?["logprobs"]?["content"]?.arrayValue ?? []
        var kept = local
        if !request.chat.logprobs { kept.answer.body = Self.withoutLogprobs(local.answer.body) }
        let usage = local.answer.usage.map { ($0, false) }
            ?? (UsageEstimate.of(request: request.summary, decision: decision, completionCharacters: UsageEstimate.characters(in: local.answer.body)), true)
        return await escalateIfUnsure(cascade, keeping: kept, localUsage: usage, tokens: ConfidenceScorer.tokens(content), request: request,
                                      decision: decision, tracker: tracker, context: context,
                                      localText: AnswerText.of(local.answer.body)) { (provider, context) throws(ProviderError) in
            try await provider.complete(request, context: context)
        }
    }

    /// A cascade's second step, whole or streamed: score the local answer's tokens and, when the
    /// cascade's condition holds, serve the escalation targets instead. If none of them can take
    /// the request (no key, refused, down), the local answer stands and says why.
    /// - Parameter localUsage: what the local attempt used, ended as discarded if the cascade escalates.
    func escalateIfUnsure<Answer: Sendable & HoldsPermit>(
        _ cascade: Cascade,
        keeping local: Served<Answer>,
        localUsage: (usage: TokenUsage, estimated: Bool),
        tokens: (logprobs: [Double], top: [[Double]]),
        request: GatewayRequest,
        decision: Decision,
        tracker: AttemptTracker,
        context: ProviderContext,
        note: String = "",
        localText: String? = nil,
        _ attempt: (any Provider, ProviderContext) async throws(ProviderError) -> Answer
    ) async -> Served<Answer> {
        let scoring = tracker.request.trace?.child(SpanName.score)
        let verdict = await decider.escalation(cascade, after: decision, request: request.summary, tokens: tokens)
        scoring.map { verdict.end($0, scoredTokens: tokens.logprobs.count) }
        let confidence = verdict.confidence
        var local = local
        // What the learning loop may judge later: the verdict, and a whole local answer's text.
        local.verdict = verdict
        local.localText = localText
        guard verdict.escalate else {
            // An answer that could not be scored is kept (a comparison on a missing signal is
            // false), and says so: the policy can escalate such requests by another term
            // (`confidence < 0.5 or tools`).
            guard confidence == nil else { return local }
            var kept = local
            kept.escalation = Escalation(reason: "confidence=unknown(\(request.summary.hasTools ? "tools" : "no tokens"))" + note,
                                         confidence: nil, escalated: false)
            return kept
        }
        let reason = (verdict.facts.isEmpty ? ["confidence=\(confidence.map { String($0) } ?? "unknown")"] : verdict.facts)
            .joined(separator: " ") + note
        let targets = [cascade.escalateTo] + cascade.fallbacks
        do {
            var escalated = try await serve(targets, localLastResort: false, tracker, context, attempt)
            escalated.escalation = Escalation(reason: reason, confidence: confidence, escalated: true)
            escalated.verdict = verdict
            escalated.localText = localText
            await tracker.end(local.attempt, .discarded, usage: localUsage.usage, estimated: localUsage.estimated, detail: reason)
            return escalated
        } catch {
            var kept = local
            kept.skipped += targets.map { target in
                if case .unconfigured(let detail)? = provider(target)?.availability {
                    return SkippedTarget(target: target, why: .unconfigured(detail))
                }
                return SkippedTarget(target: target, why: .failed(error.message))
            }
            kept.escalation = Escalation(reason: reason, confidence: confidence, escalated: false)
            return kept
        }
    }

    /// When the local step of a cascade failed and so did its escalation, the error the client
    /// sees. An escalation target that is merely unconfigured says nothing useful: the engine
    /// restarting (503 with Retry-After) does.
    static func moreTelling(_ local: GatewayError, _ escalation: GatewayError) -> GatewayError {
        escalation.code == "target_unconfigured" ? local : escalation
    }

    static func withoutLogprobs(_ body: JSONObject) -> JSONObject {
        var body = body
        if let choices = body["choices"]?.arrayValue {
            body["choices"] = .array(choices.map { choice in
                guard case .object(var object) = choice else { return choice }
                object["logprobs"] = .null
                return .object(object)
            })
        }
        return body
    }
}
