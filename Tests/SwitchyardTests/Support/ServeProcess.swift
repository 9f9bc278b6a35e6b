import Synchronization
import SwitchyardHTTP
import SwitchyardPolicy
@testable import SwitchyardEngine
import SwitchyardEval

#if canImport(Glibc)
import Glibc
#endif

/// What one run of the `switchyard` binary printed, standard output and standard error apart
/// (a `--json` report is parsed from standard output alone).
struct CommandRun: Sendable {
    var exit: ChildProcess.Exit
    var out: String
    var err: String

    var all: String { out + err }
}

/// The `switchyard` binary as an operator runs it: a command with its own environment, to
/// completion (bounded), or `serve` as a process the test stops or kills.
enum SwitchyardProcess {
    /// Runs a command to completion within `timeout` (then it is killed and reported as such).
    static func run(_ arguments: [String], environment: [String: String] = [:], timeout: Duration = .seconds(60)) async throws -> CommandRun {
        let directory = try Fixtures.temporaryDirectory()
        let (out, err) = (directory + "/out", directory + "/err")
        // sh only splits the two streams: `exec "$@" 2>"$0"`, then env sets the variables.
        let child = try ChildProcess.spawn(executable: "/bin/sh",
                                           arguments: ["-c", #"exec "$@" 2>"$0""#, err, "/usr/bin/env"] + assignments(environment)
                                               + [BinaryTests.binary] + arguments,
                                           logPath: out)
        var exit = await child.wait(timeout: timeout)
        if exit == nil {
            child.signal(SIGKILL)
            exit = await child.wait(timeout: .seconds(10))
            return CommandRun(exit: exit ?? .exited(-1), out: TextFile.read(out) ?? "",
                              err: "timed out after \(timeout)\n" + (TextFile.read(err) ?? ""))
        }
        return CommandRun(exit: exit ?? .exited(-1), out: TextFile.read(out) ?? "", err: TextFile.read(err) ?? "")
    }

    static func assignments(_ environment: [String: String]) -> [String] {
        environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
    }
}

/// A `switchyard serve` process on 127.0.0.1, ready once `/healthz` answers 200.
struct ServeProcess: Sendable {
    let child: ChildProcess
    let port: Int
    let log: String

    var baseURL: String { "http://127.0.0.1:\(port)" }

    /// Starts the gateway and waits (bounded) until it answers; a gateway that exits first fails
    /// with its log. `processes` kills it if the test ends before stopping it.
    static func start(policy: String, stateDirectory: String, environment: [String: String], log: String,
                      processes: TestProcesses, client: HTTPClient, port: Int? = nil, host: String? = nil,
                      extraArguments: [String] = [], timeout: Duration = .seconds(30)) async throws -> ServeProcess {
        guard let port = port ?? freeLoopbackPort() else { throw FixtureError("no free loopback port") }
        let arguments = ["serve", "--policy", policy, "--port", String(port), "--state-dir", stateDirectory, "--no-watch-policy"]
            + (host.map { ["--host", $0] } ?? []) + extraArguments
        let child = try ChildProcess.spawn(executable: "/usr/bin/env",
                                           arguments: SwitchyardProcess.assignments(environment) + [BinaryTests.binary] + arguments,
                                           logPath: log)
        processes.add(child)
        let health = HTTPRequest(url: "http://127.0.0.1:\(port)/healthz",
                                 timeouts: HTTPTimeouts(connect: .seconds(1), firstByte: .seconds(2), stall: .seconds(2), total: .seconds(2)))
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let exit = child.poll() { throw FixtureError("gateway \(exit) before it answered: \(TextFile.read(log) ?? "")") }
            if let answer = try? await client.send(health), answer.status == 200 { return ServeProcess(child: child, port: port, log: log) }
            try await Task.sleep(for: .milliseconds(50))
        }
        child.signal(SIGKILL)
        _ = await child.wait(timeout: .seconds(10))
        throw FixtureError("gateway not answering on port \(port) after \(timeout): \(TextFile.read(log) ?? "")")
    }

    /// SIGTERM (graceful: drains, closes the ledger), SIGKILL after 15 s.
    func stop() async -> ChildProcess.Exit { await child.terminate(grace: .seconds(15)) }
}

/// The processes a test started, killed when it ends however it ends, so that a failed test
/// leaves no gateway behind.
final class TestProcesses: Sendable {
    private let children = Mutex<[ChildProcess]>([])

    func add(_ child: ChildProcess) { children.withLock { $0.append(child) } }

    /// Kills every child still running. A child already reaped answers `poll()` with ECHILD, so
    /// a pid reused since by someone else is never signalled.
    func killAll() async {
        for child in children.withLock({ $0 }) where child.poll() == nil {
            child.signal(SIGKILL)
            _ = await child.wait(timeout: .seconds(10))
        }
    }

    static func with<T: Sendable>(_ body: (TestProcesses) async throws -> T) async throws -> T {
        let processes = TestProcesses()
        return try await finally({ try await body(processes) }, then: processes.killAll)
    }
}
