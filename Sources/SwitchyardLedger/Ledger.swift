import Logging

/// Opens a ledger. Call `migrate()` before anything else, and `close()` at shutdown.
public enum Ledger {
    /// The embedded store: a SQLite database at `path` (created if missing; its directory must
    /// exist), in WAL mode. For one gateway; several processes must not share the file.
    public static func sqlite(path: String, logger: Logger) async throws -> any LedgerStore {
        try await SQLiteLedger.open(path: path, logger: logger)
    }

    /// The shared store, from a URL like `postgres://USER:PASSWORD@HOST:5432/DATABASE?sslmode=require`.
    /// Opens a pool of at most `maxConnections` connections and checks the database answers.
    public static func postgres(url: String, maxConnections: Int = 4, logger: Logger) async throws -> any LedgerStore {
        try await PostgresLedger.open(endpoint: PostgresEndpoint(url: url), maxConnections: maxConnections, logger: logger)
    }

    /// The shared store, from its parts.
    public static func postgres(host: String, port: Int = 5432, username: String, password: String? = nil,
                                database: String, sslMode: PostgresSSLMode = .prefer, maxConnections: Int = 4,
                                logger: Logger) async throws -> any LedgerStore {
        let endpoint = PostgresEndpoint(host: host, port: port, username: username, password: password,
                                        database: database, sslMode: sslMode)
        return try await PostgresLedger.open(endpoint: endpoint, maxConnections: maxConnections, logger: logger)
    }
}
