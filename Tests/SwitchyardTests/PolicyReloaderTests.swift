import Logging
import Synchronization
import Testing
import SwitchyardPolicy
import SwitchyardDecision
import SwitchyardExecution
import SwitchyardSignals
@testable import SwitchyardServer

#if canImport(Glibc)
import Glibc
#endif

/// Reloads triggered from everywhere at once (API calls, the file watcher) while the file keeps
/// changing: they run one at a time, and the newest file is the one left in force.
@Suite("Policy reloads", .serialized, .timeLimit(.minutes(1)))
struct PolicyReloaderTests {
    static func policy(_ rule: String) -> String {
        "version: 1\nmodels:\n  cloud: {kind: openai, model: m}\nrules:\n  - {name: \(rule), serve: cloud}\n"
    }

    static func snapshot(_ policy: Policy) -> LivePolicy.Snapshot {
        LivePolicy.Snapshot(executor: TestRouter(policy: policy).executor, logger: Logger(label: "test"))
    }

    /// Builds snapshots slowly, counting builds and the most that ever ran at once.
    final class SlowBuilder: Sendable {
        let counts = Mutex((running: 0, most: 0, total: 0))

        func build(_ policy: Policy) -> LivePolicy.Snapshot {
            counts.withLock {
                $0.running += 1
                $0.most = max($0.most, $0.running)
                $0.total += 1
            }
            usleep(3_000)  // a slow compile: long enough for reloads to overlap, if they could
            counts.withLock { $0.running -= 1 }
            return PolicyReloaderTests.snapshot(policy)
        }
    }

    func reloader(_ path: String, _ builder: SlowBuilder) throws -> (PolicyReloader, LivePolicy) {
        let stamp = FileStamp(path)
        let live = LivePolicy(Self.snapshot(try PolicyLoader.load(path: path)))
        var logger = Logger(label: "reload-test")
        logger.logLevel = .critical  // files caught half-written are rejected, as they should be; no need to see it
        let reloader = PolicyReloader(path: path, live: live, logger: logger, watchFile: true, loadedStamp: stamp,
                                      pollInterval: .milliseconds(2)) { policy in builder.build(policy) }
        return (reloader, live)
    }

    @Test("200 concurrent reload requests while the file changes 20 times: never two reloads at once, the newest file installed")
    func serialised() async throws {
        let path = try Fixtures.temporaryDirectory() + "/policy.yaml"
        try Fixtures.writeFile(path, Self.policy("v0"))
        let builder = SlowBuilder()
        let (reloader, live) = try reloader(path, builder)
        let service = Task { try await reloader.run() }

        await withTaskGroup(of: Void.self) { group in
            for version in 1...20 {
                try? Fixtures.writeFile(path, Self.policy("v\(version)"))
                for _ in 0..<10 { group.addTask { await reloader.reload(trigger: "test") } }
                try? await Task.sleep(for: .milliseconds(1))
            }
        }
        // Every request above has returned, so each was served by a reload that read the file
        // after it was made; the last ones after v20 was written.
        #expect(live.snapshot.policy.rules.first?.name == "v20")
        #expect(live.lastReloadError == nil)
        let (most, total) = builder.counts.withLock { ($0.most, $0.total) }
        #expect(most == 1, "reloads ran concurrently")
        #expect(total >= 2 && total < 200, "triggers during a reload are coalesced (\(total) reloads)")

        service.cancel()
        try await service.value
    }

    @Test("a file changed after it was loaded but before the watcher ran is still reloaded")
    func changeBeforeTheWatcherStarts() async throws {
        let path = try Fixtures.temporaryDirectory() + "/policy.yaml"
        try Fixtures.writeFile(path, Self.policy("loaded"))
        let (reloader, live) = try reloader(path, SlowBuilder())
        try Fixtures.writeFile(path, Self.policy("changed-meanwhile"))
        let service = Task { try await reloader.run() }
        let deadline = ContinuousClock.now + .seconds(10)
        while live.snapshot.policy.rules.first?.name != "changed-meanwhile", ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(5))
        }
        #expect(live.snapshot.policy.rules.first?.name == "changed-meanwhile")
        service.cancel()
        try await service.value
    }

    @Test("a reload request returns once the file it asked for is in force")
    func waitsForItsReload() async throws {
        let path = try Fixtures.temporaryDirectory() + "/policy.yaml"
        try Fixtures.writeFile(path, Self.policy("first"))
        let (reloader, live) = try reloader(path, SlowBuilder())
        let service = Task { try await reloader.run() }
        for round in 0..<20 {
            try Fixtures.writeFile(path, Self.policy("round-\(round)"))
            await reloader.reload(trigger: "test")
            #expect(live.snapshot.policy.rules.first?.name == "round-\(round)")
        }
        try Fixtures.writeFile(path, "version: 1\nmodels: [\n")
        await reloader.reload(trigger: "test")
        #expect(live.lastReloadError?.contains("\(path):3:1: YAML syntax") == true, "\(live.lastReloadError ?? "no error")")
        #expect(live.snapshot.policy.rules.first?.name == "round-19", "a rejected file leaves the old policy")

        service.cancel()
        try await service.value
        // Stopped: nothing will reload any more, and asking does not hang.
        await reloader.reload(trigger: "after stop")
    }
}
