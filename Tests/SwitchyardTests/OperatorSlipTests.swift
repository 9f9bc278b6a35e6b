import HTTPTypes
import Testing
import SwitchyardHTTP
import SwitchyardPolicy
import SwitchyardWire

/// What a careless operator types: a key pasted where its variable's name goes, a header with a
/// line break in it, a misspelt or mistyped admin API field, an engine flag that opens the engine.
/// Each is refused where it is typed (a policy line, a 400 naming the field), never turned into
/// a leak or a key without limits.
@Suite("Operators' slips", .serialized)
struct OperatorSlipTests {
    static let file = "slips.yaml"

    /// The diagnostics of a policy that must not load (empty when it loads).
    func diagnostics(_ text: String) -> [PolicyDiagnostic] {
        do {
            _ = try PolicyLoader.parse(text, file: Self.file)
            return []
        } catch {
            return error.diagnostics
        }
    }

    func cloud(_ fields: String) -> String {
        "version: 1\nmodels:\n  cloud:\n    kind: openai\n    model: m\n\(fields)"
    }

    // MARK: - A key pasted into api_key_env

    @Test("a key pasted into api_key_env or a URL into postgres_url_env is refused at its line, and the refusal does not repeat it",
          arguments: [
            "sk-proj-Abc123def456GHI789jkl012MNO345pqr678STU901vwx234",
            "sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123456789",
            "AIzaSyA1b2C3d4E5f6G7h8I9j0KlMnOpQrStUvW",
            "gsk_abcdefghijklmnopqrstuvwxyz012345",
            "openai_api_key",
            "1PASSWORD",
            "OPENAI API KEY",
          ])
    func keyInApiKeyEnv(_ value: String) {
        let found = diagnostics(cloud("    api_key_env: \(value)\n"))
        #expect(found.count == 1, "\(found)")
        #expect(found.first?.line == 6, "\(found)")
        #expect(found.first?.description.hasPrefix("\(Self.file):6:") == true)
        #expect(found.first?.message.contains("environment variable") == true, "\(found)")
        #expect(!found.description.contains(value), "the diagnostic repeats the value: \(found)")
    }

    @Test("postgres_url_env takes a variable's name, not the URL with its password")
    func urlInPostgresURLEnv() {
        let url = "postgres://switchyard:hunter2@db.internal:5432/switchyard"
        let found = diagnostics(cloud("") + "ledger: {postgres_url_env: \"\(url)\"}\n")
        #expect(found.map(\.line) == [6], "\(found)")
        #expect(!found.description.contains("hunter2"), "\(found)")
    }

    @Test("ordinary variable names still load", arguments: ["OPENAI_API_KEY", "K", "_X1", "TEST_CLOUD_API_KEY"])
    func variableNames(_ name: String) {
        #expect(diagnostics(cloud("    api_key_env: \(name)\n")).isEmpty)
    }

    // MARK: - Headers

    @Test("a header with CR, LF or another control in its name or value, a name that is not a token, or a framing header is refused at its line",
          arguments: [
            (#""X-Org": "acme\r\nX-Injected: 1""#, "carriage return"),
            (#""X-Org": "acme\nGET / HTTP/1.1""#, "line feed"),
            (#""X-Org": "\e[31mred""#, "U+001B"),
            (#""X-Org": "acme\u0085""#, "U+0085"),
            (#""X-Org\r\nX-Injected": "1""#, "may not hold"),
            (#""X Org": "1""#, "a space"),
            (#""X-Org:": "1""#, "a colon"),
            (#""": "1""#, "must not be empty"),
            (#""Content-Length": "0""#, "set by the HTTP client"),
            (#""transfer-encoding": "chunked""#, "set by the HTTP client"),
            (#""Host": "evil.example""#, "set by the HTTP client"),
          ])
    func headers(_ header: String, _ why: String) {
        let found = diagnostics(cloud("    headers: {\(header)}\n"))
        #expect(found.map(\.line) == [6], "\(header): \(found)")
        #expect(found.first?.message.contains(why) == true, "\(header): \(found)")
    }

    @Test("ordinary headers load, empty values and tabs included")
    func ordinaryHeaders() throws {
        let policy = try PolicyLoader.parse(cloud(#"    headers: {OpenAI-Organization: org-1, "x-empty": "", "x-tab": "a\tb", "x~ok!": "1"}"# + "\n"), file: Self.file)
        #expect(policy.models.first?.remote?.headers.count == 4)
    }

    @Test("the HTTP client refuses to send a header that would split the request: nothing reaches the server")
    func clientRefusesSplitHeaders() async throws {
        let client = HTTPClient()
        try await ScriptedProvider.with(.answer(pieces: ["ok"])) { provider in
            let body = Array(#"{"model":"m","messages":[{"role":"user","content":"hi"}]}"#.utf8)
            for header in [("X-Org", "acme\r\nX-Injected: 1"), ("X-Org", "acme\nX-Injected: 1"), ("X-Org\r\nX-Injected", "1"),
                           ("X-Org", "\u{1B}[2J"), ("X Org", "1")] {
                await #expect(throws: HTTPClientError.self, "\(header)") {
                    try await client.send(HTTPRequest(method: .post, url: provider.baseURL + "/chat/completions",
                                                      headers: [("Content-Type", "application/json"), header], body: body))
                }
            }
            #expect(provider.received.isEmpty, "sent: \(provider.received.map(\.headers))")
            // The client still works.
            let fine = try await client.send(HTTPRequest(method: .post, url: provider.baseURL + "/chat/completions",
                                                         headers: [("Content-Type", "application/json"), ("X-Org", "acme\tinc")], body: body))
            #expect(fine.status == 200)
            #expect(provider.received.first?.headers[HTTPField.Name("X-Org")!] == "acme\tinc")
        }
        await client.shutdown()
    }

    // MARK: - Engine flags

    @Test("extra_args may not set who reaches the engine", arguments: ["--host", "--port", "--api-key", "--api_key", "--api-key-file",
                                                                       "--cors-origins", "--no-cors-credentials", "--host=0.0.0.0"])
    func engineFlags(_ flag: String) {
        let found = diagnostics("version: 1\nmodels:\n  local:\n    kind: local\n    extra_args: [--temp, \"0.5\", \"\(flag)\", x]\n")
        #expect(found.map(\.line) == [5], "\(flag): \(found)")
        #expect(found.first?.message.contains("extra_args") == true)
    }

    @Test("other engine flags pass")
    func otherEngineFlags() throws {
        let policy = try PolicyLoader.parse("version: 1\nmodels:\n  local: {kind: local, extra_args: [--temp, \"0.5\", --hostname-is-not-a-flag]}\n", file: Self.file)
        guard case .local(let settings)? = policy.models.first?.kind else { Issue.record("no local model"); return }
        #expect(settings.extraArgs == ["--temp", "0.5", "--hostname-is-not-a-flag"])
    }

    // MARK: - The admin API

    static let admin = "sy-admin-slip-test"

    func policy(_ cloud: ScriptedProvider) -> String {
        "version: 1\nauth: {mode: required}\nmodels:\n  cloud: {kind: openai, base_url: \"\(cloud.baseURL)\", model: m, api_key_env: K}\n"
    }

    @Test("the admin API reads every field strictly: wrong types, unknown fields, out-of-range values and repeated keys are 400 naming the field; no key is made")
    func strictAdminAPI() async throws {
        let cases: [(body: String, param: String?)] = [
            (#"{"name":"a","budget_usd":"0.05"}"#, "budget_usd"),
            (#"{"name":"a","budget":0.05}"#, "budget"),
            (#"{"name":"a","models":"other"}"#, "models"),
            (#"{"name":"a","models":["ok",1]}"#, "models.1"),
            (#"{"name":"a","models":[]}"#, "models"),
            (#"{"name":"a","rpm":2.5}"#, "rpm"),
            (#"{"name":"a","rpm":0}"#, "rpm"),
            (#"{"name":"a","tpm":1e20}"#, "tpm"),
            (#"{"name":"a","tpm":"100"}"#, "tpm"),
            (#"{"name":"a","budget_usd":1e400}"#, "budget_usd"),
            (#"{"name":"a","budget_usd":-1}"#, "budget_usd"),
            (#"{"name":"a","tenant":5}"#, "tenant"),
            (#"{"name":"a","team":["x"]}"#, "team"),
            (#"{"name":"a","period":"week"}"#, "period"),
            (#"{"name":"a","period":1}"#, "period"),
            (#"{"name":5}"#, "name"),
            (#"{"budget_usd":5}"#, "name"),
            (#"{"name":"a","secret":"sy-chosen-by-me"}"#, "secret"),
            (#"{"name":"a","budget_usd":5,"budget_usd":1000}"#, "budget_usd"),
            (#"{"name":"a","rpm":10,"rpm":null}"#, "rpm"),
            (#"["name"]"#, nil),
        ]
        try await ScriptedProvider.with(.answer(pieces: ["ok"])) { cloud in
            try await Fixtures.withGateway(policy: policy(cloud), environment: ["K": "k", "SWITCHYARD_ADMIN_KEY": Self.admin]) { gateway in
                for c in cases {
                    let response = try await gateway.post("/v1/switchyard/keys", c.body, headers: [("Authorization", "Bearer \(Self.admin)")])
                    #expect(response.status == 400, "\(c.body): \(response.status) \(response.bodyText)")
                    #expect(response.json["error"]?["param"]?.stringValue == c.param, "\(c.body): \(response.bodyText)")
                    if let param = c.param {
                        #expect(response.json["error"]?["message"]?.stringValue?.contains("'\(param)'") == true, "\(c.body): \(response.bodyText)")
                    }
                }
                let list = try await gateway.client.send(HTTPRequest(url: gateway.baseURL + "/v1/switchyard/keys",
                                                                     headers: [("Authorization", "Bearer \(Self.admin)")]))
                #expect(list.json["data"]?.arrayValue?.isEmpty == true, "a refused request made a key: \(list.bodyText)")
                // A well-formed key with every field is still made, as asked.
                let made = try await gateway.post("/v1/switchyard/keys",
                                                  #"{"name":"a","tenant":"t","team":null,"budget_usd":0.05,"period":"day","rpm":2,"tpm":1000,"models":["cloud"]}"#,
                                                  headers: [("Authorization", "Bearer \(Self.admin)")])
                #expect(made.status == 201, "\(made.bodyText)")
                #expect(made.json["budget_usd"]?.doubleValue == 0.05 && made.json["rpm"]?.intValue == 2 && made.json["models"] == .array([.string("cloud")]))
            }
        }
    }
}
