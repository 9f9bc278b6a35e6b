/// One budget a cloud attempt is metered against: a key's own, its tenant's, or the learning
/// loop's (shadow requests and judge calls, never a caller's). The limit
/// travels with the scope (it comes from the key record or the policy, which may change); the
/// ledger stores only what was spent and reserved in each period.
public struct BudgetScope: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, CaseIterable {
        case key, tenant
        /// What the learning loop spends on shadow requests and judge calls (`learning.shadow_budget`).
        case learning
    }

    public var kind: Kind
    /// The key's id (`key_…`) or the tenant's name.
    public var id: String
    public var limit: Nanodollars
    public var period: BudgetPeriod

    public init(kind: Kind, id: String, limit: Nanodollars, period: BudgetPeriod) {
        self.kind = kind
        self.id = id
        self.limit = limit
        self.period = period
    }

    public var description: String { "\(kind.rawValue) \(id) (\(limit) per \(period.rawValue))" }
}

/// What `reserve` did.
public enum ReservationOutcome: Sendable, Equatable {
    case reserved
    /// Nothing was reserved: this scope (the first exhausted one, in the store's fixed order) has
    /// no room for the amount until `resetsAt` (nil: a `total` budget, which never resets).
    case exhausted(scope: BudgetScope, resetsAt: UnixTime?)
}

/// One budget in one period, as the ledger has it.
public struct BudgetState: Sendable, Equatable {
    public var scope: BudgetScope
    public var periodKey: String
    /// Settled spend; may exceed the limit by what upstreams overran their reservations.
    public var spent: Nanodollars
    /// Held by attempts under way.
    public var reserved: Nanodollars
    public var resetsAt: UnixTime?

    public init(scope: BudgetScope, periodKey: String, spent: Nanodollars, reserved: Nanodollars, resetsAt: UnixTime?) {
        self.scope = scope
        self.periodKey = periodKey
        self.spent = spent
        self.reserved = reserved
        self.resetsAt = resetsAt
    }

    /// What a new reservation may still take: limit − spent − reserved, never below 0.
    public var remaining: Nanodollars { max(.zero, scope.limit - spent - reserved) }

    /// The share of the limit spent or reserved, in [0, 1] (1 for a zero limit: nothing may be spent).
    public var usedRatio: Double {
        guard scope.limit.value > 0 else { return 1 }
        return min(1, max(0, Double((spent + reserved).value) / Double(scope.limit.value)))
    }
}
