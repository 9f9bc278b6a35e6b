import PostgresNIO

/// The dashboard's statements, mirroring `SQLiteSQL`'s (see there): the same answers, in
/// PostgreSQL's dialect. Ties are broken in byte order (`COLLATE "C"`), as SQLite does, whatever
/// the database's locale.
extension PostgresSQL {
    static func budgetRows(_ rows: some Collection<BudgetRow>) -> PostgresQuery {
        var binds = PostgresBindings(capacity: rows.count * 3)
        var values: [String] = []
        for (n, row) in rows.enumerated() {
            values.append("($\(3 * n + 1), $\(3 * n + 2), $\(3 * n + 3))")
            binds.append(row.kind)
            binds.append(row.id)
            binds.append(row.periodKey)
        }
        return PostgresQuery(unsafeSQL: """
            SELECT scope_kind, scope_id, period_key, spent, reserved FROM budget_usage
            WHERE (scope_kind, scope_id, period_key) IN (VALUES \(values.joined(separator: ", ")))
            """, binds: binds)
    }

    /// The window (and key) filter, its parameters numbered after those already in `binds`.
    private static func activityFilter(_ query: ActivityQuery, _ binds: inout PostgresBindings) -> String {
        binds.append(query.since.milliseconds)
        binds.append(query.until.milliseconds)
        var sql = "started_at >= $\(binds.count - 1) AND started_at < $\(binds.count)"
        if let keyID = query.keyID {
            binds.append(keyID)
            sql += " AND key_id = $\(binds.count)"
        }
        return sql
    }

    static func activityBuckets(_ query: ActivityQuery) -> PostgresQuery {
        var binds = PostgresBindings()
        binds.append(query.since.milliseconds)
        binds.append(query.bucket.wholeMilliseconds)
        let filter = activityFilter(query, &binds)
        return PostgresQuery(unsafeSQL: """
            SELECT (started_at - $1::BIGINT) / $2::BIGINT AS bucket,
                COUNT(DISTINCT request_id)::BIGINT AS requests,
                COUNT(DISTINCT CASE WHEN tier = 'cloud' THEN request_id END)::BIGINT AS cloud_requests,
                SUM(cost)::BIGINT AS spend,
                SUM(CASE WHEN tier = 'local' AND outcome = 'served' THEN reference_cost ELSE 0 END)::BIGINT AS savings
            FROM attempts WHERE \(filter)
            GROUP BY 1 ORDER BY 1
            """, binds: binds)
    }

    static func activityEscalations(_ query: ActivityQuery) -> PostgresQuery {
        var binds = PostgresBindings()
        let filter = activityFilter(query, &binds)
        return PostgresQuery(unsafeSQL: """
            SELECT reason, n FROM (
                SELECT split_part(split_part(escalation_reason, ' ', 1), '=', 1) AS reason, COUNT(*)::BIGINT AS n
                FROM attempts WHERE outcome = 'discarded' AND escalation_reason IS NOT NULL AND \(filter)
                GROUP BY 1) AS reasons
            ORDER BY n DESC, reason COLLATE "C" LIMIT \(ActivityQuery.maxReasons)
            """, binds: binds)
    }

    static func activityLatencies(_ query: ActivityQuery) -> PostgresQuery {
        var binds = PostgresBindings()
        let filter = activityFilter(query, &binds)
        return PostgresQuery(unsafeSQL: """
            SELECT target, tier, n, rn, latency_ms FROM (
                SELECT target, tier, latency_ms,
                    ROW_NUMBER() OVER (PARTITION BY target ORDER BY latency_ms) AS rn,
                    COUNT(*) OVER (PARTITION BY target) AS n
                FROM attempts WHERE outcome IN ('served', 'discarded') AND \(filter)) AS ranked
            WHERE rn = (50 * n + 99) / 100 OR rn = (95 * n + 99) / 100
            """, binds: binds)
    }

    static func activityRecent(_ query: ActivityQuery) -> PostgresQuery {
        let rows = Int64(query.recentRequests * ActivityQuery.maxAttemptsPerRequest)
        var binds = PostgresBindings()
        let inner = activityFilter(query, &binds)
        binds.append(rows)
        let newest = binds.count
        binds.append(Int64(query.recentRequests))
        let requests = binds.count
        let outer = activityFilter(query, &binds)
        binds.append(rows)
        return PostgresQuery(unsafeSQL: """
            SELECT \(AttemptTable.columnList) FROM attempts
            WHERE request_id IN (
                SELECT request_id FROM (
                    SELECT request_id, started_at FROM attempts WHERE \(inner) ORDER BY started_at DESC, id COLLATE "C" DESC LIMIT $\(newest)) AS newest
                GROUP BY request_id ORDER BY MAX(started_at) DESC, request_id COLLATE "C" DESC LIMIT $\(requests))
            AND \(outer)
            ORDER BY started_at DESC, id COLLATE "C" DESC LIMIT $\(binds.count)
            """, binds: binds)
    }
}
