/// Who may call the gateway: `auth:` in a policy.
public struct AuthSettings: Sendable, Equatable {
    public enum Mode: String, Sendable, CaseIterable {
        /// No keys: every caller is anonymous (client-sent tenant headers are signals, unverified).
        case off
        /// A key, when sent, must be valid and identifies the caller; no key is anonymous.
        case optional
        /// Every request needs a valid, unrevoked key (401 otherwise).
        case required
    }

    public var mode: Mode = .off
    public init() {}
}

/// Where attempts, keys and budgets are kept: `ledger:` in a policy. Fixed at start-up.
public struct LedgerSettings: Sendable, Equatable {
    /// The environment variable holding a PostgreSQL URL (several replicas share one database);
    /// without it, SQLite at `sqlitePath` (default: `ledger.sqlite` in the state directory).
    public var postgresURLEnv: String?
    public var sqlitePath: String?
    /// False: no ledger (no keys, budgets or records; metrics and logs only).
    public var enabled = true
    public init() {}
}

/// Cloud spend limits beyond each key's own: `budgets:` in a policy.
public struct BudgetSettings: Sendable, Equatable {
    /// What an exhausted budget does. It never blocks the local model.
    public enum Exhaustion: String, Sendable, CaseIterable {
        /// Serve on the box instead, with a header saying why.
        case localOnly = "local_only"
        /// Refuse cloud requests: 429 `budget_exceeded`, with when the budget resets.
        case deny
    }

    public struct Limit: Sendable, Equatable {
        public var usd: Double
        /// `day`, `month` or `total` (UTC periods).
        public var period: String

        public init(usd: Double, period: String) {
            self.usd = usd
            self.period = period
        }
    }

    public var onExhausted: Exhaustion = .localOnly
    public var tenants: [String: Limit] = [:]
    /// The target whose price values locally served answers ("savings"); default: the first
    /// priced cloud target.
    public var savingsReference: String?
    public init() {}

    public static let periods = ["day", "month", "total"]
}
