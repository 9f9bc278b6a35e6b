import Testing
import SwitchyardHTTP
import SwitchyardWire

/// The gateway in front of scripted cloud providers (OpenAI and Anthropic wire formats):
/// what it sends upstream, what its client gets back, and how each upstream failure is answered.
@Suite("Cloud routing through the gateway")
struct CloudRoutingTests {
    func policy(openAI: String, anthropic: String, rule: String = "serve: oai") -> String {
        """
        version: 1
        models:
          oai:
            kind: openai
            base_url: \(openAI)
            model: upstream-gpt
            api_key_env: TEST_OPENAI_API_KEY
            price: {input: 1, output: 2}
            timeouts: {first_byte: 1s, stall: 1s, total: 5s}
          claude:
            kind: anthropic
            base_url: \(anthropic)
            model: upstream-claude
            api_key_env: TEST_ANTHROPIC_API_KEY
        rules:
          - name: main
            \(rule)
        """
    }

    let keys = ["TEST_OPENAI_API_KEY": "sk-test-openai", "TEST_ANTHROPIC_API_KEY": "sk-test-anthropic"]

    func withProviders<T: Sendable>(
        _ scenario: ScriptedProvider.Scenario, rule: String = "serve: oai", environment: [String: String]? = nil,
        _ body: (RunningGateway, ScriptedProvider) async throws -> T
    ) async throws -> T {
        try await ScriptedProvider.with(scenario) { provider in
            try await Fixtures.withGateway(policy: policy(openAI: provider.baseURL, anthropic: provider.baseURL, rule: rule),
                                           environment: environment ?? keys) { gateway in
                try await body(gateway, provider)
            }
        }
    }

    @Test("OpenAI-compatible upstream: the request passes through with the upstream model id and the key")
    func openAIPassThrough() async throws {
        try await withProviders(.answer(pieces: ["Bonjour"])) { gateway, provider in
            let response = try await gateway.post("/v1/chat/completions",
                #"{"model":"auto","messages":[{"role":"user","content":"hi"}],"seed":1234567890123456789,"response_format":{"type":"json_object"}}"#)
            #expect(response.status == 200)
            #expect(response.json["choices"]?.arrayValue?.first?["message"]?["content"] == .string("Bonjour"))
            #expect(response.header("x-switchyard-route") == "cloud")
            #expect(response.header("x-switchyard-model") == "oai")
            #expect(response.header("x-switchyard-rule") == "main")
            #expect(response.header("x-switchyard-request-id").map { $0.count == 28 && $0.allSatisfy(\.isHexDigit) } == true)
            let sent = try #require(provider.received.first)
            #expect(sent.path == "/v1/chat/completions")
            #expect(sent.headers[.authorization] == "Bearer sk-test-openai")
            #expect(sent.body["model"] == .string("upstream-gpt"))
            #expect(sent.body["seed"] == .number("1234567890123456789"))
            #expect(sent.body["response_format"] == .object(["type": .string("json_object")]))
        }
    }

    @Test("Anthropic upstream: translated both ways, non-streaming")
    func anthropicComplete() async throws {
        try await withProviders(.answer(pieces: ["Hi", " there"], promptTokens: 21, completionTokens: 4)) { gateway, provider in
            let response = try await gateway.post("/v1/chat/completions",
                #"{"model":"claude","messages":[{"role":"system","content":"Be kind."},{"role":"user","content":"hi"}],"max_tokens":50}"#)
            #expect(response.status == 200)
            #expect(response.json["object"] == .string("chat.completion"))
            #expect(response.json["choices"]?.arrayValue?.first?["message"]?["content"] == .string("Hi there"))
            #expect(response.json["choices"]?.arrayValue?.first?["finish_reason"] == .string("stop"))
            #expect(response.json["usage"]?["total_tokens"] == .int(25))
            let sent = try #require(provider.received.first)
            #expect(sent.path == "/v1/messages")
            #expect(sent.headers[.init("x-api-key")!] == "sk-test-anthropic")
            #expect(sent.headers[.init("anthropic-version")!] == "2023-06-01")
            #expect(sent.body["system"] == .string("Be kind."))
            #expect(sent.body["model"] == .string("upstream-claude"))
        }
    }

    @Test("streaming from each wire format gives valid OpenAI SSE ending in [DONE]", arguments: ["oai", "claude"])
    func streaming(_ model: String) async throws {
        try await withProviders(.answer(pieces: ["one ", "two ", "three"])) { gateway, _ in
            let response = try await gateway.post("/v1/chat/completions",
                #"{"model":"\#(model)","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"count"}]}"#)
            #expect(response.status == 200)
            #expect(response.header("content-type") == "text/event-stream")
            let events = sseEvents(response.body)
            #expect(events.last == "[DONE]")
            let chunks = events.dropLast().compactMap { try? JSON.parse($0) }
            #expect(chunks.count == events.count - 1, "every event but [DONE] is JSON")
            #expect(chunks.allSatisfy { $0["object"] == .string("chat.completion.chunk") })
            let text = chunks.compactMap { $0["choices"]?.arrayValue?.first?["delta"]?["content"]?.stringValue }.joined()
            #expect(text == "one two three")
            #expect(chunks.last?["usage"]?["completion_tokens"]?.intValue != nil)
        }
    }

    @Test("usage is streamed only to clients that asked for it")
    func usageOnlyWhenAsked() async throws {
        try await withProviders(.answer(pieces: ["x"])) { gateway, provider in
            let response = try await gateway.post("/v1/chat/completions",
                #"{"model":"oai","stream":true,"messages":[{"role":"user","content":"x"}]}"#)
            let chunks = sseEvents(response.body).dropLast().compactMap { try? JSON.parse($0) }
            #expect(!chunks.isEmpty)
            #expect(chunks.allSatisfy { $0["usage"] == nil })
            // ...but the gateway asked upstream for it, to account every token.
            #expect(provider.received.first?.body["stream_options"]?["include_usage"] == .bool(true))
        }
    }

    @Test("upstream failures become clear errors", arguments: [
        (ScriptedProvider.Scenario.status(500, body: #"{"error":{"message":"boom"}}"#), 502, "boom"),
        (.status(400, body: #"{"error":{"message":"context too long"}}"#), 400, "context too long"),
        (.status(429, body: #"{"error":{"message":"rate limited"}}"#), 429, "rate limited"),
        (.slowHead(.seconds(3)), 504, "first-byte timeout"),
        (.malformed, 502, "malformed upstream response"),
    ])
    func upstreamFailures(_ scenario: ScriptedProvider.Scenario, status: Int, message: String) async throws {
        try await withProviders(scenario) { gateway, _ in
            let response = try await gateway.chat("hi", model: "oai")
            #expect(response.status == status)
            let error = response.json["error"]
            #expect(error?["message"]?.stringValue?.contains(message) == true, "\(response.bodyText)")
            #expect(error?["type"]?.stringValue != nil)
            #expect(response.header("x-switchyard-request-id") != nil)
        }
    }

    @Test("a stream cut by the upstream ends with an error event, not [DONE]")
    func cutStreamIsExplicit() async throws {
        try await withProviders(.cut(afterChunks: 2)) { gateway, _ in
            let response = try await gateway.chat("hi", model: "oai", stream: true)
            #expect(response.status == 200)
            let events = sseEvents(response.body)
            #expect(!events.contains("[DONE]"))
            let last = try JSON.parse(try #require(events.last))
            #expect(last["error"]?["message"]?.stringValue?.contains("cut short") == true, "\(events)")
        }
    }

    @Test("a failing primary falls back to the next target before anything is sent to the client")
    func fallback() async throws {
        try await ScriptedProvider.with(.status(503, body: #"{"error":{"message":"overloaded"}}"#)) { broken in
            try await ScriptedProvider.with(.answer(pieces: ["from claude"])) { healthy in
                try await Fixtures.withGateway(policy: policy(openAI: broken.baseURL, anthropic: healthy.baseURL,
                                                              rule: "serve: oai\n    fallbacks: [claude]"),
                                               environment: keys) { gateway in
                    for stream in [false, true] {
                        let response = try await gateway.chat("hi", stream: stream)
                        #expect(response.status == 200)
                        #expect(response.header("x-switchyard-model") == "claude")
                        #expect(response.header("x-switchyard-fallback")?.contains("oai:failed(upstream answered 503: overloaded)") == true)
                    }
                }
            }
        }
    }

    @Test("with no cloud keys the gateway still starts, reports targets unconfigured, and refuses clearly with no local engine")
    func unconfigured() async throws {
        try await withProviders(.answer(pieces: ["x"]), environment: [:]) { gateway, provider in
            let ready = try await gateway.get("/readyz")
            let targets = ready.json["targets"]?.arrayValue ?? []
            #expect(targets.map { $0["status"] } == [.string("unconfigured"), .string("unconfigured")])
            #expect(targets.first?["detail"] == .string("TEST_OPENAI_API_KEY is not set"))
            let response = try await gateway.chat("hi", model: "oai")
            #expect(response.status == 503)
            #expect(response.json["error"]?["code"] == .string("target_unconfigured"))
            #expect(provider.received.isEmpty)
        }
    }

    @Test("a client that leaves mid-stream makes the upstream see its connection closed within a second")
    func clientDisconnect() async throws {
        try await withProviders(.trickle(every: .milliseconds(50), limit: 400)) { gateway, provider in
            let client = gateway.client
            let url = gateway.baseURL + "/v1/chat/completions"
            let reader = Task {
                let body = #"{"model":"oai","stream":true,"messages":[{"role":"user","content":"go"}]}"#
                let response = try await client.execute(HTTPRequest(method: .post, url: url, headers: [("Content-Type", "application/json")],
                                                                    body: Array(body.utf8)))
                for try await _ in response.body {}
            }
            try await Task.sleep(for: .milliseconds(400))
            let leftAt = ContinuousClock.now
            reader.cancel()
            _ = try? await reader.value
            let after = try #require(await provider.clientLeft(since: leftAt), "the upstream never saw the client leave")
            #expect(after < .seconds(1))
        }
    }
}

/// The `data:` payloads of an SSE body, in order.
func sseEvents(_ body: [UInt8]) -> [String] {
    var parser = SSEParser()
    var events = (try? parser.feed(body)) ?? []
    if let last = try? parser.finish() { events.append(last) }
    return events.map(\.data)
}
