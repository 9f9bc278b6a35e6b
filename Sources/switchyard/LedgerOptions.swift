import ArgumentParser
import Logging
import SwitchyardEngine
import SwitchyardLedger
import SwitchyardPolicy
import SwitchyardServer

#if canImport(Glibc)
import Glibc
#endif

/// Where the operator commands (`keys`, `usage`) find the ledger: the policy's `ledger:` section
/// and the state directory, read exactly as `serve` reads them (`LedgerOpener`), so a key made
/// here is the one the gateway checks and a report covers what the gateway recorded.
struct LedgerOptions: ParsableArguments {
    @Option(name: .long, help: "The gateway's policy file; its `ledger:` section says where the ledger is.")
    var policy: String = "policies/default.yaml"

    @Option(name: .long, help: "The gateway's state directory, where the SQLite ledger is (default: $SWITCHYARD_HOME/state).")
    var stateDir: String?

    /// Opens the ledger, runs `body`, and closes the ledger whatever happens. Every failure ends
    /// in one message on standard error and exit status 1.
    ///
    /// The ledger is opened without recovery: a gateway may be serving from it right now, and
    /// recovery would mark its attempts in flight interrupted and release its reservations.
    /// `creating`: a SQLite ledger that does not exist yet may be created (making the first keys
    /// before the first start); reports and revocations refuse a missing file instead, since it
    /// almost always means the wrong `--state-dir` or `--policy`.
    func withLedger<T>(creating: Bool = false, _ body: (any LedgerStore, _ location: String) async throws -> T) async throws -> T {
        let loaded = try loadOrExit(policy)
        let environment = ProcessEnvironment.current
        let stateDirectory = stateDir ?? EngineLocator(environment: environment).home + "/state"
        let location: String
        if let name = loaded.ledger.postgresURLEnv {
            // The URL may carry a password: name the variable, never print its value.
            location = "PostgreSQL from $\(name)"
        } else {
            let path = LedgerOpener.sqlitePath(loaded.ledger, stateDirectory: stateDirectory)
            location = "SQLite \(path)"
            if !creating, access(path, F_OK) != 0 {
                throw fail("no ledger at \(path): give the gateway's --state-dir and --policy")
            }
        }
        var logger = Logger(label: "switchyard") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = .warning
        let opened: (any LedgerStore)?
        do {
            opened = try await LedgerOpener.open(loaded.ledger, stateDirectory: stateDirectory, environment: environment,
                                                 logger: logger, recover: false)
        } catch {
            throw fail("cannot open the ledger (\(location)): \(describe(error))")
        }
        guard let ledger = opened else {
            throw fail("the policy \(policy) turns the ledger off (`ledger: {enabled: false}`): there are no keys or usage records")
        }
        do {
            let result = try await body(ledger, location)
            try? await ledger.close()
            return result
        } catch let exit as ExitCode {
            try? await ledger.close()
            throw exit
        } catch {
            try? await ledger.close()
            throw fail("ledger (\(location)): \(describe(error))")
        }
    }
}

/// Prints `switchyard: MESSAGE` on standard error; the caller throws the result (exit status 1).
func fail(_ message: String) -> ExitCode {
    printError("switchyard: \(message)")
    return ExitCode(1)
}

/// An error as an operator can act on it. PostgresNIO's errors print a placeholder by design
/// (`String(reflecting:)` has the details); the CLI is run by the operator, so it shows those,
/// without the query and the source location, which say nothing to an operator.
func describe(_ error: any Error) -> String {
    let text = String(describing: error)
    if text.contains("connectionCreationCircuitBreakerTripped") {
        // PostgresNIO's pool retried connecting for about a minute, then gave up; the cause is not kept.
        return "cannot connect to PostgreSQL (the connection pool gave up after repeated failures; is the server up and the URL's host, port and credentials right?)"
    }
    guard text.hasPrefix("PSQLError") else { return text }
    var reflected = Substring(String(reflecting: error))
    for marker in [", triggeredFromRequestInFile", ", query:"] {
        if let range = reflected.range(of: marker) { reflected = Substring(reflected[..<range.lowerBound] + ")") }
    }
    return String(reflected)
}
