import Synchronization
import Testing
import SwitchyardHTTP
import SwitchyardWire

/// Policies at work in a running gateway: rule and reason headers, deny, explain, the cascade
/// against the real small model, and hot reload while requests flow.
@Suite("Policies in a running gateway", .serialized)
struct GatewayPolicyTests {
    init() throws { try Fixtures.requireEngine() }

    func cloudPolicy(_ baseURL: String, rules: String) -> String {
        """
        version: 1
        models:
          cloud: {kind: openai, base_url: "\(baseURL)", model: up, api_key_env: TEST_CLOUD_API_KEY}
          other: {kind: openai, base_url: "\(baseURL)", model: up2, api_key_env: TEST_CLOUD_API_KEY}
        rules:
        \(rules)
        """
    }

    @Test("rule, reason and deny come from the policy; explain shows the same decision without calling a model")
    func rulesAndExplain() async throws {
        try await ScriptedProvider.with(.answer(pieces: ["ok"])) { provider in
            let policy = cloudPolicy(provider.baseURL, rules: """
              - {name: legacy, when: 'header.app == "legacy"', deny: "this app is retired"}
              - {name: research, when: 'tenant == "research" and messages >= 2', serve: other}
              - {name: default, serve: cloud}
            """)
            try await Fixtures.withGateway(policy: policy, environment: ["TEST_CLOUD_API_KEY": "k"]) { gateway in
                let denied = try await gateway.post("/v1/chat/completions", #"{"model":"auto","messages":[{"role":"user","content":"hi"}]}"#,
                                                    headers: [("x-switchyard-app", "legacy")])
                #expect(denied.status == 403)
                #expect(denied.json["error"]?["message"] == .string("this app is retired"))
                #expect(denied.json["error"]?["code"] == .string("policy_denied"))
                // Naming a model does not step around a deny rule.
                for model in ["cloud", "other"] {
                    let named = try await gateway.post("/v1/chat/completions", #"{"model":"\#(model)","messages":[{"role":"user","content":"hi"}]}"#,
                                                       headers: [("x-switchyard-app", "legacy")])
                    #expect(named.status == 403, "\(model)")
                    #expect(named.json["error"]?["message"] == .string("this app is retired"))
                }
                #expect(provider.received.isEmpty, "a refused request reaches no model")

                let body = #"{"model":"auto","messages":[{"role":"user","content":"a"},{"role":"assistant","content":"b"},{"role":"user","content":"c"}]}"#
                let research = try await gateway.post("/v1/chat/completions", body, headers: [("x-switchyard-tenant", "research")])
                #expect(research.status == 200)
                #expect(research.header("x-switchyard-rule") == "research")
                #expect(research.header("x-switchyard-model") == "other")
                #expect(research.header("x-switchyard-reason") == "rule:research tenant=research==research messages=3>=2")
                #expect(provider.received.last?.body["model"] == .string("up2"))

                let calls = provider.received.count
                let explained = try await gateway.post("/v1/switchyard/explain", body, headers: [("x-switchyard-tenant", "research")])
                #expect(explained.status == 200)
                #expect(explained.json["rule"] == .string("research"))
                #expect(explained.json["action"]?["targets"] == .array([.string("other")]))
                #expect(explained.json["signals"]?["tenant"] == .string("research"))
                #expect(explained.json["rules"]?.arrayValue?.count == 2)
                // The same conversation from an Anthropic client (the SDK sends anthropic-version):
                // the same decision, every signal a rule read with its value.
                let anthropic = #"{"model":"auto","max_tokens":10,"messages":[{"role":"user","content":"a"},{"role":"assistant","content":"b"},{"role":"user","content":"c"}]}"#
                for headers in [[("x-switchyard-tenant", "research"), ("anthropic-version", "2023-06-01")]] {
                    let viaAnthropic = try await gateway.post("/v1/switchyard/explain", anthropic, headers: headers)
                    #expect(viaAnthropic.status == 200, "\(viaAnthropic.bodyText)")
                    #expect(viaAnthropic.json["rule"] == explained.json["rule"] && viaAnthropic.json["signals"] == explained.json["signals"],
                            "\(viaAnthropic.bodyText) vs \(explained.bodyText)")
                    #expect(viaAnthropic.json["signals"]?["messages"] == .int(3) && viaAnthropic.json["signals"]?["header.app"] == .string(""))
                }
                let byQuery = try await gateway.post("/v1/switchyard/explain?format=anthropic", anthropic, headers: [("x-switchyard-tenant", "research")])
                #expect(byQuery.json["rule"] == .string("research"), "\(byQuery.bodyText)")
                // A body that is not the format it says is refused in that format's error shape.
                let wrong = try await gateway.post("/v1/switchyard/explain", body, headers: [("anthropic-version", "2023-06-01")])
                #expect(wrong.status == 400 && wrong.json["type"] == .string("error"), "\(wrong.bodyText)")
                #expect(try await gateway.post("/v1/switchyard/explain?format=gemini", body).status == 400)
                #expect(provider.received.count == calls, "explain must not call any model")
            }
        }
    }

    func cascadePolicy(_ baseURL: String, when: String, key: Bool = true) -> String {
        """
        version: 1
        models:
        \(Fixtures.localModelYAML)
          cloud: {kind: openai, base_url: "\(baseURL)", model: up, api_key_env: \(key ? "TEST_CLOUD_API_KEY" : "TEST_MISSING_API_KEY")}
        rules:
          - name: cascade
            cascade: {first: local, escalate_to: cloud, when: "\(when)"}
        """
    }

    @Test("a cascade keeps a local answer it is confident enough in, and escalates one it is not", arguments: [
        ("confidence < 0.0001", "local", false),
        ("confidence <= 1", "cloud", true),
    ])
    func cascade(_ when: String, route: String, escalates: Bool) async throws {
        try await ScriptedProvider.with(.answer(pieces: ["Paris, from the cloud"])) { provider in
            try await Fixtures.withGateway(policy: cascadePolicy(provider.baseURL, when: when), environment: ["TEST_CLOUD_API_KEY": "k"]) { gateway in
                let response = try await gateway.chat("What is the capital of France?", maxTokens: 12)
                #expect(response.status == 200)
                #expect(response.header("x-switchyard-route") == route)
                let content = response.json["choices"]?.arrayValue?.first?["message"]?["content"]?.stringValue ?? ""
                #expect(!content.isEmpty)
                #expect(response.json["choices"]?.arrayValue?.first?["logprobs"] ?? .null == .null, "log-probabilities the client did not ask for are removed")
                if escalates {
                    #expect(content == "Paris, from the cloud")
                    let header = try #require(response.header("x-switchyard-escalated"))
                    #expect(header.hasPrefix("confidence="), "\(header)")
                    #expect(provider.received.count == 1)
                } else {
                    #expect(response.header("x-switchyard-escalated") == nil)
                    #expect(provider.received.isEmpty)
                }
            }
        }
    }

    @Test("a cascade whose cloud target has no key keeps the local answer and says why")
    func cascadeUnconfigured() async throws {
        try await ScriptedProvider.with(.answer(pieces: ["unused"])) { provider in
            try await Fixtures.withGateway(policy: cascadePolicy(provider.baseURL, when: "confidence <= 1", key: false)) { gateway in
                let response = try await gateway.chat("Name a planet.", maxTokens: 8)
                #expect(response.status == 200)
                #expect(response.header("x-switchyard-route") == "local")
                #expect(response.header("x-switchyard-escalated")?.hasPrefix("not-escalated(confidence=") == true)
                #expect(response.header("x-switchyard-fallback") == "cloud:unconfigured(TEST_MISSING_API_KEY is not set)")
                #expect(provider.received.isEmpty)
            }
        }
    }

    @Test("100 policy swaps while requests flow: no request fails; a bad file is rejected and the old policy keeps serving")
    func hotReload() async throws {
        try await ScriptedProvider.with(.answer(pieces: ["ok"])) { provider in
            let policyA = cloudPolicy(provider.baseURL, rules: "  - {name: rule-a, serve: cloud}")
            let policyB = cloudPolicy(provider.baseURL, rules: "  - {name: rule-b, serve: other}")
            try await Fixtures.withGateway(policy: policyA, environment: ["TEST_CLOUD_API_KEY": "k"]) { gateway in
                let path = gateway.gateway.policy.source
                let client = gateway.client
                let url = gateway.baseURL + "/v1/chat/completions"
                let stop = StopFlag()
                let traffic = Task {
                    var statuses: [Int: Int] = [:]
                    var rules = Set<String>()
                    for _ in 0..<5000 where !stop.isSet {
                        let body = Array(#"{"model":"auto","messages":[{"role":"user","content":"hi"}]}"#.utf8)
                        let response = try await client.send(HTTPRequest(method: .post, url: url, headers: [("Content-Type", "application/json")],
                                                                         body: body))
                        statuses[response.status, default: 0] += 1
                        if let rule = response.head.header("x-switchyard-rule") { rules.insert(rule) }
                    }
                    return (statuses, rules)
                }
                for swap in 0..<100 {
                    try Fixtures.writeFile(path, swap % 2 == 0 ? policyB : policyA)
                    await gateway.gateway.reloadPolicy()
                    // Returned only once the reload it asked for is in force.
                    #expect(gateway.gateway.policy.rules.first?.name == (swap % 2 == 0 ? "rule-b" : "rule-a"))
                    try await Task.sleep(for: .milliseconds(5))
                }
                stop.set()
                let (statuses, rules) = try await traffic.value
                #expect(statuses.keys.sorted() == [200], "\(statuses)")
                #expect((statuses[200] ?? 0) > 50)
                #expect(rules == ["rule-a", "rule-b"])
                #expect(gateway.gateway.policy.rules.first?.name == "rule-a")  // the 100th swap wrote A

                try Fixtures.writeFile(path, policyB.replacingOccurrences(of: "serve: other", with: "serve: nowhere"))
                await gateway.gateway.reloadPolicy()
                let ready = try await gateway.get("/readyz")
                let error = try #require(ready.json["policy"]?["last_reload_error"]?.stringValue)
                #expect(error.contains("\(path):6:"), "\(error)")
                #expect(error.contains("unknown target 'nowhere'"))
                let still = try await gateway.chat("hi")
                #expect(still.status == 200)
                #expect(still.header("x-switchyard-rule") == "rule-a")
            }
        }
    }

    @Test("a policy file changed on disk is picked up without a signal")
    func fileWatch() async throws {
        try await ScriptedProvider.with(.answer(pieces: ["ok"])) { provider in
            try await Fixtures.withGateway(policy: cloudPolicy(provider.baseURL, rules: "  - {name: before, serve: cloud}"),
                                           environment: ["TEST_CLOUD_API_KEY": "k"]) { gateway in
                try Fixtures.writeFile(gateway.gateway.policy.source, cloudPolicy(provider.baseURL, rules: "  - {name: after, serve: cloud}"))
                let deadline = ContinuousClock.now + .seconds(10)
                var rule: String?
                while rule != "after", ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(100))
                    rule = try await gateway.chat("hi").header("x-switchyard-rule")
                }
                #expect(rule == "after")
            }
        }
    }
}

/// Ends a bounded load loop after its current request (cancelling would abort that request).
final class StopFlag: Sendable {
    private let flag = Mutex(false)
    var isSet: Bool { flag.withLock { $0 } }
    func set() { flag.withLock { $0 = true } }
}
