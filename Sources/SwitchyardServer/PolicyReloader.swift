import Logging
import SwitchyardLedger
import Metrics
import ServiceLifecycle
import SwitchyardPolicy
import SwitchyardDecision
import SwitchyardExecution
import SwitchyardTracing
import Synchronization
import UnixSignals

#if canImport(Glibc)
import Glibc
#endif

/// The policy in force: its decider and executor and their metric handles, swapped whole on
/// reload. A request reads the snapshot once, so it finishes under the policy it started with.
final class LivePolicy: Sendable {
    /// A class, not a struct: a request's context, its middleware and its path hand the snapshot
    /// along many times, and each copy of a struct this size retained every reference in it (2%
    /// of the request tasks' CPU in `perf`); a copy of a class is one retain.
    final class Snapshot: Sendable {
        /// Serves decisions; holds the decider that makes them.
        let executor: Executor
        let metrics: GatewayMetrics
        /// Where every attempt's end is accounted (built on `metrics`).
        let accounting: any AttemptSink
        /// Starts each request's trace; nil when the gateway does not trace.
        let tracing: RequestTracing?

        var decider: Decider { executor.decider }
        var policy: Policy { executor.policy }

        /// Metrics for the policy, and the accounting hook on them (with the ledger, if any).
        init(executor: Executor, logger: Logger, rateLimiter: RateLimiter = RateLimiter(), ledger: (any LedgerStore)? = nil,
             tracing: RequestTracing? = nil) {
            self.executor = executor
            self.tracing = tracing
            metrics = GatewayMetrics(policy: executor.policy)
            let base = GatewayAccounting(metrics: metrics, logger: logger, rateLimiter: rateLimiter)
            accounting = ledger.map { LedgerAccounting(base: base, ledger: $0, savingsPrice: executor.policy.savingsPrice, logger: logger) } ?? base
            self.ledger = ledger
        }

        /// Keys, budgets and records; nil when the policy turns the ledger off.
        let ledger: (any LedgerStore)?
    }

    private let current: Mutex<Snapshot>
    private let failure = Mutex<String?>(nil)

    init(_ snapshot: Snapshot) { current = Mutex(snapshot) }

    var snapshot: Snapshot { current.withLock { $0 } }
    /// The last rejected reload's diagnostics, until a reload succeeds.
    var lastReloadError: String? { failure.withLock { $0 } }

    func install(_ snapshot: Snapshot) {
        current.withLock { $0 = snapshot }
        failure.withLock { $0 = nil }
    }

    func reject(_ diagnostics: String) { failure.withLock { $0 = diagnostics } }
}

/// Reloads the policy file on SIGHUP, when it changes on disk, and when asked
/// (`Gateway.reloadPolicy()`): parse, validate, compile, then swap atomically. A file that fails
/// any step is rejected whole; the old policy keeps serving, and the error goes to the log,
/// `/readyz` and a metric. Every trigger goes through one `ReloadQueue`, so reloads never
/// overlap and the newest file is the one left installed.
struct PolicyReloader: Service {
    let path: String
    let live: LivePolicy
    /// Builds a snapshot from a new policy, or explains why it cannot take effect without a restart.
    let build: @Sendable (Policy) throws(PolicyError) -> LivePolicy.Snapshot
    let logger: Logger
    let watchFile: Bool
    /// The file as the policy in force was read from it: the watcher's first comparison.
    let loadedStamp: FileStamp?
    var pollInterval: Duration = .seconds(1)
    let queue = ReloadQueue()

    private let reloads = Counter(label: "switchyard_policy_reloads_total")
    private let failures = Counter(label: "switchyard_policy_reload_failures_total")

    init(path: String, live: LivePolicy, logger: Logger, watchFile: Bool = true, loadedStamp: FileStamp?,
         pollInterval: Duration = .seconds(1), build: @escaping @Sendable (Policy) throws(PolicyError) -> LivePolicy.Snapshot) {
        self.path = path
        self.live = live
        self.logger = logger
        self.watchFile = watchFile
        self.loadedStamp = loadedStamp
        self.pollInterval = pollInterval
        self.build = build
    }

    func run() async throws {
        let hangups = await UnixSignalsSequence(trapping: .sighup)
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    await queue.consume { triggers in reload(triggers: triggers) }
                }
                group.addTask {
                    for await _ in hangups { queue.post("SIGHUP") }
                }
                if watchFile { group.addTask {
                    var seen = loadedStamp
                    while !Task.isCancelled {
                        try? await Task.sleep(for: pollInterval)
                        let now = FileStamp(path)
                        if now != seen, now != nil {
                            seen = now
                            queue.post("file change")
                        }
                    }
                } }
                await group.next()
                group.cancelAll()
            }
        }
    }

    /// Reloads now and returns when that reload has been applied or rejected.
    func reload(trigger: String) async { await queue.request(trigger) }

    /// One reload, for every trigger queued since the last: only the queue's consumer calls it.
    private func reload(triggers: [String]) {
        let trigger = triggers.count == 1 ? triggers[0] : "\(triggers.count) triggers (\(Set(triggers).sorted().joined(separator: ", ")))"
        do {
            let policy = try PolicyLoader.load(path: path)
            live.install(try build(policy))
            reloads.increment()
            logger.info("policy reloaded", metadata: ["policy": "\(path)", "trigger": "\(trigger)", "rules": "\(policy.rules.count)"])
            for warning in policy.warnings { logger.warning("policy warning", metadata: ["warning": "\(warning)"]) }
        } catch {
            failures.increment()
            live.reject(error.description)
            logger.error("policy reload rejected; the previous policy keeps serving", metadata: ["trigger": "\(trigger)", "error": "\(error.description)"])
        }
    }
}

/// What identifies a version of a file: its modification time, size and inode (editors often
/// replace a file by renaming a new one over it).
struct FileStamp: Equatable {
    let seconds: Int
    let nanoseconds: Int
    let size: Int
    let inode: UInt

    init?(_ path: String) {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        seconds = info.st_mtim.tv_sec
        nanoseconds = info.st_mtim.tv_nsec
        size = Int(info.st_size)
        inode = UInt(info.st_ino)
    }
}
