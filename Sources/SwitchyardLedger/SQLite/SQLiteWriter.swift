import Logging
import SQLiteNIO

/// A write waiting for the SQLite writer; `finish` is called once, after the commit (nil) or
/// with the error that failed the write.
struct SQLiteWrite: BatchJob {
    enum Work: Sendable {
        /// Attempts to upsert: those of every caller in a batch go into shared statements.
        case attempts([AttemptRecord])
        /// Anything else, run inside the shared transaction.
        case statements(@Sendable (SQLiteConnection) async throws -> Void)
    }

    let work: Work
    /// False for a record already durable in the journal: no caller waits for its commit.
    var urgent = true
    let finish: @Sendable ((any Error)?) -> Void
}

/// The one task that writes to the database, on the one write connection: SQLite allows a
/// single writer at a time anyway, and serialising here instead of in SQLite's lock means no
/// busy waits. It takes every write queued since the last commit and runs them in one
/// transaction (group commit). A batch of attempts only is one upsert statement, committed on
/// its own; otherwise the attempts of all callers go into shared upserts and the other writes
/// follow, in one transaction; should any fail, the batch runs again with each write in its own
/// savepoint, so one failing write (a duplicate key) is rolled back alone while the others
/// commit together.
struct SQLiteWriter: Sendable {
    /// Bounds a transaction's size (and the wait of the first caller in it).
    static let batchLimit = 256
    /// Rows per INSERT statement (18 values each).
    static let rowsPerStatement = 500

    let connection: SQLiteConnection
    let queue: BatchQueue<SQLiteWrite>
    let logger: Logger

    /// How long a batch of journaled records alone waits for more before its commit (nobody
    /// waits for them: they are durable already). A commit's fixed cost (the hops to the store's
    /// thread, the statement, the WAL's page writes) is then shared by every record of those
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
            await commit(batch)
        }
    }

    private func commit(_ batch: [SQLiteWrite]) async {
        if await recordAlone(batch) { return }
        if await together(batch) { return }
        await isolated(batch)
    }

    /// The common batch with other writes in it, when none of them fails: all in one transaction,
    /// the attempts in shared upserts, with no savepoints. Each statement is a round trip to the
    /// store's thread and back to a task (a reservation is five statements, its savepoint and
    /// release two more), so that saves about a third of a budgeted request's round trips. False
    /// when anything failed: it was all rolled back, and `isolated` runs the batch again with a
    /// savepoint per write, so that only the one at fault fails. (A write's result set here is
    /// set again there, so no caller is answered from the rolled-back run.)
    private func together(_ batch: [SQLiteWrite]) async -> Bool {
        do {
            try await connection.run(SQLiteSQL.begin)
            let attempts = batch.flatMap { job -> [AttemptRecord] in if case .attempts(let some) = job.work { some } else { [] } }
            if !attempts.isEmpty { try await upsert(attempts) }
            for job in batch {
                if case .statements(let body) = job.work { try await body(connection) }
            }
            try await connection.run(SQLiteSQL.commit)
        } catch {
            try? await connection.run(SQLiteSQL.rollback)
            return false
        }
        for job in batch { job.finish(nil) }
        return true
    }

    /// `batch` in one transaction, each write in its own savepoint: one that fails (a duplicate
    /// key) is rolled back alone and told so, the others commit.
    private func isolated(_ batch: [SQLiteWrite]) async {
        var finished = [Bool](repeating: false, count: batch.count)
        var succeeded: [Int] = []
        do {
            try await connection.run(SQLiteSQL.begin)
            var alone = Array(batch.indices)
            let recorders = batch.indices.filter { if case .attempts = batch[$0].work { true } else { false } }
            if recorders.count > 1 {
                // All callers' attempts at once; should that fail, each caller's alone below.
                let all = recorders.flatMap { n -> [AttemptRecord] in
                    if case .attempts(let attempts) = batch[n].work { attempts } else { [] }
                }
                if try await savepoint(batch.count, { try await upsert(all) }) == nil {
                    succeeded += recorders
                    alone.removeAll { recorders.contains($0) }
                }
            }
            for n in alone {
                let job = batch[n]
                let failure = try await savepoint(n) {
                    switch job.work {
                    case .attempts(let attempts): try await upsert(attempts)
                    case .statements(let body): try await body(connection)
                    }
                }
                if let failure {
                    finished[n] = true
                    job.finish(failure)
                } else {
                    succeeded.append(n)
                }
            }
            try await connection.run(SQLiteSQL.commit)
            for n in succeeded { batch[n].finish(nil) }
        } catch {
            // The transaction itself failed (disk full, I/O error): nothing of it was committed.
            logger.error("ledger write transaction failed", metadata: ["error": "\(error)", "writes": "\(batch.count)"])
            try? await connection.run(SQLiteSQL.rollback)
            for (n, job) in batch.enumerated() where !finished[n] { job.finish(error) }
        }
    }

    /// The common batch, attempts only (every whole answer's record, a stream's "in progress"):
    /// one upsert statement in autocommit mode, which SQLite applies atomically and makes as
    /// durable as a COMMIT. One round trip to the store's thread instead of five (BEGIN, SAVEPOINT,
    /// upsert, RELEASE, COMMIT). False when the batch is not of that kind or the statement failed:
    /// nothing of it was written, and the transaction below isolates the caller at fault.
    private func recordAlone(_ batch: [SQLiteWrite]) async -> Bool {
        var attempts: [AttemptRecord] = []
        for job in batch {
            guard case .attempts(let some) = job.work else { return false }
            attempts += some
        }
        let unique = AttemptRecord.lastOfEachID(attempts)
        guard unique.count <= Self.rowsPerStatement else { return false }
        do {
            // A batch of barriers only (`caughtUp`): nothing to write, and every earlier batch committed.
            if !unique.isEmpty { try await connection.run(SQLiteSQL.upsertAttempts(rows: unique.count), unique.flatMap(SQLiteValues.binds)) }
        } catch {
            return false
        }
        for job in batch { job.finish(nil) }
        return true
    }

    /// Runs `body` in savepoint `n`: its error, its changes rolled back; nil once it succeeded.
    /// Throws only when the savepoint machinery itself fails (the transaction is then lost).
    private func savepoint(_ n: Int, _ body: () async throws -> Void) async throws -> (any Error)? {
        try await connection.run(SQLiteSQL.savepoint(n))
        do {
            try await body()
            try await connection.run(SQLiteSQL.releaseSavepoint(n))
            return nil
        } catch {
            try await connection.run(SQLiteSQL.rollbackToSavepoint(n))
            try await connection.run(SQLiteSQL.releaseSavepoint(n))
            return error
        }
    }

    private func upsert(_ attempts: [AttemptRecord]) async throws {
        let unique = AttemptRecord.lastOfEachID(attempts)
        var start = 0
        while start < unique.count {
            let chunk = unique[start..<min(start + Self.rowsPerStatement, unique.count)]
            try await connection.run(SQLiteSQL.upsertAttempts(rows: chunk.count), chunk.flatMap(SQLiteValues.binds))
            start += chunk.count
        }
    }
}
