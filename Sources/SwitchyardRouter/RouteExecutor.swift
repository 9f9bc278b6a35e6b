import SwitchyardPolicy
import SwitchyardProviders
import SwitchyardWire

/// The outcome of serving a decision: the answer, the target that gave it, and what was tried first.
public struct Served<Answer: Sendable>: Sendable {
    public var answer: Answer
    public var target: ModelTarget
    public var skipped: [SkippedTarget]
}

extension RequestRouter {
    /// Tries the decision's candidates in order until one answers. A target that fails before
    /// answering (unreachable, 5xx, not ready) gives way to the next; one that rejects the
    /// request itself (4xx) ends the attempt, since another would reject it too.
    /// Targets that cannot work until an operator acts (no API key) are passed over; when that
    /// leaves none, the local engine answers: Switchyard serves without any cloud key.
    public func complete(_ request: ChatRequest, decision: RouteDecision, context: ProviderContext) async throws(APIError) -> Served<Completion> {
        try await serve(decision) { (provider) throws(ProviderError) in try await provider.complete(request, context: context) }
    }

    /// Like `complete`, but returns once a target has accepted the stream: nothing has been sent
    /// to the client yet, so every failure up to here can still fall back.
    public func stream(_ request: ChatRequest, decision: RouteDecision, context: ProviderContext) async throws(APIError) -> Served<CompletionStream> {
        try await serve(decision) { (provider) throws(ProviderError) in try await provider.stream(request, context: context) }
    }

    private func serve<Answer: Sendable>(
        _ decision: RouteDecision,
        _ attempt: (any Provider) async throws(ProviderError) -> Answer
    ) async throws(APIError) -> Served<Answer> {
        var skipped: [SkippedTarget] = []
        var lastError: ProviderError?
        var unconfigured: ProviderError?
        var candidates = decision.candidates
        var index = 0
        while index < candidates.count {
            let name = candidates[index]
            index += 1
            guard let provider = provider(name) else { continue }
            if case .unconfigured(let detail) = provider.availability {
                skipped.append(SkippedTarget(target: name, why: .unconfigured(detail)))
                unconfigured = unconfigured ?? .unconfigured("target '\(name)' is unconfigured: \(detail)")
                let onlyUnconfiguredSoFar = lastError == nil && index == candidates.count
                if onlyUnconfiguredSoFar, let local = policy.localModels.first, !candidates.contains(local.name) {
                    candidates.append(local.name)
                }
                continue
            }
            do {
                let answer = try await attempt(provider)
                return Served(answer: answer, target: provider.target, skipped: skipped)
            } catch {
                lastError = error
                skipped.append(SkippedTarget(target: name, why: .failed(error.description)))
                if !error.allowsFallback || Task.isCancelled { break }
            }
        }
        throw (lastError ?? unconfigured)?.apiError ?? .internalError("the policy names no target for this request")
    }
}
