import Testing
import SwitchyardProviders
import SwitchyardWire
@testable import SwitchyardPolicy
@testable import SwitchyardDecision
@testable import SwitchyardExecution
@testable import SwitchyardSignals

@Suite("Policy language")
struct PolicyLanguageTests {
    static let root = #filePath.components(separatedBy: "/Tests/")[0]

    let base = """
    version: 1
    models:
      local: {kind: local, context: 8192, slots: 4}
      cloud: {kind: openai, model: gpt-x, api_key_env: CLOUD_KEY}
    """


    @Test("rule and constraint mistakes are reported at their line and column", arguments: [
        ("rules:\n  - when: promt_tokens > 5\n    serve: local\n", 6, 11, "in condition: unknown signal 'promt_tokens' (did you mean 'prompt_tokens'?)"),
        ("rules:\n  - when: \"complexity > 2\"\n    serve: local\n", 6, 23, "threshold 2 is outside the range of complexity"),
        ("rules:\n  - when: confidence < 0.5\n    serve: local\n", 6, 11, "`confidence` is known only after the local model answered"),
        ("rules:\n  - serve: local\n    deny: no\n", 6, 5, "more than one action"),
        ("rules:\n  - name: x\n", 6, 5, "rule 'x' has no action"),
        ("rules:\n  - cascade: {first: cloud, escalate_to: local}\n", 6, 22, "a cascade starts on the local model"),
        ("rules:\n  - cascade: {first: local, escalate_to: cloud, when: \"confidence < 1.5\"}\n", 6, 67, "threshold 1.5 is outside the range of confidence"),
        ("rules:\n  - {when: tools, serve: local}\n  - {serve: cloud}\n  - {serve: local}\n", 8, 5, "rule 'rule-3' is never reached: rule 'rule-2' at line 7"),
        ("rules:\n  - {when: \"pii in [email]\", serve: cloud}\n  - {serve: local}\nconstraints:\n  private_data: {classes: [email], allowed_targets: [local]}\n", 6, 5,
         "rule 'rule-1' matches private data (email) but may send it to 'cloud'"),
        ("rules:\n  - {when: pii, serve: local, fallbacks: [cloud]}\nconstraints:\n  private_data: {allowed_targets: [local]}\n", 6, 5, "may send it to 'cloud'"),
        ("constraints:\n  private_data: {classes: [emails]}\n", 6, 28, "unknown PII class 'emails' (did you mean 'email'?)"),
        ("constraints:\n  private_data: {allowed_targets: [clod]}\n", 6, 36, "unknown target 'clod' (did you mean 'cloud'?)"),
        ("tests:\n  - {request: {model: auto, messages: []}, signals: {promp_tokens: 3}, expect: {target: local}}\n", 6, 54, "unknown signal 'promp_tokens'"),
        ("tests:\n  - {request: {model: auto}, expect: {target: lokal}}\n", 6, 47, "unknown target 'lokal'"),
    ] as [(String, Int, Int, String)])
    func located(_ tail: String, line: Int, column: Int, message: String) {
        let found = diagnostics(base + "\n" + tail)
        let match = found.first { $0.message.contains(message) }
        #expect(match != nil, "expected '\(message)' in \(found)")
        #expect(match?.line == line, "\(String(describing: match))")
        #expect(match?.column == column, "\(String(describing: match))")
    }

    @Test("every example policy loads and passes its own tests", arguments: ["default", "privacy-first", "cost-capped", "long-context"])
    func examples(_ name: String) async throws {
        let policy = try PolicyLoader.load(path: "\(Self.root)/policies/\(name).yaml")
        #expect(policy.tests.count >= 3)
        let outcomes = await PolicyTestRunner(policy: policy).run()
        for outcome in outcomes {
            #expect(outcome.passed, "\(outcome.test.name): \(outcome.failures)")
        }
    }

    @Test("a policy test that does not hold fails with what was expected and what happened")
    func failingPolicyTest() async throws {
        let policy = try PolicyLoader.parse(base + """

        rules:
          - {when: prompt_tokens > 100, serve: cloud}
          - {serve: local}
        tests:
          - name: wrong on purpose
            request: {model: auto, messages: [{role: user, content: hi}]}
            signals: {prompt_tokens: 500}
            expect: {target: local}
        """, file: "p.yaml")
        let outcome = try #require(await PolicyTestRunner(policy: policy).run().first)
        #expect(!outcome.passed)
        #expect(outcome.failures == ["target: expected local, got cloud"])
    }

    func router(_ yaml: String) throws -> TestRouter {
        let policy = try PolicyLoader.parse(base + "\n" + yaml, file: "p.yaml")
        return TestRouter(policy: policy, providers: policy.models.map { StubProvider(target: $0) })
    }

    func chat(_ content: String, model: String = "auto") throws -> ChatRequest {
        try ChatRequest(body: ["model": .string(model), "messages": .array([.object(["role": .string("user"), "content": .string(content)])])])
    }

    @Test("private data never takes a remote target or fallback: it stays local, or is refused")
    func privateData() async throws {
        let r = try router("""
        constraints:
          private_data: {classes: [email, credit_card], allowed_targets: [local]}
        rules:
          - {when: prompt_chars > 40, serve: cloud}
          - {serve: cloud, fallbacks: [local]}
        """)
        // The catch-all rule would use the cloud first: with an email, only its local fallback remains.
        let short = try await r.decide(chat("mail ann@example.com"))
        #expect(short.action == .serve(["local"]))
        #expect(short.privateData == ["email"])
        #expect(short.reason == "rule:rule-2 private_data=email")
        // The long-prompt rule names only the cloud: refused, not sent.
        let long = try await r.decide(chat("please mail the full quarterly report to ann@example.com today"))
        guard case .deny(let deny) = long.action else { Issue.record("not refused: \(long.action)"); return }
        #expect(deny.message.contains("private data (email)"))
        // Naming the cloud model does not get around it.
        let named = try await r.decide(chat("card 4111 1111 1111 1111", model: "cloud"))
        guard case .deny = named.action else { Issue.record("not refused: \(named.action)"); return }
        // Without private data the rules apply as written.
        #expect(try await r.decide(chat("hello")).action == .serve(["cloud", "local"]))
    }

    @Test("a named model skips rules that do not read `model`, and obeys those that do")
    func namedModels() async throws {
        let r = try router("""
        rules:
          - {when: 'model == "cloud" and tenant == "guest"', deny: "guests may not use the cloud"}
          - {when: tools, serve: cloud}
          - {serve: local}
        """)
        let guest = try await r.decide(chat("hi", model: "cloud"), headers: ["tenant": "guest"])
        #expect(guest.action == .deny("guests may not use the cloud"))
        let member = try await r.decide(chat("hi", model: "cloud"), headers: ["tenant": "staff"])
        #expect(member.action == .serve(["cloud"]))
        #expect((member.trace ?? []).map(\.outcome) == [.notMatched, .skipped("the request named a model and this rule does not read `model`"),
                                                .skipped("the request named a model and this rule does not read `model`")])
    }

    @Test("a deny rule refuses a request whatever model it names; serve and cascade rules still skip named models")
    func denyAppliesToNamedModels() async throws {
        let r = try router("""
        rules:
          - {name: retired, when: 'header.app == "legacy"', deny: "legacy is retired"}
          - {name: tools, when: tools, serve: cloud}
          - {name: rest, serve: local}
        """)
        for model in ["auto", "local", "cloud"] {
            let decision = try await r.decide(chat("hi", model: model), headers: ["app": "legacy"])
            #expect(decision.action == .deny("legacy is retired"), "\(model)")
            #expect(decision.rule == "retired")
        }
        let named = try await r.decide(chat("hi", model: "cloud"), headers: ["app": "new"])
        #expect(named.rule == "model:cloud")
        #expect((named.trace ?? []).map(\.outcome) == [.notMatched, .skipped("the request named a model and this rule does not read `model`"),
                                               .skipped("the request named a model and this rule does not read `model`")])
    }

    @Test("policy check warns, without failing, about serve and cascade rules that a named-model request skips")
    func skippedRuleWarnings() throws {
        let policy = try PolicyLoader.parse(base + """

        rules:
          - {name: retired, when: 'header.app == "legacy"', deny: "retired"}
          - {name: guests, when: 'model == "cloud" and tenant == "guest"', serve: local}
          - name: long
            when: prompt_tokens > 1000
            serve: cloud
          - name: rest
            cascade: {first: local, escalate_to: cloud}
        """, file: "p.yaml")
        #expect(policy.warnings.map(\.description) == [
            "p.yaml:8:5: warning: rule 'long' is skipped by requests that name a model (it does not read `model`)",
            "p.yaml:11:5: warning: rule 'rest' is skipped by requests that name a model (it does not read `model`)",
        ])
        #expect(policy.warnings.allSatisfy { $0.severity == .warning })
    }

    @Test("only the signals the tried rules need are computed")
    func lazySignals() async throws {
        let tokenizer = CountingTokenizer()
        let policy = try PolicyLoader.parse(base + "\nrules:\n  - {when: tools, serve: cloud}\n  - {when: prompt_tokens > 5, serve: cloud}\n  - {serve: local}\n", file: "p")
        let r = TestRouter(policy: policy, providers: [], tokenizer: tokenizer)
        var withTools = try chat("hi")
        withTools = try ChatRequest(body: { var b = withTools.body; b["tools"] = .array([.object(["type": .string("function")])]); return b }())
        let first = try await r.decide(withTools)
        #expect(first.rule == "rule-1")
        #expect(first.promptTokens == nil && r.signal("prompt_tokens", in: first) == nil && tokenizer.calls == 0)
        let second = try await r.decide(chat("hello there, how are you"))
        #expect(second.rule == "rule-2")
        #expect(tokenizer.calls == 1)
        #expect(r.signal("pii", in: second) == nil, "no rule and no constraint reads PII")
    }

    @Test("the explain trace shows signals, every rule tried, the action")
    func explain() async throws {
        let r = try router("""
        rules:
          - {name: long, when: prompt_tokens > 0.8 * local.context, serve: cloud}
          - {name: everything-else, cascade: {first: local, escalate_to: cloud, when: confidence < 0.6}}
        """)
        let trace = r.json(try await r.decide(chat("What is 2+2?"), stubs: ["prompt_tokens": .number(120)]))
        #expect(trace["rule"] == .string("everything-else"))
        #expect(trace["signals"]?["prompt_tokens"] == .int(120))
        #expect(trace["rules"] == .array([
            .object(["rule": .string("long"), "when": .string("prompt_tokens > 0.8 * local.context"), "result": .string("not matched")]),
            .object(["rule": .string("everything-else"), "when": .string("true"), "result": .string("matched")]),
        ]))
        #expect(trace["action"] == .object(["kind": .string("cascade"), "first": .string("local"), "escalate_to": .string("cloud"),
                                            "when": .string("confidence < 0.6"), "fallbacks": .array([])]))
    }
}

final class CountingTokenizer: PromptTokenizer, @unchecked Sendable {
    private(set) var calls = 0
    func promptTokens(_ request: RequestSummary) async -> (count: Int, estimated: Bool) {
        calls += 1
        return (request.turns.reduce(0) { $0 + $1.text.count }, false)
    }
}
