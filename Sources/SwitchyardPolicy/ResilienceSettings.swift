/// How the gateway treats a cloud target that fails (`resilience:`): it retries the target a
/// few times, and stops sending to one that keeps failing. The local engine has neither: its
/// supervisor knows its health first-hand (it is `unavailable`, with a Retry-After, while it
/// restarts), and a breaker on it could only turn away private data that may go nowhere else.
public struct ResilienceSettings: Sendable, Equatable {
    public var retry = RetrySettings()
    public var breaker = BreakerSettings()

    public init() {}
}

/// Retries of a cloud target that failed before answering (connection error, 429, 5xx), with
/// exponential backoff and jitter, within one budget per request.
public struct RetrySettings: Sendable, Equatable {
    /// Retries one request may make, over all its targets; 0 turns retries off.
    public var maxRetries = 2
    /// The first wait's ceiling, doubled for each further retry of the same target.
    public var backoff: Duration = .milliseconds(250)
    /// No single computed wait is longer (an upstream's Retry-After may be, within `maxWait`).
    public var maxBackoff: Duration = .seconds(2)
    /// The total a request may spend waiting between retries. A Retry-After longer than what is
    /// left is not waited for: the request moves on to its next target at once.
    public var maxWait: Duration = .seconds(5)

    public init() {}

    public init(maxRetries: Int, backoff: Duration, maxBackoff: Duration, maxWait: Duration) {
        (self.maxRetries, self.backoff, self.maxBackoff, self.maxWait) = (maxRetries, backoff, maxBackoff, maxWait)
    }
}

/// The circuit breaker of each cloud target: after `failures` consecutive failures the target is
/// passed over for `openFor`, then `halfOpenProbes` requests at a time try it again.
public struct BreakerSettings: Sendable, Equatable {
    public var enabled = true
    /// Consecutive failures that open the breaker.
    public var failures = 5
    /// How long it stays open before probes are let through.
    public var openFor: Duration = .seconds(30)
    /// Probes in flight at once while half-open.
    public var halfOpenProbes = 1

    public init() {}

    public init(failures: Int, openFor: Duration, halfOpenProbes: Int) {
        (self.failures, self.openFor, self.halfOpenProbes) = (failures, openFor, halfOpenProbes)
    }
}
