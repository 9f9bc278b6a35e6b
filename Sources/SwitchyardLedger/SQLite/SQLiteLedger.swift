import Logging
import NIOCore
import NIOPosix
import SQLiteNIO
import Synchronization

/// The embedded ledger: one SQLite file in WAL mode, for a gateway alone on its box.
///
/// All writes go through one connection and one task (`SQLiteWriter`), batched into shared
/// transactions run synchronously on the writer's thread; reads use sqlite-nio's connections
/// beside it (WAL lets them run during a write and see every committed one). libsqlite3 calls
/// block, so both run on threads of the store's own, never on Swift's concurrency pool or the
/// server's event loops.
///
/// Attempt records, one or two per request, do not wait for that: the ledger that owns the
/// database's journal (`RecordJournal`) makes each durable with one append on the caller's
/// thread and hands it to the writer without waiting for the commit. Reads of attempts first
/// wait for the records appended before them, so this process reads its own writes.
final class SQLiteLedger: LedgerStore {
    private let writer: SQLiteWriteThread
    private let readers: [SQLiteConnection]
    private let nextReader = Atomic<Int>(0)
    private let queue: BatchQueue<SQLiteWrite>
    private let writerTask: Task<Void, Never>
    private let threadPool: NIOThreadPool
    private let logger: Logger
    private let closed = Atomic<Bool>(false)
    /// Checked before every call: a ledger whose files are gone refuses to pretend.
    private let files: SQLiteFiles
    /// Nil when another ledger owns the journal: records are then committed before `record` returns.
    private let journal: RecordJournal?

    /// Journaled records not yet committed past which `record` waits for the writer: bounds the
    /// memory of the queue (about a kilobyte a record) when SQLite cannot keep up.
    static let journalBacklog = 4096

    private init(writer: SQLiteWriteThread, readers: [SQLiteConnection], threadPool: NIOThreadPool, files: SQLiteFiles,
                 journal: RecordJournal?, logger: Logger) {
        self.writer = writer
        self.files = files
        self.journal = journal
        self.readers = readers
        self.threadPool = threadPool
        self.logger = logger
        let queue = BatchQueue<SQLiteWrite>()
        self.queue = queue
        let loop = SQLiteWriter(thread: writer, queue: queue, logger: logger)
        writerTask = Task { await loop.run() }
    }

    /// Opens (creating if needed) the database at `path`: one writer and `readerCount` readers.
    static func open(path: String, readerCount: Int = 2, logger: Logger) async throws -> SQLiteLedger {
        // The writer first: it sets WAL, a property of the file, which readers then share.
        let writer = try await SQLiteWriteThread.open(path: path, pragmas: SQLiteSQL.connectionPragmas + SQLiteSQL.writerPragmas)
        let mode = try await writer.perform { try $0.execute(SQLiteSQL.journalMode).first?.values.first?.string }
        if mode != "wal" {
            logger.warning("ledger database is not in WAL mode; readers will wait for writes",
                           metadata: ["path": "\(path)", "journal_mode": "\(mode ?? "unknown")"])
        }
        let threadPool = NIOThreadPool(numberOfThreads: readerCount)
        threadPool.start()
        let eventLoop = MultiThreadedEventLoopGroup.singleton.any()
        var readers: [SQLiteConnection] = []
        let journal: RecordJournal?
        do {
            for _ in 0..<readerCount {
                let connection = try await SQLiteConnection.open(storage: .file(path: path), threadPool: threadPool,
                                                                 logger: logger, on: eventLoop)
                readers.append(connection)
                for pragma in SQLiteSQL.connectionPragmas + SQLiteSQL.readerPragmas { try await connection.run(pragma) }
            }
            journal = try RecordJournal.claim(database: path)
        } catch {
            for connection in readers { try? await connection.close().get() }
            try? await threadPool.shutdownGracefully()
            try? await writer.close()
            throw error
        }
        if journal == nil {
            logger.notice("another ledger owns this database's journal; records are committed before each request ends",
                          metadata: ["path": "\(path)"])
        }
        return SQLiteLedger(writer: writer, readers: readers, threadPool: threadPool,
                            files: SQLiteFiles(path: path), journal: journal, logger: logger)
    }

    // MARK: Plumbing

    /// Runs `body` in the writer's next transaction; returns once that transaction committed.
    /// The caller's cancellation does not reach it: an attempt ended by a client leaving must
    /// still be recorded and settled.
    func write<T: Sendable>(_ body: @escaping @Sendable (SQLiteSyncConnection) throws -> T) async throws -> T {
        let slot = ResultSlot<T>()
        try await enqueue(.statements { slot.set(try body($0)) })
        guard let value = slot.take() else { throw LedgerError.closed }
        return value
    }

    private func enqueue(_ work: SQLiteWrite.Work) async throws {
        try checkUsable()
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let job = SQLiteWrite(work: work) { error in
                if let error { continuation.resume(throwing: error) } else { continuation.resume() }
            }
            if !queue.enqueue(job) { continuation.resume(throwing: LedgerError.closed) }
        }
    }

    /// Before every call: a closed ledger, or one whose files are gone, refuses it.
    private func checkUsable() throws {
        guard !closed.load(ordering: .relaxed) else { throw LedgerError.closed }
        if let problem = files.problem { throw LedgerError.lost(problem) }
    }

    /// Returns once every record journaled before the call is committed (at once when none is
    /// waiting): for the reads of attempts, which must see what this process recorded.
    private func caughtUp() async throws {
        guard let journal, journal.backlog > 0 else { return }
        // A write with nothing to write: the writer commits in order, so once it is done, so is
        // everything queued before it.
        try await enqueue(.attempts([]))
    }

    func read<T>(_ body: (SQLiteConnection) async throws -> T) async throws -> T {
        try checkUsable()
        let n = nextReader.wrappingAdd(1, ordering: .relaxed).oldValue
        return try await body(readers[(n % readers.count + readers.count) % readers.count])
    }

    var problem: String? { files.problem }

    // MARK: Schema

    func migrate() async throws {
        let applied = try await write { connection -> [Int] in
            try connection.run(SQLiteSQL.createMigrations)
            let current = try connection.rows(SQLiteSQL.schemaVersion).first
                .map { try SQLiteValues.Reader(row: $0).integer("version") } ?? 0
            let known = SQLiteSQL.migrations.last?.version ?? 0
            guard current <= known else { throw LedgerError.schemaTooNew(found: Int(current), known: known) }
            var applied: [Int] = []
            for migration in SQLiteSQL.migrations where migration.version > current {
                for statement in migration.statements { try connection.execute(statement) }
                try connection.run(SQLiteSQL.recordMigration, [.integer(migration.version), .integer(Int(UnixTime.now.milliseconds))])
                applied.append(migration.version)
            }
            return applied
        }
        if !applied.isEmpty { logger.info("ledger schema migrated", metadata: ["versions": "\(applied)", "store": "sqlite"]) }
        try await replayJournal()
    }

    /// Commits what the journal's previous owner appended and did not commit before it died, then
    /// empties the journal. Records already committed are written again, harmlessly: recording
    /// is an upsert by id, and a late `in_progress` never replaces an ended attempt.
    private func replayJournal() async throws {
        guard let journal else { return }
        var replayed = 0
        let intact = try await journal.replay { records in
            try await enqueue(.attempts(records))
            replayed += records.count
        }
        if !intact {
            logger.warning("the ledger's journal ends in a torn or damaged record, dropped (a power loss can leave one)",
                           metadata: ["path": "\(journal.path)", "replayed": "\(replayed)"])
        } else if replayed > 0 {
            logger.notice("ledger records replayed from the journal after an unclean stop",
                          metadata: ["path": "\(journal.path)", "replayed": "\(replayed)"])
        }
        try journal.discardLeftOver()
    }

    // MARK: Keys

    func createKey(_ key: APIKeyRecord) async throws {
        let binds = SQLiteValues.binds(key)
        try await write { connection in
            guard try !connection.rows(SQLiteSQL.insertKey, binds).isEmpty else { throw LedgerError.duplicateKey(key.id) }
        }
    }

    func key(hash: String) async throws -> APIKeyRecord? {
        try await read { try await $0.rows(SQLiteSQL.keyByHash, [.text(hash)]).first.map(SQLiteValues.key) }
    }

    func key(id: String) async throws -> APIKeyRecord? {
        try await read { try await $0.rows(SQLiteSQL.keyByID, [.text(id)]).first.map(SQLiteValues.key) }
    }

    func keys() async throws -> [APIKeyRecord] {
        try await read { try await $0.rows(SQLiteSQL.allKeys).map(SQLiteValues.key) }
    }

    func revokeKey(id: String, at time: UnixTime) async throws -> Bool {
        try await write { connection in
            try !connection.rows(SQLiteSQL.revokeKey, [.integer(Int(time.milliseconds)), .text(id)]).isEmpty
        }
    }

    // MARK: Budgets

    func reserve(id: String, scopes: [BudgetScope], amount: Nanodollars, now: UnixTime) async throws -> ReservationOutcome {
        guard amount >= .zero else { throw LedgerError.negativeAmount(amount) }
        let windows = ScopeWindow.lockOrder(scopes, now: now)
        return try await write { connection -> ReservationOutcome in
            guard try connection.rows(SQLiteSQL.reservation, [.text(id)]).isEmpty else { return .reserved }
            for window in windows {
                let row = try connection.rows(SQLiteSQL.budgetRow, window.row.sqlite).first.map(SQLiteValues.Reader.init)
                let spent = Nanodollars(try row?.integer("spent") ?? 0)
                let reserved = Nanodollars(try row?.integer("reserved") ?? 0)
                if spent + reserved + amount > window.scope.limit {
                    return .exhausted(scope: window.scope, resetsAt: window.resetsAt)
                }
            }
            for window in windows {
                try connection.run(SQLiteSQL.addReserved, window.row.sqlite + [.integer(Int(amount.value))])
            }
            try connection.run(SQLiteSQL.insertReservation, [.text(id), .integer(Int(amount.value)), .integer(Int(now.milliseconds))])
            for window in windows {
                try connection.run(SQLiteSQL.insertReservationScope, [.text(id)] + window.row.sqlite)
            }
            return .reserved
        }
    }

    func settle(id: String, actual: Nanodollars) async throws {
        guard actual >= .zero else { throw LedgerError.negativeAmount(actual) }
        let finishedAt = UnixTime.now
        try await write { connection in
            let (amount, state) = try Self.reservation(id, on: connection)
            guard state != "settled" else { return }
            let held = state == "held" ? amount : .zero
            for row in try Self.rows(ofReservation: id, on: connection) {
                try connection.run(SQLiteSQL.settleBudget, [.integer(Int(held.value)), .integer(Int(actual.value))] + row.sqlite)
            }
            try connection.run(SQLiteSQL.finishReservation, [.text("settled"), .integer(Int(actual.value)),
                                                                   .integer(Int(finishedAt.milliseconds)), .text(id)])
        }
    }

    func release(id: String) async throws {
        let finishedAt = UnixTime.now
        try await write { connection in
            let (amount, state) = try Self.reservation(id, on: connection)
            guard state == "held" else { return }
            for row in try Self.rows(ofReservation: id, on: connection) {
                try connection.run(SQLiteSQL.releaseBudget, [.integer(Int(amount.value))] + row.sqlite)
            }
            try connection.run(SQLiteSQL.finishReservation, [.text("released"), .null, .integer(Int(finishedAt.milliseconds)), .text(id)])
        }
    }

    private static func reservation(_ id: String, on connection: SQLiteSyncConnection) throws -> (Nanodollars, String) {
        guard let row = try connection.rows(SQLiteSQL.reservation, [.text(id)]).first else {
            throw LedgerError.unknownReservation(id)
        }
        let reader = SQLiteValues.Reader(row: row)
        return (Nanodollars(try reader.integer("amount")), try reader.text("state"))
    }

    /// The budget rows a reservation was counted in, in lock order.
    private static func rows(ofReservation id: String, on connection: SQLiteSyncConnection) throws -> [BudgetRow] {
        try connection.rows(SQLiteSQL.reservationScopes, [.text(id)]).map { row in
            let reader = SQLiteValues.Reader(row: row)
            return BudgetRow(kind: try reader.text("scope_kind"), id: try reader.text("scope_id"), periodKey: try reader.text("period_key"))
        }.sorted()
    }

    func budgetState(_ scope: BudgetScope, now: UnixTime) async throws -> BudgetState {
        let window = scope.period.window(containing: now)
        let row = BudgetRow(kind: scope.kind.rawValue, id: scope.id, periodKey: window.key)
        return try await read { connection in
            let found = try await connection.rows(SQLiteSQL.budgetRow, row.sqlite).first.map(SQLiteValues.Reader.init)
            return BudgetState(scope: scope, periodKey: window.key, spent: Nanodollars(try found?.integer("spent") ?? 0),
                               reserved: Nanodollars(try found?.integer("reserved") ?? 0), resetsAt: window.resetsAt)
        }
    }

    func budgetStates(_ scopes: [BudgetScope], now: UnixTime) async throws -> [BudgetState] {
        var found: [BudgetRow: (spent: Nanodollars, reserved: Nanodollars)] = [:]
        for batch in ActivityRows.rowBatches(scopes, now: now) {
            let rows = try await read { try await $0.rows(SQLiteSQL.budgetRows(count: batch.count), batch.flatMap(\.sqlite)) }
            for row in rows {
                let r = SQLiteValues.Reader(row: row)
                found[BudgetRow(kind: try r.text("scope_kind"), id: try r.text("scope_id"), periodKey: try r.text("period_key"))] =
                    (Nanodollars(try r.integer("spent")), Nanodollars(try r.integer("reserved")))
            }
        }
        return ActivityRows.budgetStates(scopes, now: now, found: found)
    }

    // MARK: Attempts

    func record(_ attempts: [AttemptRecord]) async throws {
        guard !attempts.isEmpty else { return }
        guard let journal else { return try await enqueue(.attempts(attempts)) }
        try checkUsable()
        let backlog = try journal.append(JournalCoding.frames(attempts))
        // Durable from here on. Should the queue have closed since, the journal keeps the record
        // for the next start (`close` empties it only when everything appended was committed).
        let logger = logger
        _ = queue.enqueue(SQLiteWrite(work: .attempts(attempts), urgent: false) { error in
            journal.settled(failed: error != nil)
            if let error {
                logger.error("journaled ledger records not committed; the next start replays them",
                             metadata: ["error": "\(error)", "attempts": "\(attempts.count)"])
            }
        })
        if backlog > Self.journalBacklog { try await caughtUp() }
    }

    func attempts(requestID: String) async throws -> [AttemptRecord] {
        try await caughtUp()
        return try await read { try await $0.rows(SQLiteSQL.attemptsOfRequest, [.text(requestID)]).map(SQLiteValues.attempt) }
    }

    func usage(_ query: UsageQuery) async throws -> [UsageRow] {
        var binds: [SQLiteData] = []
        if let keyID = query.keyID { binds.append(.text(keyID)) }
        if let since = query.since { binds.append(.integer(Int(since.milliseconds))) }
        if let until = query.until { binds.append(.integer(Int(until.milliseconds))) }
        try await caughtUp()
        let rows = try await read { try await $0.rows(SQLiteSQL.usage(query), binds) }
        return UsageRow.sorted(try rows.map { try SQLiteValues.usage($0, groupBy: query.groupBy) })
    }

    func activity(_ query: ActivityQuery) async throws -> ActivityReport {
        try query.validate()
        let (filter, binds) = SQLiteSQL.activityFilter(query)
        let width = Int(query.bucket.wholeMilliseconds)
        try await caughtUp()
        return try await read { connection in
            let buckets = try await connection.rows(SQLiteSQL.activityBuckets(filter: filter),
                                                    [.integer(Int(query.since.milliseconds)), .integer(width)] + binds).map { row in
                let r = SQLiteValues.Reader(row: row)
                return ActivityBucket(start: ActivityRows.bucketStart(try r.integer("bucket"), query), requests: Int(try r.integer("requests")),
                                      cloudRequests: Int(try r.integer("cloud_requests")), spend: Nanodollars(try r.integer("spend")),
                                      savings: Nanodollars(try r.integer("savings")))
            }
            let escalations = try await connection.rows(SQLiteSQL.activityEscalations(filter: filter), binds).map { row in
                let r = SQLiteValues.Reader(row: row)
                return EscalationCount(reason: try r.text("reason"), count: Int(try r.integer("n")))
            }
            let latencies = try await connection.rows(SQLiteSQL.activityLatencies(filter: filter), binds).map { row in
                let r = SQLiteValues.Reader(row: row)
                return (target: try r.text("target"), tier: try r.text("tier"), count: Int(try r.integer("n")),
                        rank: Int(try r.integer("rn")), latency: Int(try r.integer("latency_ms")))
            }
            let rows = SQLiteData.integer(query.recentRequests * ActivityQuery.maxAttemptsPerRequest)
            let recent = query.recentRequests == 0 ? [] : try await connection.rows(
                SQLiteSQL.activityRecent(filter: filter), binds + [rows, .integer(query.recentRequests)] + binds + [rows]
            ).map(SQLiteValues.attempt)
            return ActivityReport(buckets: buckets, escalations: ActivityRows.escalations(escalations),
                                  latencies: ActivityRows.latencies(latencies), recent: ActivityRows.recent(recent))
        }
    }

    // MARK: Recovery

    func recover(olderThan: UnixTime) async throws -> (interrupted: Int, released: Int) {
        let finishedAt = UnixTime.now
        let counts = try await write { connection -> (Int, Int) in
            let interrupted = try connection.rows(SQLiteSQL.interruptAttempts, [.integer(Int(olderThan.milliseconds))]).count
            var stale = Set<String>()
            var held: [BudgetRow: Nanodollars] = [:]
            for row in try connection.rows(SQLiteSQL.staleReservations, [.integer(Int(olderThan.milliseconds))]) {
                let r = SQLiteValues.Reader(row: row)
                stale.insert(try r.text("id"))
                if let kind = try r.optionalText("scope_kind") {
                    let budget = BudgetRow(kind: kind, id: try r.text("scope_id"), periodKey: try r.text("period_key"))
                    held[budget, default: .zero] += Nanodollars(try r.integer("amount"))
                }
            }
            for (budget, amount) in held.sorted(by: { $0.key < $1.key }) {
                try connection.run(SQLiteSQL.releaseBudget, [.integer(Int(amount.value))] + budget.sqlite)
            }
            for id in stale {
                try connection.run(SQLiteSQL.finishReservation, [.text("released"), .null, .integer(Int(finishedAt.milliseconds)), .text(id)])
            }
            return (interrupted, stale.count)
        }
        if counts != (0, 0) {
            logger.warning("ledger recovered after an unclean stop",
                           metadata: ["interrupted_attempts": "\(counts.0)", "released_reservations": "\(counts.1)"])
        }
        return (interrupted: counts.0, released: counts.1)
    }

    // MARK: Closing

    /// A store released without `close()` still closes its connections (sqlite-nio asserts that
    /// every connection is closed) and then stops its threads; writes still queued are dropped.
    /// (The writer's connection closes once its task, which the closed queue ends, lets it go.)
    deinit {
        guard !closed.load(ordering: .relaxed) else { return }
        queue.close()
        let threadPool = threadPool
        let closing = readers.map { $0.close() }
        EventLoopFuture.andAllComplete(closing, on: MultiThreadedEventLoopGroup.singleton.any()).whenComplete { _ in
            threadPool.shutdownGracefully { _ in }
        }
    }

    func close() async throws {
        guard !closed.exchange(true, ordering: .relaxed) else { return }
        queue.close()
        await writerTask.value
        journal?.close()
        var firstError: (any Error)?
        do { try await writer.close() } catch { firstError = error }
        for connection in readers {
            // The future form: the async one is skipped in a cancelled task (NIOThreadPool's
            // `runIfActive` honours cancellation), which would leave the file open and trip
            // sqlite-nio's assertion; a ledger is closed at shutdown, often from a cancelled task.
            do { try await connection.close().get() } catch { firstError = firstError ?? error }
        }
        try await threadPool.shutdownGracefully()
        if let firstError { throw firstError }
    }
}

extension BudgetRow {
    /// (scope_kind, scope_id, period_key) binds.
    var sqlite: [SQLiteData] { [.text(kind), .text(id), .text(periodKey)] }
}
