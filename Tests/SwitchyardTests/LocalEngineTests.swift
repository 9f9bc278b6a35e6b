import Logging
import Testing
import SwitchyardPolicy
import SwitchyardHTTP
import SwitchyardWire
@testable import SwitchyardEngine

#if canImport(Glibc)
import Glibc
#endif

/// The real small model (SmolLM2-135M from `make setup`) behind the gateway.
@Suite("Local engine through the gateway", .serialized)
struct LocalEngineTests {
    let policy = """
    version: 1
    server: {max_body_bytes: 4096}
    models:
    \(Fixtures.localModelYAML)
    """

    init() throws { try Fixtures.requireEngine() }

    @Test("the SLM answers a whole completion, served locally")
    func complete() async throws {
        try await Fixtures.withGateway(policy: policy) { gateway in
            let response = try await gateway.chat("What is the capital of France?", maxTokens: 16)
            #expect(response.status == 200)
            #expect(response.header("x-switchyard-route") == "local")
            #expect(response.header("x-switchyard-model") == "local")
            #expect(response.json["object"] == .string("chat.completion"))
            #expect(response.json["model"] == .string("local"))
            let choice = try #require(response.json["choices"]?.arrayValue?.first)
            #expect(choice["message"]?["role"] == .string("assistant"))
            let content = try #require(choice["message"]?["content"]?.stringValue)
            #expect(!content.trimmingWhitespace.isEmpty)
            #expect((response.json["usage"]?["completion_tokens"]?.intValue ?? 0) > 0)
        }
    }

    @Test("the SLM streams valid SSE chunks ending in [DONE]")
    func stream() async throws {
        try await Fixtures.withGateway(policy: policy) { gateway in
            let response = try await gateway.chat("Name a colour.", maxTokens: 12, stream: true)
            #expect(response.status == 200)
            #expect(response.header("x-switchyard-route") == "local")
            #expect(response.header("content-type") == "text/event-stream")
            let events = sseEvents(response.body)
            #expect(events.last == "[DONE]")
            let chunks = events.dropLast().compactMap { try? JSON.parse($0) }
            #expect(chunks.count == events.count - 1)
            #expect(chunks.count >= 2)
            let text = chunks.compactMap { $0["choices"]?.arrayValue?.first?["delta"]?["content"]?.stringValue }.joined()
            #expect(!text.trimmingWhitespace.isEmpty)
            #expect(chunks.allSatisfy { $0["model"] == .string("local") })
        }
    }

    @Test("bad requests get OpenAI-style errors and the gateway keeps serving")
    func badRequests() async throws {
        try await Fixtures.withGateway(policy: policy) { gateway in
            let cases: [(path: String, body: String, status: Int, code: String?)] = [
                ("/v1/chat/completions", "{not json", 400, "invalid_json"),
                ("/v1/chat/completions", #"{"model":"auto"}"#, 400, "missing_required_parameter"),
                ("/v1/chat/completions", #"{"model":"gpt-9","messages":[{"role":"user","content":"x"}]}"#, 404, "model_not_found"),
                ("/v1/chat/completions", #"{"model":"auto","messages":[{"role":"user","content":"\#(String(repeating: "a", count: 5000))"}]}"#, 413, "request_too_large"),
                ("/v1/nothing-here", "{}", 404, "unknown_url"),
            ]
            for c in cases {
                let response = try await gateway.post(c.path, c.body)
                #expect(response.status == c.status, "\(c.path) \(c.body.prefix(40))")
                #expect(response.header("content-type") == "application/json")
                #expect(response.json["error"]?["message"]?.stringValue?.isEmpty == false)
                if let code = c.code { #expect(response.json["error"]?["code"] == .string(code)) }
            }
            #expect(try await gateway.chat("Say hi.", maxTokens: 4).status == 200)
        }
    }

    @Test("models, health and readiness describe the policy and the engine; readiness never says where the engine listens or its pid")
    func endpoints() async throws {
        try await Fixtures.withGateway(policy: policy) { gateway in
            let models = try await gateway.get("/v1/models")
            #expect(models.json["object"] == .string("list"))
            #expect(models.json["data"]?.arrayValue?.compactMap { $0["id"]?.stringValue } == ["auto", "local"])
            #expect(try await gateway.get("/healthz").status == 200)
            let ready = try await gateway.get("/readyz")
            #expect(ready.status == 200)
            #expect(ready.json["status"] == .string("ready"))
            #expect(ready.json["engine"]?["phase"] == .string("ready"))
            let engineURL = try #require(gateway.gateway.engine?.status.baseURL)
            let fields = Set(ready.json["engine"]?.objectValue?.keys ?? [])
            #expect(fields.isSubset(of: ["model", "phase", "restarts", "log", "last_exit"]), "\(fields)")
            #expect(!String(decoding: ready.body, as: UTF8.self).contains(engineURL.dropFirst(7)), "the engine's address is on /readyz")
        }
    }

    @Test("a killed engine is restarted and the next request is served")
    func crashRestart() async throws {
        try await Fixtures.withGateway(policy: policy) { gateway in
            let engine = try #require(gateway.gateway.engine)
            let firstPID = try #require(engine.status.pid)
            kill(firstPID, SIGKILL)
            let killedAt = ContinuousClock.now
            while engine.status.phase == .ready, ContinuousClock.now - killedAt < .seconds(5) { try await Task.sleep(for: .milliseconds(1)) }
            let noticedAfter = ContinuousClock.now - killedAt
            #expect(noticedAfter < .milliseconds(500), "the exit is noticed through the pidfd: took \(noticedAfter)")
            let deadline = ContinuousClock.now + .seconds(60)
            while engine.status.pid == firstPID || engine.readyEndpoint == nil {
                guard ContinuousClock.now < deadline else { Issue.record("not restarted: \(engine.status)"); return }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(engine.status.restarts == 1)
            #expect(engine.status.lastExit == "killed by signal 9")
            let response = try await gateway.chat("Say hello.", maxTokens: 8)
            #expect(response.status == 200)
            #expect(response.header("x-switchyard-route") == "local")
        }
    }

    @Test("an engine that is not ready yet gets 503 with Retry-After, and /readyz says why")
    func notReady() async throws {
        let directory = try Fixtures.temporaryDirectory()
        let fake = directory + "/llama-server"
        try Fixtures.writeFile(fake, "#!/bin/sh\nexec sleep 300\n", mode: 0o755)
        let slow = """
        version: 1
        models:
          local: {kind: local, binary: \(fake), context: 2048, slots: 1}
        """
        try await Fixtures.withGateway(policy: slow, waitForEngine: false) { gateway in
            let response = try await gateway.chat("hi")
            #expect(response.status == 503)
            #expect(response.header("retry-after") == "2")
            #expect(response.json["error"]?["code"] == .string("engine_unavailable"))
            let ready = try await gateway.get("/readyz")
            #expect(ready.status == 503)
            #expect(ready.json["engine"]?["phase"] == .string("starting"))
        }
    }

    @Test("llama-server inherits no descriptor of the gateway and only the allowlisted environment")
    func cleanChild() async throws {
        // Sockets as SwiftNIO makes them, without close-on-exec: a listener, and both ends of a connection.
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        try withUnsafeMutablePointer(to: &address) { pointer in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                guard bind(listener, sa, length) == 0, listen(listener, 4) == 0, getsockname(listener, sa, &length) == 0 else {
                    throw FixtureError("listener: \(String(cString: strerror(errno)))")
                }
            }
        }
        let connected = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        let connectResult = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(connected, $0, length) }
        }
        let accepted = accept(listener, nil, nil)
        defer { for fd in [listener, connected, accepted] where fd >= 0 { close(fd) } }
        try #require(listener >= 0 && connectResult == 0 && accepted >= 0)
        let ours = [listener, connected, accepted]
        #expect(ours.allSatisfy { fcntl($0, F_GETFD) & FD_CLOEXEC == 0 })
        let oursTargets = Set(ours.compactMap { Self.descriptorTarget("/proc/self/fd/\($0)") })
        #expect(oursTargets.count == 3 && oursTargets.allSatisfy { $0.hasPrefix("socket:[") })

        let environment = ["SWITCHYARD_TEST_SECRET_API_KEY": "leaked", "OPENAI_API_KEY": "sk-leaked", "SWITCHYARD_ADMIN_KEY": "leaked",
                           "LLAMA_TEST_SETTING": "passed", "LLAMA_API_KEY": "leaked", "HF_TOKEN": "leaked"]
        try await Fixtures.withGateway(policy: policy, environment: environment) { gateway in
            let engine = try #require(gateway.gateway.engine)
            let pid = try #require(engine.status.pid)
            let engineFDs = Self.descriptors(of: "\(pid)")
            #expect(engineFDs[0] == "/dev/null")
            #expect(engineFDs[1]?.hasSuffix("/engine-local.log") == true && engineFDs[2] == engineFDs[1], "\(engineFDs)")
            // Anything the engine shares with this process (sockets and pipes have unique inodes)
            // was inherited: the three above, the gateway's listener, the HTTP client's connections.
            let shared = Set(Self.descriptors(of: "self").values.filter { $0.hasPrefix("socket:[") || $0.hasPrefix("pipe:[") })
            let inherited = engineFDs.filter { $0.key > 2 && (shared.contains($0.value) || oursTargets.contains($0.value)) }
            #expect(inherited.isEmpty, "llama-server holds descriptors of the gateway: \(inherited.sorted { $0.key < $1.key })")

            var seen: [String: String] = [:]
            for entry in (TextFile.read("/proc/\(pid)/environ") ?? "").split(separator: "\0") {
                guard let eq = entry.firstIndex(of: "=") else { continue }
                seen[String(entry[..<eq])] = String(entry[entry.index(after: eq)...])
            }
            #expect(seen["SWITCHYARD_TEST_SECRET_API_KEY"] == nil)
            #expect(seen.keys.allSatisfy { !EngineEnvironment.looksLikeSecret($0) }, "\(seen.keys.sorted())")
            #expect(seen["LLAMA_TEST_SETTING"] == "passed", "llama.cpp's own variables are passed")
            #expect(seen["PATH"] != nil)
            #expect(seen == EngineEnvironment.allowlist.filter(seen), "only allowlisted names: \(seen.keys.sorted())")
        }
    }

    @Test("stop: SIGTERM, and SIGKILL only for an engine still running after the 5 s grace")
    func gracefulStop() async throws {
        let directory = try Fixtures.temporaryDirectory()
        let obedient = directory + "/obedient-llama-server"
        try Fixtures.writeFile(obedient, "#!/bin/sh\nexec sleep 300\n", mode: 0o755)
        let stubborn = directory + "/stubborn-llama-server"
        // An ignored signal stays ignored across exec: this sleep ignores SIGTERM.
        try Fixtures.writeFile(stubborn, "#!/bin/sh\ntrap '' TERM\nexec sleep 300\n", mode: 0o755)
        let client = HTTPClient()
        var logger = Logger(label: "engine-under-test")
        logger.logLevel = .warning

        /// Starts an engine on `binary`, waits until the child is `sleep`, cancels it and
        /// returns how long the stop took, the recorded exit, and whether the child survived.
        func stop(_ binary: String) async throws -> (took: Duration, exit: String?, survived: Bool) {
            var settings = LocalEngineSettings()
            settings.binary = binary
            settings.modelFile = binary
            let engine = try LocalEngine(modelName: "local", settings: settings, locator: Fixtures.locator,
                                         stateDirectory: directory, client: client, logger: logger)
            let task = Task { try await engine.run() }
            let deadline = ContinuousClock.now + .seconds(10)
            var pid: Int32?
            while ContinuousClock.now < deadline {
                if let p = engine.status.pid, TextFile.read("/proc/\(p)/cmdline")?.hasPrefix("sleep") == true { pid = p; break }
                try await Task.sleep(for: .milliseconds(10))
            }
            let child = try #require(pid, "the stand-in engine did not start: \(engine.status)")
            let started = ContinuousClock.now
            task.cancel()
            try await task.value
            let took = ContinuousClock.now - started
            #expect(engine.status.phase == .stopped && engine.status.pid == nil)
            #expect(TextFile.read(directory + "/engine-local.pid") == nil, "the pid file is removed")
            return (took, engine.status.lastExit, kill(child, 0) == 0)
        }

        let quick = try await stop(obedient)
        #expect(quick.exit == "killed by signal 15")
        #expect(quick.took < .seconds(1), "an engine that obeys SIGTERM is not waited on: \(quick.took)")
        #expect(!quick.survived)

        let slow = try await stop(stubborn)
        #expect(slow.exit == "killed by signal 9")
        #expect(slow.took >= .seconds(5) && slow.took < .seconds(7), "\(slow.took)")
        #expect(!slow.survived)
        await client.shutdown()
    }

    @Test("a ready engine that fails three health checks in a row is stopped (SIGTERM) and restarted")
    func hungRestarted() async throws {
        let directory = try Fixtures.temporaryDirectory()
        // Healthy once, then 503 for ever: ready, then hung as far as the supervisor can tell.
        let fake = directory + "/llama-server"
        try Fixtures.writeFile(fake, """
            #!/usr/bin/python3
            import http.server, sys
            answered = []
            class Health(http.server.BaseHTTPRequestHandler):
                def do_GET(self):
                    self.send_response(200 if not answered else 503)
                    answered.append(1)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                def log_message(self, *args):
                    pass
            port = int(sys.argv[sys.argv.index("--port") + 1])
            http.server.HTTPServer(("127.0.0.1", port), Health).serve_forever()
            """, mode: 0o755)
        var settings = LocalEngineSettings()
        settings.binary = fake
        settings.modelFile = fake
        let client = HTTPClient()
        var logger = Logger(label: "engine-under-test")
        logger.logLevel = .critical
        let engine = try LocalEngine(modelName: "local", settings: settings, locator: Fixtures.locator,
                                     stateDirectory: directory, client: client, logger: logger)
        let task = Task { try await engine.run() }
        try await Fixtures.waitUntilReady(engine, timeout: .seconds(20))
        let first = try #require(engine.status.pid)
        let deadline = ContinuousClock.now + .seconds(20)
        while engine.status.restarts == 0, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(engine.status.restarts == 1, "\(engine.status)")
        #expect(engine.status.lastExit == "killed by signal 15", "stopped with SIGTERM first")
        #expect(kill(first, 0) != 0, "the hung engine is gone")
        try await Fixtures.waitUntilReady(engine, timeout: .seconds(20))
        #expect(engine.status.pid != first)
        task.cancel()
        try await task.value
        await client.shutdown()
    }

    /// Descriptor number → what /proc says it is (`socket:[INODE]`, `pipe:[INODE]`, a path).
    static func descriptors(of process: String) -> [Int32: String] {
        var result: [Int32: String] = [:]
        guard let dir = opendir("/proc/\(process)/fd") else { return result }
        defer { closedir(dir) }
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard let fd = Int32(name), let target = descriptorTarget("/proc/\(process)/fd/\(name)") else { continue }
            result[fd] = target
        }
        return result
    }

    static func descriptorTarget(_ link: String) -> String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink(link, &buffer, buffer.count - 1)
        guard n > 0 else { return nil }
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    @Test("a pid file left by a killed gateway leads to its llama-server being stopped")
    func orphanReaped() async throws {
        let directory = try Fixtures.temporaryDirectory()
        let binary = try Fixtures.locator.llamaServer(explicit: nil)
        let model = try Fixtures.locator.modelFile("default")
        let port = try #require(freeLoopbackPort())
        let orphan = try ChildProcess.spawn(executable: binary, arguments: ["-m", model, "--port", String(port), "-c", "512"],
                                            logPath: directory + "/orphan.log")
        // posix_spawn returns during execve, before the kernel has set the new argument area:
        // wait until the child is an established process, as a real orphan is.
        let deadline = ContinuousClock.now + .seconds(5)
        while TextFile.read("/proc/\(orphan.pid)/cmdline")?.isEmpty != false, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        let pidFile = PidFile(path: directory + "/engine-local.pid")
        pidFile.record(orphan.pid)
        let reaped = await pidFile.reapOrphan(executableName: "llama-server")
        #expect(reaped == orphan.pid)
        let exit = await orphan.terminate(grace: .seconds(1))
        #expect(exit == .signalled(SIGTERM))
    }

    @Test("a pid file naming some other process is left alone")
    func foreignPidIgnored() async throws {
        let directory = try Fixtures.temporaryDirectory()
        let sleeper = try ChildProcess.spawn(executable: "/bin/sleep", arguments: ["30"], logPath: directory + "/sleep.log")
        let deadline = ContinuousClock.now + .seconds(5)
        while TextFile.read("/proc/\(sleeper.pid)/cmdline")?.isEmpty != false, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        let pidFile = PidFile(path: directory + "/engine-local.pid")
        pidFile.record(sleeper.pid)
        #expect(await pidFile.reapOrphan(executableName: "llama-server") == nil)
        #expect(sleeper.poll() == nil, "an unrelated process must not be killed")
        _ = await sleeper.terminate(grace: .seconds(1))
    }
}

/// What llama-server may see of the gateway's environment.
@Suite("Engine environment")
struct EngineEnvironmentTests {
    @Test("the allowlist: the basics and llama.cpp's own variables, never a credential")
    func allowlist() {
        let gateway = [
            "PATH": "/usr/bin", "HOME": "/root", "LANG": "C.UTF-8", "LC_ALL": "C", "TMPDIR": "/tmp", "LD_LIBRARY_PATH": "/opt/lib",
            "LLAMA_ARG_N_GPU_LAYERS": "0", "GGML_CUDA_NO_PINNED": "1",
            "OPENAI_API_KEY": "sk", "ANTHROPIC_API_KEY": "sk", "PEER_API_KEY": "k", "SWITCHYARD_ADMIN_KEY": "admin",
            "GITHUB_TOKEN": "t", "HF_TOKEN": "t", "AWS_SECRET_ACCESS_KEY": "s", "MY_SECRET": "s", "DB_PASSWORD": "p",
            "LLAMA_API_KEY": "k", "LLAMA_ARG_HF_TOKEN": "t", "GGML_SECRET_THING": "s", "LLAMA_ARG_API_KEY_FILE": "/tmp/operator-keys",
            "SWITCHYARD_HOME": "/x", "USER": "root", "SHELL": "/bin/sh", "PWD": "/", "TERM": "xterm", "LC_CTYPE": "C",
        ]
        #expect(EngineEnvironment.allowlist.filter(gateway) == [
            "PATH": "/usr/bin", "HOME": "/root", "LANG": "C.UTF-8", "LC_ALL": "C", "TMPDIR": "/tmp", "LD_LIBRARY_PATH": "/opt/lib",
            "LLAMA_ARG_N_GPU_LAYERS": "0", "GGML_CUDA_NO_PINNED": "1",
        ])
        #expect(EngineEnvironment.allowlist.filter(["PATH": "/bin"]) == ["PATH": "/bin"], "LD_LIBRARY_PATH only when set")
        #expect(EngineEnvironment.allowlist.filter([:]).isEmpty)
    }
}

extension String {
    var trimmingWhitespace: Substring {
        drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed().reduce(into: Substring()) { $0.append($1) }
    }
}
