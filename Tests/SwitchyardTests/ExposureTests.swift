import Testing
import SwitchyardHTTP
import SwitchyardPolicy
import SwitchyardWire

#if canImport(Glibc)
import Glibc
#endif

/// What the gateway shows about itself, run as operators run it (`switchyard serve`): metrics,
/// which tell spend per tenant and what is left of each key's budget, only to whoever holds the
/// metrics token or the admin key once the gateway is not simply open; and logs, whose records
/// stay one line each whatever clients and upstreams put in the strings they quote.
@Suite("What the gateway shows about itself", .serialized)
struct ExposureTests {
    static let token = "metrics-token-for-tests"
    static let admin = "sy-admin-exposure-test"

    func policy(_ cloud: ScriptedProvider, auth: String, extra: String = "") -> String {
        """
        version: 1
        auth: {mode: \(auth)}
        models:
          cloud: {kind: openai, base_url: "\(cloud.baseURL)", model: m, api_key_env: SWITCHYARD_TEST_CLOUD_KEY}
        \(extra)
        """
    }

    func metrics(_ client: HTTPClient, _ gateway: ServeProcess, _ headers: [(name: String, value: String)] = []) async throws -> HTTPResponse {
        try await client.send(HTTPRequest(url: gateway.baseURL + "/metrics", headers: headers))
    }

    @Test("auth required or optional: /metrics needs the metrics token or the admin key (Bearer, as Prometheus sends it); an API key, a wrong token or none is 401",
          arguments: ["required", "optional"])
    func metricsNeedAToken(_ auth: String) async throws {
        try await ScriptedProvider.with(.answer(pieces: ["ok"])) { cloud in
            try await TestProcesses.with { processes in
                let directory = try Fixtures.temporaryDirectory()
                try Fixtures.writeFile(directory + "/policy.yaml", policy(cloud, auth: auth))
                let client = HTTPClient()
                defer { Task { await client.shutdown() } }
                let gateway = try await ServeProcess.start(
                    policy: directory + "/policy.yaml", stateDirectory: directory,
                    environment: ["SWITCHYARD_TEST_CLOUD_KEY": "k", "SWITCHYARD_METRICS_TOKEN": Self.token, "SWITCHYARD_ADMIN_KEY": Self.admin],
                    log: directory + "/gateway.log", processes: processes, client: client)
                // Spend by a tenant's key, so that there is something to hide.
                let made = try await client.send(HTTPRequest(method: .post, url: gateway.baseURL + "/v1/switchyard/keys",
                                                             headers: [("Content-Type", "application/json"), ("Authorization", "Bearer \(Self.admin)")],
                                                             body: Array(#"{"name":"app","tenant":"acme","budget_usd":5}"#.utf8)))
                let key = try #require(made.json["secret"]?.stringValue, "\(made.bodyText)")
                let chat = try await client.send(HTTPRequest(method: .post, url: gateway.baseURL + "/v1/chat/completions",
                                                             headers: [("Content-Type", "application/json"), ("Authorization", "Bearer \(key)")],
                                                             body: Array(#"{"model":"auto","messages":[{"role":"user","content":"hi"}]}"#.utf8)))
                #expect(chat.status == 200)

                for headers in [[], [("Authorization", "Bearer \(key)")], [("Authorization", "Bearer wrong")], [("Authorization", "Basic \(Self.token)")]] {
                    let refused = try await metrics(client, gateway, headers)
                    #expect(refused.status == 401, "\(headers): \(refused.status)")
                    #expect(!refused.bodyText.contains("switchyard_"), "\(headers) read the metrics")
                }
                for headers in [[("Authorization", "Bearer \(Self.token)")], [("Authorization", "Bearer \(Self.admin)")]] {
                    let shown = try await metrics(client, gateway, headers)
                    #expect(shown.status == 200, "\(headers)")
                    #expect(shown.bodyText.contains("switchyard_requests_total"), "\(shown.bodyText.prefix(300))")
                    #expect(shown.bodyText.contains("acme"), "the tenant's spend is what the token protects")
                }
                #expect(await gateway.stop() == .exited(0))
            }
        }
    }

    @Test("auth off on loopback: /metrics is open; auth off beyond loopback: it needs a token, and without one set it is off (403)")
    func metricsWithAuthOff() async throws {
        try await ScriptedProvider.with(.answer(pieces: ["ok"])) { cloud in
            try await TestProcesses.with { processes in
                let directory = try Fixtures.temporaryDirectory()
                try Fixtures.writeFile(directory + "/policy.yaml", policy(cloud, auth: "off"))
                let client = HTTPClient()
                defer { Task { await client.shutdown() } }
                func start(_ name: String, host: String?, token: String?) async throws -> ServeProcess {
                    var environment = ["SWITCHYARD_TEST_CLOUD_KEY": "k"]
                    environment["SWITCHYARD_METRICS_TOKEN"] = token
                    return try await ServeProcess.start(policy: directory + "/policy.yaml", stateDirectory: directory + "/" + name,
                                                        environment: environment, log: directory + "/\(name).log", processes: processes, client: client,
                                                        host: host, extraArguments: host == nil ? [] : ["--allow-unauthenticated"])
                }
                let loopback = try await start("loopback", host: nil, token: Self.token)
                #expect(try await metrics(client, loopback).status == 200)
                #expect(await loopback.stop() == .exited(0))

                let everywhere = try await start("everywhere", host: "0.0.0.0", token: Self.token)
                #expect(try await metrics(client, everywhere).status == 401)
                #expect(try await metrics(client, everywhere, [("Authorization", "Bearer \(Self.token)")]).status == 200)
                #expect(await everywhere.stop() == .exited(0))

                let noToken = try await start("no-token", host: "0.0.0.0", token: nil)
                let off = try await metrics(client, noToken, [("Authorization", "Bearer anything")])
                #expect(off.status == 403 && off.json["error"]?["code"] == .string("metrics_disabled"), "\(off.bodyText)")
                #expect(await noToken.stop() == .exited(0))
            }
        }
    }

    /// Strings that would forge a record or drive a terminal, as clients and upstreams can send them.
    static let forged = "\r\n2026-01-01T00:00:00+0000 critical switchyard: FORGED"

    @Test("a model, a role, headers and an upstream's error text carrying CR, LF, ANSI escapes and line separators leave every log record on one line")
    func logRecordsStayOneLine() async throws {
        let forgedJSON = #"\r\n2026-01-01T00:00:00+0000 critical switchyard: FORGED"#
        try await ScriptedProvider.with(.answer(pieces: ["ok"])) { cloud in
            try await ScriptedProvider.with(.status(500, body: #"{"error":{"message":"boom\#(forgedJSON)\u001b[2J\u2028LS"}}"#)) { broken in
                try await TestProcesses.with { processes in
                    let directory = try Fixtures.temporaryDirectory()
                    try Fixtures.writeFile(directory + "/policy.yaml", policy(cloud, auth: "off", extra: """
                          broken: {kind: openai, base_url: "\(broken.baseURL)", model: m, api_key_env: SWITCHYARD_TEST_CLOUD_KEY}
                        rules:
                          - {name: main, serve: cloud}
                        """))
                    let client = HTTPClient()
                    defer { Task { await client.shutdown() } }
                    let log = directory + "/gateway.log"
                    let gateway = try await ServeProcess.start(policy: directory + "/policy.yaml", stateDirectory: directory,
                                                               environment: ["SWITCHYARD_TEST_CLOUD_KEY": "k"], log: log, processes: processes,
                                                               client: client, extraArguments: ["--log-level", "debug"])
                    let bodies = [
                        #"{"model":"auto\#(forgedJSON)","messages":[{"role":"user","content":"hi"}]}"#,
                        #"{"model":"\u001b[2J\u001b[31mred\u0007\u009b31m","messages":[{"role":"user","content":"hi"}]}"#,
                        #"{"model":"auto","messages":[{"role":"user\#(forgedJSON)","content":"hi"}]}"#,
                        #"{"model":"auto","messages":[{"role":"\u2028\u202eresu","content":"hi"}]}"#,
                        #"{"model":"broken","messages":[{"role":"user","content":"hi"}]}"#,
                        #"{"model":"auto","messages":[{"role":"user","content":"hi"}]}"#,
                    ]
                    var statuses: [Int] = []
                    for body in bodies {
                        let response = try await client.send(HTTPRequest(method: .post, url: gateway.baseURL + "/v1/chat/completions",
                                                                         headers: [("Content-Type", "application/json")], body: Array(body.utf8)))
                        statuses.append(response.status)
                    }
                    #expect(statuses == [404, 404, 400, 400, 502, 200], "\(statuses)")
                    // Headers with escapes, which no HTTP library would send (the gateway's own refuses to).
                    let raw = try RawClient(port: gateway.port)
                    let body = bodies[0]
                    try raw.send("POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                        + "x-switchyard-tenant: \u{1B}[31mtenant\u{9B}\r\nUser-Agent: \u{1B}]0;title\u{07}\r\nConnection: close\r\n"
                        + "Content-Length: \(body.utf8.count)\r\n\r\n\(body)")
                    _ = raw.readAll()
                    raw.close()
                    #expect(await gateway.stop() == .exited(0))

                    let bytes = Array((TextFile.read(log) ?? "").utf8)
                    #expect(!bytes.isEmpty)
                    #expect(!bytes.contains { ($0 < 0x20 && $0 != 0x0A) || $0 == 0x7F }, "a control character reached the log")
                    let text = String(decoding: bytes, as: UTF8.self)
                    #expect(!text.unicodeScalars.contains { (0x80...0x9F).contains($0.value) || [0x2028, 0x2029, 0x202E].contains($0.value) })
                    let lines = text.split(separator: "\n")
                    let record = #/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4} (trace|debug|info|notice|warning|error|critical) /#
                    for line in lines { #expect(line.firstMatch(of: record) != nil, "not a record of its own: \(line)") }
                    // The forged text is there, escaped, inside the record that quoted it.
                    let quoting = lines.filter { $0.contains("FORGED") }
                    #expect(quoting.count >= 3, "\(quoting)")
                    #expect(quoting.allSatisfy { $0.contains(#"\r\n2026-01-01T00:00:00+0000 critical switchyard: FORGED"#) }, "\(quoting)")
                    #expect(text.contains(#"\u{1b}[2J"#))
                }
            }
        }
    }
}
