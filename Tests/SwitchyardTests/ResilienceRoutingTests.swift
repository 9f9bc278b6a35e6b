import Synchronization
import Testing
import SwitchyardPolicy
import SwitchyardProviders
import SwitchyardWire
@testable import SwitchyardDecision
@testable import SwitchyardExecution
@testable import SwitchyardSignals

/// A provider that fails or answers as its script says, call by call (the last entry repeats),
/// and counts its calls: whether a target was contacted at all.
final class ScriptedStub: Provider {
    let target: ModelTarget
    let availability: ProviderAvailability = .available
    private let script: [ProviderError?]
    private let count = Atomic<Int>(0)

    init(target: ModelTarget, _ script: [ProviderError?]) {
        self.target = target
        self.script = script
    }

    var calls: Int { count.load(ordering: .relaxed) }

    private func next() throws(ProviderError) {
        let n = count.wrappingAdd(1, ordering: .relaxed).oldValue
        if let failure = script[min(n, script.count - 1)] { throw failure }
    }

    func complete(_ request: GatewayRequest, context: ProviderContext) async throws(ProviderError) -> Completion {
        try next()
        return Completion(body: ["model": .string(target.name), "choices": .array([])])
    }

    func stream(_ request: GatewayRequest, context: ProviderContext) async throws(ProviderError) -> CompletionStream {
        try next()
        return CompletionStream(chunks: AsyncThrowingStream { $0.finish() })
    }
}

/// Retries and breakers in the executor, against scripted providers (no network): what is
/// attempted, what is accounted, what is passed over, and that a breaker only removes candidates.
@Suite("Retries and breakers in the executor")
struct ResilienceRoutingTests {
    static let unavailable = ProviderError.upstreamStatus(503, message: "down")

    func policy(_ resilience: String, rules: String = "  - {name: main, serve: cloud, fallbacks: [backup]}", extra: String = "") throws -> Policy {
        try PolicyLoader.parse("""
        version: 1
        models:
          box: {kind: local}
          cloud: {kind: openai, model: gpt-x, api_key_env: CLOUD_KEY}
          backup: {kind: anthropic, model: claude-x, api_key_env: BACKUP_KEY}
        resilience: \(resilience)
        rules:
        \(rules)
        \(extra)
        """, file: "p.yaml")
    }

    func router(_ policy: Policy, _ scripts: [String: [ProviderError?]]) -> (TestRouter, [String: ScriptedStub]) {
        let stubs = Dictionary(uniqueKeysWithValues: policy.models.map { ($0.name, ScriptedStub(target: $0, scripts[$0.name] ?? [nil])) })
        return (TestRouter(policy: policy, providers: Array(stubs.values)), stubs)
    }

    func request(_ model: String = "auto", content: String = "hi") throws -> ChatRequest {
        try ChatRequest.parse(Array(#"{"model":"\#(model)","messages":[{"role":"user","content":"\#(content)"}]}"#.utf8))
    }

    func complete(_ r: TestRouter, _ sink: RecordingSink = RecordingSink(), model: String = "auto",
                  content: String = "hi") async throws -> Served<Completion> {
        let chat = try request(model, content: content)
        return try await r.complete(chat, decision: await r.decide(chat), context: .init(requestID: "t"), tracker: sink.tracker("req"))
    }

    @Test("a 503 then an answer: the target is retried, each try its own attempt, the failed one carrying its wait")
    func retriedThenServed() async throws {
        let (r, stubs) = router(try policy("{retry: {backoff: 10ms, max_backoff: 40ms}}"), ["cloud": [Self.unavailable, Self.unavailable, nil]])
        let sink = RecordingSink()
        let served = try await complete(r, sink)
        #expect(served.target.name == "cloud")
        #expect(served.skipped.isEmpty, "a target that answered in the end was not passed over")
        #expect(stubs["cloud"]?.calls == 3)
        #expect(stubs["backup"]?.calls == 0)
        #expect(sink.attempts.map(\.id) == ["req-1", "req-2"])
        #expect(sink.attempts.map(\.outcome) == [.failed, .failed])
        #expect(served.attempt.id == "req-3")
        // Retry 0 waits 5…10 ms, retry 1 10…20 ms (equal jitter).
        let waits = sink.attempts.compactMap(\.retryAfter)
        #expect(waits.count == 2)
        #expect(waits.first.map { $0 >= .milliseconds(5) && $0 <= .milliseconds(10) } == true, "\(waits)")
        #expect(waits.last.map { $0 >= .milliseconds(10) && $0 <= .milliseconds(20) } == true, "\(waits)")
    }

    @Test("the upstream's Retry-After is the recorded wait, and is waited")
    func retryAfterRecorded() async throws {
        let (r, stubs) = router(try policy("{retry: {backoff: 10ms}}"),
                                ["cloud": [.upstreamStatus(429, message: "slow down", retryAfterSeconds: 1), nil]])
        let sink = RecordingSink()
        let started = ContinuousClock.now
        let served = try await complete(r, sink)
        #expect(ContinuousClock.now - started >= .seconds(1))
        #expect(served.target.name == "cloud")
        #expect(stubs["cloud"]?.calls == 2)
        #expect(sink.attempts.map(\.retryAfter) == [.seconds(1)])
    }

    @Test("retries run out: the next candidate serves, and the failed target is reported once")
    func retriesThenFallback() async throws {
        let (r, stubs) = router(try policy("{retry: {max_retries: 2, backoff: 1ms}, breaker: {failures: 10}}"), ["cloud": [Self.unavailable]])
        let sink = RecordingSink()
        let served = try await complete(r, sink)
        #expect(served.target.name == "backup")
        #expect(stubs["cloud"]?.calls == 3)
        #expect(served.skipped.map(\.description) == ["cloud:failed(upstream answered 503: down)"])
        #expect(sink.attempts.map(\.outcome) == [.failed, .failed, .failed])
        #expect(sink.attempts.map { $0.retryAfter != nil } == [true, true, false], "the last failure was not retried")
    }

    @Test("a rejected request is neither retried nor sent elsewhere")
    func rejectionNotRetried() async throws {
        let (r, stubs) = router(try policy("{retry: {backoff: 1ms}}"), ["cloud": [Self.unavailable, .upstreamStatus(400, message: "bad"), nil]])
        let error = try #require(await apiError { try await complete(r) })
        #expect(error.status == 400)
        #expect(stubs["cloud"]?.calls == 2, "retried after the 503, not after the 400")
        #expect(stubs["backup"]?.calls == 0)
    }

    @Test("consecutive failures open the breaker: the target is then passed over without a call, and says so")
    func breakerOpens() async throws {
        let (r, stubs) = router(try policy("{retry: {max_retries: 0}, breaker: {failures: 2, open_for: 60s}}"), ["cloud": [Self.unavailable]])
        for _ in 0..<2 {
            let served = try await complete(r)
            #expect(served.skipped.map(\.description) == ["cloud:failed(upstream answered 503: down)"])
        }
        #expect(r.breakerStatus("cloud")?.phase == .open)
        let served = try await complete(r)
        #expect(served.target.name == "backup")
        #expect(stubs["cloud"]?.calls == 2, "an open target is not contacted")
        #expect(served.skipped.map(\.description) == ["cloud:circuit-open(retry in 60s)"])
        // With no other candidate: 503, and when to come back.
        let error = try #require(await apiError { try await complete(r, model: "cloud") })
        #expect(error.status == 503)
        #expect(error.code == "circuit_open")
        #expect(error.retryAfterSeconds == 60)
        #expect(stubs["cloud"]?.calls == 2)
        #expect(stubs["box"]?.calls == 0, "an open breaker does not make the local engine a last resort")
    }

    @Test("a breaker opening during a request's retries ends them: the target is passed over as failed")
    func breakerEndsRetries() async throws {
        let (r, stubs) = router(try policy("{retry: {max_retries: 5, backoff: 1ms}, breaker: {failures: 2}}"), ["cloud": [Self.unavailable]])
        let served = try await complete(r)
        #expect(stubs["cloud"]?.calls == 2)
        #expect(served.target.name == "backup")
        #expect(served.skipped.map(\.description) == ["cloud:failed(upstream answered 503: down)"])
    }

    @Test("a 429 or a rejection does not open the breaker; a success starts the count again")
    func whatCounts() async throws {
        let rateLimited = ProviderError.upstreamStatus(429, message: "slow down")
        let (r, stubs) = router(try policy("{retry: {max_retries: 0}, breaker: {failures: 2}}"),
                                ["cloud": [rateLimited, rateLimited, rateLimited, .upstreamStatus(400, message: "bad"), Self.unavailable, nil, Self.unavailable, nil]])
        for _ in 0..<8 { _ = try? await complete(r) }
        #expect(stubs["cloud"]?.calls == 8, "never passed over")
        #expect(r.breakerStatus("cloud")?.phase == .closed)
    }

    @Test("half-open: one probe goes through; its success closes the breaker")
    func probeCloses() async throws {
        let (r, stubs) = router(try policy("{retry: {max_retries: 0}, breaker: {failures: 1, open_for: 200ms}}"), ["cloud": [Self.unavailable, nil]])
        _ = try await complete(r)
        #expect(r.breakerStatus("cloud")?.phase == .open)
        try await Task.sleep(for: .milliseconds(250))
        #expect(r.breakerStatus("cloud")?.phase == .halfOpen)
        let probe = try await complete(r)
        #expect(probe.target.name == "cloud")
        #expect(r.breakerStatus("cloud") == BreakerStatus(phase: .closed, failures: 0))
        #expect(stubs["cloud"]?.calls == 2)
    }

    @Test("a breaker only removes candidates: private data whose one allowed target is open is refused, never sent elsewhere")
    func breakerKeepsPrivateData() async throws {
        let policy = try policy("{retry: {max_retries: 0}, breaker: {failures: 1, open_for: 60s}}",
                                extra: "constraints: {private_data: {classes: [email], allowed_targets: [cloud]}}")
        let (r, stubs) = router(policy, ["cloud": [Self.unavailable]])
        _ = try await complete(r)
        #expect(r.breakerStatus("cloud")?.phase == .open)
        let backupBefore = stubs["backup"]?.calls ?? 0
        let error = try #require(await apiError { try await complete(r, content: "mail jane.doe@example.com") })
        #expect(error.code == "circuit_open")
        #expect(stubs["backup"]?.calls == backupBefore, "the private request went nowhere")
        #expect(stubs["box"]?.calls == 0)
        #expect(stubs["cloud"]?.calls == 1)
    }

    @Test("the local engine has neither retries nor a breaker; the cloud target beside it has both")
    func localExempt() async throws {
        let down = ProviderError.transport("connection refused", timeout: false)
        let (r, stubs) = router(try policy("{retry: {backoff: 1ms}, breaker: {failures: 1}}",
                                           rules: "  - {name: main, serve: box, fallbacks: [cloud, backup]}"),
                                ["box": [down], "cloud": [down]])
        for _ in 0..<3 { _ = try await complete(r) }
        #expect(stubs["box"]?.calls == 3, "the engine is tried once per request, never passed over")
        #expect(r.breakerStatus("box") == nil)
        #expect(stubs["cloud"]?.calls == 1, "the cloud target was opened by its first failure")
        #expect(r.breakerStatus("cloud")?.phase == .open)
    }

    @Test("breakers are kept across policy reloads by target name, and take the new settings")
    func survivesReload() async throws {
        let breakers = TargetBreakers()
        let first = try policy("{retry: {max_retries: 0}, breaker: {failures: 1, open_for: 60s}}")
        let stubs = first.models.map { ScriptedStub(target: $0, $0.name == "cloud" ? [Self.unavailable] : [nil]) }
        let before = TestRouter(policy: first, providers: stubs, breakers: breakers)
        _ = try await complete(before)
        let reloaded = TestRouter(policy: try policy("{retry: {max_retries: 0}, breaker: {failures: 3, open_for: 60s}}"),
                                     providers: stubs, breakers: breakers)
        #expect(reloaded.breakerStatus("cloud")?.phase == .open)
        #expect(try await complete(reloaded).skipped.map(\.description).first?.hasPrefix("cloud:circuit-open") == true)
        // Turned off, they are forgotten; turned on again, they start closed.
        let off = TestRouter(policy: try policy("{breaker: {enabled: false}}"), providers: stubs, breakers: breakers)
        #expect(off.breakerStatus("cloud") == nil)
        let on = TestRouter(policy: first, providers: stubs, breakers: breakers)
        #expect(on.breakerStatus("cloud")?.phase == .closed)
    }

    @Test("a client that leaves during the wait stops the retries at once")
    func cancelledDuringBackoff() async throws {
        let (r, stubs) = router(try policy("{retry: {max_wait: 30s}}"),
                                ["cloud": [.upstreamStatus(503, message: "down", retryAfterSeconds: 20), nil]])
        let sink = RecordingSink()
        let task = Task { try await complete(r, sink) }
        while sink.attempts.isEmpty { try await Task.sleep(for: .milliseconds(10)) }
        let cancelledAt = ContinuousClock.now
        task.cancel()
        _ = await task.result
        #expect(ContinuousClock.now - cancelledAt < .seconds(5), "the 20 s wait was not sat out")
        #expect(stubs["cloud"]?.calls == 1)
        #expect(stubs["backup"]?.calls == 0, "nor does a client that left get its request sent to the next target")
        #expect(sink.attempts.map(\.retryAfter) == [.seconds(20)], "the retry had been scheduled")
    }
}
