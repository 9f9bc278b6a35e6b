import Testing
import SwitchyardPolicy
import SwitchyardHTTP
import SwitchyardWire
@testable import SwitchyardEngine

#if canImport(Glibc)
import Glibc
#endif

/// The `switchyard` executable itself, as operators run it: the policy commands' output and exit
/// codes, SIGHUP reload, SIGTERM shutdown, and an engine orphaned by SIGKILL.
@Suite("The switchyard binary", .serialized)
struct BinaryTests {
    /// Built beside the test bundle by `swift build --build-tests` / `swift test`.
    static let binary: String = {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        let exe = String(decoding: buffer[0..<max(0, n)].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return String(exe[..<(exe.lastIndex(of: "/") ?? exe.endIndex)]) + "/switchyard"
    }()

    /// Runs the binary to completion (bounded) and returns its exit and combined output.
    func run(_ arguments: [String], timeout: Duration = .seconds(60)) async throws -> (ChildProcess.Exit, String) {
        let directory = try Fixtures.temporaryDirectory()
        let child = try ChildProcess.spawn(executable: Self.binary, arguments: arguments, logPath: directory + "/out")
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let exit = child.poll() { return (exit, TextFile.read(directory + "/out") ?? "") }
            try await Task.sleep(for: .milliseconds(20))
        }
        let exit = await child.terminate()
        return (exit, "timed out\n" + (TextFile.read(directory + "/out") ?? ""))
    }

    @Test("policy check: exit 0 for the examples, exit 1 with FILE:LINE:COLUMN for a bad file")
    func check() async throws {
        let root = #filePath.components(separatedBy: "/Tests/")[0]
        let (good, goodOut) = try await run(["policy", "check"] + ["default", "privacy-first", "cost-capped", "long-context"].map { "\(root)/policies/\($0).yaml" })
        #expect(good == .exited(0), "\(goodOut)")
        #expect(goodOut.split(separator: "\n").filter { $0.hasSuffix("rules)") }.count == 4)

        let bad = try Fixtures.temporaryDirectory() + "/bad.yaml"
        try Fixtures.writeFile(bad, "version: 1\nmodels:\n  local: {kind: local, slotz: 2}\nrules:\n  - {when: tokens > 5, serve: local}\n")
        let (exit, out) = try await run(["policy", "check", bad])
        #expect(exit == .exited(1))
        let lines = out.split(separator: "\n").map(String.init)
        #expect(lines.contains { $0.hasPrefix("\(bad):3:24: unknown field `slotz`") }, "\(out)")
        #expect(lines.contains { $0.hasPrefix("\(bad):5:12: in condition: unknown signal 'tokens'") }, "\(out)")
    }

    @Test("policy check prints warnings for rules a named-model request skips, and still exits 0")
    func checkWarnings() async throws {
        let root = #filePath.components(separatedBy: "/Tests/")[0]
        let file = "\(root)/policies/cost-capped.yaml"
        let (exit, out) = try await run(["policy", "check", file])
        #expect(exit == .exited(0), "\(out)")
        let lines = out.split(separator: "\n").map(String.init)
        #expect(lines.contains("\(file):26:5: warning: rule 'research-hard-questions' is skipped by requests that name a model (it does not read `model`)"), "\(out)")
        #expect(!lines.contains { $0.contains("'retired-client'") }, "a deny rule applies to every request: no warning")
        #expect(lines.contains { $0.hasPrefix("\(file): ok") })
    }

    @Test("policy check never crashes: hostile numbers end in FILE:LINE:COLUMN diagnostics and exit 1", arguments: [
        ("models:\n  local: {kind: local, timeouts: {connect: inf}}\n", 3),
        ("models:\n  local: {kind: local, timeouts: {total: 100000000000s}}\n", 3),
        ("models:\n  local: {kind: local, slots: 1:1:1:1:1:1:1:1:1:1:1:1}\n", 3),
        ("models:\n  local: {kind: local, context: 9223372036854775808}\n", 3),
        ("models:\n  local: {kind: local}\ntests:\n  - {request: {model: auto}, signals: {prompt_tokens: 1e300}, expect: {target: local}}\n", 5),
        ("models:\n  local: {kind: local}\nrules:\n  - {when: \"\(String(repeating: "(", count: 100_000))tools\", serve: local}\n", 5),
    ] as [(String, Int)])
    func checkHostile(_ body: String, line: Int) async throws {
        let file = try Fixtures.temporaryDirectory() + "/hostile.yaml"
        try Fixtures.writeFile(file, "version: 1\n" + body)
        let (exit, out) = try await run(["policy", "check", file])
        #expect(exit == .exited(1), "\(out.prefix(500))")
        #expect(out.split(separator: "\n").contains { $0.hasPrefix("\(file):\(line):") }, "\(out.prefix(500))")
    }

    @Test("policy explain refuses a stubbed signal it cannot hold instead of crashing")
    func explainHostileSignal() async throws {
        let root = #filePath.components(separatedBy: "/Tests/")[0]
        let request = try Fixtures.temporaryDirectory() + "/request.json"
        try Fixtures.writeFile(request, #"{"model":"auto","messages":[{"role":"user","content":"hi"}]}"#)
        for signal in ["prompt_tokens=1e300", "prompt_tokens=nan", "messages=-1", "max_tokens=inf"] {
            let (exit, out) = try await run(["policy", "explain", "\(root)/policies/default.yaml", "--request", request, "--signal", signal])
            #expect(exit == .exited(64), "\(signal): \(out)")
            #expect(out.contains("--signal \(signal): `"), "\(signal): \(out)")
        }
    }

    @Test("policy test: passes the examples, fails a wrong expectation with what happened")
    func policyTest() async throws {
        let root = #filePath.components(separatedBy: "/Tests/")[0]
        let (good, goodOut) = try await run(["policy", "test", "\(root)/policies/default.yaml"])
        #expect(good == .exited(0), "\(goodOut)")
        #expect(goodOut.contains("5 passed, 0 failed"))

        let file = try Fixtures.temporaryDirectory() + "/p.yaml"
        try Fixtures.writeFile(file, """
        version: 1
        models:
          local: {kind: local}
          cloud: {kind: openai, model: m}
        rules:
          - {name: big, when: prompt_tokens > 100, serve: cloud}
          - {name: small, serve: local}
        tests:
          - name: wrong
            request: {model: auto, messages: [{role: user, content: hi}]}
            expect: {target: cloud}
        """)
        let (exit, out) = try await run(["policy", "test", file])
        #expect(exit == .exited(1))
        #expect(out.contains("FAIL wrong (\(file):9)"), "\(out)")
        #expect(out.contains("target: expected cloud, got local"))
        #expect(out.contains("0 passed, 1 failed"))
    }

    @Test("policy explain prints the decision trace")
    func explain() async throws {
        let root = #filePath.components(separatedBy: "/Tests/")[0]
        let request = try Fixtures.temporaryDirectory() + "/req.json"
        try Fixtures.writeFile(request, #"{"model":"auto","messages":[{"role":"user","content":"mail jo@example.com"}]}"#)
        let (exit, out) = try await run(["policy", "explain", "\(root)/policies/default.yaml", "--request", request, "--signal", "prompt_tokens=3000"])
        #expect(exit == .exited(1) || exit == .exited(0))
        let trace = try JSON.parse(out)
        #expect(trace["rule"] == .string("long-context"))
        #expect(trace["private_data"] == .array([.string("email")]))
        #expect(trace["action"]?["kind"] == .string("deny"))
        #expect(trace["signals"]?["prompt_tokens"] == .int(3000))
    }

    @Test("serve: SIGHUP reloads the policy, a bad one is refused, SIGTERM stops cleanly")
    func sighup() async throws {
        try await ScriptedProvider.with(.answer(pieces: ["ok"])) { provider in
            let directory = try Fixtures.temporaryDirectory()
            let policy = directory + "/policy.yaml"
            func write(_ rule: String) throws {
                try Fixtures.writeFile(policy, "version: 1\nmodels:\n  cloud: {kind: openai, base_url: \"\(provider.baseURL)\", model: m, api_key_env: K}\nrules:\n  - {name: \(rule), serve: cloud}\n")
            }
            try write("first")
            let port = try #require(freeLoopbackPort())
            let server = try ChildProcess.spawn(executable: "/usr/bin/env",
                                                arguments: ["K=key", Self.binary, "serve", "--policy", policy, "--port", String(port),
                                                            "--state-dir", directory, "--no-watch-policy"],
                                                logPath: directory + "/log")
            let client = HTTPClient()
            let chat = HTTPRequest(method: .post, url: "http://127.0.0.1:\(port)/v1/chat/completions",
                                   body: Array(#"{"model":"auto","messages":[{"role":"user","content":"hi"}]}"#.utf8))
            func rule() async -> String? { try? await client.send(chat).head.header("x-switchyard-rule") }
            let deadline = ContinuousClock.now + .seconds(30)
            while await rule() == nil, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
            #expect(await rule() == "first")

            try write("second")
            try await Task.sleep(for: .milliseconds(1500))
            #expect(await rule() == "first", "with --no-watch-policy only SIGHUP reloads")
            server.signal(SIGHUP)
            var seen: String?
            for _ in 0..<100 where seen != "second" {
                try await Task.sleep(for: .milliseconds(20))
                seen = await rule()
            }
            #expect(seen == "second")

            try Fixtures.writeFile(policy, "version: 1\nmodels: [\n")
            server.signal(SIGHUP)
            try await Task.sleep(for: .milliseconds(300))
            #expect(await rule() == "second")
            let log = TextFile.read(directory + "/log") ?? ""
            #expect(log.contains("policy reload rejected"), "\(log)")

            let exit = await server.terminate(grace: .seconds(10))
            #expect(exit == .exited(0), "\(TextFile.read(directory + "/log") ?? "")")
            await client.shutdown()
        }
    }

    @Test("a gateway killed with SIGKILL leaves its engine; the next start stops it, and SIGTERM leaves nothing")
    func orphanAfterSIGKILL() async throws {
        try Fixtures.requireEngine()
        let directory = try Fixtures.temporaryDirectory()
        let policy = directory + "/policy.yaml"
        try Fixtures.writeFile(policy, "version: 1\nmodels:\n\(Fixtures.localModelYAML)\n")
        let client = HTTPClient()
        func start() async throws -> (ChildProcess, Int, Int32) {
            let port = try #require(freeLoopbackPort())
            let gateway = try ChildProcess.spawn(executable: Self.binary, arguments: ["serve", "--policy", policy, "--port", String(port), "--state-dir", directory],
                                                 logPath: directory + "/log")
            let deadline = ContinuousClock.now + .seconds(60)
            while ContinuousClock.now < deadline {
                if let ready = try? await client.send(HTTPRequest(url: "http://127.0.0.1:\(port)/readyz")), ready.status == 200,
                   let pid = (try? JSON.parse(ready.body))?["engine"]?["pid"]?.intValue {
                    return (gateway, port, Int32(pid))
                }
                try await Task.sleep(for: .milliseconds(50))
            }
            throw FixtureError("gateway not ready: \(TextFile.read(directory + "/log") ?? "")")
        }
        func alive(_ pid: Int32) -> Bool {
            guard kill(pid, 0) == 0, let stat = TextFile.read("/proc/\(pid)/stat"), let close = stat.lastIndex(of: ")") else { return false }
            return stat[stat.index(after: close)...].dropFirst().first != "Z"
        }

        let (first, _, firstEngine) = try await start()
        first.signal(SIGKILL)
        _ = await first.terminate(grace: .seconds(1))
        #expect(alive(firstEngine), "the engine outlives a SIGKILLed gateway")

        let (second, _, secondEngine) = try await start()
        #expect(secondEngine != firstEngine)
        let deadline = ContinuousClock.now + .seconds(10)
        while alive(firstEngine), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        #expect(!alive(firstEngine), "the next start stops the orphan")
        #expect((TextFile.read(directory + "/log") ?? "").contains("stopped an orphaned llama-server"))

        let exit = await second.terminate(grace: .seconds(15))
        #expect(exit == .exited(0))
        #expect(!alive(secondEngine), "SIGTERM stops the engine too")
        await client.shutdown()
    }
}
