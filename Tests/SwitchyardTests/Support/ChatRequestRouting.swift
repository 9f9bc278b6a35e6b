@testable import SwitchyardProviders
@testable import SwitchyardRouter
import SwitchyardPolicy
import SwitchyardWire

/// Tests written against OpenAI chat bodies, routed as the OpenAI front routes them: the
/// router reads the neutral summary, providers get the gateway request.
extension RequestRouter {
    func decide(_ request: ChatRequest, headers: [String: String] = [:], caller: Caller = .anonymous,
                budgets: (any BudgetSignals)? = nil, stubs: SignalValues = SignalValues()) async throws(GatewayError) -> RouteDecision {
        try await decide(request.summary, headers: headers, caller: caller, budgets: budgets, stubs: stubs)
    }

    func complete(_ request: ChatRequest, decision: RouteDecision, context: ProviderContext,
                  tracker: AttemptTracker) async throws(GatewayError) -> Served<Completion> {
        try await complete(GatewayRequest(request), decision: decision, context: context, tracker: tracker)
    }

    func stream(_ request: ChatRequest, decision: RouteDecision, context: ProviderContext,
                tracker: AttemptTracker) async throws(GatewayError) -> Served<CompletionStream> {
        try await stream(GatewayRequest(request), decision: decision, context: context, tracker: tracker)
    }
}

extension ComplexityScorer {
    static func score(_ request: ChatRequest) -> Double { score(request.summary) }
    static func features(_ request: ChatRequest) -> Features { features(request.summary) }
}

extension ConfidenceScorer {
    func confidence(logprobs: [Double], top: [[Double]], request: ChatRequest, promptTokens: Int) -> Double? {
        confidence(logprobs: logprobs, top: top, request: request.summary, promptTokens: promptTokens)
    }
}
