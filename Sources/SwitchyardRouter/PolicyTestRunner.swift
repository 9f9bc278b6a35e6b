import SwitchyardPolicy
import SwitchyardProviders
import SwitchyardWire

/// Runs a policy's own `tests:` against its decisions, with no model called: the signals a test
/// stubs are used as given; prompt tokens not stubbed are estimated (and the result says so).
public struct PolicyTestRunner: Sendable {
    public struct Outcome: Sendable {
        public var test: PolicyTest
        public var failures: [String]
        public var decision: RouteDecision?
        public var passed: Bool { failures.isEmpty }
    }

    let router: RequestRouter

    public init(policy: Policy, tokenizer: any PromptTokenizer = EstimatingTokenizer()) {
        router = RequestRouter(policy: policy, providers: [], tokenizer: tokenizer)
    }

    public func run() async -> [Outcome] {
        var outcomes: [Outcome] = []
        for test in router.policy.tests { outcomes.append(await run(test)) }
        return outcomes
    }

    public func run(_ test: PolicyTest) async -> Outcome {
        var stubs = SignalValues()
        for (signal, value) in test.signals { stubs.stub(signal, value) }
        let got: (target: String?, rule: String?, status: Int, decision: RouteDecision?)
        do {
            let request = try ChatRequest(body: test.request)
            let decision = try await router.decide(request.summary, headers: test.headers.reduce(into: [:]) { headers, entry in
                let name = entry.key.hasPrefix("x-switchyard-") ? String(entry.key.dropFirst(13)) : entry.key
                headers[name] = entry.value
            }, stubs: stubs)
            switch decision.action {
            case .serve(let targets): got = (targets.first, decision.rule, 200, decision)
            case .cascade(let cascade): got = (cascade.first, decision.rule, 200, decision)
            case .deny: got = (nil, decision.rule, 403, decision)
            }
        } catch {
            got = (nil, nil, error.status, nil)
        }
        var failures: [String] = []
        func check(_ what: String, expected: String?, actual: String?) {
            guard let expected, expected != actual else { return }
            failures.append("\(what): expected \(expected), got \(actual ?? "none")")
        }
        check("target", expected: test.expect.target, actual: got.target)
        check("rule", expected: test.expect.rule, actual: got.rule)
        check("status", expected: test.expect.status.map(String.init), actual: String(got.status))
        if test.expect.status == nil, got.status != 200 {
            failures.append("status: expected a target, got \(got.status)")
        }
        return Outcome(test: test, failures: failures, decision: got.decision)
    }
}
