/// The attempts table's columns, and how an upsert of an attempt settles a conflict: the same SQL
/// text in SQLite and PostgreSQL, so that the rule a record relies on (a late `in_progress` never
/// replaces an end) is written once for both stores.
enum AttemptTable {
    /// In the order of every store's binds and reads (`SQLiteValues.binds`, `PostgresSQL.upsertAttempts`).
    static let columns = [
        "id", "request_id", "key_id", "tenant", "team", "rule", "target", "tier", "prompt_tokens", "completion_tokens", "cost",
        "cost_estimated", "reference_cost", "latency_ms", "outcome", "escalation_reason", "started_at", "ended_at",
    ]
    static let columnList = columns.joined(separator: ", ")

    /// Follows `INSERT INTO attempts (columnList) VALUES …`: a final outcome replaces anything;
    /// `in_progress` replaces only `in_progress`.
    static let onConflict = "ON CONFLICT (id) DO UPDATE SET "
        + columns.dropFirst().map { "\($0) = excluded.\($0)" }.joined(separator: ", ")
        + " WHERE attempts.outcome = 'in_progress' OR excluded.outcome <> 'in_progress'"
}
