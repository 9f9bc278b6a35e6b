import SwitchyardPolicy
import SwitchyardProviders
import SwitchyardWire

#if canImport(Glibc)
import Glibc
#endif

/// The outcome of serving a decision: the answer, the target that gave it, and what was tried first.
public struct Served<Answer: Sendable>: Sendable {
    public var answer: Answer
    public var target: ModelTarget
    public var skipped: [SkippedTarget]
    /// The attempt that produced the answer, still open: the caller ends it once the answer is
    /// delivered (a whole answer at once, a stream when it ends, breaks or is abandoned).
    public var attempt: Attempt
    /// Set when a cascade escalated (or wanted to) after scoring the local answer.
    public var escalation: Escalation? = nil
}

public struct Escalation: Sendable, Equatable {
    /// `confidence=0.41<0.6`, or why the cascade did not escalate when it could not.
    public var reason: String
    public var confidence: Double?
    /// False when escalation was wanted but no target could take it: the local answer was kept.
    public var escalated: Bool
}

extension RequestRouter {
    /// Serves a decision and returns a whole completion.
    /// Every attempt made goes through `tracker`: failed and discarded ones end here, the served
    /// one is returned open in `Served.attempt`.
    public func complete(_ request: GatewayRequest, decision: RouteDecision, context: ProviderContext,
                         tracker: AttemptTracker) async throws(GatewayError) -> Served<Completion> {
        switch decision.action {
        case .deny(let message):
            throw .policyDenied(message)
        case .serve(let candidates):
            return try await serve(candidates, localLastResort: decision.mayServeLocallyAsLastResort, tracker) { (provider) throws(ProviderError) in
                try await provider.complete(request, context: context)
            }
        case .cascade(let cascade):
            return try await runCascade(cascade, request: request, decision: decision, context: context, tracker: tracker)
        }
    }

    /// Like `complete`, but returns once a target has accepted the stream: nothing has been sent
    /// to the client yet, so every failure up to here can still fall back.
    public func stream(_ request: GatewayRequest, decision: RouteDecision, context: ProviderContext,
                       tracker: AttemptTracker) async throws(GatewayError) -> Served<CompletionStream> {
        switch decision.action {
        case .deny(let message):
            throw .policyDenied(message)
        case .serve(let candidates):
            return try await serve(candidates, localLastResort: decision.mayServeLocallyAsLastResort, tracker) { (provider) throws(ProviderError) in
                try await provider.stream(request, context: context)
            }
        case .cascade(let cascade):
            return try await streamCascade(cascade, request: request, decision: decision, context: context, tracker: tracker)
        }
    }

    /// Generates on the cascade's first (local) target with log-probabilities, estimates the
    /// answer's confidence, and escalates when the cascade's condition holds. If the escalation
    /// cannot be served, the local answer is kept and the escalation says why.
    private func runCascade(_ cascade: Cascade, request: GatewayRequest, decision: RouteDecision, context: ProviderContext,
                            tracker: AttemptTracker) async throws(GatewayError) -> Served<Completion> {
        let escalationTargets = [cascade.escalateTo] + cascade.fallbacks
        let scored = scoredRequest(request)
        let local: Served<Completion>
        do {
            local = try await serve([cascade.first], localLastResort: false, tracker) { (provider) throws(ProviderError) in
                try await provider.complete(scored, context: context)
            }
        } catch let localError {
            // The local model could not answer at all: the cascade's next step is the cloud.
            do {
                return try await serve(escalationTargets, localLastResort: false, tracker) { (provider) throws(ProviderError) in
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
                                      decision: decision, tracker: tracker) { (provider) throws(ProviderError) in
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
        decision: RouteDecision,
        tracker: AttemptTracker,
        note: String = "",
        _ attempt: (any Provider) async throws(ProviderError) -> Answer
    ) async -> Served<Answer> {
        let confidence = scorer.confidence(logprobs: tokens.logprobs, top: tokens.top, request: request.summary,
                                           promptTokens: await promptTokens(request.summary, decision))
        let (escalate, facts) = cascade.escalates(decision.signals, confidence: confidence)
        guard escalate else {
            // An answer that could not be scored is kept (a comparison on a missing signal is
            // false), and says so: the policy can escalate such requests by another term
            // (`confidence < 0.5 or tools`).
            guard confidence == nil else { return local }
            var kept = local
            kept.escalation = Escalation(reason: "confidence=unknown(\(request.summary.hasTools ? "tools" : "no tokens"))" + note,
                                         confidence: nil, escalated: false)
            return kept
        }
        let reason = (facts.isEmpty ? ["confidence=\(confidence.map { String($0) } ?? "unknown")"] : facts).joined(separator: " ") + note
        let targets = [cascade.escalateTo] + cascade.fallbacks
        do {
            var escalated = try await serve(targets, localLastResort: false, tracker, attempt)
            escalated.escalation = Escalation(reason: reason, confidence: confidence, escalated: true)
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

    /// Tries candidates in order until one answers. A target that fails before answering
    /// (unreachable, 5xx, not ready, full) gives way to the next; one that rejects the request itself
    /// (4xx) ends the attempt, since another would reject it too. Targets that cannot work until
    /// an operator acts (no API key) are passed over; when that leaves none and `localLastResort`
    /// allows it, the local engine answers: Switchyard serves without any cloud key. Each attempt
    /// first takes a slot on its target (`TargetGate`); the answer holds it while it is delivered.
    ///
    /// A cloud target is passed over while its circuit breaker is open (`CircuitBreaker`), and
    /// retried after a failure the `RetrySchedule` allows, each retry its own attempt, before the
    /// next candidate is tried. The schedule is this call's: a request's cloud targets are all
    /// tried in one call (a cascade's first step is local, and the local engine is not retried).
    /// Breakers only ever remove candidates, so a constraint that narrowed them still holds.
    func serve<Answer: Sendable & HoldsPermit>(
        _ candidates: [String],
        localLastResort: Bool,
        _ tracker: AttemptTracker,
        _ attempt: (any Provider) async throws(ProviderError) -> Answer
    ) async throws(GatewayError) -> Served<Answer> {
        var skipped: [SkippedTarget] = []
        var lastError: ProviderError?
        var unconfigured: ProviderError?
        var exhausted: BudgetExhausted?
        var circuitOpen: GatewayError?
        var retries = RetrySchedule(settings: policy.resilience.retry)
        var random = SystemRandomNumberGenerator()
        var candidates = candidates
        var index = 0
        while index < candidates.count {
            let name = candidates[index]
            index += 1
            guard let provider = provider(name) else { continue }
            if case .unconfigured(let detail) = provider.availability {
                skipped.append(SkippedTarget(target: name, why: .unconfigured(detail)))
                unconfigured = unconfigured ?? .unconfigured("target '\(name)' is unconfigured: \(detail)")
                let onlyUnconfiguredSoFar = lastError == nil && index == candidates.count
                if onlyUnconfiguredSoFar, localLastResort, let local = policy.localModels.first, !candidates.contains(local.name) {
                    candidates.append(local.name)
                }
                continue
            }
            // One pass per attempt on this target: the first, then each retry after its wait (in a
            // pass of its own, so that the last attempt's slot is not held while waiting).
            var retriesOfTarget = 0
            var backoff: Duration?
            var passedOver: SkippedTarget.Why?
            var stop = false
            retry: while true {
                if let backoff {
                    do {
                        try await Task.sleep(for: backoff)
                    } catch {
                        // The client left during the wait: stop at once.
                        stop = true
                        break retry
                    }
                    retriesOfTarget += 1
                }
                let pass: BreakerPass?
                switch breakers[name]?.admit() {
                case .passOver(let retryIn)?:
                    // A target that failed just now says so; one found open before any attempt is passed over.
                    if passedOver == nil {
                        passedOver = .circuitOpen(retryInSeconds: retryIn.wholeSecondsRoundedUp)
                        circuitOpen = circuitOpen ?? .circuitOpen(name, retryInSeconds: retryIn.wholeSecondsRoundedUp)
                    }
                    break retry
                case .run(let admitted)?: pass = admitted
                case nil: pass = nil
                }
                let permit: Permit
                do {
                    permit = try await admit(provider.target)
                } catch {
                    // Turned away before any upstream call: a skipped target, not an attempt.
                    lastError = error
                    passedOver = .failed(error.description)
                    stop = Task.isCancelled
                    break retry
                }
                var record = tracker.begin(provider.target)
                do {
                    record.reserved = try await tracker.reserve(record)
                } catch {
                    // No room in a budget: `deny` refuses; `local_only` passes over every cloud target,
                    // and the box answers if nothing else can. A budget never blocks the local model.
                    if policy.budgets.onExhausted == .deny { throw .budgetExceeded(error) }
                    passedOver = .budget(error.scope)
                    exhausted = exhausted ?? error
                    if index == candidates.count, localLastResort, let local = policy.localModels.first, !candidates.contains(local.name) {
                        candidates.append(local.name)
                    }
                    break retry
                }
                let failure: ProviderError
                do {
                    let answer = try await attempt(provider)
                    pass?.record(.success)
                    return Served(answer: answer.holding(permit), target: provider.target, skipped: skipped, attempt: record)
                } catch {
                    failure = error
                }
                // A client that left is no verdict on the target, and no reason to retry.
                let cancelled = Task.isCancelled
                pass?.record(cancelled ? .neutral : CircuitBreaker.Verdict(failure))
                let next = cancelled || provider.target.isLocal
                    ? .moveOn(.notRetryable) : retries.next(after: failure, retriesOfTarget: retriesOfTarget, using: &random)
                if case .retry(let wait) = next { record.retryAfter = wait }
                await tracker.end(record, cancelled ? .cancelled : .failed, detail: failure.description)
                lastError = failure
                passedOver = .failed(failure.description)
                guard case .retry(let wait) = next else {
                    stop = !failure.allowsFallback || cancelled
                    break retry
                }
                backoff = wait
            }
            if let passedOver { skipped.append(SkippedTarget(target: name, why: passedOver)) }
            if stop { break }
        }
        if lastError == nil, let exhausted { throw .budgetExceeded(exhausted) }
        if let lastError { throw lastError.gatewayError }
        if let circuitOpen { throw circuitOpen }
        throw unconfigured?.gatewayError ?? .internalError("the policy names no target for this request")
    }

    private func admit(_ target: ModelTarget) async throws(ProviderError) -> Permit {
        guard let gate = gates[target.name] else { throw .busy("target '\(target.name)' has no admission gate", local: target.isLocal) }
        do {
            return try await gate.admit()
        } catch TargetGate.Refusal.full {
            throw .busy("target '\(target.name)' is at its concurrency limit and its queue is full", local: target.isLocal)
        } catch TargetGate.Refusal.timedOut {
            throw .busy("target '\(target.name)' had no free slot within its queue timeout", local: target.isLocal)
        } catch {
            throw .transport("cancelled", timeout: false)
        }
    }
}

/// An answer that keeps its target's slot for as long as it is being delivered.
protocol HoldsPermit {
    func holding(_ permit: Permit) -> Self
}

extension Completion: HoldsPermit {
    /// A whole completion is already delivered by the upstream: its slot is freed with it.
    func holding(_ permit: Permit) -> Completion { self }
}

extension CompletionStream: HoldsPermit {
    func holding(_ permit: Permit) -> CompletionStream {
        var stream = self
        stream.retained.append(permit)
        return stream
    }
}
