import Logging
import SwitchyardPolicy
import Testing
import Synchronization
import SwitchyardEngine
import SwitchyardHTTP
import SwitchyardServer
import SwitchyardWire

#if canImport(Glibc)
import Glibc
#endif

/// A real gateway on 127.0.0.1 (port 0) under a policy written for the test, with its own
/// state directory, stopped (engine included) when the test body returns.
struct RunningGateway: Sendable {
    let gateway: Gateway
    let port: Int
    let client: HTTPClient
    /// The state directory (engine pid and log, `ledger.sqlite`).
    let directory: String

    var baseURL: String { "http://127.0.0.1:\(port)" }

    func post(_ path: String, _ body: String, headers: [(name: String, value: String)] = [],
              timeout: Duration = .seconds(120)) async throws -> HTTPResponse {
        try await client.send(HTTPRequest(method: .post, url: baseURL + path,
                                          headers: [("Content-Type", "application/json")] + headers, body: Array(body.utf8),
                                          timeouts: HTTPTimeouts(connect: .seconds(2), firstByte: timeout, stall: timeout, total: timeout),
                                          limits: HTTPLimits(maxResponseBytes: 256 << 20)))
    }

    func get(_ path: String) async throws -> HTTPResponse {
        try await client.send(HTTPRequest(url: baseURL + path))
    }

    func chat(_ content: String, model: String = "auto", maxTokens: Int = 12, stream: Bool = false) async throws -> HTTPResponse {
        let body = JSON.object([
            "model": .string(model),
            "messages": .array([.object(["role": .string("user"), "content": .string(content)])]),
            "max_tokens": .int(maxTokens),
            "temperature": .int(0),
            "stream": .bool(stream),
        ])
        return try await post("/v1/chat/completions", body.text)
    }
}

enum Fixtures {
    /// What `make setup` installed; tests fail with this message rather than skip when it is missing.
    static let locator = EngineLocator()

    /// The Python of the set-up environment (it has the openai SDK).
    static var pythonPath: String? {
        let path = locator.home + "/venv/bin/python"
        return access(path, X_OK) == 0 ? path : nil
    }

    /// Runs a script of Tests/sdk with the set-up venv's python (an official SDK driving the
    /// gateway), within `limit`; returns its exit and what it printed.
    static func runSDKScript(_ name: String, arguments: [String], limit: Duration) async throws -> (exit: ChildProcess.Exit?, output: String) {
        let python = try #require(pythonPath, "the set-up venv's python is missing: run make setup")
        let script = #filePath.components(separatedBy: "/SwitchyardTests/")[0] + "/sdk/" + name
        let directory = try temporaryDirectory()
        let child = try ChildProcess.spawn(executable: python, arguments: [script] + arguments, logPath: directory + "/sdk.out")
        let deadline = ContinuousClock.now + limit
        var exit: ChildProcess.Exit?
        while exit == nil, ContinuousClock.now < deadline {
            exit = child.poll()
            try await Task.sleep(for: .milliseconds(50))
        }
        if exit == nil { _ = await child.terminate() }
        return (exit, TextFile.read(directory + "/sdk.out") ?? "")
    }

    static func requireEngine() throws {
        _ = try locator.llamaServer(explicit: nil)
        _ = try locator.modelFile("default")
    }

    /// A small local engine for tests: little context, two slots, one thread each gateway.
    static let localModelYAML = """
      local:
        kind: local
        context: 2048
        slots: 2
        threads: 1
    """

    @discardableResult
    static func withGateway<T: Sendable>(
        policy: String,
        environment: [String: String] = [:],
        waitForEngine: Bool = true,
        allowedHosts: [String] = [],
        calibrationPoll: Duration = .seconds(2),
        _ body: (RunningGateway) async throws -> T
    ) async throws -> T {
        let directory = try temporaryDirectory()
        let policyPath = directory + "/policy.yaml"
        try writeFile(policyPath, policy)
        var env = ProcessEnvironment.current
        for key in env.keys where key.hasSuffix("_API_KEY") { env[key] = nil }
        env.merge(environment) { $1 }
        var logger = Logger(label: "gateway-under-test")
        logger.logLevel = .warning
        let gateway = try await Gateway(options: GatewayOptions(port: 0, policyPath: policyPath, stateDirectory: directory,
                                                          environment: env, shutdownSignals: [], allowedHosts: allowedHosts,
                                                          calibrationPoll: calibrationPoll),
                                        logger: logger)
        let (ports, portContinuation) = AsyncStream<Int>.makeStream()
        let task = Task { try await gateway.run { port in portContinuation.yield(port) } }
        let client = HTTPClient()
        var port = 0
        for await p in ports {
            port = p
            break
        }
        let running = RunningGateway(gateway: gateway, port: port, client: client, directory: directory)
        do {
            if waitForEngine, let engine = gateway.engine { try await waitUntilReady(engine) }
            let result = try await body(running)
            try await stop(gateway, task, client)
            return result
        } catch {
            try? await stop(gateway, task, client)
            throw error
        }
    }

    /// Graceful shutdown, as SIGTERM does it; the gateway must then return cleanly.
    private static func stop(_ gateway: Gateway, _ task: Task<Void, any Error>, _ client: HTTPClient) async throws {
        await gateway.shutdown()
        try await task.value
        await client.shutdown()
    }

    static func waitUntilReady(_ engine: LocalEngine, timeout: Duration = .seconds(120)) async throws {
        let deadline = ContinuousClock.now + timeout
        while engine.readyEndpoint == nil {
            guard ContinuousClock.now < deadline else { throw FixtureError("engine not ready after \(timeout): \(engine.status)") }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    static func temporaryDirectory() throws -> String {
        var template = Array("/tmp/switchyard-test-XXXXXX".utf8CString)
        guard let path = mkdtemp(&template) else { throw FixtureError("mkdtemp failed") }
        return String(cString: path)
    }

    static func writeFile(_ path: String, _ text: String, mode: mode_t = 0o644) throws {
        guard let file = fopen(path, "w") else { throw FixtureError("cannot write \(path)") }
        fputs(text, file)
        fclose(file)
        chmod(path, mode)
    }
}

struct FixtureError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

extension HTTPResponse {
    var json: JSON { (try? JSON.parse(body)) ?? .null }
    func header(_ name: String) -> String? { head.header(name) }
}
