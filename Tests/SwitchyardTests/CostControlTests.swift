import Logging
import Testing
import SwitchyardHTTP
import SwitchyardLedger
import SwitchyardWire

/// Keys, budgets, rate limits and the ledger, through a running gateway against a scripted cloud
/// with known usage (11 prompt and 7 completion tokens an answer).
@Suite("Cost control", .serialized)
struct CostControlTests {
    static let admin = "sy-admin-test-key"
    /// $1000 and $2000 per million tokens: an answer costs 11×1000 + 7×2000 = 25,000 $/M = $0.025.
    static let answerCost = Nanodollars(25_000_000)

    func policy(_ cloud: ScriptedProvider, auth: String = "required", exhausted: String = "deny", local: Bool = false,
                rules: String = "  - {name: main, serve: cloud}") -> String {
        """
        version: 1
        auth: {mode: \(auth)}
        budgets: {on_exhausted: \(exhausted)}
        models:
        \(local ? Fixtures.localModelYAML : "")
          cloud:
            kind: openai
            base_url: "\(cloud.baseURL)"
            model: m
            api_key_env: K
            price: {input: 1000, output: 2000}
        rules:
        \(rules)
        """
    }

    let environment = ["K": "k", "SWITCHYARD_ADMIN_KEY": CostControlTests.admin]

    func createKey(_ gateway: RunningGateway, _ spec: String) async throws -> (secret: String, id: String) {
        let response = try await gateway.post("/v1/switchyard/keys", spec, headers: [("Authorization", "Bearer \(Self.admin)")])
        #expect(response.status == 201, "\(response.bodyText)")
        let secret = try #require(response.json["secret"]?.stringValue)
        let id = try #require(response.json["id"]?.stringValue)
        return (secret, id)
    }

    func chat(_ gateway: RunningGateway, key: String?, model: String = "auto", stream: Bool = false, maxTokens: Int = 10) async throws -> HTTPResponse {
        let body = #"{"model":"\#(model)","max_tokens":\#(maxTokens),"stream":\#(stream),"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}"#
        return try await gateway.post("/v1/chat/completions", body, headers: key.map { [("Authorization", "Bearer \($0)")] } ?? [])
    }

    /// The gateway's own ledger, read beside it (SQLite in WAL lets a second reader in).
    func withLedger<T: Sendable>(_ gateway: RunningGateway, _ body: (any LedgerStore) async throws -> T) async throws -> T {
        try await closing(try await Ledger.sqlite(path: gateway.directory + "/ledger.sqlite", logger: Logger(label: "test-ledger")), body)
    }

    @Test("auth required: no key, an unknown key and a revoked key are 401 in OpenAI's format; a valid key is served")
    func unauthorized() async throws {
        try await ScriptedProvider.with(.answer(pieces: ["ok"])) { cloud in
            try await Fixtures.withGateway(policy: policy(cloud), environment: environment) { gateway in
                let none = try await chat(gateway, key: nil)
                #expect(none.status == 401)
                #expect(none.json["error"]?["code"] == .string("invalid_api_key"))
                #expect(try await chat(gateway, key: "sy-not-a-key").status == 401)
                let key = try await createKey(gateway, #"{"name":"app"}"#)
                #expect(try await chat(gateway, key: key.secret).status == 200)
                // The Anthropic-style header works too.
                let viaHeader = try await gateway.post("/v1/chat/completions", #"{"model":"auto","messages":[{"role":"user","content":"hi"}]}"#,
                                                       headers: [("x-api-key", key.secret)])
                #expect(viaHeader.status == 200)
                let revoked = try await gateway.client.send(HTTPRequest(method: .delete, url: gateway.baseURL + "/v1/switchyard/keys/\(key.id)",
                                                                        headers: [("Authorization", "Bearer \(Self.admin)")]))
                #expect(revoked.status == 200)
                let after = try await chat(gateway, key: key.secret)
                #expect(after.status == 401)
                #expect(after.json["error"]?["code"] == .string("revoked_api_key"))
                #expect(cloud.received.count == 2, "only the two valid requests reach the cloud")
            }
        }
    }

    @Test("key lifecycle over the admin API: the secret is shown once, never a hash; the admin key is required")
    func keyLifecycle() async throws {
        try await ScriptedProvider.with(.answer(pieces: ["ok"])) { cloud in
            try await Fixtures.withGateway(policy: policy(cloud), environment: environment) { gateway in
                let noAdmin = try await gateway.post("/v1/switchyard/keys", #"{"name":"x"}"#)
                #expect(noAdmin.status == 401)
                let key = try await createKey(gateway, #"{"name":"research-app","tenant":"research","budget_usd":5,"period":"day","rpm":100}"#)
                #expect(key.secret.hasPrefix("sy-"))
                let list = try await gateway.client.send(HTTPRequest(url: gateway.baseURL + "/v1/switchyard/keys",
                                                                     headers: [("Authorization", "Bearer \(Self.admin)")]))
                #expect(list.status == 200)
                #expect(!list.bodyText.contains(key.secret), "the secret is shown only at creation")
                #expect(!list.bodyText.contains(APIKeys.hash(key.secret)), "the hash is never shown")
                let shown = try await gateway.client.send(HTTPRequest(url: gateway.baseURL + "/v1/switchyard/keys/\(key.id)",
                                                                      headers: [("Authorization", "Bearer \(Self.admin)")]))
                #expect(shown.json["tenant"] == .string("research"))
                #expect(shown.json["budget_usd"]?.doubleValue == 5)
                #expect(shown.json["period"] == .string("day"))
                let bad = try await gateway.post("/v1/switchyard/keys", #"{"name":"x","budget_usd":-1}"#, headers: [("Authorization", "Bearer \(Self.admin)")])
                #expect(bad.status == 400)
            }
        }
    }

    @Test("what a response cost: the header on a whole answer, cost_usd in a stream's usage; both recorded in the ledger")
    func costOfResponses() async throws {
        try await ScriptedProvider.with(.answer(pieces: ["ok"])) { cloud in
            try await Fixtures.withGateway(policy: policy(cloud), environment: environment) { gateway in
                let key = try await createKey(gateway, #"{"name":"app"}"#)
                let whole = try await chat(gateway, key: key.secret)
                #expect(whole.header("x-switchyard-cost-usd").flatMap(Double.init) == 0.025)
                let streamed = try await chat(gateway, key: key.secret, stream: true)
                let usage = sseEvents(streamed.body).compactMap { try? JSON.parse($0) }.compactMap { $0["usage"] }.last
                #expect(usage?["cost_usd"]?.doubleValue == 0.025, "\(streamed.bodyText)")
                try await withLedger(gateway) { ledger in
                    for response in [whole, streamed] {
                        let id = try #require(response.header("x-switchyard-request-id"))
                        let attempts = try await ledger.committedAttempts(requestID: id)
                        #expect(attempts.map(\.outcome) == [.served])
                        #expect(attempts.first?.cost == Self.answerCost)
                        #expect(attempts.first?.keyID == key.id)
                        #expect(attempts.first?.costEstimated == false)
                    }
                    let usageRows = try await ledger.usage(UsageQuery(groupBy: .key))
                    #expect(usageRows.first?.spend == Nanodollars(2 * Self.answerCost.value))
                }
            }
        }
    }

    @Test("a budget under deny: answers until the next worst case does not fit, then 429 budget_exceeded; spend never passes it")
    func budgetDeny() async throws {
        try await ScriptedProvider.with(.answer(pieces: ["ok"])) { cloud in
            try await Fixtures.withGateway(policy: policy(cloud), environment: environment) { gateway in
                let key = try await createKey(gateway, #"{"name":"capped","budget_usd":0.2,"period":"total"}"#)
                var served = 0
                var refusal: HTTPResponse?
                for _ in 0..<20 {
                    let response = try await chat(gateway, key: key.secret)
                    if response.status == 200 { served += 1; continue }
                    refusal = response
                    break
                }
                let refused = try #require(refusal, "the budget never ran out")
                #expect(refused.status == 429)
                #expect(refused.json["error"]?["code"] == .string("budget_exceeded"))
                #expect(served >= 1)
                try await withLedger(gateway) { ledger in
                    let state = try await ledger.budgetState(BudgetScope(kind: .key, id: key.id, limit: .usd(0.2), period: .total), now: .now)
                    #expect(state.spent == Nanodollars(Int64(served) * Self.answerCost.value))
                    #expect(state.spent <= Nanodollars.usd(0.2))
                    #expect(state.reserved == .zero)
                }
            }
        }
    }

    @Test("100 concurrent cloud requests against a budget worth about 10: settled spend within it, nothing left reserved")
    func concurrentBudget() async throws {
        try await ScriptedProvider.with(.answer(pieces: ["ok"], chunkDelay: .milliseconds(20))) { cloud in
            try await Fixtures.withGateway(policy: policy(cloud), environment: environment) { gateway in
                // The worst case of one request (a token per byte, its 10 output tokens) is what is reserved.
                let body = #"{"model":"auto","max_tokens":10,"stream":false,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}"#
                let worst = Nanodollars(Int64(body.utf8.count) * 1_000_000 + 10 * 2_000_000)
                let budget = Nanodollars(worst.value * 10)
                let key = try await createKey(gateway, #"{"name":"burst","budget_usd":\#(budget.usd),"period":"total"}"#)
                let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                    for _ in 0..<100 { group.addTask { try await chat(gateway, key: key.secret).status } }
                    return try await group.reduce(into: [Int]()) { $0.append($1) }
                }
                #expect(statuses.allSatisfy { $0 == 200 || $0 == 429 }, "\(statuses)")
                let served = statuses.filter { $0 == 200 }.count
                #expect(served >= 10, "at least the ten worst cases fit")
                try await withLedger(gateway) { ledger in
                    let state = try await ledger.budgetState(BudgetScope(kind: .key, id: key.id, limit: budget, period: .total), now: .now)
                    #expect(state.spent <= budget)
                    #expect(state.spent == Nanodollars(Int64(served) * Self.answerCost.value))
                    #expect(state.reserved == .zero)
                }
            }
        }
    }

    @Test("a key over its requests per minute gets 429 with Retry-After and x-ratelimit headers")
    func rateLimited() async throws {
        try await ScriptedProvider.with(.answer(pieces: ["ok"])) { cloud in
            try await Fixtures.withGateway(policy: policy(cloud), environment: environment) { gateway in
                let key = try await createKey(gateway, #"{"name":"slow","rpm":2}"#)
                let first = try await chat(gateway, key: key.secret)
                #expect(first.header("x-ratelimit-limit-requests") == "2")
                #expect(try await chat(gateway, key: key.secret).status == 200)
                let third = try await chat(gateway, key: key.secret)
                #expect(third.status == 429)
                #expect(third.json["error"]?["code"] == .string("rate_limit_exceeded"))
                #expect(Int(third.header("retry-after") ?? "") ?? 0 >= 1)
                #expect(third.header("x-ratelimit-remaining-requests") == "0")
                #expect(cloud.received.count == 2)
                // The same key on the Anthropic front, and on count_tokens (which asks the engine's
                // tokenizer, so it is work too): 429 in Anthropic's shape.
                for path in ["/v1/messages", "/v1/messages/count_tokens"] {
                    let refused = try await gateway.post(path, #"{"model":"auto","max_tokens":8,"messages":[{"role":"user","content":"hi"}]}"#,
                                                         headers: [("x-api-key", key.secret)])
                    #expect(refused.status == 429, "\(path): \(refused.status)")
                    #expect(refused.json["error"]?["type"] == .string("rate_limit_error"), "\(path): \(refused.bodyText)")
                    #expect(refused.header("x-switchyard-request-id") != nil)
                }
            }
        }
    }

    @Test("an exhausted budget never blocks the local model; under local_only the cloud request is served on the box and says why")
    func localNeverBlocked() async throws {
        try Fixtures.requireEngine()
        try await ScriptedProvider.with(.answer(pieces: ["ok"])) { cloud in
            try await Fixtures.withGateway(policy: policy(cloud, exhausted: "local_only", local: true), environment: environment) { gateway in
                let key = try await createKey(gateway, #"{"name":"broke","budget_usd":0,"period":"month"}"#)
                let local = try await chat(gateway, key: key.secret, model: "local")
                #expect(local.status == 200)
                #expect(local.header("x-switchyard-route") == "local")
                let cloudAsked = try await chat(gateway, key: key.secret, model: "cloud")
                #expect(cloudAsked.status == 200, "\(cloudAsked.bodyText)")
                #expect(cloudAsked.header("x-switchyard-route") == "local")
                #expect(cloudAsked.header("x-switchyard-budget")?.contains("key:") == true)
                #expect(cloud.received.isEmpty, "nothing may be spent in the cloud")
            }
        }
    }

    @Test("a cascade's discarded local attempt is recorded beside the cloud answer that replaced it")
    func discardedAttemptRecorded() async throws {
        try Fixtures.requireEngine()
        try await ScriptedProvider.with(.answer(pieces: ["from the cloud"])) { cloud in
            let rules = "  - name: main\n    cascade: {first: local, escalate_to: cloud, when: \"confidence <= 1\"}"
            try await Fixtures.withGateway(policy: policy(cloud, auth: "off", local: true, rules: rules), environment: environment) { gateway in
                for stream in [false, true] {
                    let response = try await chat(gateway, key: nil, stream: stream, maxTokens: 24)
                    #expect(response.header("x-switchyard-route") == "cloud")
                    let id = try #require(response.header("x-switchyard-request-id"))
                    try await withLedger(gateway) { ledger in
                        let attempts = try await ledger.committedAttempts(requestID: id, count: 2)
                        #expect(attempts.map(\.target) == ["local", "cloud"], "stream=\(stream)")
                        #expect(attempts.map(\.outcome) == [.discarded, .served], "stream=\(stream)")
                        #expect(attempts.first?.escalationReason?.contains("confidence") == true)
                        #expect(attempts.first.map { $0.completionTokens > 0 } == true, "the wasted local work is counted")
                    }
                }
            }
        }
    }
}
