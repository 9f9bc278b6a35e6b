/// Who is calling: the identity an API key carries, or anonymous. Filled by the server's auth
/// middleware; read by the decision (the `key`, `tenant`, `team` and budget signals), by budgets
/// and by the ledger. Headers a client sends can never set these once it uses a key.
public struct Caller: Sendable, Equatable {
    /// The key's public id (`key_…`); nil for an anonymous caller.
    public var keyID: String?
    public var keyName: String?
    public var tenant: String?
    public var team: String?
    /// Models the key may ask for by name; nil: any.
    public var models: [String]?

    public init(keyID: String? = nil, keyName: String? = nil, tenant: String? = nil, team: String? = nil, models: [String]? = nil) {
        self.keyID = keyID
        self.keyName = keyName
        self.tenant = tenant
        self.team = team
        self.models = models
    }

    public static let anonymous = Caller()

    public var isAnonymous: Bool { keyID == nil }
}

/// The caller's remaining cloud budget, for the `budget.*` signals (asked only when a rule reads them).
public protocol BudgetSignals: Sendable {
    /// The tightest of the caller's budgets: remaining USD and the share used; nil without any.
    func budget(for caller: Caller) async -> (remainingUSD: Double, usedRatio: Double)?
}
