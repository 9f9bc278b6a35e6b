/// How much of the gateway one target may take: requests in flight, requests waiting for a
/// place, how long they wait, and how large an answer may be. A target that is slow or stuck
/// then holds a bounded share of connections and memory instead of all of them.
public struct TargetLimits: Sendable, Equatable {
    /// Requests sent to the target at once.
    public var maxConcurrency: Int
    /// Requests that may wait for one of those places; one more is refused at once.
    public var queueDepth: Int
    /// How long a request waits for a place before it is refused.
    public var queueTimeout: Duration
    /// The largest answer (body bytes) accepted from the target.
    public var maxResponseBytes: Int

    public init(maxConcurrency: Int, queueDepth: Int, queueTimeout: Duration, maxResponseBytes: Int) {
        self.maxConcurrency = maxConcurrency
        self.queueDepth = queueDepth
        self.queueTimeout = queueTimeout
        self.maxResponseBytes = maxResponseBytes
    }

    /// The local engine generates `slots` requests at once: more in flight would only queue
    /// inside llama-server, where no timeout applies. Sixteen rounds of them may wait here, for
    /// at most 30 s: what the box clears in that time for short answers (docs/policy.md, Limits,
    /// has the measurement); a request past it would time out waiting, so it is refused at once.
    public static func local(slots: Int) -> TargetLimits {
        TargetLimits(maxConcurrency: slots, queueDepth: 16 * slots, queueTimeout: .seconds(30), maxResponseBytes: 32 << 20)
    }

    /// A cloud API scales on its side; the limit only bounds what one target can hold here.
    public static let remote = TargetLimits(maxConcurrency: 64, queueDepth: 64, queueTimeout: .seconds(10), maxResponseBytes: 32 << 20)
}
