/// One row of budget counters: a scope in one period. Reservations remember the rows they were
/// counted in, so a settlement after midnight still lands in the day it was reserved in.
struct BudgetRow: Sendable, Hashable, Comparable {
    var kind: String
    var id: String
    var periodKey: String

    /// Byte order (not a collation): every store, and PostgreSQL whatever its locale, must agree,
    /// since this is the order rows are locked in.
    static func < (lhs: BudgetRow, rhs: BudgetRow) -> Bool {
        for (l, r) in [(lhs.kind, rhs.kind), (lhs.id, rhs.id), (lhs.periodKey, rhs.periodKey)] where l != r {
            return l.utf8.lexicographicallyPrecedes(r.utf8)
        }
        return false
    }
}

/// A scope as a reservation meets it: its row in the period containing `now`.
struct ScopeWindow: Sendable {
    var scope: BudgetScope
    var row: BudgetRow
    var resetsAt: UnixTime?

    /// The scopes' rows in the one order every store locks budget rows in, so two transactions
    /// over the same rows never wait on each other in opposite orders (a deadlock in PostgreSQL).
    /// A row listed twice counts once, with the tighter limit.
    static func lockOrder(_ scopes: [BudgetScope], now: UnixTime) -> [ScopeWindow] {
        var byRow: [BudgetRow: ScopeWindow] = [:]
        for scope in scopes {
            let window = scope.period.window(containing: now)
            let row = BudgetRow(kind: scope.kind.rawValue, id: scope.id, periodKey: window.key)
            if let seen = byRow[row], seen.scope.limit <= scope.limit { continue }
            byRow[row] = ScopeWindow(scope: scope, row: row, resetsAt: window.resetsAt)
        }
        return byRow.values.sorted { $0.row < $1.row }
    }
}
