import Logging

/// Opens a ledger. Call `migrate()` before anything else, and `close()` at shutdown.
public enum Ledger {
    /// The embedded store: a SQLite database at `path` (created if missing; its directory must
    /// exist), in WAL mode. Meant for one gateway: other processes may open the same file (SQLite
    /// serialises their writes, tests do it), but replicas that share budgets belong on PostgreSQL.
    public static func sqlite(path: String, logger: Logger) async throws -> any LedgerStore {
        try await SQLiteLedger.open(path: path, logger: logger)
    }

    /// The shared store, from a URL like `postgres://USER:PASSWORD@HOST:5432/DATABASE?sslmode=require`.
    /// Checks that the database answers, throwing `LedgerError.database` with the server's reason
    /// (wrong password, no such database) or `LedgerError.unavailable` (nothing listening), then
    /// opens a pool of at most `maxConnections` connections. `timeout` bounds a connection attempt
    /// and any call's wait for a connection: past it, a call throws `LedgerError.unavailable`
    /// having done nothing.
    public static func postgres(url: String, maxConnections: Int = 4, timeout: Duration = .seconds(5),
                                logger: Logger) async throws -> any LedgerStore {
        try await PostgresLedger.open(endpoint: PostgresEndpoint(url: url), maxConnections: maxConnections, timeout: timeout, logger: logger)
    }

    /// The shared store, from its parts.
    public static func postgres(host: String, port: Int = 5432, username: String, password: String? = nil,
                                database: String, sslMode: PostgresSSLMode = .prefer, maxConnections: Int = 4,
                                timeout: Duration = .seconds(5), logger: Logger) async throws -> any LedgerStore {
        let endpoint = PostgresEndpoint(host: host, port: port, username: username, password: password,
                                        database: database, sslMode: sslMode)
        return try await PostgresLedger.open(endpoint: endpoint, maxConnections: maxConnections, timeout: timeout, logger: logger)
    }
}
