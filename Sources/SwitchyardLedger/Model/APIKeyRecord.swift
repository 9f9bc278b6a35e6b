/// An API key as the ledger keeps it. The secret itself is never stored: only its SHA-256
/// (`hash`, what requests are looked up by) and its first characters (`prefix`, so an operator
/// can tell keys apart in a listing).
public struct APIKeyRecord: Sendable, Equatable {
    /// "key_" + 12 hex digits: public, safe to log and to show.
    public var id: String
    public var name: String
    /// Hex SHA-256 of the secret.
    public var hash: String
    /// The secret's first 8 characters ("sy-" and 5 more).
    public var prefix: String
    public var tenant: String?
    public var team: String?
    /// The key's own cloud budget per `period`; nil: none.
    public var budget: Nanodollars?
    public var period: BudgetPeriod
    /// Requests and tokens per minute; nil: unlimited.
    public var rpm: Int?
    public var tpm: Int?
    /// Models the key may ask for by name; nil: any.
    public var models: [String]?
    public var createdAt: UnixTime
    /// Set once revoked; a revoked key stays listed (its attempts still name it).
    public var revokedAt: UnixTime?

    public init(id: String, name: String, hash: String, prefix: String, tenant: String? = nil, team: String? = nil,
                budget: Nanodollars? = nil, period: BudgetPeriod = .month, rpm: Int? = nil, tpm: Int? = nil,
                models: [String]? = nil, createdAt: UnixTime, revokedAt: UnixTime? = nil) {
        self.id = id
        self.name = name
        self.hash = hash
        self.prefix = prefix
        self.tenant = tenant
        self.team = team
        self.budget = budget
        self.period = period
        self.rpm = rpm
        self.tpm = tpm
        self.models = models
        self.createdAt = createdAt
        self.revokedAt = revokedAt
    }

    public var isRevoked: Bool { revokedAt != nil }

    /// The key's own budget as a scope, if it has one.
    public var budgetScope: BudgetScope? {
        budget.map { BudgetScope(kind: .key, id: id, limit: $0, period: period) }
    }
}
