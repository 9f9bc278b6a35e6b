import Testing
import SwitchyardHTTP
import SwitchyardPolicy
import SwitchyardWire

/// What a web page can make a visitor's browser send to a gateway on 127.0.0.1 with `auth: off`
/// (the quick start, holding the operator's cloud keys), sent here as real HTTP requests: simple
/// cross-site POSTs (`text/plain`, forms), requests carrying another site's `Origin`, and the
/// requests of a DNS-rebinding page, whose `Host` is the attacker's name. None may reach the cloud.
@Suite("Browsers cannot drive the gateway", .serialized)
struct BrowserOriginTests {
    static let chat = #"{"model":"auto","messages":[{"role":"user","content":"spend the operator's budget"}]}"#
    static let message = #"{"model":"auto","max_tokens":10,"messages":[{"role":"user","content":"spend the operator's budget"}]}"#

    func policy(_ cloud: ScriptedProvider, server: String = "") -> String {
        """
        version: 1
        \(server)
        models:
          cloud: {kind: openai, base_url: "\(cloud.baseURL)", model: m, api_key_env: K}
        """
    }

    func send(_ gateway: RunningGateway, _ method: HTTPRequest.Method = .post, _ path: String = "/v1/chat/completions",
              body: String? = BrowserOriginTests.chat, headers: [(name: String, value: String)]) async throws -> HTTPResponse {
        try await gateway.client.send(HTTPRequest(method: method, url: gateway.baseURL + path, headers: headers, body: body.map { Array($0.utf8) }))
    }

    /// A preflight (OPTIONS, which the gateway's own client never sends): the status and the
    /// headers, names in lower case.
    func preflight(_ gateway: RunningGateway, origin: String, requestHeaders: String) throws -> (status: Int, headers: [String: String]) {
        try raw(gateway, "OPTIONS /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:\(gateway.port)\r\nOrigin: \(origin)\r\n"
            + "Access-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: \(requestHeaders)\r\nConnection: close\r\n\r\n")
    }

    /// A request written out byte for byte, for what an HTTP library would not send.
    func raw(_ gateway: RunningGateway, _ request: String) throws -> (status: Int, headers: [String: String]) {
        let client = try RawClient(port: gateway.port)
        defer { client.close() }
        try client.send(request)
        let text = String(decoding: client.readAll(), as: UTF8.self)
        let lines = text.components(separatedBy: "\r\n\r\n")[0].components(separatedBy: "\r\n")
        let status = Int(lines[0].split(separator: " ").dropFirst().first ?? "") ?? 0
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = String(line[line.index(after: colon)...].drop { $0 == " " })
        }
        return (status, headers)
    }

    /// The gateway at work for an ordinary client, so that a refusal is the guard's and not a broken gateway.
    func servesOrdinaryClients(_ gateway: RunningGateway) async throws {
        let ok = try await gateway.post("/v1/chat/completions", Self.chat)
        #expect(ok.status == 200, "\(ok.bodyText)")
    }

    @Test("a cross-site POST a page can send without a preflight (text/plain, a form, multipart, a Blob with no type) is 415, in the client's format; the cloud sees none")
    func simpleRequests() async throws {
        let types: [String?] = ["text/plain", "text/plain;charset=UTF-8", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
                                "text/plain; application/json", nil]
        try await ScriptedProvider.with(.answer(pieces: ["ok"])) { cloud in
            try await Fixtures.withGateway(policy: policy(cloud), environment: ["K": "k"]) { gateway in
                for (path, body, front) in [("/v1/chat/completions", Self.chat, "openai"), ("/v1/messages", Self.message, "anthropic"),
                                            ("/v1/messages/count_tokens", Self.message, "anthropic"), ("/v1/switchyard/explain", Self.chat, "openai")] {
                    for type in types {
                        let response = try await send(gateway, .post, path, body: body, headers: type.map { [("Content-Type", $0)] } ?? [])
                        #expect(response.status == 415, "\(path) \(type ?? "no type"): \(response.status) \(response.bodyText)")
                        if front == "anthropic" {
                            #expect(response.json["type"] == .string("error") && response.json["error"]?["type"] != nil, "\(response.bodyText)")
                        } else {
                            #expect(response.json["error"]?["code"] == .string("unsupported_media_type"), "\(response.bodyText)")
                        }
                    }
                }
                #expect(cloud.received.isEmpty, "a page's request reached the cloud")
                try await servesOrdinaryClients(gateway)
            }
        }
    }

    @Test("JSON with parameters passes; a missing type or curl -d's form type passes only with a key, which a page cannot add without a preflight")
    func clientsThatSayJSON() async throws {
        try await ScriptedProvider.with(.answer(pieces: ["ok"])) { cloud in
            try await Fixtures.withGateway(policy: policy(cloud), environment: ["K": "k"]) { gateway in
                let accepted: [[(name: String, value: String)]] = [
                    [("Content-Type", "application/json; charset=utf-8")],
                    [("Content-Type", "Application/JSON")],
                    [("Content-Type", "application/x-www-form-urlencoded"), ("Authorization", "Bearer sk-anything")],
                    [("x-api-key", "sk-anything")],
                ]
                for headers in accepted {
                    let response = try await send(gateway, headers: headers)
                    #expect(response.status == 200, "\(headers): \(response.bodyText)")
                }
                let refused: [[(name: String, value: String)]] = [
                    [("Content-Type", "text/plain"), ("Authorization", "Bearer sk-anything")],
                    [("Content-Type", "application/json"), ("Content-Type", "text/plain")],
                    [("Content-Type", "application/jsonp")],
                ]
                for headers in refused {
                    let response = try await send(gateway, headers: headers)
                    #expect(response.status == 415, "\(headers): \(response.bodyText)")
                }
                #expect(cloud.received.count == accepted.count)
            }
        }
    }

    @Test("a request from another site's page (its Origin) is 403 on every endpoint, preflights included, with no CORS header to read it by; the gateway's own origin may only read")
    func foreignOrigins() async throws {
        try await ScriptedProvider.with(.answer(pieces: ["ok"])) { cloud in
            try await Fixtures.withGateway(policy: policy(cloud), environment: ["K": "k"]) { gateway in
                let json = ("Content-Type", "application/json")
                for origin in ["https://evil.example", "http://localhost:3000", "http://127.0.0.1:\(gateway.port + 1)", "null",
                               "http://127.0.0.1:\(gateway.port)"] {
                    let requests: [(HTTPRequest.Method, String, String?, [(name: String, value: String)])] = [
                        (.post, "/v1/chat/completions", Self.chat, [json, ("Origin", origin)]),
                        (.post, "/v1/messages", Self.message, [json, ("Origin", origin)]),
                        (.get, "/v1/models", nil, [("Origin", origin)]),
                        (.get, "/readyz", nil, [("Origin", origin)]),
                        (.get, "/metrics", nil, [("Origin", origin)]),
                    ]
                    // The gateway's own origin may read (its dashboard: DashboardAPITests), never write.
                    for (method, path, body, headers) in requests where !(origin == "http://127.0.0.1:\(gateway.port)" && method == .get) {
                        let response = try await send(gateway, method, path, body: body, headers: headers)
                        #expect(response.status == 403, "\(origin) \(method) \(path): \(response.status)")
                        #expect(response.header("access-control-allow-origin") == nil, "\(origin) \(path)")
                        if path == "/v1/messages" { #expect(response.json["type"] == .string("error"), "\(response.bodyText)") }
                    }
                    let preflight = try preflight(gateway, origin: origin, requestHeaders: "content-type")
                    #expect(preflight.status == 403, "\(origin) preflight: \(preflight)")
                    #expect(preflight.headers["access-control-allow-origin"] == nil)
                }
                #expect(cloud.received.isEmpty)
                try await servesOrdinaryClients(gateway)
            }
        }
    }

    @Test("DNS rebinding: a Host that is not the gateway's is 421 on every endpoint; loopback names and addresses pass")
    func rebinding() async throws {
        try await ScriptedProvider.with(.answer(pieces: ["ok"])) { cloud in
            try await Fixtures.withGateway(policy: policy(cloud), environment: ["K": "k"]) { gateway in
                let json = ("Content-Type", "application/json")
                let port = gateway.port
                for host in ["rebind.attacker.example:\(port)", "rebind.attacker.example", "localhost.attacker.example:\(port)",
                             "127.0.0.1.nip.io:\(port)", "evil:\(port)"] {
                    for (method, path, body) in [(HTTPRequest.Method.post, "/v1/chat/completions", Self.chat), (.post, "/v1/messages", Self.message),
                                                 (.get, "/v1/models", nil), (.get, "/readyz", nil), (.get, "/metrics", nil)] {
                        let response = try await send(gateway, method, path, body: body, headers: [json, ("Host", host)])
                        #expect(response.status == 421, "Host \(host) \(path): \(response.status) \(response.bodyText)")
                        #expect(!response.bodyText.contains("\"data\""), "Host \(host) \(path) read the answer")
                    }
                }
                for host in ["localhost:\(port)", "LOCALHOST:\(port)", "localhost.:\(port)", "127.0.0.1:\(port)", "127.0.0.1", "[::1]:\(port)",
                             "10.1.2.3:\(port)"] {
                    let response = try await send(gateway, headers: [json, ("Host", host)])
                    #expect(response.status == 200, "Host \(host): \(response.bodyText)")
                }
                let twice = try raw(gateway, "POST /v1/chat/completions HTTP/1.1\r\nHost: localhost:\(port)\r\nHost: rebind.attacker.example\r\n"
                    + "Content-Type: application/json\r\nContent-Length: \(Self.chat.utf8.count)\r\nConnection: close\r\n\r\n\(Self.chat)")
                #expect(twice.status == 400, "two Host headers: \(twice)")
                #expect(cloud.received.count == 7)
            }
        }
    }

    @Test("server.allowed_hosts and allowed_origins let a named host and a chosen page in, with CORS for that page only")
    func allowedHostsAndOrigins() async throws {
        let server = #"server: {allowed_hosts: [gateway.example], allowed_origins: ["https://app.example", "http://localhost:5173"]}"#
        try await ScriptedProvider.with(.answer(pieces: ["ok"])) { cloud in
            try await Fixtures.withGateway(policy: policy(cloud, server: server), environment: ["K": "k"]) { gateway in
                let json = ("Content-Type", "application/json")
                let named = try await send(gateway, headers: [json, ("Host", "gateway.example:\(gateway.port)")])
                #expect(named.status == 200, "\(named.bodyText)")
                #expect(try await send(gateway, headers: [json, ("Host", "other.example")]).status == 421)

                let preflight = try preflight(gateway, origin: "https://app.example", requestHeaders: "authorization, content-type, x-stainless-os")
                #expect(preflight.status == 204, "\(preflight)")
                #expect(preflight.headers["access-control-allow-origin"] == "https://app.example")
                #expect(preflight.headers["access-control-allow-headers"] == "authorization, content-type, x-stainless-os")
                #expect(preflight.headers["access-control-allow-credentials"] == nil)

                let fromApp = try await send(gateway, headers: [json, ("Origin", "https://app.example")])
                #expect(fromApp.status == 200)
                #expect(fromApp.header("access-control-allow-origin") == "https://app.example")
                #expect(fromApp.header("vary")?.contains("Origin") == true)
                // An error answered to the page carries CORS too, so the page can read why.
                let badFromApp = try await send(gateway, body: "{", headers: [json, ("Origin", "http://localhost:5173")])
                #expect(badFromApp.status == 400 && badFromApp.header("access-control-allow-origin") == "http://localhost:5173")

                for origin in ["https://evil.example", "https://app.example.evil.example", "http://app.example", "https://APP.example.", "null"] {
                    let response = try await send(gateway, headers: [json, ("Origin", origin)])
                    #expect(response.status == 403, "\(origin)")
                    #expect(response.header("access-control-allow-origin") == nil)
                }
                #expect(cloud.received.count == 2)
            }
        }
    }

    @Test("serve --allowed-host adds a deployment's names (a Kubernetes Service) to the policy's; other names stay refused")
    func deploymentHosts() async throws {
        try await ScriptedProvider.with(.answer(pieces: ["ok"])) { cloud in
            try await Fixtures.withGateway(policy: policy(cloud), environment: ["K": "k"],
                                           allowedHosts: ["switchyard", "switchyard.ai.svc.cluster.local"]) { gateway in
                let json = ("Content-Type", "application/json")
                for (host, status) in [("switchyard:\(gateway.port)", 200), ("switchyard.ai.svc.cluster.local", 200),
                                        ("switchyard.evil.example", 421), ("switchyard.ai.svc", 421)] {
                    let response = try await send(gateway, headers: [json, ("Host", host)])
                    #expect(response.status == status, "\(host)")
                }
                #expect(cloud.received.count == 2)
            }
        }
    }

    @Test("allowed_hosts and allowed_origins take names and origins, never a door left open by accident")
    func settingsAtLoad() {
        let cases: [(String, String)] = [
            ("allowed_origins: ['*']", "any page"),
            ("allowed_origins: ['null']", "any page"),
            ("allowed_origins: ['https://app.example/']", "no path"),
            ("allowed_origins: ['app.example']", "http:// or https://"),
            ("allowed_origins: ['https://app.example:99999']", "port"),
            ("allowed_origins: ['https://App.Example']", "lower case"),
            ("allowed_hosts: ['gateway.example:8080']", "without a port"),
            ("allowed_hosts: ['Gateway.example']", "lower-case"),
            ("allowed_hosts: ['*.example']", "host names"),
            ("allowed_hosts: gateway.example", "must be a list"),
        ]
        for (line, why) in cases {
            do {
                _ = try PolicyLoader.parse("version: 1\nserver:\n  \(line)\nmodels:\n  local: {kind: local}\n", file: "p.yaml")
                Issue.record("\(line) loaded")
            } catch {
                #expect(error.diagnostics.map(\.line) == [3], "\(line): \(error)")
                #expect(error.description.contains(why), "\(line): \(error)")
            }
        }
        let fine = try? PolicyLoader.parse("version: 1\nserver: {allowed_hosts: ['*', gw.example.], allowed_origins: ['http://[::1]:8000', 'https://a.example']}\nmodels:\n  local: {kind: local}\n", file: "p.yaml")
        #expect(fine?.server.allowedHosts == ["*", "gw.example."] && fine?.server.allowedOrigins.count == 2)
    }
}
