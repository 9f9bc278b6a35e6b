/// A usage report's question: attempts grouped one way, optionally for one key and a time range.
public struct UsageQuery: Sendable, Equatable {
    public enum GroupBy: String, Sendable, CaseIterable {
        /// The key's id; "" for anonymous attempts.
        case key
        /// The tenant; "" for attempts without one.
        case tenant
        /// The model target called.
        case model
        /// Where it ran: "local" or "cloud" (the attempt's tier, as `x-switchyard-route` says).
        case route
        /// The UTC day the attempt started ("2026-11-23").
        case day
    }

    public var groupBy: GroupBy
    /// Only this key's attempts.
    public var keyID: String?
    /// Attempts started at or after `since`, and before `until`.
    public var since: UnixTime?
    public var until: UnixTime?

    public init(groupBy: GroupBy, keyID: String? = nil, since: UnixTime? = nil, until: UnixTime? = nil) {
        self.groupBy = groupBy
        self.keyID = keyID
        self.since = since
        self.until = until
    }
}

/// One group of a usage report. Every attempt counts (tokens and spend include failed, broken
/// and discarded attempts: they were paid for); rows come sorted by `group`.
public struct UsageRow: Sendable, Equatable {
    public var group: String
    /// Distinct requests.
    public var requests: Int
    public var attempts: Int
    public var promptTokens: Int
    public var completionTokens: Int
    public var spend: Nanodollars
    /// Distinct requests with at least one cloud attempt (whatever its outcome).
    public var cloudRequests: Int
    /// The reference cost of local attempts that were served: what the cloud would have charged.
    public var savings: Nanodollars
    /// cloudRequests / requests (0 for no requests).
    public var cloudShare: Double

    public init(group: String, requests: Int, attempts: Int, promptTokens: Int, completionTokens: Int, spend: Nanodollars,
                cloudRequests: Int, savings: Nanodollars) {
        self.group = group
        self.requests = requests
        self.attempts = attempts
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.spend = spend
        self.cloudRequests = cloudRequests
        self.savings = savings
        self.cloudShare = requests > 0 ? Double(cloudRequests) / Double(requests) : 0
    }
}
