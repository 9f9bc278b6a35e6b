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
        // Every test the default policy carries passes, each on a line of its own.
        let passes = goodOut.split(separator: "\n").filter { $0.hasPrefix("PASS ") }.count
        #expect(passes > 0 && goodOut.contains("\(passes) passed, 0 failed") && !goodOut.contains("FAIL"), "\(goodOut)")

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
            let chat = HTTPRequest(method: .post, url: "http://127.0.0.1:\(port)/v1/chat/completions", headers: [("Content-Type", "application/json")],
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

    @Test("SIGKILL, then a new gateway on the same port and state dir: it binds at once, gets ready, and stops the orphan; the engine saw no secret")
    func restartOnSamePortAfterSIGKILL() async throws {
        try Fixtures.requireEngine()
        let directory = try Fixtures.temporaryDirectory()
        let policy = directory + "/policy.yaml"
        try Fixtures.writeFile(policy, "version: 1\nmodels:\n\(Fixtures.localModelYAML)\n")
        let port = try #require(freeLoopbackPort())
        let client = HTTPClient()
        var engines: [Int32] = []
        defer { for pid in engines where Self.isLlamaServer(pid) { kill(pid, SIGKILL) } }

        /// A gateway with cloud keys in its environment, as operators run it; returns once
        /// /readyz says 200, with the engine's pid (from its pid file: /readyz does not publish it).
        /// Every wait is bounded, and a gateway that exits first (EADDRINUSE) fails the test with its log.
        func start(_ name: String) async throws -> (gateway: ChildProcess, engine: Int32, log: String) {
            let log = directory + "/\(name).log"
            let gateway = try ChildProcess.spawn(
                executable: "/usr/bin/env",
                arguments: ["SWITCHYARD_TEST_SECRET_API_KEY=leaked", "OPENAI_API_KEY=sk-leaked", "SWITCHYARD_ADMIN_KEY=leaked",
                            Self.binary, "serve", "--policy", policy, "--port", String(port), "--state-dir", directory, "--no-watch-policy"],
                logPath: log)
            let readyz = HTTPRequest(url: "http://127.0.0.1:\(port)/readyz",
                                     timeouts: HTTPTimeouts(connect: .seconds(1), firstByte: .seconds(2), stall: .seconds(2), total: .seconds(2)))
            let deadline = ContinuousClock.now + .seconds(90)
            while ContinuousClock.now < deadline {
                if let exit = gateway.poll() {
                    throw FixtureError("\(name) gateway \(exit) before it was ready: \(TextFile.read(log) ?? "")")
                }
                if let ready = try? await client.send(readyz), ready.status == 200,
                   let pid = Self.enginePID(directory) {
                    engines.append(pid)
                    return (gateway, pid, log)
                }
                try await Task.sleep(for: .milliseconds(50))
            }
            _ = await gateway.terminate(grace: .seconds(1))
            throw FixtureError("\(name) gateway not ready on port \(port) after 90 s: \(TextFile.read(log) ?? "")")
        }

        let first = try await start("first")
        let environment = Self.environment(of: first.engine)
        #expect(environment["SWITCHYARD_TEST_SECRET_API_KEY"] == nil && environment["OPENAI_API_KEY"] == nil
                    && environment["SWITCHYARD_ADMIN_KEY"] == nil, "the engine's environment: \(environment.keys.sorted())")
        #expect(environment["PATH"] != nil)

        first.gateway.signal(SIGKILL)
        #expect(await first.gateway.wait(timeout: .seconds(5)) == .signalled(SIGKILL))
        #expect(Self.isLlamaServer(first.engine), "the engine outlives a SIGKILLed gateway (nothing tells it)")

        let second = try await start("second")
        let log = TextFile.read(second.log) ?? ""
        #expect(!log.contains("Address already in use"), "\(log)")
        #expect(second.engine != first.engine)
        let deadline = ContinuousClock.now + .seconds(10)
        while Self.isLlamaServer(first.engine), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        #expect(!Self.isLlamaServer(first.engine), "the next start stops the orphan")
        #expect(log.contains("stopped an orphaned llama-server"), "\(log)")

        second.gateway.signal(SIGTERM)
        #expect(await second.gateway.wait(timeout: .seconds(15)) == .exited(0), "\(TextFile.read(second.log) ?? "")")
        #expect(!Self.isLlamaServer(second.engine), "SIGTERM stops the engine too")
        await client.shutdown()
    }

    @Test("serve: no polling while the engine runs or while it is stopped; an engine ignoring SIGTERM is killed after the 5 s grace")
    func noPolling() async throws {
        let directory = try Fixtures.temporaryDirectory()
        // A stand-in engine that answers /health and ignores SIGTERM, so the stop takes the whole grace.
        let engine = directory + "/llama-server"
        try Fixtures.writeFile(engine, """
            #!/usr/bin/python3
            import http.server, signal, sys
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            class Health(http.server.BaseHTTPRequestHandler):
                def do_GET(self):
                    self.send_response(200)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"{}")
                def log_message(self, *args):
                    pass
            port = int(sys.argv[sys.argv.index("--port") + 1])
            http.server.HTTPServer(("127.0.0.1", port), Health).serve_forever()
            """, mode: 0o755)
        let policy = directory + "/policy.yaml"
        try Fixtures.writeFile(policy, "version: 1\nmodels:\n  local: {kind: local, binary: \(engine), model_file: \(engine), context: 2048, slots: 1}\n")
        let port = try #require(freeLoopbackPort())
        let gateway = try ChildProcess.spawn(executable: Self.binary,
                                             arguments: ["serve", "--policy", policy, "--port", String(port), "--state-dir", directory, "--no-watch-policy"],
                                             logPath: directory + "/log")
        let client = HTTPClient()
        var enginePID: Int32?
        defer { if let pid = enginePID, Self.isRunning(pid) { kill(pid, SIGKILL) } }
        let deadline = ContinuousClock.now + .seconds(30)
        while enginePID == nil, ContinuousClock.now < deadline, gateway.poll() == nil {
            if let ready = try? await client.send(HTTPRequest(url: "http://127.0.0.1:\(port)/readyz")), ready.status == 200 {
                enginePID = Self.enginePID(directory)
            } else {
                try await Task.sleep(for: .milliseconds(50))
            }
        }
        let pid = try #require(enginePID, "not ready: \(TextFile.read(directory + "/log") ?? "")")

        // Context switches of all the gateway's threads. Measured on 2 cores: polling every 50 ms
        // while running and every 20 ms while stopping cost about 110/s and 70/s; awaiting the
        // exit (pidfd) with health checks every 2 s, 15–20/s and under 10/s.
        try await Task.sleep(for: .milliseconds(500))
        let idle = try await Self.contextSwitches(of: gateway.pid, over: .seconds(3))

        gateway.signal(SIGTERM)
        let stopping = ContinuousClock.now
        try await Task.sleep(for: .milliseconds(1000))
        let waiting = try await Self.contextSwitches(of: gateway.pid, over: .seconds(3))
        #expect(Self.isRunning(pid), "SIGTERM is ignored: the engine must still run within the grace")
        let exit = await gateway.wait(timeout: .seconds(15))
        let stopTook = ContinuousClock.now - stopping

        #expect(idle < 150, "\(idle) context switches in 3 s with a ready engine")
        #expect(waiting < 60, "\(waiting) context switches in 3 s while waiting for the engine to exit")
        #expect(exit == .exited(0), "\(TextFile.read(directory + "/log") ?? "")")
        #expect(stopTook >= .seconds(5) && stopTook < .seconds(8), "stop took \(stopTook)")
        #expect(!Self.isRunning(pid), "SIGKILL after the grace")
        await client.shutdown()
    }

    /// Voluntary and involuntary context switches of every thread of `pid` during `duration`.
    static func contextSwitches(of pid: Int32, over duration: Duration) async throws -> Int {
        func total() -> Int {
            var sum = 0
            guard let dir = opendir("/proc/\(pid)/task") else { return 0 }
            defer { closedir(dir) }
            while let entry = readdir(dir) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                guard !name.hasPrefix("."), let status = TextFile.read("/proc/\(pid)/task/\(name)/status") else { continue }
                for line in status.split(separator: "\n") where line.contains("ctxt_switches:") {
                    sum += Int(line.split(separator: ":")[1].filter(\.isNumber)) ?? 0
                }
            }
            return sum
        }
        let before = total()
        try await Task.sleep(for: duration)
        return total() - before
    }

    static func isRunning(_ pid: Int32) -> Bool {
        guard kill(pid, 0) == 0, let stat = TextFile.read("/proc/\(pid)/stat"), let close = stat.lastIndex(of: ")") else { return false }
        return stat[stat.index(after: close)...].dropFirst().first != "Z"
    }

    /// The engine's pid, from the pid file a gateway with this state directory keeps.
    static func enginePID(_ stateDirectory: String) -> Int32? {
        (TextFile.read(stateDirectory + "/engine-local.pid") ?? "").split(separator: "\n").first.flatMap { Int32($0) }
    }

    /// Running, and still a llama-server (not a reused pid).
    static func isLlamaServer(_ pid: Int32) -> Bool {
        isRunning(pid) && (TextFile.read("/proc/\(pid)/cmdline") ?? "").contains("llama-server")
    }

    /// NAME=VALUE pairs from /proc/PID/environ.
    static func environment(of pid: Int32) -> [String: String] {
        var values: [String: String] = [:]
        for entry in (TextFile.read("/proc/\(pid)/environ") ?? "").split(separator: "\0") {
            guard let eq = entry.firstIndex(of: "=") else { continue }
            values[String(entry[..<eq])] = String(entry[entry.index(after: eq)...])
        }
        return values
    }
}

/// A child process for tests (the switchyard binary, a Python script, a peer llama-server),
/// with its output in a file. The gateway's own engine is started by swift-subprocess; this
/// stays a plain posix_spawn with waitpid(WNOHANG), which tests poll on their own schedule.
struct ChildProcess: Sendable {
    enum Exit: Sendable, Equatable, CustomStringConvertible {
        case exited(Int32)
        case signalled(Int32)

        var description: String {
            switch self {
            case .exited(let code): "exited with status \(code)"
            case .signalled(let signal): "killed by signal \(signal)"
            }
        }
    }

    let pid: pid_t

    /// Starts `executable` in its own process group, stdin from /dev/null, stdout and stderr
    /// appended to `logPath`, signal mask and dispositions reset.
    static func spawn(executable: String, arguments: [String], logPath: String) throws -> ChildProcess {
        let logFD = open(logPath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard logFD >= 0 else { throw FixtureError("cannot open log \(logPath): \(String(cString: strerror(errno)))") }
        defer { close(logFD) }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, logFD, 1)
        posix_spawn_file_actions_adddup2(&actions, logFD, 2)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        posix_spawnattr_setpgroup(&attributes, 0)
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var defaultSignals = sigset_t()
        sigfillset(&defaultSignals)
        posix_spawnattr_setsigdefault(&attributes, &defaultSignals)

        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for arg in argv { free(arg) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, executable, &actions, &attributes, argv, environ)
        guard rc == 0 else { throw FixtureError("cannot start \(executable): \(String(cString: strerror(rc)))") }
        return ChildProcess(pid: pid)
    }

    /// The exit status if the child has exited (and reaps it), nil while it runs.
    func poll() -> Exit? {
        var status: Int32 = 0
        let rc = waitpid(pid, &status, WNOHANG)
        guard rc == pid else { return rc < 0 && errno == ECHILD ? .exited(-1) : nil }
        let signal = status & 0x7f
        return signal == 0 ? .exited((status >> 8) & 0xff) : .signalled(signal)
    }

    func signal(_ signal: Int32) {
        kill(pid, signal)
    }

    /// The exit, or nil if it still runs after `timeout`.
    func wait(timeout: Duration) async -> Exit? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let exit = poll() { return exit }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return poll()
    }

    /// SIGTERM, then SIGKILL if it has not exited within `grace`.
    func terminate(grace: Duration = .seconds(5)) async -> Exit {
        signal(SIGTERM)
        if let exit = await wait(timeout: grace) { return exit }
        signal(SIGKILL)
        return await wait(timeout: .seconds(60)) ?? .exited(-1)
    }
}
