import Testing
import SwitchyardHTTP
import SwitchyardWire

/// `/ui` and `/v1/switchyard/dashboard` over HTTP, without a browser: who may read what, strict
/// parameters, the page's security headers, and which `Origin` the gateway takes for its own page.
@Suite("Dashboard API", .serialized)
struct DashboardAPITests {
    static let admin = "sy-admin-dashboard-api"

    func policy(_ cloud: ScriptedProvider, _ down: ScriptedProvider, server: String = "") -> String {
        """
        version: 1
        auth: {mode: optional}
        # Every request tries `down` once: no retry, no breaker to pass it over.
        resilience: {retry: {max_retries: 0}, breaker: {enabled: false}}
        \(server)
        models:
          cloud: {kind: openai, base_url: "\(cloud.baseURL)", model: m, api_key_env: K, price: {input: 1000, output: 2000}}
          down: {kind: openai, base_url: "\(down.baseURL)", model: m, api_key_env: K, price: {input: 1000, output: 2000}}
        rules:
          - {name: main, serve: down, fallbacks: [cloud]}
        """
    }

    func withGateway(server: String = "", _ body: (RunningGateway) async throws -> Void) async throws {
        try await ScriptedProvider.with(.answer(pieces: ["ok"])) { cloud in
            try await ScriptedProvider.with(.status(503, body: #"{"error":{"message":"busy"}}"#)) { down in
                try await Fixtures.withGateway(policy: policy(cloud, down, server: server),
                                               environment: ["K": "k", "SWITCHYARD_ADMIN_KEY": Self.admin]) { gateway in
                    try await body(gateway)
                }
            }
        }
    }

    func get(_ gateway: RunningGateway, _ path: String, key: String? = nil, headers: [(name: String, value: String)] = []) async throws -> HTTPResponse {
        try await gateway.client.send(HTTPRequest(url: gateway.baseURL + path, headers: (key.map { [("Authorization", "Bearer \($0)")] } ?? []) + headers))
    }

    func chat(_ gateway: RunningGateway, key: String?) async throws -> String {
        let response = try await gateway.post("/v1/chat/completions", #"{"model":"auto","max_tokens":5,"messages":[{"role":"user","content":"secret prompt text"}]}"#,
                                              headers: key.map { [("Authorization", "Bearer \($0)")] } ?? [])
        #expect(response.status == 200, "\(response.bodyText)")
        return try #require(response.header("x-switchyard-request-id"))
    }

    @Test("the page is public, the same for everyone, holds no data, and is served with a strict CSP, nosniff and no framing")
    func page() async throws {
        try await withGateway { gateway in
            let before = try await get(gateway, "/ui")
            _ = try await chat(gateway, key: nil)
            let after = try await get(gateway, "/ui", key: Self.admin)
            #expect(before.status == 200 && before.body == after.body, "the page does not change with data or keys")
            #expect(!after.bodyText.contains("secret prompt text") && !after.bodyText.contains("<script>"), "no data and no inline script")
            for (path, type) in [("/ui", "text/html"), ("/ui/dashboard.js", "text/javascript"), ("/ui/dashboard.css", "text/css")] {
                let response = try await get(gateway, path)
                #expect(response.status == 200, "\(path)")
                #expect(response.header("content-type")?.hasPrefix(type) == true, "\(path)")
                let csp = response.header("content-security-policy") ?? ""
                for directive in ["default-src 'self'", "script-src 'self'", "connect-src 'self'", "frame-ancestors 'none'", "form-action 'none'"] {
                    #expect(csp.contains(directive), "\(path): \(csp)")
                }
                #expect(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval") && !csp.contains("*"), "\(path): \(csp)")
                #expect(response.header("x-content-type-options") == "nosniff", "\(path)")
                #expect(response.header("x-frame-options") == "DENY", "\(path)")
                #expect(response.header("referrer-policy") == "no-referrer", "\(path)")
            }
            // The key field can never be submitted in a URL: no form, no name.
            #expect(!after.bodyText.contains("<form") && !after.bodyText.contains("name=\"key"), "\(after.bodyText)")
        }
    }

    @Test("the admin sees every request and the box; a key's holder its own requests and budget only; no key, an unknown or a revoked key nothing")
    func access() async throws {
        try await withGateway { gateway in
            let mine = try await createKey(gateway, #"{"name":"mine","budget_usd":2,"period":"month"}"#)
            let other = try await createKey(gateway, #"{"name":"other","budget_usd":3,"period":"day"}"#)
            let own = [try await chat(gateway, key: mine.secret), try await chat(gateway, key: mine.secret)]
            let others = [try await chat(gateway, key: other.secret), try await chat(gateway, key: nil)]

            for key in [nil, "sy-unknown", Self.admin + "x"] as [String?] {
                let refused = try await get(gateway, "/v1/switchyard/dashboard", key: key)
                #expect(refused.status == 401, "\(key ?? "no key"): \(refused.bodyText)")
                #expect(!refused.bodyText.contains(own[0]) && refused.json["error"] != nil)
            }

            let asAdmin = try await get(gateway, "/v1/switchyard/dashboard", key: Self.admin)
            #expect(asAdmin.status == 200, "\(asAdmin.bodyText)")
            #expect(asAdmin.header("cache-control") == "no-store")
            let adminIDs = Set(asAdmin.json["decisions"]?.arrayValue?.compactMap { $0["request_id"]?.stringValue } ?? [])
            #expect(adminIDs == Set(own + others))
            #expect(asAdmin.json["viewer"]?["role"] == .string("admin"))
            #expect(asAdmin.json["targets"]?.arrayValue?.count == 2 && asAdmin.json["engine"] == .null, "no local model here")
            #expect(Set(asAdmin.json["budgets"]?.arrayValue?.compactMap { $0["id"]?.stringValue } ?? []) == [mine.id, other.id])
            let failover = asAdmin.json["decisions"]?.arrayValue?.first
            #expect(failover?["reason"] == .string("after down failed") && failover?["target"] == .string("cloud") && failover?["attempts"] == .int(2),
                    "\(String(describing: failover))")
            #expect(!asAdmin.bodyText.contains("secret prompt text"), "never a prompt")

            let asKey = try await get(gateway, "/v1/switchyard/dashboard", key: mine.secret)
            #expect(asKey.status == 200, "\(asKey.bodyText)")
            #expect(Set(asKey.json["decisions"]?.arrayValue?.compactMap { $0["request_id"]?.stringValue } ?? []) == Set(own))
            #expect(asKey.json["viewer"]?["key_id"] == .string(mine.id))
            #expect(asKey.json["budgets"]?.arrayValue?.compactMap { $0["id"]?.stringValue } == [mine.id])
            #expect(asKey.json["engine"] == nil && asKey.json["targets"] == nil, "nothing about the box")
            for id in others + [other.id] { #expect(!asKey.bodyText.contains(id), "a key sees another's \(id)") }
            let requests = asKey.json["timeline"]?.arrayValue?.compactMap { $0["requests"]?.intValue }.reduce(0, +)
            #expect(requests == 2)

            let revoked = try await gateway.client.send(HTTPRequest(method: .delete, url: gateway.baseURL + "/v1/switchyard/keys/\(mine.id)",
                                                                    headers: [("Authorization", "Bearer \(Self.admin)")]))
            #expect(revoked.status == 200)
            #expect(try await get(gateway, "/v1/switchyard/dashboard", key: mine.secret).status == 401, "a revoked key sees nothing")
        }
    }

    @Test("parameters are read strictly: a bad, repeated or unknown one is a 400 naming it")
    func parameters() async throws {
        try await withGateway { gateway in
            for window in ["1d", "7d", "30d", "90d"] {
                let response = try await get(gateway, "/v1/switchyard/dashboard?window=\(window)&decisions=0", key: Self.admin)
                #expect(response.status == 200 && response.json["window"]?["name"] == .string(window), "\(window): \(response.bodyText)")
                #expect(response.json["decisions"]?.arrayValue?.isEmpty == true)
            }
            let bad: [(String, String)] = [
                ("window=2d", "window"), ("window=", "window"), ("window=1D", "window"), ("window=1d&window=7d", "window"),
                ("decisions=201", "decisions"), ("decisions=-1", "decisions"), ("decisions=1e2", "decisions"), ("decisions=%2B5", "decisions"),
                ("decisions=abc", "decisions"), ("decisions=0x10", "decisions"), ("decisions=%EF%BC%95", "decisions"),
                ("since=2026-01-01", "since"), ("Window=1d", "Window"), ("key_id=key_x", "key_id"),
                // A name the error quotes is cut to 64 characters (and comes as sent: percent-escapes
                // in a name are not decoded, so it stays printable ASCII).
                (String(repeating: "n", count: 100) + "=1", String(repeating: "n", count: 64)), ("caf%C3%A9=1", "caf%C3%A9"),
            ]
            for (query, param) in bad {
                let response = try await get(gateway, "/v1/switchyard/dashboard?" + query, key: Self.admin)
                #expect(response.status == 400, "\(query): \(response.status) \(response.bodyText)")
                #expect(response.json["error"]?["param"] == .string(param), "\(query): \(response.bodyText)")
            }
            // A key's holder cannot widen its view with a parameter either.
            let key = try await createKey(gateway, #"{"name":"k"}"#)
            #expect(try await get(gateway, "/v1/switchyard/dashboard?key_id=x", key: key.secret).status == 400)
        }
    }

    @Test("the gateway's own page may read with its Origin (GET on a host by address or name); writes with it, other origins and rebinding names stay refused")
    func ownOrigin() async throws {
        try await withGateway(server: "server: {allowed_hosts: ['*']}") { gateway in
            let port = gateway.port
            for (host, origin) in [("127.0.0.1:\(port)", "http://127.0.0.1:\(port)"), ("localhost:\(port)", "http://localhost:\(port)"),
                                   ("LOCALHOST:\(port)", "http://localhost:\(port)"), ("127.0.0.1:\(port)", "https://127.0.0.1:\(port)")] {
                for path in ["/ui", "/v1/switchyard/dashboard", "/v1/models"] {
                    // The admin key for the dashboard; none for the model list (it is not an API key).
                    let response = try await get(gateway, path, key: path.hasPrefix("/v1/switchyard") ? Self.admin : nil,
                                                 headers: [("Host", host), ("Origin", origin)])
                    #expect(response.status == 200, "\(host) \(origin) \(path): \(response.status)")
                    #expect(response.header("access-control-allow-origin") == nil, "no CORS for the page's own reads")
                }
            }
            let refused: [(String, String, HTTPRequest.Method)] = [
                ("127.0.0.1:\(port)", "http://127.0.0.1:\(port + 1)", .get),     // another port
                ("127.0.0.1:\(port)", "http://localhost:\(port)", .get),         // another host
                ("127.0.0.1:\(port)", "null", .get),
                ("127.0.0.1:\(port)", "http://127.0.0.1:\(port)", .post),        // the page writes nothing
                ("127.0.0.1:\(port)", "http://127.0.0.1:\(port)", .delete),
                ("rebind.example:\(port)", "http://rebind.example:\(port)", .get), // a name only the wildcard lets in
            ]
            for (host, origin, method) in refused {
                let response = try await gateway.client.send(HTTPRequest(method: method, url: gateway.baseURL + "/v1/switchyard/keys",
                    headers: [("Host", host), ("Origin", origin), ("Authorization", "Bearer \(Self.admin)"), ("Content-Type", "application/json")],
                    body: method == .post ? Array(#"{"name":"from a page"}"#.utf8) : nil))
                #expect(response.status == 403, "\(method) \(host) \(origin): \(response.status) \(response.bodyText)")
            }
            let keys = try await get(gateway, "/v1/switchyard/keys", key: Self.admin)
            #expect(keys.json["data"]?.arrayValue?.isEmpty == true, "no page created a key")
        }
    }

    func createKey(_ gateway: RunningGateway, _ spec: String) async throws -> (secret: String, id: String) {
        let response = try await gateway.post("/v1/switchyard/keys", spec, headers: [("Authorization", "Bearer \(Self.admin)")])
        #expect(response.status == 201, "\(response.bodyText)")
        return (try #require(response.json["secret"]?.stringValue), try #require(response.json["id"]?.stringValue))
    }
}
