import SQLiteNIO

/// The dashboard's statements (`ActivityQuery`, budget lists). `PostgresActivitySQL` mirrors
/// each one; the two must compute the same answers, which the ledger tests check on both.
extension SQLiteSQL {
    /// `count` budget rows by (scope_kind, scope_id, period_key), three binds each.
    static func budgetRows(count: Int) -> String {
        """
        SELECT scope_kind, scope_id, period_key, spent, reserved FROM budget_usage
        WHERE (scope_kind, scope_id, period_key) IN (VALUES \(Array(repeating: "(?, ?, ?)", count: count).joined(separator: ", ")))
        """
    }

    /// The window (and key) every activity statement filters on, with its binds; the window
    /// first, so the index on (started_at), or on (key_id, started_at), applies.
    static func activityFilter(_ query: ActivityQuery) -> (sql: String, binds: [SQLiteData]) {
        var sql = "started_at >= ? AND started_at < ?"
        var binds: [SQLiteData] = [.integer(Int(query.since.milliseconds)), .integer(Int(query.until.milliseconds))]
        if let keyID = query.keyID {
            sql += " AND key_id = ?"
            binds.append(.text(keyID))
        }
        return (sql, binds)
    }

    /// Binds: the window's start and the bucket width, then the filter's.
    static func activityBuckets(filter: String) -> String {
        """
        SELECT (started_at - ?) / ? AS bucket,
            COUNT(DISTINCT request_id) AS requests,
            COUNT(DISTINCT CASE WHEN tier = 'cloud' THEN request_id END) AS cloud_requests,
            SUM(cost) AS spend,
            SUM(CASE WHEN tier = 'local' AND outcome = 'served' THEN reference_cost ELSE 0 END) AS savings
        FROM attempts WHERE \(filter)
        GROUP BY bucket ORDER BY bucket
        """
    }

    /// Discarded attempts by `EscalationCount.reasonClass`: the first word, up to its first `=`.
    static func activityEscalations(filter: String) -> String {
        """
        SELECT reason, COUNT(*) AS n FROM (
            SELECT substr(word, 1, instr(word || '=', '=') - 1) AS reason FROM (
                SELECT substr(escalation_reason, 1, instr(escalation_reason || ' ', ' ') - 1) AS word
                FROM attempts WHERE outcome = 'discarded' AND escalation_reason IS NOT NULL AND \(filter)))
        GROUP BY reason ORDER BY n DESC, reason LIMIT \(ActivityQuery.maxReasons)
        """
    }

    /// For each target, the rows at the ranks of p50 and p95 (nearest rank, `LatencyQuantiles`).
    static func activityLatencies(filter: String) -> String {
        """
        SELECT target, tier, n, rn, latency_ms FROM (
            SELECT target, tier, latency_ms,
                ROW_NUMBER() OVER (PARTITION BY target ORDER BY latency_ms) AS rn,
                COUNT(*) OVER (PARTITION BY target) AS n
            FROM attempts WHERE outcome IN ('served', 'discarded') AND \(filter)) AS ranked
        WHERE rn = (50 * n + 99) / 100 OR rn = (95 * n + 99) / 100
        """
    }

    /// The newest requests' attempts. The requests are found among the newest attempts (an index
    /// scan, however long the window), which holds them all as long as none has more than
    /// `maxAttemptsPerRequest` attempts. Binds: the filter's, the row limit, the number of
    /// requests, the filter's again, the row limit. The outer filter repeats the key: a key's
    /// report never holds another key's attempt.
    static func activityRecent(filter: String) -> String {
        """
        SELECT \(AttemptTable.columnList) FROM attempts
        WHERE request_id IN (
            SELECT request_id FROM (
                SELECT request_id, started_at FROM attempts WHERE \(filter) ORDER BY started_at DESC, id DESC LIMIT ?)
            GROUP BY request_id ORDER BY MAX(started_at) DESC, request_id DESC LIMIT ?)
        AND \(filter)
        ORDER BY started_at DESC, id DESC LIMIT ?
        """
    }
}
