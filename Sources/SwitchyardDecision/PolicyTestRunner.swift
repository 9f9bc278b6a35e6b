import SwitchyardPolicy
import SwitchyardSignals
import SwitchyardWire

/// Runs a policy's own `tests:` against its decisions, with no model called: the signals a test
/// stubs are used as given; prompt tokens not stubbed are estimated (and the result says so).
public struct PolicyTestRunner: Sendable {
    public struct Outcome: Sendable {
        public var test: PolicyTest
        public var failures: [String]
        public var decision: Decision?
        public var passed: Bool { failures.isEmpty }
    }

    let decider: Decider

    public init(policy: Policy, tokenizer: any PromptTokenizer = EstimatingTokenizer()) {
        decider = Decider(policy: policy, tokenizer: tokenizer)
    }

    public func run() async -> [Outcome] {
        var outcomes: [Outcome] = []
        for test in decider.policy.tests { outcomes.append(await run(test)) }
        return outcomes
    }

    public func run(_ test: PolicyTest) async -> Outcome {
        let got: (target: String?, rule: String?, status: Int, decision: Decision?)
        do {
            let summary = try test.format.summary(of: test.request)
            let headers = test.headers.reduce(into: [String: String]()) { $0[SwitchyardHeaders.signalName(ofTestHeader: $1.key)] = $1.value }
            let decision = try await decider.decide(summary, Decider.Inputs(headers: headers, stubs: test.signals, explain: true))
            got = (decision.action.firstTarget, decision.rule, decision.isRefusal ? 403 : 200, decision)
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
