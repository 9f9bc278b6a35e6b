/// What both stores do alike with the rows of an activity query or a list of budgets, so that
/// the two differ only in their SQL.
enum ActivityRows {
    /// Each scope's state in the period containing `now`, in the order given, from the budget
    /// rows found (zeros for a row not there yet).
    static func budgetStates(_ scopes: [BudgetScope], now: UnixTime,
                             found: [BudgetRow: (spent: Nanodollars, reserved: Nanodollars)]) -> [BudgetState] {
        scopes.map { scope in
            let window = scope.period.window(containing: now)
            let counters = found[BudgetRow(kind: scope.kind.rawValue, id: scope.id, periodKey: window.key)]
            return BudgetState(scope: scope, periodKey: window.key, spent: counters?.spent ?? .zero,
                               reserved: counters?.reserved ?? .zero, resetsAt: window.resetsAt)
        }
    }

    /// Budget rows asked per statement (three binds each).
    static let budgetRowsPerStatement = 300

    /// The distinct rows of the periods containing `now`, in statements of at most
    /// `budgetRowsPerStatement`.
    static func rowBatches(_ scopes: [BudgetScope], now: UnixTime) -> [ArraySlice<BudgetRow>] {
        let rows = Set(scopes.map { BudgetRow(kind: $0.kind.rawValue, id: $0.id, periodKey: $0.period.window(containing: now).key) }).sorted()
        return stride(from: 0, to: rows.count, by: budgetRowsPerStatement).map { rows[$0..<min($0 + budgetRowsPerStatement, rows.count)] }
    }

    /// A bucket's start from its number.
    static func bucketStart(_ number: Int64, _ query: ActivityQuery) -> UnixTime {
        UnixTime(milliseconds: query.since.milliseconds + number * query.bucket.wholeMilliseconds)
    }

    /// Quantile rows (target, tier, count, rank, latency) to one entry per target, by name.
    static func latencies(_ rows: [(target: String, tier: String, count: Int, rank: Int, latency: Int)]) -> [LatencyQuantiles] {
        var byTarget: [String: LatencyQuantiles] = [:]
        for row in rows {
            var entry = byTarget[row.target] ?? LatencyQuantiles(target: row.target, tier: row.tier, attempts: row.count, p50Ms: 0, p95Ms: 0)
            if row.rank == LatencyQuantiles.rank(percent: 50, of: row.count) { entry.p50Ms = row.latency }
            if row.rank == LatencyQuantiles.rank(percent: 95, of: row.count) { entry.p95Ms = row.latency }
            byTarget[row.target] = entry
        }
        return byTarget.values.sorted { $0.target.utf8.lexicographicallyPrecedes($1.target.utf8) }
    }

    static func escalations(_ rows: [EscalationCount]) -> [EscalationCount] {
        rows.sorted { $0.count != $1.count ? $0.count > $1.count : $0.reason.utf8.lexicographicallyPrecedes($1.reason.utf8) }
    }

    /// Attempts to the report's order: newest request first (by its latest attempt), each
    /// request's attempts in the order they started.
    static func recent(_ attempts: [AttemptRecord]) -> [AttemptRecord] {
        let requests = Dictionary(grouping: attempts, by: \.requestID)
        let latest = requests.mapValues { $0.map(\.startedAt).max()! }
        let order = requests.keys.sorted { a, b in
            latest[a]! != latest[b]! ? latest[a]! > latest[b]! : b.utf8.lexicographicallyPrecedes(a.utf8)
        }
        return order.flatMap { id in
            requests[id]!.sorted { $0.startedAt != $1.startedAt ? $0.startedAt < $1.startedAt : $0.id.utf8.lexicographicallyPrecedes($1.id.utf8) }
        }
    }
}
