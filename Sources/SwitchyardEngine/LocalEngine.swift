import Logging
import ServiceLifecycle
import SwitchyardHTTP
import SwitchyardPolicy
import Synchronization

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
public final class LocalEngine: Service, Sendable {
    public let modelName: String
    public let settings: LocalEngineSettings
    private let executable: String
    private let modelPath: String
    private let pidFile: PidFile
    private let client: HTTPClient
    private let logger: Logger
    private let state: Mutex<EngineStatus>

    /// A start that has not become healthy by then is killed and retried.
    private static let startTimeout: Duration = .seconds(300)
    private static let healthInterval: Duration = .seconds(2)
    /// Consecutive failed health checks of a ready engine before it is killed as hung.
    private static let hungAfterFailures = 3
    /// An engine that stayed ready this long resets the backoff.
    private static let stableAfter: Duration = .seconds(30)

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
        mkdir(stateDirectory, 0o755)
        pidFile = PidFile(path: "\(stateDirectory)/engine-\(modelName).pid")
        self.client = client
        self.logger = logger
        state = Mutex(EngineStatus(phase: .starting, restarts: 0, logPath: "\(stateDirectory)/engine-\(modelName).log"))
    }

    public var status: EngineStatus { state.withLock { $0 } }

    /// The engine's base URL when it can take requests, nil otherwise.
    public var readyBaseURL: String? {
        state.withLock { $0.phase == .ready ? $0.baseURL : nil }
    }

    public func run() async throws {
        if let orphan = await pidFile.reapOrphan(executableName: "llama-server") {
            logger.warning("stopped an orphaned llama-server left by an earlier run", metadata: ["pid": "\(orphan)"])
        }
        await cancelWhenGracefulShutdown {
            await self.supervise()
        }
    }

    private func supervise() async {
        var consecutiveFailures = 0
        while !Task.isCancelled {
            guard let port = freeLoopbackPort() else {
                logger.error("no free loopback port for llama-server")
                try? await Task.sleep(for: .seconds(1))
                continue
            }
            let child: ChildProcess
            do {
                child = try ChildProcess.spawn(executable: executable, arguments: arguments(port: port), logPath: status.logPath)
            } catch {
                logger.error("cannot start llama-server", metadata: ["error": "\(error)"])
                state.withLock { $0.phase = .restarting; $0.lastExit = "\(error)" }
                consecutiveFailures += 1
                if !(await backoff(consecutiveFailures)) { break }
                continue
            }
            pidFile.record(child.pid)
            state.withLock {
                $0.phase = .starting
                $0.pid = child.pid
                $0.baseURL = "http://127.0.0.1:\(port)"
            }
            logger.info("llama-server starting", metadata: ["pid": "\(child.pid)", "port": "\(port)", "model": "\(modelPath)"])

            switch await watch(child, baseURL: "http://127.0.0.1:\(port)") {
            case .cancelled:
                let exit = await child.terminate()
                pidFile.remove()
                state.withLock { $0.phase = .stopped; $0.baseURL = nil; $0.pid = nil; $0.lastExit = exit.description }
                logger.info("llama-server stopped", metadata: ["exit": "\(exit)"])
                return
            case .exited(let exit, let readyFor):
                pidFile.remove()
                consecutiveFailures = readyFor >= Self.stableAfter ? 1 : consecutiveFailures + 1
                state.withLock {
                    $0.phase = .restarting
                    $0.baseURL = nil
                    $0.pid = nil
                    $0.restarts += 1
                    $0.lastExit = exit.description
                }
                logger.error("llama-server \(exit); restarting", metadata: ["log": "\(status.logPath)"])
                if !(await backoff(consecutiveFailures)) { return }
            }
        }
        state.withLock { $0.phase = .stopped; $0.baseURL = nil }
    }

    private enum WatchOutcome {
        case cancelled
        case exited(ChildProcess.Exit, readyFor: Duration)
    }

    private func watch(_ child: ChildProcess, baseURL: String) async -> WatchOutcome {
        let clock = ContinuousClock()
        let startedAt = clock.now
        var readySince: ContinuousClock.Instant?
        var failedChecks = 0
        var nextCheck = startedAt
        while true {
            if Task.isCancelled { return .cancelled }
            if let exit = child.poll() {
                return .exited(exit, readyFor: readySince.map { clock.now - $0 } ?? .zero)
            }
            if clock.now >= nextCheck {
                let healthy = await isHealthy(baseURL)
                if Task.isCancelled { return .cancelled }
                if healthy {
                    failedChecks = 0
                    if readySince == nil {
                        readySince = clock.now
                        state.withLock { $0.phase = .ready }
                        logger.info("llama-server ready", metadata: ["url": "\(baseURL)", "after": "\(clock.now - startedAt)"])
                    }
                } else if readySince != nil {
                    failedChecks += 1
                    if failedChecks >= Self.hungAfterFailures {
                        logger.error("llama-server stopped answering /health; killing it")
                        child.signal(SIGKILL)
                    }
                } else if clock.now - startedAt > Self.startTimeout {
                    logger.error("llama-server did not become ready in \(Self.startTimeout); killing it")
                    child.signal(SIGKILL)
                }
                nextCheck = clock.now + (readySince == nil ? .milliseconds(100) : Self.healthInterval)
            }
            try? await Task.sleep(for: .milliseconds(50))
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

    private func arguments(port: Int) -> [String] {
        [
            "--model", modelPath,
            "--host", "127.0.0.1",
            "--port", String(port),
            "--ctx-size", String(settings.context),
            "--parallel", String(settings.slots),
            "--threads", String(settings.threads),
        ] + settings.extraArgs
    }
}
