import Testing
@testable import SwitchyardPolicy

@Suite("Policy loader")
struct PolicyLoaderTests {

    @Test("the default policy and every example file load")
    func examples() throws {
        let root = #filePath.components(separatedBy: "/Tests/")[0]
        for name in ["default.yaml"] {
            let policy = try PolicyLoader.load(path: "\(root)/policies/\(name)")
            #expect(!policy.models.isEmpty)
            #expect(!policy.rules.isEmpty)
        }
    }

    @Test("a three-line policy serves its only model")
    func minimal() throws {
        let policy = try PolicyLoader.parse("version: 1\nmodels:\n  small: {kind: local}\n", file: "p.yaml")
        #expect(policy.rules == [Rule(name: "default", action: .serve(["small"]), seesNamedModels: false, line: 0)])
        #expect(policy.model(named: "small")?.contextWindow == 4096)
    }

    @Test("reads every field of every kind")
    func fields() throws {
        let policy = try PolicyLoader.parse("""
        version: 1
        server: {max_body_bytes: 65536, shutdown_grace: 3s, max_connections: 10, idle_timeout: 5s, header_timeout: 2s, body_timeout: 1.5s}
        models:
          box:
            kind: local
            model_file: /m.gguf
            context: 4096
            slots: 4
            threads: 3
            extra_args: [--no-warmup]
            timeouts: {first_byte: 90s}
            limits: {max_concurrency: 3, queue: 0, queue_timeout: 500ms, max_response_bytes: 1024}
          cloud:
            kind: openai
            base_url: http://127.0.0.1:9/v1/
            model: gpt-x
            api_key_env: X_KEY
            price: {input: 1.5, output: 6}
            timeouts: {connect: 250ms, total: 2m}
            headers: {OpenAI-Organization: org-1}
            limits: {queue: 7}
          claude:
            kind: anthropic
            model: claude-x
        rules:
          - name: main
            serve: box
            fallbacks: [cloud, claude]
        """, file: "p.yaml")
        #expect(policy.server.maxBodyBytes == 65536)
        #expect(policy.server.shutdownGrace == .seconds(3))
        #expect(policy.server.maxConnections == 10)
        #expect(policy.server.idleTimeout == .seconds(5))
        #expect(policy.server.headerTimeout == .seconds(2))
        #expect(policy.server.bodyTimeout == .milliseconds(1500))
        #expect(policy.models[0].limits == TargetLimits(maxConcurrency: 3, queueDepth: 0, queueTimeout: .milliseconds(500), maxResponseBytes: 1024))
        #expect(policy.models[1].limits == TargetLimits(maxConcurrency: 64, queueDepth: 7, queueTimeout: .seconds(10), maxResponseBytes: 32 << 20))
        guard case .local(let local) = policy.models[0].kind else { Issue.record("not local"); return }
        #expect(local.modelFile == "/m.gguf" && local.slots == 4 && local.threads == 3 && local.extraArgs == ["--no-warmup"])
        #expect(local.timeouts.firstByte == .seconds(90))
        #expect(policy.models[0].contextWindow == 1024)
        let cloud = try #require(policy.models[1].remote)
        #expect(cloud.baseURL == "http://127.0.0.1:9/v1")
        #expect(cloud.price == Price(inputPerMillion: 1.5, outputPerMillion: 6))
        #expect(cloud.timeouts.connect == .milliseconds(250) && cloud.timeouts.total == .seconds(120))
        #expect(cloud.headers["OpenAI-Organization"] == "org-1")
        #expect(policy.models[2].remote?.baseURL == "https://api.anthropic.com/v1")
        #expect(policy.rules[0].action == .serve(["box", "cloud", "claude"]))
    }

    @Test("settings left out take their documented defaults")
    func defaults() throws {
        let policy = try PolicyLoader.parse("""
        version: 1
        models:
          box: {kind: local, slots: 3}
          cloud: {kind: anthropic, model: c}
        """, file: "p.yaml")
        #expect(policy.server.maxBodyBytes == 4 << 20)
        #expect(policy.server.shutdownGrace == .seconds(10))
        #expect(policy.server.maxConnections == 1024)
        #expect(policy.server.idleTimeout == .seconds(60))
        #expect(policy.server.headerTimeout == .seconds(10))
        #expect(policy.server.bodyTimeout == .seconds(60))
        // docs/policy.md: a local target queues 16 rounds of its slots for 30 s (measured there).
        #expect(policy.models[0].limits == TargetLimits(maxConcurrency: 3, queueDepth: 16 * 3, queueTimeout: .seconds(30), maxResponseBytes: 32 << 20))
        #expect(policy.models[1].limits == TargetLimits(maxConcurrency: 64, queueDepth: 64, queueTimeout: .seconds(10), maxResponseBytes: 32 << 20))
        #expect(policy.warnings.isEmpty, "the rule a policy without rules gets is not in the file: nothing to warn about")
    }

    @Test("every number has a documented range; a value outside it is reported where it is written", arguments: [
        ("server: {max_body_bytes: 1073741825}", "1073741825", "`max_body_bytes` must be at most 1073741824; got 1073741825"),
        ("server: {max_body_bytes: 1023}", "1023", "`max_body_bytes` must be at least 1024; got 1023"),
        ("server: {shutdown_grace: 11m}", "11m", "`shutdown_grace` must be at most 10m; got 11m"),
        ("server: {max_connections: 0}", "0}", "`max_connections` must be at least 1; got 0"),
        ("server: {max_connections: 100001}", "100001", "`max_connections` must be at most 100000; got 100001"),
        ("server: {idle_timeout: 2h}", "2h", "`idle_timeout` must be at most 1h; got 2h"),
        ("server: {header_timeout: 0s}", "0s", "`header_timeout` must be at least 1ms; got 0s"),
        ("server: {body_timeout: 0.4ms}", "0.4ms", "`body_timeout` must be at least 1ms; got 0.4ms"),
        ("server: {body_timeout: 61m}", "61m", "`body_timeout` must be at most 1h; got 61m"),
        ("server: {max_conections: 5}", "max_conections", "unknown field `max_conections` in server (did you mean `max_connections`?)"),
        ("models:\n  a: {kind: local, context: 10000001}", "10000001", "`context` must be at most 10000000; got 10000001"),
        ("models:\n  a: {kind: local, slots: 257}", "257", "`slots` must be at most 256; got 257"),
        ("models:\n  a: {kind: local, threads: 1025}", "1025", "`threads` must be at most 1024; got 1025"),
        ("models:\n  a: {kind: openai, model: m, context: 20000000}", "20000000", "`context` must be at most 10000000; got 20000000"),
        ("models:\n  a: {kind: local, timeouts: {total: 25h}}", "25h", "`total` must be at most 24h; got 25h"),
        ("models:\n  a: {kind: local, timeouts: {connect: 100000000000s}}", "100000000000s", "`connect` must be at most 24h; got 100000000000s"),
        ("models:\n  a: {kind: openai, model: m, price: {input: 1000001}}", "1000001", "`price.input` must be at most 1000000; got 1000001"),
        ("models:\n  a: {kind: openai, model: m, price: {output: -1}}", "-1", "`price.output` must be at least 0; got -1"),
        ("models:\n  a: {kind: local, limits: {max_concurrency: 0}}", "0}", "`max_concurrency` must be at least 1; got 0"),
        ("models:\n  a: {kind: openai, model: m, limits: {max_concurrency: 10001}}", "10001", "`max_concurrency` must be at most 10000; got 10001"),
        ("models:\n  a: {kind: local, limits: {queue: -1}}", "-1", "`queue` must be at least 0; got -1"),
        ("models:\n  a: {kind: local, limits: {queue: 100001}}", "100001", "`queue` must be at most 100000; got 100001"),
        ("models:\n  a: {kind: local, limits: {queue_timeout: 11m}}", "11m", "`queue_timeout` must be at most 10m; got 11m"),
        ("models:\n  a: {kind: local, limits: {max_response_bytes: 1023}}", "1023", "`max_response_bytes` must be at least 1024; got 1023"),
        ("models:\n  a: {kind: local, limits: {max_response_bytes: 1073741825}}", "1073741825", "`max_response_bytes` must be at most 1073741824"),
        ("models:\n  a: {kind: local, limits: {max_concurency: 2}}", "max_concurency", "unknown field `max_concurency` in limits (did you mean `max_concurrency`?)"),
        ("models:\n  a: {kind: local, limits: 5}", "5}", "limits must be a mapping"),
        ("models:\n  a: {kind: local}\n  c: {kind: openai, model: m}\nrules:\n  - cascade: {first: a, escalate_to: c, hold_tokens: 4097}", "4097",
         "`hold_tokens` must be at most 4096; got 4097"),
        ("models:\n  a: {kind: local}\n  c: {kind: openai, model: m}\nrules:\n  - cascade: {first: a, escalate_to: c, hold_time: 61s}", "61s",
         "`hold_time` must be at most 1m; got 61s"),
        ("models:\n  a: {kind: local}\ntests:\n  - {request: {model: auto}, expect: {status: 600}}", "600", "`status` must be at most 599; got 600"),
    ] as [(String, String, String)])
    func ranges(_ section: String, at token: String, message: String) {
        let yaml = "version: 1\n" + (section.hasPrefix("models:") ? section : "models:\n  a: {kind: local}\n" + section) + "\n"
        let found = diagnostics(yaml)
        let match = found.first { $0.message.contains(message) }
        #expect(match != nil, "expected '\(message)' in \(found)")
        let (line, column) = position(of: token, in: yaml)
        #expect(match?.line == line && match?.column == column, "\(String(describing: match)) should be at \(line):\(column)")
    }

    @Test("each mistake is reported at its line and column", arguments: [
        ("version: 1\nmodels:\n  a: {kind: local, slotz: 2}\n", 3, 20, "unknown field `slotz` in a local model (did you mean `slots`?)"),
        ("version: 2\nmodels:\n  a: {kind: local}\n", 1, 10, "unsupported policy version 2"),
        ("models:\n  a: {kind: local}\n", 1, 1, "missing `version: 1`"),
        ("version: 1\nmodels:\n  a: {kind: locl}\n", 3, 13, "unknown model kind 'locl' (did you mean 'local'?)"),
        ("version: 1\nmodels:\n  a: {kind: local, context: many}\n", 3, 29, "`context` must be an integer"),
        ("version: 1\nmodels:\n  a: {kind: openai}\n", 3, 3, "model 'a' needs `model`"),
        ("version: 1\nmodels:\n  a: {kind: local}\nrules:\n  - serve: b\n", 5, 12, "unknown target 'b'"),
        ("version: 1\nmodels:\n  a: {kind: local}\nrules:\n  - {serve: a, fallbacks: [a]}\n", 5, 28, "a fallback cycle"),
        ("version: 1\nmodels:\n  a: {kind: local}\nrules:\n  - {name: x, serve: a}\n  - {name: y, serve: a}\n", 6, 5, "rule 'y' is never reached: rule 'x' at line 5"),
        ("version: 1\nmodels:\n  a: {kind: local, timeouts: {stall: soon}}\n", 3, 38, "`stall` must be a positive duration"),
        ("version: 1\nmodels:\n  a: {kind: local}\n  b: {kind: local}\n", 4, 3, "only one `kind: local` model"),
        ("version: 1\nmodels:\n  auto: {kind: local}\n", 3, 3, "'auto' is reserved"),
        ("version: 1\nmodels: {a: {kind: local}\n", 3, 1, "YAML syntax"),
        ("version: 1\nmodels:\n  a: {kind: local, slots: 0}\n", 3, 27, "`slots` must be at least 1"),
    ] as [(String, Int, Int, String)])
    func located(_ yaml: String, line: Int, column: Int, message: String) throws {
        let found = diagnostics(yaml)
        let match = found.first { $0.message.contains(message) }
        #expect(match != nil, "expected '\(message)' in \(found)")
        #expect(match?.line == line)
        #expect(match?.column == column)
        #expect(match?.description.hasPrefix("p.yaml:\(line):\(column): ") == true)
    }

    @Test("all problems of a file are reported, not just the first")
    func collectsAll() {
        let found = diagnostics("version: 1\nmodels:\n  a: {kind: local, treads: 1}\n  b: {kind: open-ai}\nrulez: []\n")
        #expect(found.count == 3)
    }

    @Test("a missing file is a diagnostic, not a crash")
    func missingFile() {
        #expect(throws: PolicyError.self) { try PolicyLoader.load(path: "/nonexistent/policy.yaml") }
    }
}

/// The line and column (from 1) where `token` first appears in `text`.
func position(of token: String, in text: String) -> (line: Int, column: Int) {
    guard let range = text.range(of: token) else { return (0, 0) }
    let lines = text[..<range.lowerBound].split(separator: "\n", omittingEmptySubsequences: false)
    return (lines.count, (lines.last?.count ?? 0) + 1)
}

/// Every diagnostic the loader reports for a policy text (file name `p.yaml`); empty if it loads.
func diagnostics(_ yaml: String) -> [PolicyDiagnostic] {
    do {
        _ = try PolicyLoader.parse(yaml, file: "p.yaml")
        return []
    } catch {
        return error.diagnostics
    }
}

@Suite("Policy cost-control settings")
struct PolicyCostControlTests {
    @Test("auth, ledger and budgets are read with their defaults")
    func read() throws {
        let policy = try PolicyLoader.parse("""
        version: 1
        auth: {mode: required}
        ledger: {postgres_url_env: LEDGER_URL}
        budgets:
          on_exhausted: deny
          savings_reference: mini
          tenants:
            research: {usd: 100, period: day}
            sales: {usd: 5.5}
        models:
          box: {kind: local}
          mini: {kind: openai, model: m, price: {input: 0.15, output: 0.6}}
        """, file: "p.yaml")
        #expect(policy.auth.mode == .required)
        #expect(policy.ledger.postgresURLEnv == "LEDGER_URL")
        #expect(policy.ledger.enabled)
        #expect(policy.budgets.onExhausted == .deny)
        #expect(policy.budgets.tenants["research"] == BudgetSettings.Limit(usd: 100, period: "day"))
        #expect(policy.budgets.tenants["sales"] == BudgetSettings.Limit(usd: 5.5, period: "month"))
        #expect(policy.savingsPrice == Price(inputPerMillion: 0.15, outputPerMillion: 0.6))
        let defaults = try PolicyLoader.parse("version: 1\nmodels:\n  box: {kind: local}\n", file: "p.yaml")
        #expect(defaults.auth.mode == .off)
        #expect(defaults.budgets.onExhausted == .localOnly)
        #expect(defaults.ledger.postgresURLEnv == nil)
    }

    @Test("a bad cost-control setting is reported where it is written", arguments: [
        ("auth: {mode: sometimes}", 2, "unknown `mode` 'sometimes'; expected off, optional, required"),
        ("budgets: {on_exhausted: panic}", 2, "unknown `on_exhausted` 'panic'; expected local_only, deny"),
        ("budgets: {tenants: {a: {usd: -1}}}", 2, "`usd` must be"),
        ("budgets: {tenants: {a: {usd: 1, period: week}}}", 2, "unknown budget period 'week'"),
        ("budgets: {savings_reference: nope}", 2, "unknown target 'nope'"),
        ("ledger: {enabled: maybe}", 2, "`enabled` must be true or false"),
        ("ledger: {postgres: x}", 2, "unknown field `postgres` in ledger"),
    ])
    func errors(_ setting: String, _ line: Int, _ message: String) {
        do {
            _ = try PolicyLoader.parse("version: 1\n\(setting)\nmodels:\n  box: {kind: local}\n", file: "p.yaml")
            Issue.record("accepted: \(setting)")
        } catch {
            #expect(error.diagnostics.contains { $0.line == line && $0.message.contains(message) }, "\(error.diagnostics)")
        }
    }
}
