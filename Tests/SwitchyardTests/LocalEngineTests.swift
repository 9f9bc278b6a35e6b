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

    @Test("models, health and readiness describe the policy and the engine")
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
            #expect(ready.json["engine"]?["pid"]?.intValue == Int(gateway.gateway.engine?.status.pid ?? -1))
        }
    }

    @Test("a killed engine is restarted and the next request is served")
    func crashRestart() async throws {
        try await Fixtures.withGateway(policy: policy) { gateway in
            let engine = try #require(gateway.gateway.engine)
            let firstPID = try #require(engine.status.pid)
            kill(firstPID, SIGKILL)
            let deadline = ContinuousClock.now + .seconds(60)
            while engine.status.pid == firstPID || engine.readyBaseURL == nil {
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

extension String {
    var trimmingWhitespace: Substring {
        drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed().reduce(into: Substring()) { $0.append($1) }
    }
}
