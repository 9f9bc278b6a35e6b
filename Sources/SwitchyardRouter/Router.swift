import SwitchyardPolicy
import SwitchyardProviders
import SwitchyardWire

/// Decides where a request is served, from the policy's rules and constraints. Built once per
/// policy load; `decide` computes only the signals the rules it tries need.
public struct RequestRouter: Sendable {
    public let policy: Policy
    private let providers: [String: any Provider]
    private let tokenizer: any PromptTokenizer
    /// Names clients may ask for: `auto` plus every policy model.
    public let modelNames: [String]
    /// Signals every request needs whatever the rules say: the requested model, and PII when a constraint exists.
    private let alwaysNeeded: Set<Signal>
    private let localContext: Int?
    /// How a cascade turns the local answer's log-probabilities into `confidence`.
    let scorer: ConfidenceScorer
    /// Each target's concurrency limit and queue.
    let gates: [String: TargetGate]
    /// Each cloud target's circuit breaker (none when the policy turns them off).
    let breakers: [String: TargetBreaker]

    public static let autoModel = "auto"

    /// - Parameters:
    ///   - gates: shared across policy reloads by the gateway; a fresh set by default.
    ///   - breakers: likewise.
    public init(policy: Policy, providers: [any Provider], tokenizer: any PromptTokenizer = EstimatingTokenizer(),
                gates: TargetGates = TargetGates(), breakers: TargetBreakers = TargetBreakers()) {
        self.policy = policy
        self.providers = Dictionary(uniqueKeysWithValues: providers.map { ($0.target.name, $0) })
        self.tokenizer = tokenizer
        modelNames = [Self.autoModel] + policy.models.map(\.name)
        alwaysNeeded = policy.constraints.privateData == nil ? [.model] : [.model, .pii]
        localContext = policy.localModels.first?.contextWindow
        scorer = ConfidenceScorer(calibration: policy.calibration)
        self.gates = gates.gates(for: policy)
        self.breakers = breakers.breakers(for: policy)
    }

    /// Where a cloud target's circuit breaker stands now; nil for the local engine, or when
    /// breakers are off.
    public func breakerStatus(_ target: String) -> BreakerStatus? { breakers[target]?.status }

    /// Prompt tokens for the confidence features: the decision's own count, else the tokenizer's.
    func promptTokens(_ request: RequestSummary, _ decision: RouteDecision) async -> Int {
        if let count = decision.signals.promptTokens { return count }
        return await tokenizer.promptTokens(request).count
    }

    /// The request as the cascade sends it to the local model: with log-probabilities, and the
    /// top-k alternatives when the calibrated confidence needs them. Not with tools: llama-server
    /// refuses log-probabilities for a streamed request with tools (and the local engine always
    /// streams), so such an answer's confidence is unknown (`escalateIfUnsure`).
    func scoredRequest(_ request: GatewayRequest) -> GatewayRequest {
        guard Self.canScore(request) else { return request }
        var scored = request
        scored.chat.body["logprobs"] = .bool(true)
        if scorer.needsTopLogprobs, (request.chat.topLogprobs ?? 0) < 5 { scored.chat.body["top_logprobs"] = .int(5) }
        return scored
    }

    static func canScore(_ request: GatewayRequest) -> Bool { !request.summary.hasTools }

    /// The prompt's tokens on the local model (`count_tokens`): the engine's own count when it
    /// can be asked, else an estimate, and says which; 503 when its tokenizer is too busy.
    public func countTokens(_ request: RequestSummary) async throws(GatewayError) -> (count: Int, estimated: Bool) {
        try await tokenizer.countTokens(request)
    }

    public func provider(_ name: String) -> (any Provider)? { providers[name] }

    /// - Parameters:
    ///   - headers: the request's `x-switchyard-*` headers, names lowercased without the prefix.
    ///   - stubs: signal values to use instead of computing them (`policy test`, explain).
    ///   - caller: who is asking (its key's identity replaces client-sent tenant headers).
    ///   - budgets: the caller's budgets, for the `budget.*` signals (read only if a rule does).
    public func decide(_ request: RequestSummary, headers: [String: String] = [:], caller: Caller = .anonymous,
                       budgets: (any BudgetSignals)? = nil, stubs: SignalValues = SignalValues()) async throws(GatewayError) -> RouteDecision {
        try check(model: request.model)
        let named = request.model != Self.autoModel
        var initial = stubs
        initial.headers.merge(headers) { stub, _ in stub }
        var signals = SignalComputer(request: request, tokenizer: tokenizer, localContext: localContext,
                                     complexityModel: policy.complexityModel, caller: caller, budgets: budgets, values: initial)
        await signals.ensure(alwaysNeeded)

        var trace: [RuleTrace] = []
        var decision: RouteDecision?
        for rule in policy.rules {
            // A request naming a model skips the serve and cascade rules written for `auto`, but
            // never a `deny` (Rule.seesNamedModels).
            if named, !rule.seesNamedModels {
                trace.append(RuleTrace(rule: rule.name, condition: rule.when.source,
                                       outcome: .skipped("the request named a model and this rule does not read `model`"), facts: []))
                continue
            }
            await signals.ensure(rule.when.signals)
            let (matched, facts) = rule.when.evaluate(signals.values)
            trace.append(RuleTrace(rule: rule.name, condition: rule.when.source, outcome: matched ? .matched : .notMatched, facts: facts))
            guard matched else { continue }
            let action: RouteDecision.Action
            switch rule.action {
            case .serve(let target, let fallbacks): action = .serve([target] + fallbacks)
            case .cascade(let cascade):
                // The escalation condition may read signals the rule's own did not.
                await signals.ensure(cascade.when.signals.subtracting([.confidence]))
                action = .cascade(cascade)
            case .deny(let message): action = .deny(message)
            }
            decision = RouteDecision(rule: rule.name, action: action, reason: Self.reason("rule:\(rule.name)", facts),
                                     signals: signals.values, trace: trace, privateData: [], mayServeLocallyAsLastResort: true)
            break
        }
        if decision == nil {
            guard named else {
                throw GatewayError(status: 400, code: "no_route",
                               message: "No rule of the policy matches this request, and it named no model.")
            }
            decision = RouteDecision(rule: "model:\(request.model)", action: .serve([request.model]), reason: "requested-model",
                                     signals: signals.values, trace: trace, privateData: [], mayServeLocallyAsLastResort: true)
        }
        return applyCallerLimits(applyConstraints(decision!), caller)
    }

    /// A model a client may name: `auto` or one of the policy's; 404 otherwise.
    public func check(model: String) throws(GatewayError) {
        if model != Self.autoModel, policy.model(named: model) == nil { throw .modelNotFound(model, available: modelNames) }
    }

    /// Private data never leaves the allowed targets, whatever the rule, its fallbacks or a
    /// retry would do; when none of them is left, the request is refused.
    private func applyConstraints(_ decision: RouteDecision) -> RouteDecision {
        guard let constraint = policy.constraints.privateData, let pii = decision.signals.pii else { return decision }
        let found = pii.intersection(constraint.classes).sorted()
        guard !found.isEmpty else { return decision }
        var result = decision
        result.privateData = found
        result.mayServeLocallyAsLastResort = policy.localModels.contains { constraint.allowedTargets.contains($0.name) }
        result.reason += " private_data=\(found.joined(separator: ","))"
        let refusal = RouteDecision.Action.deny(
            "This request contains private data (\(found.joined(separator: ", "))), which may only be served by \(constraint.allowedTargets.joined(separator: ", ")); rule '\(decision.rule)' would send it elsewhere.")
        result.action = decision.action.restricted(to: constraint.allowedTargets, otherwise: refusal)
        return result
    }

    /// A key limited to some models: a request it makes is served only by them, or refused.
    private func applyCallerLimits(_ decision: RouteDecision, _ caller: Caller) -> RouteDecision {
        guard let models = caller.models else { return decision }
        var result = decision
        let refusal = RouteDecision.Action.deny(
            "The API key '\(caller.keyName ?? "")' may use only \(models.joined(separator: ", ")); this request would be served by another model.")
        result.action = decision.action.restricted(to: models, otherwise: refusal)
        result.mayServeLocallyAsLastResort = decision.mayServeLocallyAsLastResort && policy.localModels.contains { models.contains($0.name) }
        return result
    }

    static func reason(_ head: String, _ facts: [String]) -> String {
        let text = facts.isEmpty ? head : head + " " + facts.joined(separator: " ")
        // Header-safe: printable ASCII only (facts may quote client-sent header values).
        return String(String.UnicodeScalarView(text.unicodeScalars.map { $0.isASCII && $0.value >= 32 && $0.value < 127 ? $0 : "?" }).prefix(300))
    }
}

extension RouteDecision.Action {
    /// This action with only `allowed` targets left: a cascade whose two steps are allowed keeps its
    /// allowed fallbacks; one that cannot escalate serves what it may; nothing left is `refusal`.
    func restricted(to allowed: [String], otherwise refusal: RouteDecision.Action) -> RouteDecision.Action {
        switch self {
        case .serve(let candidates):
            let kept = candidates.filter(allowed.contains)
            return kept.isEmpty ? refusal : .serve(kept)
        case .cascade(let cascade):
            if allowed.contains(cascade.escalateTo), allowed.contains(cascade.first) {
                var kept = cascade
                kept.fallbacks = cascade.fallbacks.filter(allowed.contains)
                return .cascade(kept)
            }
            let kept = ([cascade.first] + cascade.fallbacks).filter(allowed.contains)
            return kept.isEmpty ? refusal : .serve(kept)
        case .deny:
            return self
        }
    }
}
