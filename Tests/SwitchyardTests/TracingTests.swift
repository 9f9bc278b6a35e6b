import Testing
import SwitchyardHTTP
import SwitchyardPolicy
@testable import SwitchyardTracing
import SwitchyardWire

/// OpenTelemetry traces, exported over OTLP/HTTP to a scripted collector on loopback
/// (`OTLPReceiver`, which decodes the protobuf itself): which spans a request makes, how they
/// link to each other and to the caller's `traceparent`, what they say, and what they never say.
/// The spans are read once the gateway has stopped, which sends what its batch still held.
@Suite("Tracing", .serialized)
struct TracingTests {
    /// A caller's trace: the request span must continue it.
    static let callerTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
    static let callerSpan = "00f067aa0ba902b7"
    static let traceparent = ("traceparent", "00-\(callerTrace)-\(callerSpan)-01")
    /// Text that must reach no exported byte unless the policy opts in.
    static let secret = "the-launch-code-is-0451"

    func policy(cloud: String, receiver: String?, extra: String = "", rule: String = "serve: cloud", local: Bool = false,
                kind: String = "openai") -> String {
        """
        version: 1
        models:
        \(local ? Fixtures.localModelYAML : "")
          cloud:
            kind: \(kind)
            base_url: \(cloud)
            model: up-model
            api_key_env: TEST_CLOUD_API_KEY
            price: {input: 1, output: 2}
            timeouts: {first_byte: 2s, stall: 2s, total: 10s}
        resilience: {retry: {max_retries: 0}, breaker: {enabled: false}}
        rules:
          - name: main
            \(rule)
        \(receiver.map { "tracing:\n  endpoint: \($0)\n  service_name: gateway-under-test\n\(extra)" } ?? "")
        """
    }

    /// Runs `body` against a gateway tracing to a receiver, then returns the spans it exported.
    func traced(_ scenario: ScriptedProvider.Scenario, extra: String = "", rule: String = "serve: cloud", local: Bool = false,
                kind: String = "openai",
                _ body: (RunningGateway, ScriptedProvider) async throws -> Void) async throws -> (spans: [OTLPReceiver.Span], receiver: OTLPReceiver) {
        try await OTLPReceiver.with { receiver in
            try await ScriptedProvider.with(scenario) { provider in
                try await Fixtures.withGateway(policy: policy(cloud: provider.baseURL, receiver: receiver.endpoint, extra: extra, rule: rule,
                                                              local: local, kind: kind),
                                               environment: ["TEST_CLOUD_API_KEY": "k"]) { gateway in
                    try await body(gateway, provider)
                }
            }
            #expect(receiver.undecodable == 0)
            #expect(receiver.contentTypes.allSatisfy { $0 == "application/x-protobuf" })
            return (receiver.spans, receiver)
        }
    }

    func chat(_ content: String, stream: Bool = false) -> String {
        JSON.object(["model": .string("auto"), "max_tokens": .int(16), "stream": .bool(stream),
                     "messages": .array([.object(["role": .string("user"), "content": .string(content)])])]).text
    }

    /// The one span named `name`, or a recorded failure listing what there was.
    func one(_ spans: [OTLPReceiver.Span], _ name: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> OTLPReceiver.Span {
        let found = spans.filter { $0.name == name }
        #expect(found.count == 1, "\(name) in \(spans.map(\.name))", sourceLocation: sourceLocation)
        return try #require(found.first, sourceLocation: sourceLocation)
    }

    func attempts(_ spans: [OTLPReceiver.Span]) -> [OTLPReceiver.Span] { spans.filter { $0.kind == 3 } }

    @Test("a whole answer: the request continues the caller's trace; decision, attempt and ledger write are its children; the upstream continues the attempt")
    func whole() async throws {
        var upstreamTraceparent: String?
        var costHeader: String?
        let (spans, _) = try await traced(.answer(pieces: ["Hello"], promptTokens: 11, completionTokens: 7)) { gateway, provider in
            let response = try await gateway.post("/v1/chat/completions", chat("hi"), headers: [Self.traceparent])
            #expect(response.status == 200)
            costHeader = response.header("x-switchyard-cost-usd")
            upstreamTraceparent = provider.received.first?.headers[.init("traceparent")!]
        }
        let request = try one(spans, "POST /v1/chat/completions")
        #expect(request.kind == 2)
        #expect(request.traceID == Self.callerTrace)
        #expect(request.parentSpanID == Self.callerSpan)
        #expect(request.serviceName == "gateway-under-test")
        #expect(request.string("switchyard.front") == "openai")
        #expect(request.string("switchyard.rule") == "main")
        #expect(request.string("switchyard.route") == "cloud")
        #expect(request.string("gen_ai.request.model") == "auto")
        #expect(request.int("gen_ai.request.max_tokens") == 16)
        #expect(request.int("http.response.status_code") == 200)
        #expect(request.statusCode != 2)
        #expect(spans.allSatisfy { $0.traceID == Self.callerTrace })
        #expect(spans.filter { $0.spanID != request.spanID }.allSatisfy { $0.parentSpanID == request.spanID },
                "every other span is the request's child: \(spans)")

        let decision = try one(spans, "switchyard.decide")
        #expect(decision.string("switchyard.rule") == "main")
        #expect(decision.string("switchyard.action") == "serve")

        let attempt = try #require(attempts(spans).first)
        #expect(attempts(spans).count == 1)
        #expect(attempt.name == "chat up-model")
        #expect(attempt.string("gen_ai.operation.name") == "chat")
        #expect(attempt.string("gen_ai.provider.name") == "openai")
        #expect(attempt.string("gen_ai.request.model") == "up-model")
        #expect(attempt.string("gen_ai.response.model") == "up-model")
        #expect(attempt.int("gen_ai.usage.input_tokens") == 11)
        #expect(attempt.int("gen_ai.usage.output_tokens") == 7)
        #expect(attempt.string("server.address") == "127.0.0.1")
        #expect(attempt.string("switchyard.attempt.outcome") == "served")
        // 11 input tokens at $1/M and 7 output at $2/M.
        let cost = try #require(attempt.double("switchyard.cost_usd"))
        #expect(abs(cost - 25e-6) < 1e-12)
        #expect(costHeader.flatMap(Double.init).map { abs($0 - cost) < 1e-12 } == true)
        #expect(attempt.start >= request.start && attempt.end <= request.end)

        let ledger = try one(spans, "switchyard.ledger.write")
        #expect(ledger.string("switchyard.attempt.id") == attempt.string("switchyard.attempt.id"))
        #expect(ledger.string("switchyard.ledger.outcome") == "served")

        // The upstream's server span would be a child of the attempt's.
        #expect(upstreamTraceparent == "00-\(Self.callerTrace)-\(attempt.spanID)-01")
    }

    @Test("the Anthropic front to an Anthropic upstream: the request's span names the front, the attempt its provider; the upstream continues the trace")
    func anthropic() async throws {
        var upstream: String?
        let (spans, _) = try await traced(.answer(pieces: ["Bonjour"], promptTokens: 9, completionTokens: 4), kind: "anthropic") { gateway, provider in
            let response = try await gateway.messages(#"{"model":"auto","max_tokens":32,"messages":[{"role":"user","content":"hi"}]}"#,
                                                      headers: [Self.traceparent])
            #expect(response.status == 200)
            upstream = provider.received.first?.headers[.init("traceparent")!]
        }
        let request = try one(spans, "POST /v1/messages")
        #expect(request.parentSpanID == Self.callerSpan)
        #expect(request.string("switchyard.front") == "anthropic")
        #expect(request.string("http.route") == "/v1/messages")
        let attempt = try #require(attempts(spans).first)
        #expect(attempt.string("gen_ai.provider.name") == "anthropic")
        #expect(attempt.int("gen_ai.usage.input_tokens") == 9)
        #expect(attempt.int("gen_ai.usage.output_tokens") == 4)
        #expect(upstream == "00-\(Self.callerTrace)-\(attempt.spanID)-01")
    }

    @Test("the Responses front to a chat upstream: one request span for /v1/responses, in the caller's trace, its attempt a child")
    func responses() async throws {
        var upstream: String?
        let (spans, _) = try await traced(.answer(pieces: ["Hallo"], promptTokens: 6, completionTokens: 2)) { gateway, provider in
            let response = try await gateway.post("/v1/responses", #"{"model":"auto","input":"hi","store":false}"#, headers: [Self.traceparent])
            #expect(response.status == 200, "\(response.json)")
            upstream = provider.received.first?.headers[.init("traceparent")!]
        }
        let request = try one(spans, "POST /v1/responses")
        #expect(request.traceID == Self.callerTrace && request.parentSpanID == Self.callerSpan)
        #expect(request.string("switchyard.front") == "responses")
        #expect(request.string("http.route") == "/v1/responses")
        let attempt = try #require(attempts(spans).first)
        #expect(attempt.parentSpanID == request.spanID)
        #expect(attempt.int("gen_ai.usage.input_tokens") == 6)
        #expect(upstream == "00-\(Self.callerTrace)-\(attempt.spanID)-01")
    }

    @Test("a reload that changes the tracing block is refused where it is written; the gateway traces on as it started")
    func reload() async throws {
        try await OTLPReceiver.with { receiver in
            try await ScriptedProvider.with(.answer(pieces: ["ok"])) { provider in
                try await Fixtures.withGateway(policy: policy(cloud: provider.baseURL, receiver: receiver.endpoint),
                                               environment: ["TEST_CLOUD_API_KEY": "k"]) { gateway in
                    let changed = policy(cloud: provider.baseURL, receiver: receiver.endpoint, extra: "  capture_content: true\n")
                    try Fixtures.writeFile(gateway.directory + "/policy.yaml", changed)
                    await gateway.gateway.reloadPolicy()
                    let error = try await gateway.get("/readyz").json["policy"]?["last_reload_error"]?.stringValue ?? ""
                    let line = changed.split(separator: "\n", omittingEmptySubsequences: false).firstIndex { $0.hasPrefix("tracing:") }.map { $0 + 1 }
                    #expect(error.contains("policy.yaml:\(line ?? 0):"), "\(error)")
                    #expect(error.contains("`tracing` block differs"), "\(error)")
                    let response = try await gateway.post("/v1/chat/completions", chat(Self.secret))
                    #expect(response.status == 200)
                }
            }
            #expect(!receiver.spans.isEmpty)
            #expect(!receiver.bodies.contains { String(decoding: $0, as: UTF8.self).contains(Self.secret) },
                    "content is exported only as the gateway started: without it")
        }
    }

    @Test("a reload that adds a tracing block to a gateway started without one is refused too")
    func reloadAddingTracing() async throws {
        try await ScriptedProvider.with(.answer(pieces: ["ok"])) { provider in
            try await Fixtures.withGateway(policy: policy(cloud: provider.baseURL, receiver: nil), environment: ["TEST_CLOUD_API_KEY": "k"]) { gateway in
                try Fixtures.writeFile(gateway.directory + "/policy.yaml", policy(cloud: provider.baseURL, receiver: "http://127.0.0.1:4318/v1/traces"))
                await gateway.gateway.reloadPolicy()
                let error = try await gateway.get("/readyz").json["policy"]?["last_reload_error"]?.stringValue ?? ""
                #expect(error.contains("`tracing` block differs"), "\(error)")
                #expect(gateway.gateway.policy.tracing == nil)
            }
        }
    }

    @Test("a stream: the request span ends when the stream has been written; the attempt carries the stream's usage")
    func streamed() async throws {
        var ended: ContinuousClock.Instant?
        let (spans, _) = try await traced(.answer(pieces: ["a", "b", "c"], chunkDelay: .milliseconds(100), promptTokens: 5, completionTokens: 3)) { gateway, _ in
            let response = try await gateway.post("/v1/chat/completions", chat("hi", stream: true))
            #expect(response.status == 200)
            #expect(String(decoding: response.body, as: UTF8.self).contains("[DONE]"))
            ended = .now
        }
        #expect(ended != nil)
        let request = try one(spans, "POST /v1/chat/completions")
        #expect(request.parentSpanID == nil, "no traceparent was sent: a new trace")
        #expect(request.bool("gen_ai.request.stream") == true)
        let attempt = try #require(attempts(spans).first)
        #expect(attempt.parentSpanID == request.spanID)
        #expect(attempt.string("switchyard.attempt.outcome") == "served")
        #expect(attempt.int("gen_ai.usage.input_tokens") == 5)
        #expect(attempt.int("gen_ai.usage.output_tokens") == 3)
        // The three pieces took 300 ms: the request span covers their delivery, not just the upstream's 200.
        #expect(request.end - request.start >= 300_000_000)
        #expect(request.end >= attempt.end)
        // In progress before the 200, then its end: two ledger writes.
        #expect(spans.filter { $0.name == "switchyard.ledger.write" }.map { $0.string("switchyard.ledger.outcome") ?? "" }.sorted()
                == ["in_progress", "served"])
    }

    @Test("a failed request: the attempt and the request say why, with no text the upstream sent")
    func failed() async throws {
        let body = #"{"error":{"message":"cannot answer \#(Self.secret)"}}"#
        let (spans, receiver) = try await traced(.status(500, body: body)) { gateway, _ in
            let response = try await gateway.post("/v1/chat/completions", chat(Self.secret), headers: [Self.traceparent])
            #expect(response.status == 502)
        }
        let request = try one(spans, "POST /v1/chat/completions")
        #expect(request.statusCode == 2)
        #expect(request.int("http.response.status_code") == 502)
        #expect(request.string("error.type") == "upstream_error")
        let attempt = try #require(attempts(spans).first)
        #expect(attempt.statusCode == 2)
        #expect(attempt.string("error.type") == "upstream_status_500")
        #expect(attempt.string("switchyard.attempt.outcome") == "failed")
        #expect(attempt.parentSpanID == request.spanID)
        #expect(!receiver.bodies.contains { String(decoding: $0, as: UTF8.self).contains(Self.secret) })
    }

    @Test("no prompt or answer text is exported unless the policy opts in")
    func content() async throws {
        let answer = "the-answer-is-42"
        let (_, quiet) = try await traced(.answer(pieces: [answer])) { gateway, _ in
            let whole = try await gateway.post("/v1/chat/completions", chat(Self.secret))
            let streamed = try await gateway.post("/v1/chat/completions", chat(Self.secret, stream: true))
            #expect(whole.status == 200 && streamed.status == 200)
        }
        #expect(!quiet.bodies.isEmpty)
        for text in [Self.secret, answer] {
            #expect(!quiet.bodies.contains { String(decoding: $0, as: UTF8.self).contains(text) }, "\(text) was exported")
        }

        let (spans, _) = try await traced(.answer(pieces: [answer]), extra: "  capture_content: true\n") { gateway, _ in
            let whole = try await gateway.post("/v1/chat/completions", chat(Self.secret))
            let streamed = try await gateway.post("/v1/chat/completions", chat(Self.secret, stream: true))
            #expect(whole.status == 200 && streamed.status == 200)
        }
        let requests = spans.filter { $0.name == "POST /v1/chat/completions" }
        #expect(requests.count == 2)
        for request in requests {
            let input = try JSON.parse(try #require(request.string("gen_ai.input.messages")))
            #expect(input.arrayValue?.first?["role"] == .string("user"))
            #expect(input.arrayValue?.first?["parts"]?.arrayValue?.first?["content"] == .string(Self.secret))
            let output = try JSON.parse(try #require(request.string("gen_ai.output.messages")))
            #expect(output.arrayValue?.first?["parts"]?.arrayValue?.first?["content"] == .string(answer))
        }
    }

    @Test("an escalated cascade: the local generation, its scoring and the escalation are the request's children, in order")
    func escalated() async throws {
        try Fixtures.requireEngine()
        let rule = #"cascade: {first: local, escalate_to: cloud, when: "confidence <= 1"}"#
        let (spans, _) = try await traced(.answer(pieces: ["from the cloud"]), rule: rule, local: true) { gateway, _ in
            let response = try await gateway.post("/v1/chat/completions", chat("Tell me about the sea."))
            #expect(response.status == 200)
            #expect(response.header("x-switchyard-route") == "cloud")
        }
        let request = try one(spans, "POST /v1/chat/completions")
        #expect(request.string("switchyard.route") == "cloud")
        #expect(request.bool("switchyard.cascade.escalated") == true)
        let tries = attempts(spans).sorted { $0.start < $1.start }
        #expect(tries.count == 2)
        let local = try #require(tries.first)
        let cloud = try #require(tries.last)
        #expect(local.string("gen_ai.provider.name") == "llama.cpp")
        #expect(local.string("switchyard.tier") == "local")
        #expect(local.string("switchyard.attempt.outcome") == "discarded")
        #expect((local.int("gen_ai.usage.output_tokens") ?? 0) > 0)
        #expect(cloud.string("gen_ai.provider.name") == "openai")
        #expect(cloud.string("switchyard.attempt.outcome") == "served")
        let score = try one(spans, "switchyard.cascade.score")
        #expect(score.parentSpanID == request.spanID)
        #expect(score.bool("switchyard.cascade.escalated") == true)
        #expect(score.double("switchyard.cascade.confidence") != nil)
        #expect(score.start >= local.start && score.end <= cloud.start)
        #expect(local.parentSpanID == request.spanID && cloud.parentSpanID == request.spanID)
    }

    @Test("a malformed traceparent starts a new trace, and the request is served as usual")
    func malformedTraceparent() async throws {
        var upstream: String?
        let (spans, _) = try await traced(.answer(pieces: ["ok"])) { gateway, provider in
            let response = try await gateway.post("/v1/chat/completions", chat("hi"), headers: [("traceparent", "00-zz-not-a-trace-01")])
            #expect(response.status == 200)
            upstream = provider.received.first?.headers[.init("traceparent")!]
        }
        let request = try one(spans, "POST /v1/chat/completions")
        #expect(request.parentSpanID == nil)
        #expect(request.traceID.count == 32 && request.traceID != String(repeating: "0", count: 32))
        let attempt = try #require(attempts(spans).first)
        #expect(upstream == "00-\(request.traceID)-\(attempt.spanID)-01")
    }

    @Test("without a tracing block nothing is traced: the upstream gets no traceparent, even when the caller sent one")
    func off() async throws {
        try await ScriptedProvider.with(.answer(pieces: ["ok"])) { provider in
            try await Fixtures.withGateway(policy: policy(cloud: provider.baseURL, receiver: nil), environment: ["TEST_CLOUD_API_KEY": "k"]) { gateway in
                let response = try await gateway.post("/v1/chat/completions", chat("hi"), headers: [Self.traceparent])
                #expect(response.status == 200)
            }
            #expect(provider.received.first?.headers[.init("traceparent")!] == nil)
        }
    }

    @Test("a bad tracing setting is reported where it is written", arguments: [
        ("tracing: {endpoint: ftp://collector/v1/traces}", 2, "`endpoint` must start with https:// or http://"),
        ("tracing: {endpoint: \"http://\"}", 2, "`endpoint` must name a host"),
        ("tracing: {endpoint: \"http://a b/v1/traces\"}", 2, "`endpoint` must not contain spaces or control characters"),
        ("tracing: {sample_ratio: 1.5}", 2, "`sample_ratio` must be at most 1"),
        ("tracing: {capture_content: sometimes}", 2, "`capture_content` must be true or false"),
        ("tracing: {service_name: \"\"}", 2, "`service_name` must not be empty"),
        ("tracing: {protocol: grpc}", 2, "unknown field `protocol` in tracing"),
        ("tracing: on", 2, "tracing must be a mapping"),
    ])
    func errors(_ setting: String, _ line: Int, _ message: String) {
        let found = diagnostics("version: 1\n\(setting)\nmodels:\n  box: {kind: local}\n")
        #expect(found.contains { $0.line == line && $0.message.contains(message) }, "\(found)")
    }

    @Test("the tracing block is read with its defaults; without it, the policy traces nothing")
    func settings() throws {
        let traced = try PolicyLoader.parse("version: 1\nmodels:\n  box: {kind: local}\ntracing: {}\n", file: "p.yaml")
        let settings = try #require(traced.tracing)
        #expect(settings.endpoint == nil)
        #expect(settings.serviceName == "switchyard")
        #expect(settings.sampleRatio == 1)
        #expect(!settings.captureContent)
        #expect(settings.line == 4)
        let moved = try PolicyLoader.parse("version: 1\n# a comment\nmodels:\n  box: {kind: local}\ntracing: {}\n", file: "p.yaml")
        #expect(moved.tracing == settings, "a block that only moved is the same settings: a reload may move it")
        #expect(try PolicyLoader.parse("version: 1\nmodels:\n  box: {kind: local}\n", file: "p.yaml").tracing == nil)
    }

    @Test("server.address and server.port come from a target's base URL", arguments: [
        ("https://api.openai.com/v1", "api.openai.com", 443),
        ("http://127.0.0.1:8081/v1", "127.0.0.1", 8081),
        ("http://[::1]:9000/v1", "[::1]", 9000),
        ("https://user@example.com", "example.com", 443),
    ])
    func serverAddress(_ url: String, _ host: String, _ port: Int) {
        #expect(ServerAddress(url: url) == ServerAddress(host: host, port: port))
    }
}
