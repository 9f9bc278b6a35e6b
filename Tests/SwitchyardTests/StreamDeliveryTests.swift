import Hummingbird
import Testing
@testable import SwitchyardPolicy
@testable import SwitchyardProviders
@testable import SwitchyardDecision
@testable import SwitchyardExecution
@testable import SwitchyardSignals
@testable import SwitchyardServer
import SwitchyardWire

@Suite("Stream delivery")
struct StreamDeliveryTests {
    @Test("a stream whose response is dropped before its body runs still ends its attempt, once, as cancelled")
    func unwrittenStreamEndsItsAttempt() async throws {
        let policy = try PolicyLoader.parse("""
        version: 1
        models:
          cloud: {kind: openai, base_url: "http://127.0.0.1:9/v1", model: m, price: {input: 1, output: 1}}
        rules:
          - {serve: cloud}
        """, file: "p.yaml")
        let chat = try ChatRequest.parse(Array(#"{"model":"auto","stream":true,"messages":[{"role":"user","content":"hi"}]}"#.utf8))
        let decision = try await TestRouter(policy: policy, providers: []).decide(chat.summary)
        let sink = RecordingSink()
        let tracker = sink.tracker()
        let attempt = tracker.begin(try #require(policy.model(named: "cloud")))
        let stream = CompletionStream(chunks: ResumedChunks(held: [], rest: nil))
        do {
            let delivery = StreamDelivery(served: Served(answer: stream, target: attempt.target, skipped: [], attempt: attempt),
                                          request: GatewayRequest(chat), decision: decision, tracker: tracker, hangup: nil,
                                          renderer: ChatCompletions.ChunkRenderer(includeUsage: false))
            _ = delivery.response(headers: [:])
        }
        let deadline = ContinuousClock.now + .seconds(5)
        while sink.attempts.isEmpty, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        try await Task.sleep(for: .milliseconds(50))
        #expect(sink.attempts.map(\.outcome) == [.cancelled])
        #expect(sink.attempts.first?.usageEstimated == true)
        #expect((sink.attempts.first?.usage?.promptTokens ?? 0) > 0, "the prompt was sent upstream: it is charged")
    }
}
