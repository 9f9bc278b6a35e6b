import Logging
import PostgresNIO
import Synchronization

/// How a transaction body wants its transaction to end, and what it answers.
enum TransactionEnd<Value: Sendable>: Sendable {
    case commit(Value)
    /// Nothing to keep (a refused reservation, a settlement already made).
    case rollback(Value)
}

/// postgres-nio's pooled client, as the ledger uses it: every statement and transaction on a
/// leased connection, with a bound on the wait for that connection, transient aborts retried,
/// and errors turned into `LedgerError`s.
///
/// The bound matters when the database is down: the pool keeps trying to connect, and a lease
/// would wait for its circuit breaker (a minute) before failing. The gateway's request must not
/// hang that long, so after `leaseTimeout` without a connection the call fails with
/// `LedgerError.unavailable`, and is guaranteed not to run afterwards.
struct PostgresPool: Sendable {
    let client: PostgresClient
    let logger: Logger
    let leaseTimeout: Duration

    /// Runs `body` in a transaction. A throw rolls back; a connection that cannot even roll back
    /// is closed, so the pool never hands out one stuck in a failed transaction. Deadlocks and
    /// serialization failures (PostgreSQL aborts one side) are retried, up to three times.
    func transaction<Value: Sendable>(
        _ body: @escaping @Sendable (PostgresConnection) async throws -> TransactionEnd<Value>
    ) async throws -> Value {
        let logger = logger
        return try await retryingTransientFailures {
            try await leased { connection in
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
        }
    }

    /// One statement in its own implicit transaction, all its rows read.
    func statement(_ query: PostgresQuery) async throws -> [PostgresRow] {
        let logger = logger
        return try await retryingTransientFailures {
            try await leased { try await $0.rows(query, logger: logger) }
        }
    }

    private func retryingTransientFailures<Value>(_ body: () async throws -> Value) async throws -> Value {
        var tries = 0
        while true {
            tries += 1
            do {
                return try await body()
            } catch let error as PSQLError where tries < 4 && error.isTransient {
                logger.debug("ledger transaction retried", metadata: ["sqlstate": "\(error.serverInfo?[.sqlState] ?? "")"])
            } catch let error as PSQLError {
                throw error.ledgerError
            }
        }
    }

    /// `body` on a leased connection, if one comes within `leaseTimeout`. Cancelling a wait for a
    /// lease is the one cancellation postgres-nio honours; a body that has begun always runs to
    /// its end (a transaction is never left half-way by a timeout).
    private func leased<Value: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> Value) async throws -> Value {
        let race = LeaseRace()
        let client = client, timeout = leaseTimeout
        return try await withThrowingTaskGroup(of: LeaseRace.Arrival<Value>.self) { group in
            group.addTask {
                .value(try await client.withConnection { connection in
                    guard race.begin() else { throw LedgerError.unavailable("no database connection within \(timeout)") }
                    return try await body(connection)
                })
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return .timer
            }
            while let arrival = try await group.next() {
                switch arrival {
                case .value(let value):
                    group.cancelAll()
                    return value
                case .timer:
                    if race.expire() {
                        group.cancelAll()
                        throw LedgerError.unavailable("no database connection within \(timeout)")
                    }
                }
            }
            throw LedgerError.unavailable("no database connection")
        }
    }
}

/// Who won between a lease and its deadline: once the body begins the deadline is void, and
/// once the deadline passes the body may not begin.
private final class LeaseRace: Sendable {
    enum Arrival<Value: Sendable>: Sendable {
        case value(Value)
        case timer
    }

    private enum State { case waiting, begun, expired }
    private let state = Mutex(State.waiting)

    func begin() -> Bool {
        state.withLock { state in
            guard state == .waiting else { return false }
            state = .begun
            return true
        }
    }

    func expire() -> Bool {
        state.withLock { state in
            guard state == .waiting else { return false }
            state = .expired
            return true
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

    /// postgres-nio describes its errors generically (so that logs never carry a query's
    /// values); this keeps what an operator needs and nothing of the values. An error the server
    /// reported (SQLSTATE and its primary message) is `.database`; a connection that could not
    /// be made or broke is `.unavailable`, with its cause.
    var ledgerError: LedgerError {
        guard let info = serverInfo else {
            return .unavailable("\(code)" + (underlying.map { ": \($0)" } ?? ""))
        }
        return .database("\(info[.sqlState] ?? "?"): \(info[.message] ?? "\(code)")")
    }
}

/// Runs `body` in a task of its own and waits for it: the caller's cancellation does not reach
/// it. Accounting must finish even when the request that caused it was cancelled (a client that
/// leaves still costs what its attempt cost), and a transaction cut in the middle would only be
/// rolled back and lost.
func uncancellable<Value: Sendable>(_ body: @escaping @Sendable () async throws -> Value) async throws -> Value {
    try await Task { try await body() }.value
}
