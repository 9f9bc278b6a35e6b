import Testing
import SwitchyardPolicy
import SwitchyardProviders
import SwitchyardLearning
@testable import SwitchyardDecision
@testable import SwitchyardExecution
@testable import SwitchyardSignals

/// The retry schedule as a pure value: which failures are retried, the backoff and its jitter
/// (with the random source given), Retry-After, and the per-request budget of retries and waiting.
@Suite("Retry schedule")
struct RetryScheduleTests {
    /// The same number every time: 0 draws the low end of the jitter, `UInt64.max` the high end.
    struct Constant: RandomNumberGenerator {
        var value: UInt64
        mutating func next() -> UInt64 { value }
    }

    static let settings = RetrySettings(maxRetries: 10, backoff: .milliseconds(200), maxBackoff: .seconds(1), maxWait: .seconds(60))
    static let unavailable = ProviderError.upstreamStatus(503, message: "down")

    @Test("equal jitter: each wait is between half and all of min(max_backoff, backoff × 2ⁿ)")
    func backoffBounds() {
        let schedule = RetrySchedule(settings: Self.settings)
        var low = Constant(value: 0)
        var high = Constant(value: .max)
        // Ceilings 200, 400, 800 ms, then max_backoff (1 s) however many retries.
        for (n, ceiling) in [(0, 200), (1, 400), (2, 800), (3, 1000), (4, 1000), (1000, 1000), (Int.max, 1000)] {
            #expect(schedule.backoff(n, using: &low) == .milliseconds(ceiling / 2), "retry \(n)")
            #expect(schedule.backoff(n, using: &high) == .milliseconds(ceiling), "retry \(n)")
        }
    }

    @Test("jitter spreads the waits over their range")
    func jitterSpreads() {
        let schedule = RetrySchedule(settings: Self.settings)
        var random = SplitMix64(seed: 42)
        let waits = (0..<200).map { _ in schedule.backoff(2, using: &random) }
        #expect(waits.allSatisfy { $0 >= .milliseconds(400) && $0 <= .milliseconds(800) })
        #expect(Set(waits).count > 100, "clients that failed together do not come back together")
        #expect(waits.contains { $0 < .milliseconds(500) } && waits.contains { $0 > .milliseconds(700) })
    }

    @Test("what is retried: connection errors, 429 and 5xx", arguments: [
        ProviderError.unreachable("connection refused"), .transport("connection reset by peer", timeout: false),
        .upstreamStatus(429, message: "slow down"), .upstreamStatus(500, message: "boom"), .upstreamStatus(502, message: "bad gateway"),
        .upstreamStatus(503, message: "down"), .upstreamStatus(504, message: "gateway timeout"), .upstreamStatus(529, message: "overloaded"),
    ])
    func retried(_ error: ProviderError) {
        var schedule = RetrySchedule(settings: Self.settings)
        var random = Constant(value: 0)
        #expect(schedule.next(after: error, retriesOfTarget: 0, using: &random) == .retry(after: .milliseconds(100)))
        #expect(schedule.retries == 1)
    }

    @Test("what is not: a rejected request, a timeout, a broken answer, a refusal before any call", arguments: [
        ProviderError.upstreamStatus(400, message: "bad request"), .upstreamStatus(401, message: "bad key"), .upstreamStatus(404, message: "no model"),
        .upstreamStatus(408, message: "request timeout"), .upstreamStatus(413, message: "too large"), .upstreamStatus(422, message: "invalid"),
        .upstreamStatus(302, message: "moved"), .transport("first byte", timeout: true), .malformedResponse("<html>"), .truncated("cut"),
        .responseTooLarge(limit: 1024), .busy("full", local: false), .unavailable("restarting", retryAfterSeconds: 2), .unconfigured("no key"),
    ])
    func notRetried(_ error: ProviderError) {
        var schedule = RetrySchedule(settings: Self.settings)
        var random = Constant(value: 0)
        #expect(schedule.next(after: error, retriesOfTarget: 0, using: &random) == .moveOn(.notRetryable))
        #expect(schedule.retries == 0 && schedule.waited == .zero)
    }

    @Test("an upstream's Retry-After is waited when longer than the backoff, never shorter")
    func retryAfter() {
        var settings = Self.settings
        settings.maxBackoff = .seconds(4)
        var schedule = RetrySchedule(settings: settings)
        var high = Constant(value: .max)
        // A first retry's backoff is at most 200 ms: the upstream's 3 s stand.
        #expect(schedule.next(after: .upstreamStatus(429, message: "", retryAfterSeconds: 3), retriesOfTarget: 0, using: &high) == .retry(after: .seconds(3)))
        // A fifth retry's is 1.6…3.2 s (here 3.2 s): longer than the upstream's 1 s, so it stands.
        #expect(schedule.next(after: .upstreamStatus(503, message: "", retryAfterSeconds: 1), retriesOfTarget: 4, using: &high)
                == .retry(after: .milliseconds(3200)))
        #expect(schedule.waited == .milliseconds(6200))
    }

    @Test("a Retry-After longer than what is left of max_wait is not waited: the request moves on, and keeps its budget")
    func retryAfterBeyondBudget() {
        var settings = Self.settings
        settings.maxWait = .seconds(5)
        var schedule = RetrySchedule(settings: settings)
        var low = Constant(value: 0)
        #expect(schedule.next(after: .upstreamStatus(503, message: "", retryAfterSeconds: 3), retriesOfTarget: 0, using: &low) == .retry(after: .seconds(3)))
        #expect(schedule.next(after: .upstreamStatus(503, message: "", retryAfterSeconds: 3), retriesOfTarget: 1, using: &low)
                == .moveOn(.waitBeyondBudget(.seconds(3))))
        #expect(schedule.retries == 1 && schedule.waited == .seconds(3))
        // What is left (2 s) still covers a backoff, on this target or the next.
        #expect(schedule.next(after: Self.unavailable, retriesOfTarget: 0, using: &low) == .retry(after: .milliseconds(100)))
        // An hour-long Retry-After (the most a provider passes on) never parks the request.
        #expect(schedule.next(after: .upstreamStatus(429, message: "", retryAfterSeconds: 3600), retriesOfTarget: 0, using: &low)
                == .moveOn(.waitBeyondBudget(.seconds(3600))))
    }

    @Test("a backoff that does not fit in what is left of max_wait moves on too")
    func backoffBeyondBudget() {
        var settings = Self.settings
        settings.maxWait = .milliseconds(250)
        var schedule = RetrySchedule(settings: settings)
        var high = Constant(value: .max)
        #expect(schedule.next(after: Self.unavailable, retriesOfTarget: 0, using: &high) == .retry(after: .milliseconds(200)))
        #expect(schedule.next(after: Self.unavailable, retriesOfTarget: 1, using: &high) == .moveOn(.waitBeyondBudget(.milliseconds(400))))
    }

    @Test("max_retries bounds the whole request, over all its targets; 0 turns retries off")
    func maxRetriesPerRequest() {
        var settings = Self.settings
        settings.maxRetries = 2
        var schedule = RetrySchedule(settings: settings)
        var low = Constant(value: 0)
        #expect(schedule.next(after: Self.unavailable, retriesOfTarget: 0, using: &low) == .retry(after: .milliseconds(100)))
        // The next target starts its backoff again, but shares the request's retries.
        #expect(schedule.next(after: Self.unavailable, retriesOfTarget: 0, using: &low) == .retry(after: .milliseconds(100)))
        #expect(schedule.next(after: Self.unavailable, retriesOfTarget: 1, using: &low) == .moveOn(.noRetriesLeft))
        #expect(schedule.retries == 2)
        settings.maxRetries = 0
        var off = RetrySchedule(settings: settings)
        #expect(off.next(after: Self.unavailable, retriesOfTarget: 0, using: &low) == .moveOn(.noRetriesLeft))
    }

    @Test("the extreme settings the loader allows neither trap nor overflow")
    func extremes() {
        var random = Constant(value: .max)
        let longest = RetrySchedule(settings: .init(maxRetries: 10, backoff: .seconds(60), maxBackoff: .seconds(60), maxWait: .seconds(600)))
        #expect(longest.backoff(Int.max, using: &random) == .seconds(60))
        let shortest = RetrySchedule(settings: .init(maxRetries: 10, backoff: .milliseconds(1), maxBackoff: .milliseconds(1), maxWait: .milliseconds(1)))
        #expect(shortest.backoff(0, using: &random) == .milliseconds(1))
        var low = Constant(value: 0)
        #expect(shortest.backoff(0, using: &low) == .milliseconds(1), "half of 1 ms rounds to a whole wait of 1 ms")
    }
}
