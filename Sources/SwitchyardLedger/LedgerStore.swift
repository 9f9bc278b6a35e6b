/// Where API keys, budgets and every upstream attempt are kept. Two implementations: SQLite (one
/// gateway, embedded, the default) and PostgreSQL (several replicas share keys, budgets and
/// records). Both batch concurrent writes into shared transactions (group commit), and every
/// write is committed when its call returns.
public protocol LedgerStore: LearningLedger, ResponseLedger {
    /// Creates or upgrades the schema to the newest migration this build knows. Idempotent, and
    /// safe when several replicas start at once (PostgreSQL: under an advisory lock; SQLite: one
    /// write transaction). Throws `LedgerError.schemaTooNew` for a database a newer build migrated.
    func migrate() async throws

    /// Throws `LedgerError.duplicateKey` if the id or the hash is taken.
    func createKey(_ key: APIKeyRecord) async throws
    /// The key whose secret hashes to `hash`, revoked or not (the caller decides what a revoked key means).
    func key(hash: String) async throws -> APIKeyRecord?
    func key(id: String) async throws -> APIKeyRecord?
    /// Every key, revoked ones included, oldest first.
    func keys() async throws -> [APIKeyRecord]
    /// False when no such key (or already revoked).
    func revokeKey(id: String, at: UnixTime) async throws -> Bool

    /// Atomically, across every replica: for each scope (in a fixed order, to avoid deadlocks), in
    /// the period containing `now`, adds `amount` to `reserved` only if spent + reserved + amount ≤
    /// limit for ALL scopes; otherwise changes nothing and says which scope is exhausted (the first
    /// in that order). The reservation is remembered under `id`, with the periods it was counted in,
    /// for `settle`, `release` and `recover`. Reserving again under an id already used changes
    /// nothing and answers `.reserved` (a retried call). No scopes: nothing to meter, `.reserved`.
    func reserve(id: String, scopes: [BudgetScope], amount: Nanodollars, now: UnixTime) async throws -> ReservationOutcome

    /// Moves the reservation to `spent` at `actual`, in the periods it was reserved in. `actual` may
    /// exceed the reservation when an upstream overran it (more tokens than estimated): spent then
    /// exceeds the limit by that overrun only, since new reservations are refused once the limit
    /// is reached. Idempotent: settling twice counts once. Settling a reservation that `release`
    /// or `recover` dropped still counts `actual` as spent (the money was spent all the same).
    /// Throws `LedgerError.unknownReservation` for an id never reserved.
    func settle(id: String, actual: Nanodollars) async throws

    /// Drops a reservation (the attempt failed before costing anything). Idempotent; a settled
    /// reservation stays settled. Throws `LedgerError.unknownReservation` for an id never reserved.
    func release(id: String) async throws

    /// A budget in the period containing `now` (zeros for a period nothing was reserved in yet).
    func budgetState(_ scope: BudgetScope, now: UnixTime) async throws -> BudgetState
    /// Several budgets at once, in the order given (one statement, for the dashboard's list).
    func budgetStates(_ scopes: [BudgetScope], now: UnixTime) async throws -> [BudgetState]

    /// Stores attempts: durable when it returns. SQLite: appended to the database's journal of
    /// records (one `write`) and committed shortly after by the writer, or committed before it
    /// returns when another ledger owns that journal; either survives the process being killed
    /// (both are in the OS's page cache; replay at the next open commits a journal's leftovers),
    /// but a power loss or kernel crash may lose the last records, as WAL with
    /// `synchronous=NORMAL` may lose the last transactions (never corrupting the database). This
    /// process's reads of attempts (`attempts`, `usage`, `activity`) wait for what it recorded.
    /// PostgreSQL: committed with the server's own durability (`synchronous_commit`). Upserts by
    /// `id`: recording an attempt again (in_progress → final) replaces it, never duplicates; a
    /// late `in_progress` never replaces an attempt that has ended (or was found interrupted).
    func record(_ attempts: [AttemptRecord]) async throws
    /// A request's attempts, in the order they started.
    func attempts(requestID: String) async throws -> [AttemptRecord]
    func usage(_ query: UsageQuery) async throws -> [UsageRow]
    /// A time window's timeline, escalations, latencies and recent requests. Throws
    /// `LedgerError.invalidQuery` for a query `ActivityQuery.validate` refuses.
    func activity(_ query: ActivityQuery) async throws -> ActivityReport

    /// At start-up: attempts still `in_progress` that started before `olderThan` become
    /// `interrupted`, and reservations still held that were made before `olderThan` are released
    /// (the replica holding them died). With several replicas on one database, pass a time older
    /// than any request can last (others' attempts under way must not be touched); a lone SQLite
    /// gateway may pass now. Returns the counts.
    func recover(olderThan: UnixTime) async throws -> (interrupted: Int, released: Int)

    /// Why the store cannot be used now, known without a query (SQLite: its files were deleted
    /// or replaced while it was open; every call then throws `LedgerError.lost`); nil when
    /// nothing is known to be wrong. For readiness checks.
    var problem: String? { get }

    /// Waits for writes under way, then closes connections. Calls after this throw
    /// `LedgerError.closed`. Call it before letting the store go: a store released without it
    /// drops the writes still queued.
    func close() async throws
}

extension LedgerStore {
    public var problem: String? { nil }
}
