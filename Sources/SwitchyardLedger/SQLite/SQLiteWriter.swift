import Logging
import SQLiteNIO

/// A write waiting for the SQLite writer; `finish` is called once, after the commit (nil) or
/// with the error that failed the write.
struct SQLiteWrite: BatchJob {
    enum Work: Sendable {
        /// Attempts to upsert: those of every caller in a batch share one transaction.
        case attempts([AttemptRecord])
        /// Anything else, run inside the shared transaction, on the writer's thread.
        case statements(@Sendable (SQLiteSyncConnection) throws -> Void)
    }

    let work: Work
    /// False for a record already durable in the journal: no caller waits for its commit.
    var urgent = true
    let finish: @Sendable ((any Error)?) -> Void
}

/// The one task that writes to the database, on the one write connection: SQLite allows a
/// single writer at a time anyway, and serialising here instead of in SQLite's lock means no
/// busy waits. It takes every write queued since the last commit and runs them in one
/// transaction (group commit), in one hop to the writer's thread: the attempts of all callers
/// first, then the other writes. Should any fail, the batch runs again with each write in its
/// own savepoint, so one failing write (a duplicate key) is rolled back alone while the others
/// commit together.
struct SQLiteWriter: Sendable {
    /// Bounds a transaction's size (and the wait of the first caller in it).
    static let batchLimit = 256

    let thread: SQLiteWriteThread
    let queue: BatchQueue<SQLiteWrite>
    let logger: Logger

    /// How long a batch of journaled records alone waits for more before its commit (nobody
    /// waits for them: they are durable already). A commit's fixed cost (the hops to the writer's
    /// thread, BEGIN and COMMIT, the WAL's page writes) is then shared by every record of those
    /// milliseconds instead of by the one or two that arrived during the last commit.
    static let gathering = Duration.milliseconds(5)

    /// Until the queue is closed and drained.
    func run() async {
        while true {
            var batch = await queue.next(limit: Self.batchLimit)
            if batch.isEmpty { return }
            if batch.count < Self.batchLimit, !batch.contains(where: \.urgent) {
                await queue.linger(for: Self.gathering, enough: Self.batchLimit - batch.count)
                batch += queue.take(limit: Self.batchLimit - batch.count)
            }
            let outcomes: [(any Error)?]
            do {
                outcomes = try await thread.perform { [batch, logger] connection in
                    Self.commit(batch, on: connection, logger: logger)
                }
            } catch {
                // The writer's connection is gone (closed): nothing of the batch was written.
                outcomes = Array(repeating: error, count: batch.count)
            }
            for (job, outcome) in zip(batch, outcomes) { job.finish(outcome) }
        }
    }

    /// Each write's outcome: nil once committed, else its error.
    private static func commit(_ batch: [SQLiteWrite], on connection: SQLiteSyncConnection, logger: Logger) -> [(any Error)?] {
        if together(batch, on: connection) { return Array(repeating: nil, count: batch.count) }
        return isolated(batch, on: connection, logger: logger)
    }

    /// The common batch, when none of its writes fails: all in one transaction, with no
    /// savepoints. False when anything failed: it was all rolled back, and `isolated` runs the
    /// batch again with a savepoint per write, so that only the one at fault fails. (A write's
    /// result set here is set again there, so no caller is answered from the rolled-back run.)
    private static func together(_ batch: [SQLiteWrite], on connection: SQLiteSyncConnection) -> Bool {
        do {
            try connection.run(SQLiteSQL.begin)
            for job in batch {
                if case .attempts(let attempts) = job.work { try upsert(attempts, on: connection) }
            }
            for job in batch {
                if case .statements(let body) = job.work { try body(connection) }
            }
            try connection.run(SQLiteSQL.commit)
            return true
        } catch {
            try? connection.run(SQLiteSQL.rollback)
            return false
        }
    }

    /// `batch` in one transaction, each write in its own savepoint: one that fails (a duplicate
    /// key) is rolled back alone and told so, the others commit.
    private static func isolated(_ batch: [SQLiteWrite], on connection: SQLiteSyncConnection, logger: Logger) -> [(any Error)?] {
        var outcomes = [(any Error)?](repeating: nil, count: batch.count)
        do {
            try connection.run(SQLiteSQL.begin)
            for (n, job) in batch.enumerated() {
                outcomes[n] = try savepoint(on: connection) {
                    switch job.work {
                    case .attempts(let attempts): try upsert(attempts, on: connection)
                    case .statements(let body): try body(connection)
                    }
                }
            }
            try connection.run(SQLiteSQL.commit)
            return outcomes
        } catch {
            // The transaction itself failed (disk full, I/O error): nothing of it was committed.
            logger.error("ledger write transaction failed", metadata: ["error": "\(error)", "writes": "\(batch.count)"])
            try? connection.run(SQLiteSQL.rollback)
            return outcomes.map { $0 ?? error }
        }
    }

    /// Runs `body` in a savepoint: its error, its changes rolled back; nil once it succeeded.
    /// Throws only when the savepoint machinery itself fails (the transaction is then lost).
    private static func savepoint(on connection: SQLiteSyncConnection, _ body: () throws -> Void) throws -> (any Error)? {
        try connection.run(SQLiteSQL.savepoint)
        do {
            try body()
            try connection.run(SQLiteSQL.releaseSavepoint)
            return nil
        } catch {
            try connection.run(SQLiteSQL.rollbackToSavepoint)
            try connection.run(SQLiteSQL.releaseSavepoint)
            return error
        }
    }

    /// One prepared statement, run once per attempt in order: an attempt's start and its end in
    /// one batch apply as they would one after the other.
    private static func upsert(_ attempts: [AttemptRecord], on connection: SQLiteSyncConnection) throws {
        try connection.run(SQLiteSQL.upsertAttempt, forEach: attempts.lazy.map(SQLiteValues.binds))
    }
}
