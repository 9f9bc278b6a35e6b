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
enum LedgerOpener {
    static func open(_ settings: LedgerSettings, stateDirectory: String, environment: [String: String],
                     logger: Logger) async throws -> (any LedgerStore)? {
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
            store = try await Ledger.sqlite(path: settings.sqlitePath ?? stateDirectory + "/ledger.sqlite", logger: logger)
            recoverBefore = .now
        }
        do {
            try await store.migrate()
            _ = try await store.recover(olderThan: recoverBefore)
        } catch {
            try? await store.close()
            throw error
        }
        return store
    }
}

public struct LedgerConfigurationError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
