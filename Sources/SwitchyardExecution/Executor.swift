import SwitchyardDecision
import SwitchyardPolicy
import SwitchyardProviders
import SwitchyardSignals
import SwitchyardWire

/// Serves a decision: the candidates in order with their fallbacks, retries and breakers, or a
/// cascade. Holds what serving needs and the decision does not: the providers, each target's
/// admission gate and circuit breaker. Built once per policy load, like the `Decider` whose
/// cascade verdicts it asks for.
public struct Executor: Sendable {
    public let policy: Policy
    public let decider: Decider
    private let providers: [String: any Provider]
    /// Each target's concurrency limit and queue.
    let gates: [String: TargetGate]
    /// Each cloud target's circuit breaker (none when the policy turns them off).
    let breakers: [String: TargetBreaker]

    /// - Parameters:
    ///   - gates: shared across policy reloads by the gateway; a fresh set by default.
    ///   - breakers: likewise.
    public init(decider: Decider, providers: [any Provider], gates: TargetGates = TargetGates(), breakers: TargetBreakers = TargetBreakers()) {
        policy = decider.policy
        self.decider = decider
        self.providers = Dictionary(uniqueKeysWithValues: providers.map { ($0.target.name, $0) })
        self.gates = gates.gates(for: decider.policy)
        self.breakers = breakers.breakers(for: decider.policy)
    }

    public func provider(_ name: String) -> (any Provider)? { providers[name] }

    /// Where a cloud target's circuit breaker stands now; nil for the local engine, or when
    /// breakers are off.
    public func breakerStatus(_ target: String) -> BreakerStatus? { breakers[target]?.status }

    /// The request as the cascade sends it to the local model: with log-probabilities, and the
    /// top-k alternatives when the calibrated confidence needs them. Not with tools: llama-server
    /// refuses log-probabilities for a streamed request with tools (and the local engine always
    /// streams), so such an answer's confidence is unknown (`escalateIfUnsure`).
    func scoredRequest(_ request: GatewayRequest, _ decision: Decision) -> GatewayRequest {
        guard Self.canScore(request) else { return request }
        var scored = request
        scored.chat.body["logprobs"] = .bool(true)
        if decider.needsTopLogprobs(decision.trust), (request.chat.topLogprobs ?? 0) < 5 { scored.chat.body["top_logprobs"] = .int(5) }
        return scored
    }

    static func canScore(_ request: GatewayRequest) -> Bool { !request.summary.hasTools }

    /// Serves a decision and returns a whole completion.
    /// Every attempt made goes through `tracker`: failed and discarded ones end here, the served
    /// one is returned open in `Served.attempt`.
    public func complete(_ request: GatewayRequest, decision: Decision, context: ProviderContext,
                         tracker: AttemptTracker) async throws(GatewayError) -> Served<Completion> {
        switch decision.action {
        case .deny(let deny):
            throw .policyDenied(deny.message)
        case .serve(let serve):
            return try await self.serve(serve.targets, localLastResort: decision.mayServeLocallyAsLastResort, tracker, context) { (provider, context) throws(ProviderError) in
                try await provider.complete(request, context: context)
            }
        case .cascade(let cascade):
            return try await runCascade(cascade, request: request, decision: decision, context: context, tracker: tracker)
        }
    }

    /// Like `complete`, but returns once a target has accepted the stream: nothing has been sent
    /// to the client yet, so every failure up to here can still fall back.
    public func stream(_ request: GatewayRequest, decision: Decision, context: ProviderContext,
                       tracker: AttemptTracker) async throws(GatewayError) -> Served<CompletionStream> {
        switch decision.action {
        case .deny(let deny):
            throw .policyDenied(deny.message)
        case .serve(let serve):
            return try await self.serve(serve.targets, localLastResort: decision.mayServeLocallyAsLastResort, tracker, context) { (provider, context) throws(ProviderError) in
                try await provider.stream(request, context: context)
            }
        case .cascade(let cascade):
            return try await streamCascade(cascade, request: request, decision: decision, context: context, tracker: tracker)
        }
    }
}
