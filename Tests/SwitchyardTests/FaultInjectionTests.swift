import Testing
import SwitchyardHTTP
import SwitchyardWire

/// Proof by force: a scripted upstream misbehaves in every way the gateway must survive, with and
/// without a fallback, streaming and not. Each case asserts what the client gets, and that the
/// gateway is still healthy afterwards (it answers `/healthz` and serves a normal request).
@Suite("Fault injection against the gateway", .serialized)
struct FaultInjectionTests {
    enum Wire: String, CaseIterable, Sendable { case openai, anthropic }

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var scenario: ScriptedProvider.Scenario
        /// Status the client gets with no fallback, whole and streamed (nil: 200 and a body).
        var whole: Int?
        var streamed: Int?
        /// Whether a fallback target can still serve the request (false: the upstream rejected it).
        var fallsBack = true
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "500", scenario: .status(500, body: #"{"error":{"message":"boom"}}"#), whole: 502, streamed: 502),
        Case(name: "503 with Retry-After", scenario: .statusRetryAfter(503, retryAfter: "7"), whole: 503, streamed: 503),
        Case(name: "429 with Retry-After", scenario: .statusRetryAfter(429, retryAfter: "7"), whole: 429, streamed: 429),
        Case(name: "400 rejection", scenario: .status(400, body: #"{"error":{"message":"bad"}}"#), whole: 400, streamed: 400, fallsBack: false),
        Case(name: "no head before first_byte", scenario: .slowHead(.seconds(3)), whole: 504, streamed: 504),
        Case(name: "malformed body", scenario: .malformed, whole: 502, streamed: 502),
        // The stream's first event (the role) arrives, so it is committed; the break then ends it with an error event.
        Case(name: "stream cut after its first event", scenario: .cut(afterChunks: 0), whole: 502, streamed: nil),
        Case(name: "negative usage", scenario: .hostileUsage(openAI: #"{"prompt_tokens":-5,"completion_tokens":-9,"total_tokens":-14}"#,
                                                            anthropic: #"{"input_tokens":-5,"output_tokens":-9}"#), whole: nil, streamed: nil),
        Case(name: "usage near Int64.max", scenario: .hostileUsage(openAI: #"{"prompt_tokens":9223372036854775807,"completion_tokens":9223372036854775807}"#,
                                                                   anthropic: #"{"input_tokens":9223372036854775807,"output_tokens":1e400}"#),
             whole: nil, streamed: nil),
        Case(name: "40 MB answer", scenario: .huge(bytes: 40 << 20), whole: 502, streamed: nil),
    ]

    func policy(_ bad: ScriptedProvider, _ good: ScriptedProvider, wire: Wire, fallback: Bool) -> String {
        """
        version: 1
        models:
          bad:
            kind: \(wire.rawValue)
            base_url: \(bad.baseURL)
            model: m
            api_key_env: K
            timeouts: {first_byte: 1s, stall: 1s, total: 20s}
          good:
            kind: openai
            base_url: \(good.baseURL)
            model: m
            api_key_env: K
        rules:
          - name: main
            serve: bad
            \(fallback ? "fallbacks: [good]" : "")
        """
    }

    func request(stream: Bool) -> String {
        #"{"model":"auto","max_tokens":5,"stream":\#(stream),"messages":[{"role":"user","content":"hi"}]}"#
    }

    @Test("each misbehaviour: the client's answer, with and without a fallback; the gateway stays healthy",
          arguments: cases, Wire.allCases)
    func misbehaviour(_ fault: Case, _ wire: Wire) async throws {
        try await ScriptedProvider.with(fault.scenario) { bad in
            try await ScriptedProvider.with(.answer(pieces: ["fine"])) { good in
                for fallback in [false, true] {
                    try await Fixtures.withGateway(policy: policy(bad, good, wire: wire, fallback: fallback), environment: ["K": "key"]) { gateway in
                        for stream in [false, true] {
                            let label = "\(fault.name) \(wire) fallback=\(fallback) stream=\(stream)"
                            let response = try await gateway.post("/v1/chat/completions", request(stream: stream), timeout: .seconds(30))
                            let expected = stream ? fault.streamed : fault.whole
                            if fallback && fault.fallsBack && expected != nil {
                                #expect(response.status == 200, "\(label): \(response.bodyText.prefix(300))")
                                #expect(response.header("x-switchyard-model") == "good", "\(label)")
                                #expect(response.header("x-switchyard-fallback")?.hasPrefix("bad:failed") == true, "\(label)")
                            } else if let expected {
                                #expect(response.status == expected, "\(label): \(response.bodyText.prefix(300))")
                                // Every error is an OpenAI error body the SDKs understand.
                                #expect(response.json["error"]?["message"]?.stringValue != nil, "\(label)")
                                if fault.name.contains("Retry-After") { #expect(response.header("retry-after") == "7", "\(label)") }
                            } else {
                                #expect(response.status == 200, "\(label): \(response.bodyText.prefix(300))")
                                if stream {
                                    // A streamed answer ends with [DONE] or an explicit error event, never silently.
                                    let events = sseEvents(response.body)
                                    #expect(events.last == "[DONE]" || events.last?.contains("\"error\"") == true, "\(label)")
                                }
                            }
                            try await expectHealthy(gateway, label)
                        }
                    }
                }
            }
        }
    }

    /// After any fault: liveness answers, and a request to the good target is served.
    func expectHealthy(_ gateway: RunningGateway, _ label: String) async throws {
        #expect(try await gateway.get("/healthz").status == 200, "\(label): /healthz")
        let normal = try await gateway.post("/v1/chat/completions", #"{"model":"good","messages":[{"role":"user","content":"ok?"}]}"#)
        #expect(normal.status == 200, "\(label): a normal request after the fault: \(normal.bodyText.prefix(200))")
    }

    @Test("a 200 stream whose body is not SSE is a failed attempt: the fallback serves, nothing broken is committed")
    func notSSE() async throws {
        try await ScriptedProvider.with(.notSSE) { bad in
            try await ScriptedProvider.with(.answer(pieces: ["fine"])) { good in
                for fallback in [false, true] {
                    try await Fixtures.withGateway(policy: policy(bad, good, wire: .openai, fallback: fallback), environment: ["K": "key"]) { gateway in
                        let response = try await gateway.post("/v1/chat/completions", request(stream: true))
                        if fallback {
                            #expect(response.status == 200)
                            #expect(response.header("x-switchyard-model") == "good")
                            #expect(sseEvents(response.body).last == "[DONE]")
                        } else {
                            #expect(response.status == 502)
                            #expect(response.json["error"]?["message"]?.stringValue?.contains("application/json") == true)
                        }
                    }
                }
            }
        }
    }

    @Test("an upstream answer with a duplicate key is malformed, not half-read")
    func duplicateKeysUpstream() async throws {
        try await ScriptedProvider.with(.duplicateKeys) { bad in
            try await ScriptedProvider.with(.answer(pieces: ["fine"])) { good in
                try await Fixtures.withGateway(policy: policy(bad, good, wire: .openai, fallback: false), environment: ["K": "key"]) { gateway in
                    let response = try await gateway.post("/v1/chat/completions", request(stream: false))
                    #expect(response.status == 502)
                }
            }
        }
    }

    @Test("a client that reads nothing of a fast endless stream holds a bounded buffer: the upstream is paused")
    func backpressure() async throws {
        try await ScriptedProvider.with(.huge(bytes: 1 << 30)) { bad in
            try await ScriptedProvider.with(.answer(pieces: ["fine"])) { good in
                try await Fixtures.withGateway(policy: policy(bad, good, wire: .openai, fallback: false), environment: ["K": "key"]) { gateway in
                    // A raw client that sends the request and then never reads.
                    let socket = try RawClient(port: gateway.port)
                    try socket.send("POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: \(request(stream: true).utf8.count)\r\n\r\n\(request(stream: true))")
                    try await Task.sleep(for: .seconds(3))
                    let written = bad.bytesWritten
                    // Kernel socket buffers on both sides plus the gateway's bounded stream buffer: a few MB,
                    // not the gigabyte the upstream would send.
                    #expect(written > 0)
                    #expect(written < 64 << 20, "the upstream wrote \(written) bytes to a client that reads nothing")
                    try await Task.sleep(for: .seconds(1))
                    #expect(bad.bytesWritten - written < 8 << 20, "still flowing: \(bad.bytesWritten - written) more bytes")
                    socket.close()
                    try await expectHealthy(gateway, "after a client that never read")
                }
            }
        }
    }
}
