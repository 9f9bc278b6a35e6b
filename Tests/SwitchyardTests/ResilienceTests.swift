import Logging
import Testing
import SwitchyardHTTP
import SwitchyardLedger
import SwitchyardWire

/// Retries and circuit breakers through a running gateway, against scripted cloud upstreams on
/// 127.0.0.1 that fail, then recover, and count what reaches them.
@Suite("Retries and circuit breakers through the gateway", .serialized)
struct ResilienceTests {
    static let admin = "sy-admin-test-key"
    let environment = ["K": "k", "SWITCHYARD_ADMIN_KEY": ResilienceTests.admin]
    static let unavailable = ScriptedProvider.Scenario.status(503, body: #"{"error":{"message":"overloaded"}}"#)
    static let failing = ScriptedProvider.Scenario.status(500, body: #"{"error":{"message":"boom"}}"#)

    /// `bad` first (OpenAI wire format, priced), `good` as its fallback when `fallback`.
    func policy(_ bad: ScriptedProvider, _ good: ScriptedProvider? = nil, resilience: String? = nil, head: String = "") -> String {
        """
        version: 1
        \(head)
        \(resilience.map { "resilience: \($0)" } ?? "")
        models:
          bad:
            kind: openai
            base_url: \(bad.baseURL)
            model: m
            api_key_env: K
            price: {input: 1000, output: 2000}
            timeouts: {first_byte: 2s, stall: 2s, total: 10s}
        \(good.map { "  good: {kind: openai, base_url: \"\($0.baseURL)\", model: m, api_key_env: K}" } ?? "")
        rules:
          - name: main
            serve: bad
        \(good == nil ? "" : "    fallbacks: [good]")
        """
    }

    func chat(_ gateway: RunningGateway, model: String = "auto", stream: Bool = false, key: String? = nil,
              timeout: Duration = .seconds(60)) async throws -> HTTPResponse {
        try await gateway.post("/v1/chat/completions",
                               #"{"model":"\#(model)","max_tokens":10,"stream":\#(stream),"messages":[{"role":"user","content":"hi"}]}"#,
                               headers: key.map { [("Authorization", "Bearer \($0)")] } ?? [], timeout: timeout)
    }

    func withLedger<T: Sendable>(_ gateway: RunningGateway, _ body: (any LedgerStore) async throws -> T) async throws -> T {
        try await closing(try await Ledger.sqlite(path: gateway.directory + "/ledger.sqlite", logger: Logger(label: "test-ledger")), body)
    }

    func breaker(_ gateway: RunningGateway, _ target: String) async throws -> JSON? {
        let ready = try await gateway.get("/readyz")
        return ready.json["targets"]?.arrayValue?.first { $0["name"] == .string(target) }?["breaker"]
    }

    @Test("a 503 then a 200, whole and streamed: retried (with the default settings) and answered; two attempts in the ledger; the retry reserved again only after the first reservation was released")
    func retriedAndAnswered() async throws {
        try await ScriptedProvider.with(.sequence([Self.unavailable, .answer(pieces: ["fine"]), Self.unavailable, .answer(pieces: ["fine"])])) { bad in
            try await Fixtures.withGateway(policy: policy(bad, head: "auth: {mode: required}\nbudgets: {on_exhausted: deny}"),
                                           environment: environment) { gateway in
                // Room for one reservation of this request's worst case (a token per byte, 10 output tokens), not two.
                let body = #"{"model":"auto","max_tokens":10,"stream":false,"messages":[{"role":"user","content":"hi"}]}"#
                let worst = Nanodollars(Int64(body.utf8.count + 5) * 1_000_000 + 10 * 2_000_000)
                let budget = Nanodollars(worst.value * 3 / 2)
                let created = try await gateway.post("/v1/switchyard/keys", #"{"name":"app","budget_usd":\#(budget.usd),"period":"total"}"#,
                                                     headers: [("Authorization", "Bearer \(Self.admin)")])
                let key = try #require(created.json["secret"]?.stringValue, "\(created.bodyText)")
                let keyID = try #require(created.json["id"]?.stringValue)
                var ids: [String] = []
                for stream in [false, true] {
                    let response = try await chat(gateway, stream: stream, key: key)
                    #expect(response.status == 200, "stream=\(stream): \(response.bodyText)")
                    #expect(response.header("x-switchyard-model") == "bad")
                    #expect(response.header("x-switchyard-fallback") == nil)
                    if stream { #expect(sseEvents(response.body).last == "[DONE]") }
                    ids.append(try #require(response.header("x-switchyard-request-id")))
                }
                #expect(bad.received.count == 4)
                try await withLedger(gateway) { ledger in
                    for id in ids {
                        let attempts = try await ledger.committedAttempts(requestID: id, count: 2)
                        #expect(attempts.map(\.outcome) == [.failed, .served], "\(attempts)")
                        #expect(attempts.map(\.cost) == [.zero, Nanodollars(25_000_000)])
                    }
                    let state = try await ledger.budgetState(BudgetScope(kind: .key, id: keyID, limit: .usd(budget.usd), period: .total), now: .now)
                    #expect(state.spent == Nanodollars(2 * 25_000_000))
                    #expect(state.reserved == .zero)
                }
            }
        }
    }

    @Test("Retry-After is honoured: the upstream sees the retry no sooner than it asked")
    func retryAfterHonoured() async throws {
        try await ScriptedProvider.with(.sequence([.statusRetryAfter(503, retryAfter: "2"), .answer(pieces: ["fine"])])) { bad in
            try await Fixtures.withGateway(policy: policy(bad, resilience: "{retry: {backoff: 10ms, max_backoff: 20ms}}"),
                                           environment: environment) { gateway in
                let response = try await chat(gateway)
                #expect(response.status == 200, "\(response.bodyText)")
                let times = bad.received.map(\.at)
                #expect(times.count == 2)
                if times.count == 2 {
                    let gap = times[1] - times[0]
                    #expect(gap >= .seconds(2), "the retry came \(gap) after the 503, not the 2 s asked")
                    #expect(gap < .seconds(10), "\(gap)")
                }
            }
        }
    }

    @Test("a Retry-After beyond what is left of the retry budget is not waited: the next target serves at once; one within it is waited")
    func retryAfterBeyondBudget() async throws {
        let script = ScriptedProvider.Scenario.sequence([.statusRetryAfter(503, retryAfter: "30"), .statusRetryAfter(503, retryAfter: "1"),
                                                         .answer(pieces: ["fine"]), .statusRetryAfter(503, retryAfter: "30")])
        try await ScriptedProvider.with(script) { bad in
            try await ScriptedProvider.with(.answer(pieces: ["fine"])) { good in
                try await Fixtures.withGateway(policy: policy(bad, good, resilience: "{retry: {max_wait: 5s}}"), environment: environment) { gateway in
                    let started = ContinuousClock.now
                    let response = try await chat(gateway)
                    #expect(response.status == 200)
                    #expect(response.header("x-switchyard-model") == "good")
                    #expect(response.header("x-switchyard-fallback")?.hasPrefix("bad:failed(upstream answered 503") == true)
                    #expect(bad.received.count == 1)
                    #expect(ContinuousClock.now - started < .seconds(5), "nothing near the 30 s asked was waited")
                    // A second asked within the budget is waited, and the target answers after it.
                    let patient = try await chat(gateway)
                    #expect(patient.header("x-switchyard-model") == "bad")
                    #expect(bad.received.count == 3)
                    // Without a next target, the client is told the upstream's wait.
                    let alone = try await chat(gateway, model: "bad")
                    #expect(alone.status == 503)
                    #expect(alone.header("retry-after") == "30")
                    #expect(bad.received.count == 4)
                }
            }
        }
    }

    @Test("a stream is never retried after its first event went to the client (the 503 before it is)")
    func noRetryAfterFirstByte() async throws {
        try await ScriptedProvider.with(.sequence([Self.unavailable, .cut(afterChunks: 1), .answer(pieces: ["never"])])) { bad in
            try await Fixtures.withGateway(policy: policy(bad, resilience: "{retry: {backoff: 10ms}}"), environment: environment) { gateway in
                let response = try await chat(gateway, stream: true)
                #expect(response.status == 200)
                let events = sseEvents(response.body)
                #expect(!events.contains("[DONE]"))
                #expect(events.last?.contains("cut short") == true, "\(events)")
                #expect(!response.bodyText.contains("never"))
                #expect(bad.received.count == 2)
            }
        }
    }

    @Test("a 400 is not retried (the 503 before it is), whole or streamed")
    func noRetryOn400() async throws {
        for stream in [false, true] {
            try await ScriptedProvider.with(.sequence([Self.unavailable, .status(400, body: #"{"error":{"message":"bad request"}}"#),
                                                       .answer(pieces: ["never"])])) { bad in
                try await ScriptedProvider.with(.answer(pieces: ["never"])) { good in
                    try await Fixtures.withGateway(policy: policy(bad, good, resilience: "{retry: {backoff: 10ms}}"), environment: environment) { gateway in
                        let response = try await chat(gateway, stream: stream)
                        #expect(response.status == 400, "stream=\(stream): \(response.bodyText)")
                        #expect(response.json["error"]?["message"]?.stringValue?.contains("bad request") == true)
                        #expect(bad.received.count == 2, "stream=\(stream)")
                        #expect(good.received.isEmpty, "stream=\(stream)")
                    }
                }
            }
        }
    }

    @Test("N failures open the breaker: later requests skip the target without contacting it, and say so in x-switchyard-fallback and /readyz; alone it is a 503 with Retry-After")
    func breakerOpens() async throws {
        try await ScriptedProvider.with(Self.failing) { bad in
            try await ScriptedProvider.with(.answer(pieces: ["fine"])) { good in
                let resilience = "{retry: {max_retries: 0}, breaker: {failures: 3, open_for: 60s}}"
                try await Fixtures.withGateway(policy: policy(bad, good, resilience: resilience), environment: environment) { gateway in
                    #expect(try await breaker(gateway, "bad") == .object(["state": .string("closed"), "consecutive_failures": .int(0)]))
                    for n in 1...3 {
                        let response = try await chat(gateway, stream: n == 2)
                        #expect(response.status == 200)
                        #expect(response.header("x-switchyard-fallback") == "bad:failed(upstream answered 500: boom)")
                    }
                    #expect(bad.received.count == 3)
                    for stream in [false, true] {
                        let response = try await chat(gateway, stream: stream)
                        #expect(response.status == 200)
                        #expect(response.header("x-switchyard-model") == "good")
                        let fallback = response.header("x-switchyard-fallback") ?? ""
                        #expect(fallback.hasPrefix("bad:circuit-open(retry in ") && fallback.hasSuffix("s)"), "\(fallback)")
                    }
                    #expect(bad.received.count == 3, "an open target is not contacted")
                    let state = try #require(try await breaker(gateway, "bad"))
                    #expect(state["state"] == .string("open"))
                    #expect((state["retry_in_seconds"]?.intValue).map { (50...60).contains($0) } == true, "\(state)")
                    #expect(try await breaker(gateway, "good")?["state"] == .string("closed"))
                    #expect(try await gateway.get("/readyz").status == 200, "an open cloud target does not make the gateway unready")
                    let alone = try await chat(gateway, model: "bad")
                    #expect(alone.status == 503)
                    #expect(alone.json["error"]?["code"] == .string("circuit_open"))
                    #expect(alone.header("retry-after").flatMap(Int.init).map { (50...60).contains($0) } == true)
                    #expect(bad.received.count == 3)
                }
            }
        }
    }

    @Test("after the cool-down one probe goes through; its success closes the breaker and the target serves again")
    func probeCloses() async throws {
        try await ScriptedProvider.with(.sequence([Self.failing, Self.failing, .answer(pieces: ["back"])])) { bad in
            try await ScriptedProvider.with(.answer(pieces: ["fine"])) { good in
                let resilience = "{retry: {max_retries: 0}, breaker: {failures: 2, open_for: 1s}}"
                try await Fixtures.withGateway(policy: policy(bad, good, resilience: resilience), environment: environment) { gateway in
                    for _ in 0..<3 { _ = try await chat(gateway) }
                    #expect(bad.received.count == 2, "open after two failures")
                    #expect(try await breaker(gateway, "bad")?["state"] == .string("open"))
                    try await Task.sleep(for: .milliseconds(1100))
                    #expect(try await breaker(gateway, "bad")?["state"] == .string("half_open"))
                    let probe = try await chat(gateway)
                    #expect(probe.status == 200)
                    #expect(probe.header("x-switchyard-model") == "bad")
                    #expect(probe.header("x-switchyard-fallback") == nil)
                    #expect(try await breaker(gateway, "bad") == .object(["state": .string("closed"), "consecutive_failures": .int(0)]))
                    _ = try await chat(gateway, stream: true)
                    #expect(bad.received.count == 4)
                    #expect(good.received.count == 3)
                }
            }
        }
    }

    @Test("breakers survive a policy reload: the open target stays passed over")
    func survivesReload() async throws {
        try await ScriptedProvider.with(Self.failing) { bad in
            try await ScriptedProvider.with(.answer(pieces: ["fine"])) { good in
                let before = policy(bad, good, resilience: "{retry: {max_retries: 0}, breaker: {failures: 1, open_for: 60s}}")
                try await Fixtures.withGateway(policy: before, environment: environment) { gateway in
                    _ = try await chat(gateway)
                    #expect(try await breaker(gateway, "bad")?["state"] == .string("open"))
                    try Fixtures.writeFile(gateway.directory + "/policy.yaml",
                                           policy(bad, good, resilience: "{retry: {max_retries: 1}, breaker: {failures: 4, open_for: 60s}}"))
                    await gateway.gateway.reloadPolicy()
                    #expect(gateway.gateway.policy.resilience.breaker.failures == 4, "the new policy is in force")
                    #expect(try await breaker(gateway, "bad")?["state"] == .string("open"))
                    let response = try await chat(gateway)
                    #expect(response.header("x-switchyard-fallback")?.hasPrefix("bad:circuit-open") == true)
                    #expect(bad.received.count == 1)
                }
            }
        }
    }

    @Test("a client that hangs up during the backoff stops the retries: the upstream never sees the retry")
    func hangUpStopsRetries() async throws {
        // A patient client gets its answer from the retry.
        try await ScriptedProvider.with(.sequence([.statusRetryAfter(503, retryAfter: "1"), .answer(pieces: ["fine"])])) { bad in
            try await Fixtures.withGateway(policy: policy(bad), environment: environment) { gateway in
                let response = try await chat(gateway)
                #expect(response.status == 200)
                #expect(bad.received.count == 2)
            }
        }
        // One that leaves during a 5 s wait does not get the retry sent anyway.
        try await ScriptedProvider.with(.sequence([.statusRetryAfter(503, retryAfter: "5"), .answer(pieces: ["fine"])])) { bad in
            try await Fixtures.withGateway(policy: policy(bad, resilience: "{retry: {max_wait: 10s}}"), environment: environment) { gateway in
                let (client, url) = (gateway.client, gateway.baseURL + "/v1/chat/completions")
                let request = Task {
                    try await client.send(HTTPRequest(method: .post, url: url, headers: [("Content-Type", "application/json")],
                                                      body: Array(#"{"model":"auto","messages":[{"role":"user","content":"hi"}]}"#.utf8)))
                }
                let deadline = ContinuousClock.now + .seconds(10)
                while bad.received.isEmpty, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
                #expect(bad.received.count == 1)
                // The 503 is back by now: the gateway is waiting its 5 s.
                try await Task.sleep(for: .milliseconds(300))
                request.cancel()
                _ = await request.result
                try await Task.sleep(for: .seconds(6))
                #expect(bad.received.count == 1, "the retry was sent after the client left")
                #expect(try await gateway.get("/healthz").status == 200)
            }
        }
    }

    @Test("the breaker in /metrics: its state gauge and its transitions")
    func metrics() async throws {
        try await ScriptedProvider.with(Self.failing) { bad in
            try await TestProcesses.with { processes in
                let directory = try Fixtures.temporaryDirectory()
                let path = directory + "/policy.yaml"
                try Fixtures.writeFile(path, policy(bad, resilience: "{retry: {max_retries: 0}, breaker: {failures: 2, open_for: 60s}}"))
                let client = HTTPClient()
                defer { Task { await client.shutdown() } }
                let gateway = try await ServeProcess.start(policy: path, stateDirectory: directory, environment: ["K": "k"],
                                                           log: directory + "/gateway.log", processes: processes, client: client)
                let timeouts = HTTPTimeouts(connect: .seconds(2), firstByte: .seconds(20), stall: .seconds(20), total: .seconds(30))
                func scrape() async throws -> [String] {
                    let text = String(decoding: try await client.send(HTTPRequest(url: gateway.baseURL + "/metrics", timeouts: timeouts)).body, as: UTF8.self)
                    return text.split(separator: "\n").map(String.init).filter { $0.hasPrefix("switchyard_breaker_") }
                }
                let closed = try await scrape()
                #expect(closed.contains(#"switchyard_breaker_state{model="bad"} 0.0"#), "\(closed)")
                for _ in 0..<3 {
                    let response = try await client.send(HTTPRequest(method: .post, url: gateway.baseURL + "/v1/chat/completions",
                                                                     headers: [("Content-Type", "application/json")],
                                                                     body: Array(#"{"model":"auto","messages":[{"role":"user","content":"hi"}]}"#.utf8),
                                                                     timeouts: timeouts))
                    #expect(response.status == 502 || response.status == 503)
                }
                #expect(bad.received.count == 2)
                let lines = try await scrape()
                #expect(lines.contains(#"switchyard_breaker_state{model="bad"} 2.0"#), "\(lines)")
                let opened = lines.filter { $0.hasPrefix("switchyard_breaker_transitions_total{") && $0.contains(#"model="bad""#) }
                #expect(opened.count == 1 && opened.first.map { $0.contains(#"from="closed""#) && $0.contains(#"to="open""#) && $0.hasSuffix(" 1") } == true,
                        "\(lines)")
                #expect(await gateway.stop() == .exited(0))
            }
        }
    }
}
