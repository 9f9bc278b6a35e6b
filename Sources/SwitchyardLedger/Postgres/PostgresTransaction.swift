import Logging
import PostgresNIO

/// How a transaction body wants its transaction to end, and what it answers.
enum TransactionEnd<Value: Sendable>: Sendable {
    case commit(Value)
    /// Nothing to keep (a refused reservation, a settlement already made).
    case rollback(Value)
}

extension PostgresClient {
    /// Runs `body` in a transaction on one pooled connection. A throw rolls back; a connection
    /// that cannot even roll back is closed, so the pool never hands out one stuck in a failed
    /// transaction. Deadlocks and serialization failures (which PostgreSQL resolves by aborting
    /// one side) are retried, up to three times.
    func ledgerTransaction<Value: Sendable>(
        logger: Logger, _ body: (PostgresConnection) async throws -> TransactionEnd<Value>
    ) async throws -> Value {
        var tries = 0
        while true {
            tries += 1
            do {
                return try await withConnection { connection in
                    try await connection.query(PostgresSQL.begin, logger: logger)
                    do {
                        switch try await body(connection) {
                        case .commit(let value):
                            try await connection.query(PostgresSQL.commit, logger: logger)
                            return value
                        case .rollback(let value):
                            try await connection.query(PostgresSQL.rollback, logger: logger)
                            return value
                        }
                    } catch {
                        do {
                            try await connection.query(PostgresSQL.rollback, logger: logger)
                        } catch {
                            try? await connection.close()
                        }
                        throw error
                    }
                }
            } catch let error as PSQLError where tries < 4 && error.isTransient {
                logger.debug("ledger transaction retried", metadata: ["sqlstate": "\(error.serverInfo?[.sqlState] ?? "")"])
            }
        }
    }

    /// One statement in its own implicit transaction, all its rows read; transient failures retried.
    func ledgerQuery(_ query: PostgresQuery, logger: Logger) async throws -> [PostgresRow] {
        var tries = 0
        while true {
            tries += 1
            do {
                return try await self.query(query, logger: logger).collect()
            } catch let error as PSQLError where tries < 4 && error.isTransient {
                logger.debug("ledger statement retried", metadata: ["sqlstate": "\(error.serverInfo?[.sqlState] ?? "")"])
            }
        }
    }
}

extension PostgresConnection {
    func rows(_ query: PostgresQuery, logger: Logger) async throws -> [PostgresRow] {
        try await self.query(query, logger: logger).collect()
    }
}

extension PSQLError {
    /// A deadlock or a serialization failure: the transaction was aborted and may simply run again.
    var isTransient: Bool {
        guard let state = serverInfo?[.sqlState] else { return false }
        return state == "40P01" || state == "40001"
    }
}

/// Runs `body` in a task of its own and waits for it: the caller's cancellation does not reach
/// it. Accounting must finish even when the request that caused it was cancelled (a client that
/// leaves still costs what its attempt cost), and a transaction cut in the middle would only be
/// rolled back and lost.
func uncancellable<Value: Sendable>(_ body: @escaping @Sendable () async throws -> Value) async throws -> Value {
    try await Task { try await body() }.value
}
