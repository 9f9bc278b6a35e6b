import Logging
#if canImport(Glibc)
import Glibc
#endif
import Testing
import SwitchyardLedger

/// Which store a behavioural test runs against; the same tests run on both.
enum LedgerBackend: String, Sendable, CaseIterable, CustomTestStringConvertible {
    case sqlite, postgres

    var testDescription: String { rawValue }
}

/// Where one test's ledger lives: a fresh SQLite file, or a fresh database in the suite's
/// PostgreSQL cluster. Opening it again gives an independent store on the same data (a second
/// replica, or the gateway after a restart). A SQLite file is deleted with its location (the
/// cluster's databases go with the cluster).
final class LedgerLocation: Sendable {
    let backend: LedgerBackend
    /// The SQLite file, or the PostgreSQL database's name.
    let name: String
    let port: Int

    private init(backend: LedgerBackend, name: String, port: Int) {
        self.backend = backend
        self.name = name
        self.port = port
    }

    static func fresh(_ backend: LedgerBackend) async throws -> LedgerLocation {
        switch backend {
        case .sqlite:
            return LedgerLocation(backend: .sqlite, name: try Fixtures.temporaryDirectory() + "/ledger.sqlite", port: 0)
        case .postgres:
            let cluster = try PostgresCluster.require()
            return LedgerLocation(backend: .postgres, name: try await cluster.createDatabase(), port: cluster.port)
        }
    }

    deinit {
        guard backend == .sqlite else { return }
        LedgerFiles.remove(name)
    }

    func open(maxConnections: Int = 4) async throws -> any LedgerStore {
        var logger = Logger(label: "ledger-under-test")
        logger.logLevel = .warning
        switch backend {
        case .sqlite:
            return try await Ledger.sqlite(path: name, logger: logger)
        case .postgres:
            return try await Ledger.postgres(host: "127.0.0.1", port: port, username: PostgresCluster.user, database: name,
                                             sslMode: .disable, maxConnections: maxConnections, logger: logger)
        }
    }

    /// Opens a store, runs `body` with it, and closes it whatever happens.
    func with<T: Sendable>(migrate: Bool = true, _ body: (any LedgerStore) async throws -> T) async throws -> T {
        try await closing(try await open()) { store in
            if migrate { try await store.migrate() }
            return try await body(store)
        }
    }
}

/// Runs `body` with `store` and closes it whatever happens (a close that fails after `body`
/// succeeded fails the test too).
func closing<T: Sendable>(_ store: any LedgerStore, _ body: (any LedgerStore) async throws -> T) async throws -> T {
    do {
        let result = try await body(store)
        try await store.close()
        return result
    } catch {
        try? await store.close()
        throw error
    }
}

enum LedgerSamples {
    static let day = UnixTime(year: 2026, month: 11, day: 23)

    static func attempt(_ id: String, request: String, key: String? = "key_aaaaaaaaaaaa", tenant: String? = "acme",
                        rule: String = "default", target: String = "gpt-4o-mini", tier: String = "cloud",
                        prompt: Int = 0, completion: Int = 0, cost: Int64 = 0, reference: Int64 = 0,
                        outcome: AttemptOutcome = .served, at start: UnixTime = day) -> AttemptRecord {
        AttemptRecord(id: id, requestID: request, keyID: key, tenant: tenant, team: nil, rule: rule, target: target, tier: tier,
                      promptTokens: prompt, completionTokens: completion, cost: Nanodollars(cost), costEstimated: false,
                      referenceCost: Nanodollars(reference), latencyMs: 12, outcome: outcome, escalationReason: nil,
                      startedAt: start, endedAt: outcome == .inProgress ? nil : start + .milliseconds(12))
    }
}

extension LedgerStore {
    /// A request's attempts as a second ledger on a gateway's SQLite file sees them. The gateway
    /// owns the file's journal and commits a record a few milliseconds after the answer that it
    /// made durable (docs/architecture.md, "The ledger's write path"), so this waits, up to 10 s,
    /// until `count` attempts are there and none is still in progress, and returns what is there
    /// for the caller's checks (a record that never comes still fails them).
    func committedAttempts(requestID: String, count: Int = 1) async throws -> [AttemptRecord] {
        let deadline = ContinuousClock.now + .seconds(10)
        while true {
            let attempts = try await attempts(requestID: requestID)
            let settled = attempts.count >= count && !attempts.contains { $0.outcome == .inProgress }
            if settled || ContinuousClock.now >= deadline { return attempts }
            try await Task.sleep(for: .milliseconds(10))
        }
    }
}

enum LedgerFiles {
    /// Deletes a SQLite database (with its WAL and shared-memory files), other files named, and
    /// the directory holding them if that leaves it empty.
    static func remove(_ database: String, also others: [String] = []) {
        for file in [database, database + "-wal", database + "-shm", database + "-records"] + others { unlink(file) }
        if let slash = database.lastIndex(of: "/") { rmdir(String(database[..<slash])) }
    }
}
