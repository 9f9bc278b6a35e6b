import Testing
import SwitchyardHTTP
import SwitchyardPolicy
import SwitchyardWire
@testable import SwitchyardEngine

#if canImport(Glibc)
import Glibc
#endif

/// The on-box engine, tried as a local process or a web page would: straight to its loopback
/// port, around the gateway's keys, rate limits, `deny` rules, ledger and admission.
@Suite("The engine is no side door", .serialized)
struct EngineSideDoorTests {
    let policy = "version: 1\nmodels:\n\(Fixtures.localModelYAML)\n"

    init() throws { try Fixtures.requireEngine() }

    static let chat = #"{"model":"local","max_tokens":4,"messages":[{"role":"user","content":"hi"}]}"#

    /// Everything the engine answers besides `/health`, asked without its key.
    static let requests: [(HTTPRequest.Method, String, String?)] = [
        (.post, "/v1/chat/completions", chat), (.post, "/chat/completions", chat), (.post, "/completion", #"{"prompt":"hi","n_predict":4}"#),
        (.post, "/tokenize", #"{"content":"hi"}"#), (.post, "/apply-template", #"{"messages":[]}"#), (.get, "/slots", nil), (.get, "/props", nil),
        (.get, "/v1/models", nil), (.get, "/metrics", nil), (.post, "/slots/0?action=erase", nil),
    ]

    @Test("straight to the engine's port: no key, a wrong key or a near miss is 401 on every endpoint but /health; the gateway's key works and the gateway serves")
    func keyRequired() async throws {
        try await Fixtures.withGateway(policy: policy) { gateway in
            let engine = try #require(gateway.gateway.engine)
            let endpoint = try #require(engine.readyEndpoint)
            let secret = endpoint.key.secret
            let client = gateway.client
            let json = ("Content-Type", "application/json")
            let wrong: [[(name: String, value: String)]] = [
                [], [("Authorization", "Bearer wrong")], [("x-api-key", "wrong")], [("Authorization", "Bearer ")],
                [("Authorization", "Bearer \(secret.dropLast())")], [("Authorization", "Bearer \(secret.uppercased())")],
            ]
            for (method, path, body) in Self.requests {
                for headers in wrong {
                    let response = try await client.send(HTTPRequest(method: method, url: endpoint.baseURL + path, headers: [json] + headers,
                                                                     body: body.map { Array($0.utf8) }))
                    #expect(response.status == 401, "\(method) \(path) with \(headers.map(\.name)): \(response.status)")
                }
            }
            #expect(try await client.send(HTTPRequest(url: endpoint.baseURL + "/health")).status == 200, "/health stays public: it says nothing")
            #expect(try await client.send(HTTPRequest(url: endpoint.baseURL + "/")).status == 404, "the engine's web UI is off")
            let withKey = try await client.send(HTTPRequest(method: .post, url: endpoint.baseURL + "/v1/chat/completions",
                                                            headers: [json, endpoint.authorization], body: Array(Self.chat.utf8)))
            #expect(withKey.status == 200, "the key the gateway holds works: \(withKey.bodyText)")

            let served = try await gateway.chat("Say hi.", maxTokens: 4)
            #expect(served.status == 200 && served.header("x-switchyard-route") == "local")
            #expect(try await gateway.post("/v1/messages/count_tokens", #"{"model":"auto","messages":[{"role":"user","content":"hi"}]}"#)
                        .header("x-switchyard-tokens-estimated") == "false", "the tokenizer sends the key too")
        }
    }

    @Test("the key is on no command line, in no environment, file, log or readiness answer; its file is gone once the engine is up")
    func keyStaysSecret() async throws {
        try await Fixtures.withGateway(policy: policy) { gateway in
            let engine = try #require(gateway.gateway.engine)
            let secret = try #require(engine.readyEndpoint?.key.secret)
            let pid = try #require(engine.status.pid)
            let cmdline = (TextFile.read("/proc/\(pid)/cmdline") ?? "").replacing("\0", with: " ")
            #expect(cmdline.contains("--api-key-file"), "\(cmdline)")
            #expect(!cmdline.contains(secret), "the key is on the engine's command line")
            #expect(!(TextFile.read("/proc/\(pid)/environ") ?? "").contains(secret))
            #expect(TextFile.read(gateway.directory + "/engine-local.key") == nil, "the key file outlives the engine's start")
            _ = try await gateway.chat("Say hi.", maxTokens: 4)
            #expect(!(TextFile.read(gateway.directory + "/engine-local.log") ?? "").contains(secret), "the key is in the engine's log")
            let ready = try await gateway.get("/readyz")
            #expect(ready.status == 200 && !ready.bodyText.contains(secret))
            #expect(!String(describing: try #require(engine.readyEndpoint)).contains(secret), "an endpoint written into a log shows its key")
        }
    }

    @Test("a web page's preflight and requests get no CORS from the engine: its origin is not reflected")
    func noCORSForPages() async throws {
        try await Fixtures.withGateway(policy: policy) { gateway in
            let endpoint = try #require(gateway.gateway.engine?.readyEndpoint)
            let port = try #require(Int(endpoint.baseURL.split(separator: ":").last ?? ""))
            let origin = "https://evil.example"
            let client = try RawClient(port: port)
            try client.send("OPTIONS /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: \(origin)\r\nAccess-Control-Request-Method: POST\r\n"
                + "Access-Control-Request-Headers: authorization, content-type\r\nConnection: close\r\n\r\n")
            let preflight = String(decoding: client.readAll(), as: UTF8.self).lowercased()
            client.close()
            #expect(preflight.hasPrefix("http/1.1"), "\(preflight)")
            #expect(!preflight.contains("access-control-allow-origin: \(origin)"), "\(preflight)")
            let answer = try await gateway.client.send(HTTPRequest(url: endpoint.baseURL + "/health", headers: [("Origin", origin)]))
            #expect(answer.header("access-control-allow-origin") != origin)
            #expect(answer.header("access-control-allow-origin") != "*")
        }
    }

    @Test("each start of the engine has a key of its own: after a restart the old one is refused")
    func keyPerStart() async throws {
        try await Fixtures.withGateway(policy: policy) { gateway in
            let engine = try #require(gateway.gateway.engine)
            let first = try #require(engine.readyEndpoint)
            let firstPID = try #require(engine.status.pid)
            kill(firstPID, SIGKILL)
            let deadline = ContinuousClock.now + .seconds(60)
            while engine.status.pid == firstPID || engine.readyEndpoint == nil {
                guard ContinuousClock.now < deadline else { Issue.record("not restarted: \(engine.status)"); return }
                try await Task.sleep(for: .milliseconds(50))
            }
            let second = try #require(engine.readyEndpoint)
            #expect(second.key.secret != first.key.secret)
            let old = try await gateway.client.send(HTTPRequest(url: second.baseURL + "/slots", headers: [first.authorization]))
            #expect(old.status == 401)
            let new = try await gateway.client.send(HTTPRequest(url: second.baseURL + "/slots", headers: [second.authorization]))
            #expect(new.status == 200)
            #expect(try await gateway.chat("Say hi.", maxTokens: 4).status == 200)
        }
    }
}
