import SwitchyardDecision
import SwitchyardPolicy
import SwitchyardProviders
import SwitchyardSignals
import SwitchyardWire

extension Executor {
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
        _ context: ProviderContext,
        _ attempt: (any Provider, ProviderContext) async throws(ProviderError) -> Answer
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
                    let answer = try await attempt(provider, context.continuing(record, in: tracker.request.trace))
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
                record.errorType = cancelled ? "cancelled" : failure.errorType
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
