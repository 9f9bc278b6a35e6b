import Logging
import SwitchyardLedger
import SwitchyardPolicy

#if canImport(Glibc)
import Glibc
#endif

/// Opens the ledger a policy names: PostgreSQL when `ledger.postgres_url_env` names a set
/// variable (several replicas share it), else SQLite in the state directory. Migrates it, and
/// recovers what an unclean stop left: a lone SQLite gateway everything in flight; with
/// PostgreSQL only what is older than any request can last (other replicas are serving).
/// `serve` and the operator CLI (`switchyard keys`, `switchyard usage`) both open it here, so they
/// always find the same ledger.
public enum LedgerOpener {
    /// `recover: false` is for a process that is not a gateway (the CLI): it may run beside a live
    /// gateway on the same ledger, whose attempts in flight and reservations held must not be
    /// marked interrupted and released under it (SQLite recovers everything in flight).
    public static func open(_ settings: LedgerSettings, stateDirectory: String, environment: [String: String],
                            logger: Logger, recover: Bool = true) async throws -> (any LedgerStore)? {
        guard settings.enabled else { return nil }
        let store: any LedgerStore
        let recoverBefore: UnixTime
        if let name = settings.postgresURLEnv {
            guard let url = environment[name], !url.isEmpty else {
                throw LedgerConfigurationError(message: "ledger.postgres_url_env names \(name), which is not set")
            }
            store = try await Ledger.postgres(url: url, logger: logger)
            recoverBefore = .now - .seconds(24 * 3600 + 600)
        } else {
            mkdir(stateDirectory, 0o755)
            store = try await Ledger.sqlite(path: sqlitePath(settings, stateDirectory: stateDirectory), logger: logger)
            recoverBefore = .now
        }
        do {
            try await store.migrate()
            if recover { _ = try await store.recover(olderThan: recoverBefore) }
        } catch {
            try? await store.close()
            throw error
        }
        return store
    }

    /// The SQLite file a policy's ledger is in, when it names no PostgreSQL.
    public static func sqlitePath(_ settings: LedgerSettings, stateDirectory: String) -> String {
        settings.sqlitePath ?? stateDirectory + "/ledger.sqlite"
    }
}

public struct LedgerConfigurationError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
