@testable import SwitchyardProviders
@testable import SwitchyardDecision
@testable import SwitchyardExecution
@testable import SwitchyardSignals
import SwitchyardPolicy
import SwitchyardWire

/// A policy's decider and executor as the gateway builds them, for tests that route without a
/// server, written against OpenAI chat bodies (routed as the OpenAI front routes them: the
/// decision reads the neutral summary, providers get the gateway request).
struct TestRouter: Sendable {
    let decider: Decider
    let executor: Executor
    var policy: Policy { decider.policy }

    init(policy: Policy, providers: [any Provider] = [], tokenizer: any PromptTokenizer = EstimatingTokenizer(),
         gates: TargetGates = TargetGates(), breakers: TargetBreakers = TargetBreakers(), box: (any BoxState)? = nil) {
        decider = Decider(policy: policy, tokenizer: tokenizer, box: box)
        executor = Executor(decider: decider, providers: providers, gates: gates, breakers: breakers)
    }

    /// `stubs` by signal name; the trace is built, as explain builds it.
    func decide(_ request: ChatRequest, headers: [String: String] = [:], caller: Caller = .anonymous,
                budgets: (any BudgetSignals)? = nil, stubs: [String: ConditionValue] = [:]) async throws(GatewayError) -> Decision {
        try await decide(request.summary, headers: headers, caller: caller, budgets: budgets, stubs: stubs)
    }

    func decide(_ summary: RequestSummary, headers: [String: String] = [:], caller: Caller = .anonymous,
                budgets: (any BudgetSignals)? = nil, billing: BillingBounds? = nil,
                stubs: [String: ConditionValue] = [:]) async throws(GatewayError) -> Decision {
        let slots = stubs.map { (slot: policy.signals.slot(named: $0.key)!, value: $0.value) }
        return try await decider.decide(summary, Decider.Inputs(headers: headers, caller: caller, budgets: budgets, billing: billing,
                                                                stubs: slots, explain: true))
    }

    func complete(_ request: ChatRequest, decision: Decision, context: ProviderContext,
                  tracker: AttemptTracker) async throws(GatewayError) -> Served<Completion> {
        try await executor.complete(GatewayRequest(request), decision: decision, context: context, tracker: tracker)
    }

    func stream(_ request: ChatRequest, decision: Decision, context: ProviderContext,
                tracker: AttemptTracker) async throws(GatewayError) -> Served<CompletionStream> {
        try await executor.stream(GatewayRequest(request), decision: decision, context: context, tracker: tracker)
    }

    func breakerStatus(_ target: String) -> BreakerStatus? { executor.breakerStatus(target) }

    /// A signal's value in a decision, by name.
    func signal(_ name: String, in decision: Decision) -> ConditionValue? {
        policy.signals.slot(named: name).flatMap { decision.signals[$0] }
    }

    func json(_ decision: Decision) -> JSON { decision.json(signals: policy.signals) }
}

extension Action {
    /// `.serve(["a", "b"])`: what tests compare a decision's action with.
    static func serve(_ targets: [String]) -> Action { .serve(Serve(targets: targets)) }
    static func deny(_ message: String) -> Action { .deny(Deny(message: message)) }
}

extension ComplexityScorer {
    static func score(_ request: ChatRequest) -> Double { score(request.summary) }
    static func features(_ request: ChatRequest) -> Features { features(request.summary) }
}

