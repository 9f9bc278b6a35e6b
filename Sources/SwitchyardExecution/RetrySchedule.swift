import SwitchyardDecision
import SwitchyardSignals
import SwitchyardPolicy
import SwitchyardProviders

/// The retries one request may still make and how long it waits before each: a pure value,
/// asked after every failed cloud attempt, with the random source passed in.
///
/// Retried: a connection error (the upstream could not be reached, or the connection broke
/// before the gateway had its answer), a 429 and a 5xx. Not retried: a 4xx that rejects the request
/// (another try would be rejected too), a timeout (a target that did not answer within its
/// `first_byte` would double the wait; the next candidate is tried instead), a 2xx that is not
/// the promised format, and anything after a stream's first event reached the client (such a
/// failure never comes back to the executor).
///
/// The wait before retry n (0 for a target's first retry) is "equal jitter": half of
/// `min(max_backoff, backoff × 2ⁿ)`, plus a random share of the other half, so that clients
/// failed together do not come back together, and none comes back at once. An upstream's
/// Retry-After is waited instead when longer. Every wait comes out of the request's `max_wait`;
/// one that does not fit is not waited at all: the request moves on to its next target.
struct RetrySchedule: Equatable {
    enum Decision: Equatable {
        case retry(after: Duration)
        /// Try the next candidate (if the failure allows one) instead.
        case moveOn(Reason)
    }

    enum Reason: Equatable {
        case notRetryable
        case noRetriesLeft
        /// The wait (an upstream's Retry-After, or the backoff) is longer than what is left of `max_wait`.
        case waitBeyondBudget(Duration)
    }

    let settings: RetrySettings
    /// Retries granted so far, over all the request's targets.
    private(set) var retries = 0
    /// Time granted to waits so far.
    private(set) var waited: Duration = .zero

    init(settings: RetrySettings) { self.settings = settings }

    /// After an attempt failed with `error`, when its target had been retried `retriesOfTarget`
    /// times already: retry it after the returned wait, or move on. A granted retry is spent.
    mutating func next(after error: ProviderError, retriesOfTarget: Int,
                       using random: inout some RandomNumberGenerator) -> Decision {
        guard Self.isRetryable(error) else { return .moveOn(.notRetryable) }
        guard retries < settings.maxRetries else { return .moveOn(.noRetriesLeft) }
        var wait = backoff(retriesOfTarget, using: &random)
        if case .upstreamStatus(_, _, let seconds?) = error { wait = max(wait, .seconds(seconds)) }
        guard waited + wait <= settings.maxWait else { return .moveOn(.waitBeyondBudget(wait)) }
        retries += 1
        waited += wait
        return .retry(after: wait)
    }

    /// The jittered wait before a target's retry number `n` (from 0), in whole milliseconds.
    func backoff(_ n: Int, using random: inout some RandomNumberGenerator) -> Duration {
        // Settings are at most a minute (SettingRanges.backoff): shifted by 20 they still fit.
        let ceiling = min(settings.backoff.wholeMilliseconds << min(max(n, 0), 20), settings.maxBackoff.wholeMilliseconds)
        let half = ceiling / 2
        // A share of 0…1, both ends included, from the top 53 bits of one draw.
        let share = Double(random.next() >> 11) / Double((UInt64(1) << 53) - 1)
        return .milliseconds(ceiling - half + Int64((Double(half) * share).rounded()))
    }

    static func isRetryable(_ error: ProviderError) -> Bool {
        switch error {
        case .unreachable: true
        case .transport(_, let timeout): !timeout
        case .upstreamStatus(let status, _, _): status == 429 || (500...599).contains(status)
        case .unavailable, .unconfigured, .malformedResponse, .truncated, .responseTooLarge, .busy: false
        }
    }
}
