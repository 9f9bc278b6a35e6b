import Logging
import ServiceLifecycle
import Subprocess
import SwitchyardHTTP
import SwitchyardPolicy
import Synchronization
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// What `/readyz` and the router know about the on-box engine.
public struct EngineStatus: Sendable, Equatable {
    public enum Phase: String, Sendable {
        /// Spawned, loading the model; not serving yet.
        case starting
        case ready
        /// Died or was killed; waiting out the backoff before the next start.
        case restarting
        case stopped
    }

    public var phase: Phase
    /// `http://127.0.0.1:PORT` while ready.
    public var baseURL: String?
    public var pid: Int32?
    public var restarts: Int
    public var lastExit: String?
    public var logPath: String
}

/// Runs llama-server as a supervised child: starts it on a free loopback port, declares it
/// ready when `/health` answers 200, restarts it with exponential backoff when it dies or
/// stops answering, and stops it on shutdown. A pid file lets the next start stop an engine
/// orphaned by a gateway that was killed outright.
///
/// The child is started by swift-subprocess, which closes every descriptor but 0, 1 and 2 in
/// it (the gateway's listening and client sockets are not close-on-exec; an engine holding them
/// would keep the public port after the gateway died), learns of its exit through a pidfd (no
/// polling), and stops it (SIGTERM, then SIGKILL after a grace) when the task awaiting it is
/// cancelled. It gets an allowlisted environment (`EngineEnvironment`), never the gateway's.
public final class LocalEngine: Service, Sendable {
    public let modelName: String
    public let settings: LocalEngineSettings
    private let executable: String
    private let modelPath: String
    /// What llama-server starts with, fixed at init from the locator's environment.
    private let environment: [String: String]
    private let pidFile: PidFile
    private let keyFile: EngineKeyFile
    private let client: HTTPClient
    private let logger: Logger
    private let state: Mutex<Live>

    /// The status, and the key of the engine start it describes.
    private struct Live {
        var status: EngineStatus
        var key: EngineKey?
    }

    /// A start that has not become healthy by then is stopped and retried.
    private static let startTimeout: Duration = .seconds(300)
    private static let startingHealthInterval: Duration = .milliseconds(100)
    private static let healthInterval: Duration = .seconds(2)
    /// Consecutive failed health checks of a ready engine before it is stopped as hung.
    private static let hungAfterFailures = 3
    /// An engine that stayed ready this long resets the backoff.
    private static let stableAfter: Duration = .seconds(30)
    /// Between SIGTERM and SIGKILL when the engine is stopped (shutdown, hung, never ready).
    static let stopGrace: Duration = .seconds(5)

    public init(
        modelName: String,
        settings: LocalEngineSettings,
        locator: EngineLocator,
        stateDirectory: String,
        client: HTTPClient,
        logger: Logger
    ) throws(EngineError) {
        self.modelName = modelName
        self.settings = settings
        executable = try locator.llamaServer(explicit: settings.binary)
        modelPath = try locator.modelFile(settings.modelFile)
        environment = EngineEnvironment.allowlist.filter(locator.environment).merging(EngineEnvironment.lockdown) { $1 }
        mkdir(stateDirectory, 0o755)
        pidFile = PidFile(path: "\(stateDirectory)/engine-\(modelName).pid")
        keyFile = EngineKeyFile(path: "\(stateDirectory)/engine-\(modelName).key")
        self.client = client
        self.logger = logger
        state = Mutex(Live(status: EngineStatus(phase: .starting, restarts: 0, logPath: "\(stateDirectory)/engine-\(modelName).log")))
    }

    public var status: EngineStatus { state.withLock { $0.status } }

    /// Where and how to reach the engine when it can take requests, nil otherwise.
    public var readyEndpoint: EngineEndpoint? {
        state.withLock { live in
            guard live.status.phase == .ready, let baseURL = live.status.baseURL, let key = live.key else { return nil }
            return EngineEndpoint(baseURL: baseURL, key: key)
        }
    }

    public func run() async throws {
        if let orphan = await pidFile.reapOrphan(executableName: "llama-server") {
            logger.warning("stopped an orphaned llama-server left by an earlier run", metadata: ["pid": "\(orphan)"])
        }
        await cancelWhenGracefulShutdown {
            await self.supervise()
        }
    }

    /// One engine after another until cancelled; waits only on the child's exit, its health
    /// checks and the backoff, never in a polling loop.
    private func supervise() async {
        var consecutiveFailures = 0
        while !Task.isCancelled {
            guard let port = freeLoopbackPort() else {
                logger.error("no free loopback port for llama-server")
                consecutiveFailures += 1
                if !(await backoff(consecutiveFailures)) { break }
                continue
            }
            let key = EngineKey.random()
            guard keyFile.write(key) else {
                logger.error("cannot write the engine's key file", metadata: ["path": "\(keyFile.path)", "error": "\(String(cString: strerror(errno)))"])
                consecutiveFailures += 1
                if !(await backoff(consecutiveFailures)) { break }
                continue
            }
            let baseURL = "http://127.0.0.1:\(port)"
            state.withLock { $0.status.phase = .starting; $0.status.baseURL = baseURL; $0.status.pid = nil; $0.key = key }
            let run = await runOnce(arguments: arguments(port: port), baseURL: baseURL)
            pidFile.remove()
            keyFile.remove()
            switch run.end {
            case .failedToStart(let error):
                logger.error("cannot start llama-server", metadata: ["error": "\(error)"])
                state.withLock { $0.status.phase = .restarting; $0.status.baseURL = nil; $0.status.pid = nil; $0.status.lastExit = "\(error)" }
                consecutiveFailures += 1
            case .exited(let exit) where Task.isCancelled:
                state.withLock { $0.status.phase = .stopped; $0.status.baseURL = nil; $0.status.pid = nil; $0.status.lastExit = Self.describe(exit) }
                logger.info("llama-server stopped", metadata: ["exit": "\(Self.describe(exit))"])
                return
            case .exited(let exit):
                consecutiveFailures = run.readyFor >= Self.stableAfter ? 1 : consecutiveFailures + 1
                state.withLock {
                    $0.status.phase = .restarting
                    $0.status.baseURL = nil
                    $0.status.pid = nil
                    $0.status.restarts += 1
                    $0.status.lastExit = Self.describe(exit)
                }
                let why = run.stoppedBecause.map { " after it \($0)" } ?? ""
                logger.error("llama-server \(Self.describe(exit))\(why); restarting", metadata: ["log": "\(status.logPath)"])
            }
            if !(await backoff(consecutiveFailures)) { break }
        }
        state.withLock { $0.status.phase = .stopped; $0.status.baseURL = nil; $0.status.pid = nil }
    }

    private struct Run {
        enum End {
            case exited(TerminationStatus)
            case failedToStart(any Error)
        }
        var end: End
        /// How long it had been ready when it ended (zero if never).
        var readyFor: Duration
        /// Why the supervisor stopped it, when it did (hung, never ready).
        var stoppedBecause: String?
    }

    private struct StartError: Error, CustomStringConvertible {
        var description: String
    }

    private enum Event: Sendable {
        case ended(Result<TerminationStatus, any Error>)
        /// The health watch ended: cancelled because the child ended, or giving up on it.
        case health(readySince: ContinuousClock.Instant?, giveUp: String?)
    }

    /// Starts one llama-server and returns when it has exited. Two child tasks: one holds the
    /// child (spawn, then wait for its exit through the pidfd), the other checks its health. The
    /// child's exit cancels the health checks; a health verdict (hung, never ready) cancels the
    /// first task, and cancellation is what makes swift-subprocess run its teardown sequence.
    /// Cancelling the caller (shutdown) does the same to both.
    private func runOnce(arguments: [String], baseURL: String) async -> Run {
        let logFD = open(status.logPath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard logFD >= 0 else {
            let error = StartError(description: "cannot open the engine log \(status.logPath): \(String(cString: strerror(errno)))")
            return Run(end: .failedToStart(error), readyFor: .zero)
        }
        let clock = ContinuousClock()
        return await withTaskGroup(of: Event.self) { group in
            group.addTask { .ended(await self.spawnAndWait(arguments: arguments, logFD: logFD)) }
            group.addTask { await self.watchHealth(baseURL: baseURL, startedAt: clock.now) }
            var end: Run.End?
            var readySince: ContinuousClock.Instant?
            var stoppedBecause: String?
            while let event = await group.next() {
                switch event {
                case .ended(let result):
                    // Not ready from now on, before the health task has wound down.
                    state.withLock { $0.status.phase = Task.isCancelled ? .stopped : .restarting; $0.status.baseURL = nil; $0.status.pid = nil }
                    end = switch result {
                    case .success(let exit): .exited(exit)
                    case .failure(let error): .failedToStart(error)
                    }
                    group.cancelAll()
                case .health(let since, let giveUp):
                    readySince = since
                    if let giveUp {
                        stoppedBecause = giveUp
                        logger.error("llama-server \(giveUp); stopping it")
                        group.cancelAll()
                    }
                }
            }
            return Run(end: end ?? .failedToStart(StartError(description: "llama-server run ended without a status")),
                       readyFor: readySince.map { clock.now - $0 } ?? .zero,
                       stoppedBecause: stoppedBecause)
        }
    }

    /// Spawns llama-server and waits for its exit. Its own process group keeps a Ctrl-C meant
    /// for the gateway from reaching it (the gateway stops it itself); stdin is /dev/null and
    /// stdout and stderr go to the log file, never to a pipe (a child writing to a pipe nobody
    /// reads any more dies of SIGPIPE). Cancellation sends SIGTERM, then SIGKILL after `stopGrace`.
    private func spawnAndWait(arguments: [String], logFD: CInt) async -> Result<TerminationStatus, any Error> {
        var options = PlatformOptions()
        options.processGroupID = 0
        options.teardownSequence = [.gracefulShutDown(allowedDurationToNextStep: Self.stopGrace)]
        var variables: [Subprocess.Environment.Key: String] = [:]
        for (name, value) in environment {
            if let key = Subprocess.Environment.Key(rawValue: name) { variables[key] = value }
        }
        do {
            let result = try await Subprocess.run(
                .path(FilePath(executable)),
                arguments: Arguments(arguments),
                environment: .custom(variables),
                platformOptions: options,
                input: .none,
                output: .fileDescriptor(FileDescriptor(rawValue: logFD), closeAfterSpawningProcess: true),
                error: .combinedWithOutput
            ) { execution in
                let pid = execution.processIdentifier.value
                self.pidFile.record(pid)
                self.state.withLock { $0.status.pid = pid }
                self.logger.info("llama-server starting", metadata: ["pid": "\(pid)", "url": "\(self.status.baseURL ?? "")", "model": "\(self.modelPath)"])
            }
            return .success(result.terminationStatus)
        } catch {
            return .failure(error)
        }
    }

    /// Polls `/health` (every 100 ms while starting, every 2 s once ready) until cancelled, or
    /// until the engine is judged hung (3 failed checks in a row) or never ready (300 s).
    private func watchHealth(baseURL: String, startedAt: ContinuousClock.Instant) async -> Event {
        let clock = ContinuousClock()
        var readySince: ContinuousClock.Instant?
        var failedChecks = 0
        while true {
            do {
                try await Task.sleep(for: readySince == nil ? Self.startingHealthInterval : Self.healthInterval)
            } catch {
                return .health(readySince: readySince, giveUp: nil)
            }
            let healthy = await isHealthy(baseURL)
            if Task.isCancelled { return .health(readySince: readySince, giveUp: nil) }
            if healthy {
                failedChecks = 0
                if readySince == nil {
                    readySince = clock.now
                    // Only from starting: the child may have exited since this check began.
                    state.withLock { if $0.status.phase == .starting { $0.status.phase = .ready } }
                    // It answers, so it has read its key: the file need not outlive this.
                    keyFile.remove()
                    logger.info("llama-server ready", metadata: ["url": "\(baseURL)", "after": "\(clock.now - startedAt)"])
                }
            } else if readySince != nil {
                failedChecks += 1
                if failedChecks >= Self.hungAfterFailures {
                    return .health(readySince: readySince, giveUp: "stopped answering /health")
                }
            } else if clock.now - startedAt > Self.startTimeout {
                return .health(readySince: nil, giveUp: "was not ready after \(Self.startTimeout)")
            }
        }
    }

    private func isHealthy(_ baseURL: String) async -> Bool {
        let request = HTTPRequest(url: baseURL + "/health",
                                  timeouts: HTTPTimeouts(connect: .seconds(1), firstByte: .seconds(5), stall: .seconds(5), total: .seconds(5)))
        guard let response = try? await client.send(request) else { return false }
        return response.status == 200
    }

    /// Sleeps 0.25 s × 2^(n−1), at most 30 s; false when cancelled meanwhile.
    private func backoff(_ failures: Int) async -> Bool {
        let delay = Duration.milliseconds(min(30_000, 250 << min(failures - 1, 7)))
        do {
            try await Task.sleep(for: delay)
            return true
        } catch {
            return false
        }
    }

    /// As `/readyz` and the logs show it.
    static func describe(_ exit: TerminationStatus) -> String {
        switch exit {
        case .exited(let code): "exited with status \(code)"
        case .signaled(let signal): "killed by signal \(signal)"
        }
    }

    private func arguments(port: Int) -> [String] {
        [
            "--model", modelPath,
            "--host", "127.0.0.1",
            "--port", String(port),
            "--api-key-file", keyFile.path,
            "--ctx-size", String(settings.context),
            "--parallel", String(settings.slots),
            "--threads", String(settings.threads),
        ] + settings.extraArgs
    }
}
