import Logging
import PostgresNIO

/// Attempts a caller is waiting to see committed.
struct PendingAttempts: BatchJob {
    let attempts: [AttemptRecord]
    let finish: @Sendable ((any Error)?) -> Void
}

/// Group commit of `record` for PostgreSQL: a task takes every attempt queued since its last
/// commit and writes them with one upsert (one round trip and one WAL flush for all). Two such
/// tasks run, so one batch is built and sent while the other waits for its flush; the pool's
/// other connections serve reservations and reads. (Two batches never hold the same attempt
/// from one caller: a caller's next write of an attempt waits for its previous one.) If the server refuses a
/// shared batch, each caller's attempts are tried alone, so one bad record fails only its caller.
struct PostgresRecorder: Sendable {
    static let batchLimit = 256
    static let concurrentBatches = 2
    /// Rows per statement: 18 binds each, well under PostgreSQL's 65 535.
    static let rowsPerStatement = 1000

    let pool: PostgresPool
    let queue: BatchQueue<PendingAttempts>
    var logger: Logger { pool.logger }

    func run() async {
        while true {
            let batch = await queue.next(limit: Self.batchLimit)
            if batch.isEmpty { return }
            do {
                try await write(batch.flatMap(\.attempts))
                for job in batch { job.finish(nil) }
            } catch {
                // Only a statement the server refused may be one caller's fault; an unreachable
                // database fails every caller alike, and trying each alone would only multiply the wait.
                guard batch.count > 1, case LedgerError.database = error else {
                    for job in batch { job.finish(error) }
                    continue
                }
                logger.warning("ledger batch failed; recording its callers one by one", metadata: ["error": "\(error)"])
                for job in batch {
                    do {
                        try await write(job.attempts)
                        job.finish(nil)
                    } catch {
                        job.finish(error)
                    }
                }
            }
        }
    }

    private func write(_ attempts: [AttemptRecord]) async throws {
        let unique = AttemptRecord.lastOfEachID(attempts)
        guard !unique.isEmpty else { return }
        if unique.count <= Self.rowsPerStatement {
            _ = try await pool.statement(PostgresSQL.upsertAttempts(unique))
            return
        }
        let logger = logger
        try await pool.transaction { connection in
            var start = 0
            while start < unique.count {
                let chunk = unique[start..<min(start + Self.rowsPerStatement, unique.count)]
                _ = try await connection.rows(PostgresSQL.upsertAttempts(chunk), logger: logger)
                start += chunk.count
            }
            return .commit(())
        }
    }
}
