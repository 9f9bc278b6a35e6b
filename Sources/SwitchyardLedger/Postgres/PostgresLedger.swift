import Logging
import PostgresNIO
import Synchronization

/// The shared ledger: one PostgreSQL database behind several gateway replicas.
///
/// Budgets stay exact across replicas because every reservation is a conditional update of the
/// budget row, which PostgreSQL locks and re-reads (`INSERT … ON CONFLICT DO UPDATE … WHERE`):
/// two replicas can never both take the last unit. Rows are locked in one order everywhere
/// (the reservation, then budget rows sorted), so transactions never deadlock on each other;
/// should PostgreSQL still abort one, it is retried. Connections come from postgres-nio's
/// `PostgresClient` pool, whose `run()` this store runs from open to close.
final class PostgresLedger: LedgerStore {
    private let pool: PostgresPool
    var logger: Logger { pool.logger }
    private let runTask: Task<Void, Never>
    private let queue: BatchQueue<PendingAttempts>
    private let recorderTask: Task<Void, Never>
    private let closed = Atomic<Bool>(false)

    private init(configuration: PostgresClient.Configuration, leaseTimeout: Duration, logger: Logger,
                 running: CheckedContinuation<Void, Never>) {
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        let pool = PostgresPool(client: client, logger: logger, leaseTimeout: leaseTimeout)
        self.pool = pool
        runTask = Task {
            running.resume()
            await client.run()
        }
        let queue = BatchQueue<PendingAttempts>()
        self.queue = queue
        let recorder = PostgresRecorder(pool: pool, queue: queue)
        recorderTask = Task {
            await withDiscardingTaskGroup { group in
                for _ in 0..<PostgresRecorder.concurrentBatches { group.addTask { await recorder.run() } }
            }
        }
    }

    /// Checks that the database answers (a wrong URL, password or database name fails here, with
    /// the server's reason), then starts the pool. `timeout` bounds a connection attempt, and
    /// any call's wait for a pooled connection (`LedgerError.unavailable` past it).
    static func open(endpoint: PostgresEndpoint, maxConnections: Int, timeout: Duration, logger: Logger) async throws -> PostgresLedger {
        try await endpoint.probe(connectTimeout: timeout, logger: logger)
        // Queries wait until the pool runs (postgres-nio warns about any asked before), so the
        // store is handed out once the task running it has begun.
        var store: PostgresLedger?
        await withCheckedContinuation { running in
            store = PostgresLedger(configuration: endpoint.configuration(maxConnections: maxConnections, connectTimeout: timeout),
                                   leaseTimeout: timeout, logger: logger, running: running)
        }
        guard let store else { preconditionFailure("the store is made before the continuation resumes") }
        return store
    }

    private func checkOpen() throws {
        guard !closed.load(ordering: .relaxed) else { throw LedgerError.closed }
    }

    /// A write transaction that the caller's cancellation cannot cut short.
    func transaction<Value: Sendable>(
        _ body: @escaping @Sendable (PostgresConnection) async throws -> TransactionEnd<Value>
    ) async throws -> Value {
        try checkOpen()
        let pool = pool
        return try await uncancellable { try await pool.transaction(body) }
    }

    func read(_ query: PostgresQuery) async throws -> [PostgresRow] {
        try checkOpen()
        return try await pool.statement(query)
    }

    // MARK: Schema

    func migrate() async throws {
        let logger = logger
        let applied = try await transaction { connection -> TransactionEnd<[Int]> in
            _ = try await connection.rows(PostgresSQL.lockMigrations, logger: logger)
            _ = try await connection.rows(PostgresSQL.createMigrations, logger: logger)
            let current = try await connection.rows(PostgresSQL.schemaVersion, logger: logger).first?
                .decode(Int64.self) ?? 0
            let known = PostgresSQL.migrations.last?.version ?? 0
            guard current <= known else { throw LedgerError.schemaTooNew(found: Int(current), known: known) }
            var applied: [Int] = []
            for migration in PostgresSQL.migrations where migration.version > current {
                for statement in migration.statements {
                    _ = try await connection.rows(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                _ = try await connection.rows(PostgresSQL.recordMigration(migration.version, at: .now), logger: logger)
                applied.append(migration.version)
            }
            return .commit(applied)
        }
        if !applied.isEmpty { logger.info("ledger schema migrated", metadata: ["versions": "\(applied)", "store": "postgres"]) }
    }

    // MARK: Keys

    func createKey(_ key: APIKeyRecord) async throws {
        let logger = logger
        try await transaction { connection in
            guard try await !connection.rows(PostgresSQL.insertKey(key), logger: logger).isEmpty else {
                throw LedgerError.duplicateKey(key.id)
            }
            return .commit(())
        }
    }

    func key(hash: String) async throws -> APIKeyRecord? {
        try await read(PostgresSQL.key(hash: hash)).first.map(PostgresValues.key)
    }

    func key(id: String) async throws -> APIKeyRecord? {
        try await read(PostgresSQL.key(id: id)).first.map(PostgresValues.key)
    }

    func keys() async throws -> [APIKeyRecord] {
        try await read(PostgresSQL.allKeys).map(PostgresValues.key)
    }

    func revokeKey(id: String, at time: UnixTime) async throws -> Bool {
        let logger = logger
        return try await transaction { connection in
            .commit(try await !connection.rows(PostgresSQL.revokeKey(id: id, at: time), logger: logger).isEmpty)
        }
    }

    // MARK: Budgets

    func reserve(id: String, scopes: [BudgetScope], amount: Nanodollars, now: UnixTime) async throws -> ReservationOutcome {
        guard amount >= .zero else { throw LedgerError.negativeAmount(amount) }
        let windows = ScopeWindow.lockOrder(scopes, now: now)
        let logger = logger
        return try await transaction { connection -> TransactionEnd<ReservationOutcome> in
            let claimed = try await connection.rows(PostgresSQL.insertReservation(id: id, amount: amount, at: now), logger: logger)
            guard !claimed.isEmpty else { return .rollback(.reserved) }
            guard !windows.isEmpty else { return .commit(.reserved) }
            _ = try await connection.rows(PostgresSQL.insertReservationScopes(id: id, rows: windows.map(\.row)), logger: logger)
            // The budget rows last: their locks, which every reservation of the scope waits on,
            // are held only from here to the commit.
            for window in windows {
                let exhausted = ReservationOutcome.exhausted(scope: window.scope, resetsAt: window.resetsAt)
                guard amount <= window.scope.limit else { return .rollback(exhausted) }
                let query = PostgresSQL.reserveIfRoom(window.row, amount: amount, limit: window.scope.limit)
                guard try await !connection.rows(query, logger: logger).isEmpty else { return .rollback(exhausted) }
            }
            return .commit(.reserved)
        }
    }

    func settle(id: String, actual: Nanodollars) async throws {
        guard actual >= .zero else { throw LedgerError.negativeAmount(actual) }
        let logger = logger
        try await transaction { connection -> TransactionEnd<Void> in
            let (amount, state) = try await Self.lockReservation(id, on: connection, logger: logger)
            guard state != "settled" else { return .rollback(()) }
            let held = state == "held" ? amount : .zero
            for row in try await Self.rows(ofReservation: id, on: connection, logger: logger) {
                _ = try await connection.rows(PostgresSQL.settleBudget(row, held: held, actual: actual), logger: logger)
            }
            _ = try await connection.rows(PostgresSQL.finishReservation(id: id, state: "settled", actual: actual, at: .now), logger: logger)
            return .commit(())
        }
    }

    func release(id: String) async throws {
        let logger = logger
        try await transaction { connection -> TransactionEnd<Void> in
            let (amount, state) = try await Self.lockReservation(id, on: connection, logger: logger)
            guard state == "held" else { return .rollback(()) }
            for row in try await Self.rows(ofReservation: id, on: connection, logger: logger) {
                _ = try await connection.rows(PostgresSQL.releaseBudget(row, amount: amount), logger: logger)
            }
            _ = try await connection.rows(PostgresSQL.finishReservation(id: id, state: "released", actual: nil, at: .now), logger: logger)
            return .commit(())
        }
    }

    private static func lockReservation(_ id: String, on connection: PostgresConnection, logger: Logger) async throws -> (Nanodollars, String) {
        guard let row = try await connection.rows(PostgresSQL.lockReservation(id: id), logger: logger).first else {
            throw LedgerError.unknownReservation(id)
        }
        let (amount, state) = try row.decode((Int64, String).self)
        return (Nanodollars(amount), state)
    }

    /// The budget rows a reservation was counted in, in lock order.
    private static func rows(ofReservation id: String, on connection: PostgresConnection, logger: Logger) async throws -> [BudgetRow] {
        try await connection.rows(PostgresSQL.reservationScopes(id: id), logger: logger).map(PostgresValues.budgetRow).sorted()
    }

    func budgetState(_ scope: BudgetScope, now: UnixTime) async throws -> BudgetState {
        let window = scope.period.window(containing: now)
        let row = BudgetRow(kind: scope.kind.rawValue, id: scope.id, periodKey: window.key)
        let found = try await read(PostgresSQL.budgetRow(row)).first.map { try $0.decode((Int64, Int64).self) }
        return BudgetState(scope: scope, periodKey: window.key, spent: Nanodollars(found?.0 ?? 0),
                           reserved: Nanodollars(found?.1 ?? 0), resetsAt: window.resetsAt)
    }

    func budgetStates(_ scopes: [BudgetScope], now: UnixTime) async throws -> [BudgetState] {
        var found: [BudgetRow: (spent: Nanodollars, reserved: Nanodollars)] = [:]
        for batch in ActivityRows.rowBatches(scopes, now: now) {
            for row in try await read(PostgresSQL.budgetRows(batch)) {
                let r = row.makeRandomAccess()
                let (spent, reserved) = (try r["spent"].decode(Int64.self), try r["reserved"].decode(Int64.self))
                found[try PostgresValues.budgetRow(row)] = (Nanodollars(spent), Nanodollars(reserved))
            }
        }
        return ActivityRows.budgetStates(scopes, now: now, found: found)
    }

    // MARK: Attempts

    func record(_ attempts: [AttemptRecord]) async throws {
        try checkOpen()
        guard !attempts.isEmpty else { return }
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let job = PendingAttempts(attempts: attempts) { error in
                if let error { continuation.resume(throwing: error) } else { continuation.resume() }
            }
            if !queue.enqueue(job) { continuation.resume(throwing: LedgerError.closed) }
        }
    }

    func attempts(requestID: String) async throws -> [AttemptRecord] {
        try await read(PostgresSQL.attempts(requestID: requestID)).map(PostgresValues.attempt)
    }

    func usage(_ query: UsageQuery) async throws -> [UsageRow] {
        UsageRow.sorted(try await read(PostgresSQL.usage(query)).map { try PostgresValues.usage($0, groupBy: query.groupBy) })
    }

    func activity(_ query: ActivityQuery) async throws -> ActivityReport {
        try query.validate()
        let buckets = try await read(PostgresSQL.activityBuckets(query)).map { row in
            let r = row.makeRandomAccess()
            return ActivityBucket(start: ActivityRows.bucketStart(try r["bucket"].decode(Int64.self), query),
                                  requests: Int(try r["requests"].decode(Int64.self)), cloudRequests: Int(try r["cloud_requests"].decode(Int64.self)),
                                  spend: Nanodollars(try r["spend"].decode(Int64.self)), savings: Nanodollars(try r["savings"].decode(Int64.self)))
        }
        let escalations = try await read(PostgresSQL.activityEscalations(query)).map { row in
            let r = row.makeRandomAccess()
            return EscalationCount(reason: try r["reason"].decode(String.self), count: Int(try r["n"].decode(Int64.self)))
        }
        let latencies = try await read(PostgresSQL.activityLatencies(query)).map { row in
            let r = row.makeRandomAccess()
            return (target: try r["target"].decode(String.self), tier: try r["tier"].decode(String.self), count: Int(try r["n"].decode(Int64.self)),
                    rank: Int(try r["rn"].decode(Int64.self)), latency: Int(try r["latency_ms"].decode(Int64.self)))
        }
        let recent = query.recentRequests == 0 ? [] : try await read(PostgresSQL.activityRecent(query)).map(PostgresValues.attempt)
        return ActivityReport(buckets: buckets, escalations: ActivityRows.escalations(escalations),
                              latencies: ActivityRows.latencies(latencies), recent: ActivityRows.recent(recent))
    }

    // MARK: Recovery

    func recover(olderThan: UnixTime) async throws -> (interrupted: Int, released: Int) {
        let logger = logger
        let counts = try await transaction { connection -> TransactionEnd<[Int]> in
            let interrupted = try await connection.rows(PostgresSQL.interruptAttempts(before: olderThan), logger: logger).count
            var amounts: [String: Nanodollars] = [:]
            for row in try await connection.rows(PostgresSQL.lockStaleReservations(before: olderThan), logger: logger) {
                let (id, amount) = try row.decode((String, Int64).self)
                amounts[id] = Nanodollars(amount)
            }
            guard !amounts.isEmpty else { return .commit([interrupted, 0]) }
            let ids = Array(amounts.keys)
            var held: [BudgetRow: Nanodollars] = [:]
            for row in try await connection.rows(PostgresSQL.scopesOfReservations(ids: ids), logger: logger) {
                let id = try row.makeRandomAccess()["reservation_id"].decode(String.self)
                held[try PostgresValues.budgetRow(row), default: .zero] += amounts[id] ?? .zero
            }
            for (budget, amount) in held.sorted(by: { $0.key < $1.key }) {
                _ = try await connection.rows(PostgresSQL.releaseBudget(budget, amount: amount), logger: logger)
            }
            _ = try await connection.rows(PostgresSQL.releaseReservations(ids: ids, at: .now), logger: logger)
            return .commit([interrupted, ids.count])
        }
        if counts != [0, 0] {
            logger.warning("ledger recovered after an unclean stop",
                           metadata: ["interrupted_attempts": "\(counts[0])", "released_reservations": "\(counts[1])"])
        }
        return (interrupted: counts[0], released: counts[1])
    }

    // MARK: Closing

    /// A store released without `close()` still stops its pool (cancelling `run()` is how
    /// postgres-nio's client is shut down); attempts still queued are dropped.
    deinit {
        guard !closed.load(ordering: .relaxed) else { return }
        queue.close()
        runTask.cancel()
    }

    func close() async throws {
        guard !closed.exchange(true, ordering: .relaxed) else { return }
        queue.close()
        await recorderTask.value
        runTask.cancel()
        await runTask.value
    }
}
