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
        #expect(policy.rules == [Rule(name: "default", action: .serve(target: "small", fallbacks: []), line: 0)])
        #expect(policy.model(named: "small")?.contextWindow == 4096)
    }

    @Test("reads every field of every kind")
    func fields() throws {
        let policy = try PolicyLoader.parse("""
        version: 1
        server: {max_body_bytes: 65536, shutdown_grace: 3s}
        models:
          box:
            kind: local
            model_file: /m.gguf
            context: 4096
            slots: 4
            threads: 3
            extra_args: [--no-warmup]
            timeouts: {first_byte: 90s}
          cloud:
            kind: openai
            base_url: http://127.0.0.1:9/v1/
            model: gpt-x
            api_key_env: X_KEY
            price: {input: 1.5, output: 6}
            timeouts: {connect: 250ms, total: 2m}
            headers: {OpenAI-Organization: org-1}
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
        #expect(policy.rules[0].action == .serve(target: "box", fallbacks: ["cloud", "claude"]))
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

/// Every diagnostic the loader reports for a policy text (file name `p.yaml`); empty if it loads.
func diagnostics(_ yaml: String) -> [PolicyDiagnostic] {
    do {
        _ = try PolicyLoader.parse(yaml, file: "p.yaml")
        return []
    } catch {
        return error.diagnostics
    }
}
