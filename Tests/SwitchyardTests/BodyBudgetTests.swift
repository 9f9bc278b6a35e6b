import Testing
import SwitchyardHTTP
import SwitchyardPolicy
import SwitchyardWire
@testable import SwitchyardServer

/// `server.max_inflight_body_bytes`: the bytes of request bodies the gateway holds at once.
@Suite("Request bodies in flight")
struct BodyBudgetTests {
    /// `take` and `give` outside `#expect`, which cannot call a mutating method.
    func take(_ bytes: inout InflightBytes, _ count: Int) -> Bool { bytes.take(count) }
    func give(_ bytes: inout InflightBytes, _ count: Int) -> Int? { bytes.give(count) }

    @Test("the state machine takes what fits, refuses what does not (taking nothing), and gives back")
    func takeAndGive() {
        var bytes = InflightBytes(limit: 100)
        #expect(take(&bytes, 60))
        #expect(!take(&bytes, 41), "60 + 41 > 100")
        #expect(bytes.held == 60, "a refusal takes nothing")
        #expect(take(&bytes, 40), "an exact fit is taken")
        #expect(!take(&bytes, 1))
        #expect(take(&bytes, 0), "an empty body always fits")
        #expect(give(&bytes, 60) == nil, "40 still held: the burst goes on")
        #expect(bytes.held == 40)
        #expect(take(&bytes, 60))
        #expect(give(&bytes, 100) == 100, "nothing held: the burst that ended held 100 at most")
        #expect(bytes.held == 0 && bytes.peak == 0)
        #expect(take(&bytes, 10))
        #expect(give(&bytes, 10) == 10, "the next burst is counted afresh")
        #expect(!take(&bytes, 101), "more than the whole budget never fits")
        #expect(!take(&bytes, -1), "a negative claim is refused")
        #expect(!take(&bytes, .max), "no overflow")
        #expect(bytes.held == 0)
    }

    @Test("a claim grows by what fits and gives all it holds back when its last reference goes")
    func claims() throws {
        let budget = BodyBudget(limit: 100)
        do {
            let first = try #require(budget.claim(30))
            #expect(first.grow(by: 20))
            #expect(first.held == 50 && budget.held == 50)
            #expect(budget.claim(51) == nil)
            #expect(!first.grow(by: 51))
            #expect(first.held == 50 && budget.held == 50, "a refused growth takes nothing")
            let second = try #require(budget.claim(50))
            #expect(budget.held == 100)
            withExtendedLifetime((first, second)) {}
        }
        #expect(budget.held == 0, "both claims went with their last reference")
    }

    @Test("the server settings: documented defaults; a budget below max_body_bytes (a body that could never fit) is refused where it is written")
    func settings() throws {
        let defaults = try PolicyLoader.parse("version: 1\nmodels:\n  box: {kind: local}\n", file: "p.yaml").server
        #expect(defaults.maxInflightBodyBytes == 256 << 20 && defaults.tokenizerConcurrency == 2 && defaults.tokenizerQueue == 8)
        let set = try PolicyLoader.parse("""
        version: 1
        server: {max_body_bytes: 65536, max_inflight_body_bytes: 131072, tokenizer_concurrency: 1, tokenizer_queue: 0}
        models:
          box: {kind: local}
        """, file: "p.yaml").server
        #expect(set.maxInflightBodyBytes == 131072 && set.tokenizerConcurrency == 1 && set.tokenizerQueue == 0)
        let raised = try PolicyLoader.parse("version: 1\nserver: {max_body_bytes: 1073741824}\nmodels:\n  box: {kind: local}\n", file: "p.yaml")
        #expect(raised.server.maxInflightBodyBytes == 1 << 30, "a larger max_body_bytes raises the unset budget to one body")
        for (server, message) in [
            ("{max_body_bytes: 65536, max_inflight_body_bytes: 65535}", "p.yaml:2:58: `max_inflight_body_bytes` must be at least `max_body_bytes` (65536); got 65535"),
            ("{max_inflight_body_bytes: 68719476737}", "p.yaml:2:35: `max_inflight_body_bytes` must be at most 68719476736; got 68719476737"),
            ("{tokenizer_concurrency: 0}", "p.yaml:2:33: `tokenizer_concurrency` must be at least 1; got 0"),
            ("{tokenizer_queue: -1}", "p.yaml:2:27: `tokenizer_queue` must be at least 0; got -1"),
        ] {
            #expect(throws: PolicyError.self) { try PolicyLoader.parse("version: 1\nserver: \(server)\nmodels:\n  box: {kind: local}\n", file: "p.yaml") }
            do {
                _ = try PolicyLoader.parse("version: 1\nserver: \(server)\nmodels:\n  box: {kind: local}\n", file: "p.yaml")
            } catch {
                #expect(error.description.contains(message), "\(error)")
            }
        }
    }

    /// A chat body of exactly `bytes` bytes.
    static func chat(bytes: Int, model: String = "auto", stream: Bool = false) -> String {
        let head = #"{"model":"\#(model)","stream":\#(stream),"messages":[{"role":"user","content":""#
        let tail = #""}]}"#
        return head + String(repeating: "a", count: bytes - head.utf8.count - tail.utf8.count) + tail
    }

    @Test("a gateway holds at most max_inflight_body_bytes of bodies: a chunked body past it gets 503 with Retry-After while reading; every claim comes back (error, hang-up, stream end, refusal)")
    func gatewayBudget() async throws {
        try await ScriptedProvider.with(.slowAnswer(delay: .milliseconds(1500))) { slow in
            try await ScriptedProvider.with(.answer(pieces: ["a", "b", "c"], chunkDelay: .milliseconds(50))) { streaming in
                let policy = """
                version: 1
                server: {max_body_bytes: 65536, max_inflight_body_bytes: 65536}
                models:
                  slow: {kind: openai, base_url: "\(slow.baseURL)", model: m, api_key_env: SWITCHYARD_TEST_CLOUD_KEY}
                  streaming: {kind: openai, base_url: "\(streaming.baseURL)", model: m, api_key_env: SWITCHYARD_TEST_CLOUD_KEY}
                rules:
                  - {name: all, serve: slow}
                """
                try await Fixtures.withGateway(policy: policy, environment: ["SWITCHYARD_TEST_CLOUD_KEY": "k"]) { gateway in
                    /// A whole-budget body: it fits only once every other claim came back.
                    func fullBodyFits() async throws -> Bool {
                        let deadline = ContinuousClock.now + .seconds(10)
                        var full = try await gateway.post("/v1/chat/completions", Self.chat(bytes: 65536, model: "streaming"))
                        while full.status == 503, ContinuousClock.now < deadline {
                            try await Task.sleep(for: .milliseconds(50))
                            full = try await gateway.post("/v1/chat/completions", Self.chat(bytes: 65536, model: "streaming"))
                        }
                        return full.status == 200
                    }
                    // One body of 60000 bytes held by a slow upstream; a chunked one beside it does not fit.
                    async let held = gateway.post("/v1/chat/completions", Self.chat(bytes: 60000))
                    let deadline = ContinuousClock.now + .seconds(10)
                    while slow.received.isEmpty, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
                    let raw = try RawClient(port: gateway.port)
                    let chunk = Self.chat(bytes: 8000)
                    try raw.send("POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/json\r\n"
                                 + "Transfer-Encoding: chunked\r\n\r\n" + String(chunk.utf8.count, radix: 16) + "\r\n" + chunk + "\r\n0\r\n\r\n")
                    let refused = String(decoding: raw.readAll(limit: 4096), as: UTF8.self)
                    #expect(refused.hasPrefix("HTTP/1.1 503"), "\(refused)")
                    #expect(refused.lowercased().contains("retry-after: 1"), "\(refused)")
                    #expect(refused.contains(#""type":"overloaded_error""#), "in the Anthropic front's format: \(refused)")
                    raw.close()
                    #expect(try await held.status == 200)

                    // Each way a request ends gives its claim back: a refusal, a 400, a hang-up, a finished stream.
                    #expect(try await fullBodyFits(), "after a refusal")
                    #expect(try await gateway.post("/v1/chat/completions", "{" + String(repeating: " ", count: 65534) + "x").status == 400)
                    #expect(try await fullBodyFits(), "after a 400")
                    let leaving = try RawClient(port: gateway.port)
                    let body = Self.chat(bytes: 65536)
                    try leaving.send("POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n" + body)
                    while slow.received.count < 2, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
                    leaving.close()
                    #expect(try await fullBodyFits(), "after a hang-up")
                    let streamed = try await gateway.post("/v1/chat/completions", Self.chat(bytes: 65536, model: "streaming", stream: true))
                    #expect(streamed.status == 200 && streamed.bodyText.contains("[DONE]"), "\(streamed.bodyText.prefix(300))")
                    #expect(try await fullBodyFits(), "after a stream")
                }
            }
        }
    }
}
