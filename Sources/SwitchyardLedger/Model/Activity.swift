/// A look at the attempts of one time window, for the dashboard: the same records as the usage
/// report, cut by time instead of by group. Every part of the answer is bounded: the window by
/// `maxWindow`, the buckets by `maxBuckets`, the escalation reasons by `maxReasons`, the recent
/// requests by `maxRecentRequests`, and their attempts by `maxAttemptsPerRequest` each.
public struct ActivityQuery: Sendable, Equatable {
    /// Attempts started at or after `since`, and before `until`.
    public var since: UnixTime
    public var until: UnixTime
    /// The width of a timeline bucket; buckets start at `since`.
    public var bucket: Duration
    /// Only this key's attempts.
    public var keyID: String?
    /// How many of the most recent requests to return with their attempts.
    public var recentRequests: Int

    public static let maxWindow = Duration.seconds(90 * 86_400)
    public static let maxBuckets = 240
    public static let maxReasons = 20
    public static let maxRecentRequests = 200
    /// A request has one attempt per candidate it tried; more than this is cut off.
    public static let maxAttemptsPerRequest = 16

    public init(since: UnixTime, until: UnixTime, bucket: Duration, keyID: String? = nil, recentRequests: Int = 50) {
        self.since = since
        self.until = until
        self.bucket = bucket
        self.keyID = keyID
        self.recentRequests = recentRequests
    }

    /// Refuses a question whose answer would not be bounded (the stores call it first).
    public func validate() throws(LedgerError) {
        let window = until.milliseconds - since.milliseconds
        let width = bucket.wholeMilliseconds
        guard window > 0, window <= Self.maxWindow.wholeMilliseconds else { throw .invalidQuery("the window must be 1 ms to 90 days") }
        guard width > 0, (window + width - 1) / width <= Int64(Self.maxBuckets) else {
            throw .invalidQuery("the window holds more than \(Self.maxBuckets) buckets")
        }
        guard (0...Self.maxRecentRequests).contains(recentRequests) else {
            throw .invalidQuery("recent requests must be 0 to \(Self.maxRecentRequests)")
        }
    }
}

/// One bucket of the timeline. Requests are counted in the bucket their attempts started in (a
/// request whose attempts straddle a bucket's end counts in both); money is added exactly.
public struct ActivityBucket: Sendable, Equatable {
    public var start: UnixTime
    /// Distinct requests with an attempt in the bucket.
    public var requests: Int
    /// Of those, the requests with at least one cloud attempt; the rest were served on the box.
    public var cloudRequests: Int
    public var spend: Nanodollars
    /// The reference cost of local attempts served (as the usage report's savings).
    public var savings: Nanodollars

    public init(start: UnixTime, requests: Int, cloudRequests: Int, spend: Nanodollars, savings: Nanodollars) {
        self.start = start
        self.requests = requests
        self.cloudRequests = cloudRequests
        self.spend = spend
        self.savings = savings
    }
}

/// How many local answers cascades discarded for one reason. The reason is the first signal the
/// escalation condition named (`confidence` of `confidence=0.41<0.6`): the values differ from one
/// request to the next, the signal is what a person compares.
public struct EscalationCount: Sendable, Equatable {
    public var reason: String
    public var count: Int

    public init(reason: String, count: Int) {
        self.reason = reason
        self.count = count
    }

    /// The reason's first word up to its first `=`; the SQL of both stores computes the same.
    public static func reasonClass(_ reason: String) -> String {
        String(reason.prefix { $0 != " " }.prefix { $0 != "=" })
    }
}

/// Latency of the attempts a target completed (served, or discarded by a cascade after it
/// answered), by nearest rank: p50 is the ⌈0.5·n⌉-th smallest, p95 the ⌈0.95·n⌉-th.
public struct LatencyQuantiles: Sendable, Equatable {
    public var target: String
    public var tier: String
    public var attempts: Int
    public var p50Ms: Int
    public var p95Ms: Int

    public init(target: String, tier: String, attempts: Int, p50Ms: Int, p95Ms: Int) {
        self.target = target
        self.tier = tier
        self.attempts = attempts
        self.p50Ms = p50Ms
        self.p95Ms = p95Ms
    }

    /// The 1-based rank of quantile `percent` among `count` sorted values: ⌈percent·count/100⌉.
    public static func rank(percent: Int, of count: Int) -> Int { (percent * count + 99) / 100 }
}

/// The answer to an `ActivityQuery`.
public struct ActivityReport: Sendable, Equatable {
    /// Buckets with attempts, oldest first (an empty bucket is absent).
    public var buckets: [ActivityBucket]
    /// Most frequent first, then by reason.
    public var escalations: [EscalationCount]
    /// By target name.
    public var latencies: [LatencyQuantiles]
    /// The attempts of the most recent requests (by their latest attempt's start), newest
    /// request first, each request's attempts in the order they started.
    public var recent: [AttemptRecord]

    public init(buckets: [ActivityBucket], escalations: [EscalationCount], latencies: [LatencyQuantiles], recent: [AttemptRecord]) {
        self.buckets = buckets
        self.escalations = escalations
        self.latencies = latencies
        self.recent = recent
    }
}
