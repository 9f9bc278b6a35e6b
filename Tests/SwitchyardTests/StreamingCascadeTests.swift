import Testing
import SwitchyardHTTP
import SwitchyardWire

/// Every branch of the streaming cascade, with the real small model first and a scripted cloud.
@Suite("Streaming cascade", .serialized)
struct StreamingCascadeTests {
    init() throws { try Fixtures.requireEngine() }

    func policy(_ cloudURL: String, when: String, holdTokens: Int = 6, key: Bool = true) -> String {
        """
        version: 1
        models:
        \(Fixtures.localModelYAML)
          cloud: {kind: openai, base_url: "\(cloudURL)", model: up, api_key_env: \(key ? "TEST_CLOUD_API_KEY" : "TEST_MISSING_API_KEY")}
        rules:
          - name: cascade
            cascade: {first: local, escalate_to: cloud, when: "\(when)", hold_tokens: \(holdTokens), hold_time: 10s}
        """
    }

    struct Streamed {
        var response: HTTPResponse
        var events: [String]
        var chunks: [JSON]
        var text: String
    }

    func stream(_ scenario: ScriptedProvider.Scenario, when: String, holdTokens: Int = 6, key: Bool = true,
                maxTokens: Int = 24, _ check: (Streamed, ScriptedProvider) throws -> Void) async throws {
        try await ScriptedProvider.with(scenario) { provider in
            try await Fixtures.withGateway(policy: policy(provider.baseURL, when: when, holdTokens: holdTokens, key: key),
                                           environment: ["TEST_CLOUD_API_KEY": "k"]) { gateway in
                let response = try await gateway.chat("Tell me about the sea.", maxTokens: maxTokens, stream: true)
                let events = sseEvents(response.body)
                let chunks = events.compactMap { try? JSON.parse($0) }
                let text = chunks.compactMap { $0["choices"]?.arrayValue?.first?["delta"]?["content"]?.stringValue }.joined()
                try check(Streamed(response: response, events: events, chunks: chunks, text: text), provider)
            }
        }
    }

    @Test("confident: the held tokens are released and the local stream continues")
    func confident() async throws {
        try await stream(.answer(pieces: ["cloud"]), when: "confidence < 0.0001") { s, provider in
            #expect(s.response.status == 200)
            #expect(s.response.header("x-switchyard-route") == "local")
            #expect(s.response.header("x-switchyard-escalated") == nil)
            #expect(s.events.last == "[DONE]")
            #expect(s.chunks.count == s.events.count - 1, "every event but [DONE] is JSON")
            #expect(!s.text.isEmpty)
            #expect(s.chunks.allSatisfy { ($0["choices"]?.arrayValue?.first?["logprobs"] ?? .null) == .null },
                    "log-probabilities the client did not ask for are not streamed")
            #expect(provider.received.isEmpty)
        }
    }

    @Test("not confident: the cloud's stream replaces the local one, and no local token is sent")
    func escalates() async throws {
        try await stream(.answer(pieces: ["The ", "sea ", "is ", "vast."]), when: "confidence <= 1") { s, provider in
            #expect(s.response.header("x-switchyard-route") == "cloud")
            let escalated = try #require(s.response.header("x-switchyard-escalated"))
            #expect(escalated.hasPrefix("confidence="), "\(escalated)")
            #expect(escalated.hasSuffix("after 6 tokens"), "\(escalated)")
            #expect(s.text == "The sea is vast.")
            #expect(s.events.last == "[DONE]")
            #expect(provider.received.count == 1)
        }
    }

    @Test("escalating cancels the local generation: the engine is idle long before it could have finished")
    func escalationCancelsLocal() async throws {
        try await ScriptedProvider.with(.answer(pieces: ["from ", "the ", "cloud"])) { provider in
            try await Fixtures.withGateway(policy: policy(provider.baseURL, when: "confidence <= 1", holdTokens: 4),
                                           environment: ["TEST_CLOUD_API_KEY": "k"]) { gateway in
                let engine = try #require(gateway.gateway.engine?.readyEndpoint)
                // 512 local tokens take about 5 s here; the cloud's answer takes milliseconds.
                let response = try await gateway.chat("Write a very long story about the sea.", maxTokens: 512, stream: true)
                #expect(response.header("x-switchyard-route") == "cloud")
                let answeredAt = ContinuousClock.now
                var busy = true
                while busy, ContinuousClock.now < answeredAt + .seconds(3) {
                    let slots = try await gateway.client.send(HTTPRequest(url: engine.baseURL + "/slots", headers: [engine.authorization]))
                    busy = (try JSON.parse(slots.body)).arrayValue?.contains { $0["is_processing"] == .bool(true) } ?? true
                    if busy { try await Task.sleep(for: .milliseconds(50)) }
                }
                #expect(!busy)
                #expect(ContinuousClock.now - answeredAt < .seconds(1), "the local slot should be freed at once, not after 512 tokens")
            }
        }
    }

    @Test("the cloud refuses before answering: the held local tokens are released after all")
    func cloudFailsBeforeAnswering() async throws {
        try await stream(.status(503, body: #"{"error":{"message":"overloaded"}}"#), when: "confidence <= 1") { s, _ in
            #expect(s.response.status == 200)
            #expect(s.response.header("x-switchyard-route") == "local")
            #expect(s.response.header("x-switchyard-escalated")?.hasPrefix("not-escalated(confidence=") == true)
            #expect(s.response.header("x-switchyard-fallback")?.contains("cloud:failed(") == true)
            #expect(!s.text.isEmpty)
            #expect(s.events.last == "[DONE]")
        }
    }

    @Test("no key for the cloud: the local stream is released, and the header says why")
    func cloudUnconfigured() async throws {
        try await stream(.answer(pieces: ["x"]), when: "confidence <= 1", key: false) { s, provider in
            #expect(s.response.header("x-switchyard-route") == "local")
            #expect(s.response.header("x-switchyard-fallback") == "cloud:unconfigured(TEST_MISSING_API_KEY is not set)")
            #expect(s.events.last == "[DONE]")
            #expect(provider.received.isEmpty)
        }
    }

    @Test("the cloud's stream breaks after the decision: it ends with an error event, not [DONE]")
    func cloudBreaksAfterDecision() async throws {
        try await stream(.cut(afterChunks: 2), when: "confidence <= 1") { s, _ in
            #expect(s.response.header("x-switchyard-route") == "cloud")
            #expect(!s.events.contains("[DONE]"))
            let last = try JSON.parse(try #require(s.events.last))
            #expect(last["error"]?["message"]?.stringValue?.contains("cut short") == true)
            #expect(s.text == "piece0 piece1 ")
        }
    }

    @Test("a local answer shorter than the hold window is decided on whole, and released whole")
    func shortAnswer() async throws {
        try await stream(.answer(pieces: ["x"]), when: "confidence < 0.0001", holdTokens: 64, maxTokens: 5) { s, _ in
            #expect(s.response.header("x-switchyard-route") == "local")
            #expect(s.events.last == "[DONE]")
            #expect(!s.text.isEmpty)
            #expect(s.chunks.contains { $0["choices"]?.arrayValue?.first?["finish_reason"] == .string("length") })
        }
    }
}
