/// How an upstream attempt ended, as the ledger records it.
public enum AttemptOutcome: String, Sendable, CaseIterable {
    case served
    case failed
    /// Its stream broke after the answer was committed to the client.
    case broken
    /// The client left.
    case cancelled
    /// A cascade's local answer, replaced by its escalation.
    case discarded
    /// Recorded when the attempt began; replaced by its end.
    case inProgress = "in_progress"
    /// The gateway ended it, not its client: its graceful shutdown's grace ran out first, or it
    /// was found `in_progress` by `recover` (the gateway running it died).
    case interrupted
}

/// One call to one upstream on behalf of one request: the ledger's unit of account. A request
/// that fails over or escalates has several, each with its own cost.
public struct AttemptRecord: Sendable, Equatable {
    /// Unique across the ledger (`REQUESTID-N`), and the idempotency key: recording the same id
    /// again replaces the row.
    public var id: String
    public var requestID: String
    public var keyID: String?
    public var tenant: String?
    public var team: String?
    /// The policy rule that routed the request.
    public var rule: String
    /// The model target called.
    public var target: String
    /// "local" or "cloud".
    public var tier: String
    public var promptTokens: Int
    public var completionTokens: Int
    public var cost: Nanodollars
    /// True when the tokens (hence the cost) were counted by the gateway, the upstream having reported none.
    public var costEstimated: Bool
    /// What the attempt would have cost at the savings reference's cloud price: for local
    /// attempts, the saving.
    public var referenceCost: Nanodollars
    public var latencyMs: Int
    public var outcome: AttemptOutcome
    public var escalationReason: String?
    public var startedAt: UnixTime
    public var endedAt: UnixTime?

    public init(id: String, requestID: String, keyID: String? = nil, tenant: String? = nil, team: String? = nil,
                rule: String, target: String, tier: String, promptTokens: Int = 0, completionTokens: Int = 0,
                cost: Nanodollars = .zero, costEstimated: Bool = false, referenceCost: Nanodollars = .zero,
                latencyMs: Int = 0, outcome: AttemptOutcome, escalationReason: String? = nil,
                startedAt: UnixTime, endedAt: UnixTime? = nil) {
        self.id = id
        self.requestID = requestID
        self.keyID = keyID
        self.tenant = tenant
        self.team = team
        self.rule = rule
        self.target = target
        self.tier = tier
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.cost = cost
        self.costEstimated = costEstimated
        self.referenceCost = referenceCost
        self.latencyMs = latencyMs
        self.outcome = outcome
        self.escalationReason = escalationReason
        self.startedAt = startedAt
        self.endedAt = endedAt
    }
}
