/// What the ledger refuses, apart from the database's own errors (which pass through).
public enum LedgerError: Error, Sendable, Equatable, CustomStringConvertible {
    /// `settle` or `release` of an id `reserve` never recorded.
    case unknownReservation(String)
    /// An amount below zero.
    case negativeAmount(Nanodollars)
    /// A key with this id or hash exists.
    case duplicateKey(String)
    /// The database was migrated by a newer build (its version, the newest this build knows).
    case schemaTooNew(found: Int, known: Int)
    /// A PostgreSQL URL this module cannot use.
    case invalidURL(String)
    /// The store was closed.
    case closed
    /// The store's files were deleted or replaced while it was open (SQLite): what it would write
    /// would be lost, and what it reads is no longer the ledger on disk. It refuses every call.
    case lost(String)
    /// A value in the database this build cannot read (the column named).
    case unreadable(String)
    /// The database refused a statement: PostgreSQL's SQLSTATE, or the SQLite writer's result
    /// code, and a one-line message (never the query's values). SQLite's reads pass sqlite-nio's
    /// `SQLiteError` through, which says as much.
    case database(String)
    /// PostgreSQL could not be reached: no connection within the store's timeout (the call did
    /// nothing), or the connection broke during the call (it may or may not have committed;
    /// every write is keyed by an id, so calling again is safe). The gateway decides whether to
    /// serve without the ledger.
    case unavailable(String)
    /// The SQLite ledger's journal of records (`DATABASE-records`) could not be opened, read or
    /// appended to (the reason): a record that cannot be appended is not durable, and says so.
    case journal(String)
    /// A question whose answer would not be bounded (`ActivityQuery.validate`).
    case invalidQuery(String)

    public var description: String {
        switch self {
        case .unknownReservation(let id): "no reservation \(id)"
        case .negativeAmount(let amount): "negative amount \(amount)"
        case .duplicateKey(let id): "a key with this id or secret exists: \(id)"
        case .schemaTooNew(let found, let known):
            "the ledger's schema is at version \(found), newer than this build knows (\(known)): upgrade the gateway"
        case .invalidURL(let why): "invalid PostgreSQL URL: \(why)"
        case .closed: "the ledger is closed"
        case .lost(let why): "the ledger is lost: \(why); restore it and restart the gateway"
        case .unreadable(let column): "unreadable value in the ledger's column \(column)"
        case .database(let why): "ledger database error: \(why)"
        case .unavailable(let why): "ledger database unavailable: \(why)"
        case .journal(let why): "ledger journal error: \(why)"
        case .invalidQuery(let why): "invalid ledger query: \(why)"
        }
    }
}
