import Testing
import SwitchyardPolicy
import SwitchyardProviders
@testable import SwitchyardDecision
@testable import SwitchyardExecution
@testable import SwitchyardSignals

/// The circuit breaker as a pure state machine: every event from every state, with the time
/// passed in, and an exhaustive walk of short event sequences against its invariants.
@Suite("Circuit breaker state machine")
struct CircuitBreakerTests {
    static let t0 = ContinuousClock.now
    static let settings = BreakerSettings(failures: 3, openFor: .seconds(30), halfOpenProbes: 2)

    func breaker(_ settings: BreakerSettings = settings) -> CircuitBreaker { CircuitBreaker(settings: settings) }

    /// A breaker opened at `t0` by `settings.failures` failures.
    func opened(_ settings: BreakerSettings = settings) -> CircuitBreaker {
        var b = breaker(settings)
        for _ in 0..<settings.failures { _ = b.record(.failure, .ordinary, now: Self.t0) }
        return b
    }

    @Test("closed: attempts run; consecutive failures below the threshold are counted, the threshold opens it")
    func closedCountsFailures() {
        var b = breaker()
        #expect(b.admit(now: Self.t0) == (.run(.ordinary), nil))
        #expect(b.record(.failure, .ordinary, now: Self.t0) == nil)
        #expect(b.record(.failure, .ordinary, now: Self.t0) == nil)
        #expect(b.state == .closed(failures: 2))
        #expect(b.status(at: Self.t0) == BreakerStatus(phase: .closed, failures: 2))
        let at = Self.t0 + .seconds(5)
        #expect(b.record(.failure, .ordinary, now: at) == BreakerTransition(from: .closed, to: .open))
        #expect(b.state == .open(until: at + Self.settings.openFor))
    }

    @Test("closed: a success starts the count again; a neutral end changes nothing")
    func successResets() {
        var b = breaker()
        _ = b.record(.failure, .ordinary, now: Self.t0)
        _ = b.record(.failure, .ordinary, now: Self.t0)
        _ = b.record(.neutral, .ordinary, now: Self.t0)
        #expect(b.state == .closed(failures: 2))
        #expect(b.record(.success, .ordinary, now: Self.t0) == nil)
        #expect(b.state == .closed(failures: 0))
        // Two failures again do not open it: the count is of consecutive failures.
        _ = b.record(.failure, .ordinary, now: Self.t0)
        _ = b.record(.failure, .ordinary, now: Self.t0)
        #expect(b.state == .closed(failures: 2))
    }

    @Test("a threshold of one opens on the first failure")
    func thresholdOne() {
        var b = breaker(.init(failures: 1, openFor: .seconds(1), halfOpenProbes: 1))
        #expect(b.record(.failure, .ordinary, now: Self.t0) == BreakerTransition(from: .closed, to: .open))
    }

    @Test("open: attempts are passed over until the cool-down ends, with the time left")
    func openPassesOver() {
        var b = opened()
        let at = Self.t0 + .seconds(12)
        #expect(b.admit(now: at) == (.passOver(retryIn: .seconds(18)), nil))
        #expect(b.status(at: at) == BreakerStatus(phase: .open, retryInSeconds: 18))
        #expect(b.status(at: Self.t0 + .milliseconds(29_001)) == BreakerStatus(phase: .open, retryInSeconds: 1), "a fraction rounds up")
        #expect(b.state == .open(until: Self.t0 + .seconds(30)), "passing over changes nothing")
    }

    @Test("open: ends of attempts that were in flight when it opened change nothing")
    func openIgnoresLateEnds() {
        for verdict in [CircuitBreaker.Verdict.success, .failure, .neutral] {
            var b = opened()
            #expect(b.record(verdict, .ordinary, now: Self.t0 + .seconds(1)) == nil)
            #expect(b.state == .open(until: Self.t0 + .seconds(30)), "\(verdict): a late failure does not extend it, a late success does not close it")
        }
    }

    @Test("after the cool-down the status reads half-open before any request, without changing the state")
    func statusAfterCoolDown() {
        let b = opened()
        #expect(b.status(at: Self.t0 + .seconds(30)) == BreakerStatus(phase: .halfOpen))
        #expect(b.state == .open(until: Self.t0 + .seconds(30)))
    }

    @Test("half-open: the first attempt after the cool-down is a probe, and no more than `halfOpenProbes` at once")
    func halfOpenBoundsProbes() {
        var b = opened()
        let at = Self.t0 + .seconds(30)
        #expect(b.admit(now: at) == (.run(.probe(episode: 1)), BreakerTransition(from: .open, to: .halfOpen)))
        #expect(b.admit(now: at) == (.run(.probe(episode: 1)), nil))
        #expect(b.state == .halfOpen(probes: 2, episode: 1))
        #expect(b.admit(now: at) == (.passOver(retryIn: CircuitBreaker.probesBusyRetry), nil))
        #expect(b.status(at: at) == BreakerStatus(phase: .halfOpen))
    }

    @Test("half-open: a probe's success closes it with a clean count")
    func probeSuccessCloses() {
        var b = opened()
        let at = Self.t0 + .seconds(30)
        _ = b.admit(now: at)
        #expect(b.record(.success, .probe(episode: 1), now: at) == BreakerTransition(from: .halfOpen, to: .closed))
        #expect(b.state == .closed(failures: 0))
        #expect(b.admit(now: at) == (.run(.ordinary), nil))
    }

    @Test("half-open: a probe's failure opens it again for a full cool-down from then")
    func probeFailureReopens() {
        var b = opened()
        let at = Self.t0 + .seconds(31)
        _ = b.admit(now: at)
        #expect(b.record(.failure, .probe(episode: 1), now: at + .seconds(2)) == BreakerTransition(from: .halfOpen, to: .open))
        #expect(b.state == .open(until: at + .seconds(32)))
        #expect(b.admit(now: at + .seconds(31)) == (.passOver(retryIn: .seconds(1)), nil))
    }

    @Test("half-open: a probe that ends neutral gives its place back to the next request")
    func neutralProbeFreesItsPlace() {
        var b = opened(.init(failures: 1, openFor: .seconds(1), halfOpenProbes: 1))
        let at = Self.t0 + .seconds(1)
        _ = b.admit(now: at)
        #expect(b.admit(now: at) == (.passOver(retryIn: CircuitBreaker.probesBusyRetry), nil))
        #expect(b.record(.neutral, .probe(episode: 1), now: at) == nil)
        #expect(b.state == .halfOpen(probes: 0, episode: 1))
        #expect(b.admit(now: at) == (.run(.probe(episode: 1)), nil))
    }

    @Test("half-open: ordinary attempts from before it opened say nothing about the probes' verdict")
    func halfOpenIgnoresOrdinaryEnds() {
        for verdict in [CircuitBreaker.Verdict.success, .failure, .neutral] {
            var b = opened()
            _ = b.admit(now: Self.t0 + .seconds(30))
            #expect(b.record(verdict, .ordinary, now: Self.t0 + .seconds(30)) == nil)
            #expect(b.state == .halfOpen(probes: 1, episode: 1), "\(verdict)")
        }
    }

    @Test("a probe of an earlier half-open spell is not taken for one of the current spell")
    func lateProbeOfEarlierSpell() {
        var b = opened()
        let first = Self.t0 + .seconds(30)
        _ = b.admit(now: first)  // probe A, episode 1
        _ = b.admit(now: first)  // probe B, episode 1
        _ = b.record(.failure, .probe(episode: 1), now: first)  // A fails: open again until first + 30 s
        let second = first + .seconds(30)
        #expect(b.admit(now: second) == (.run(.probe(episode: 2)), BreakerTransition(from: .open, to: .halfOpen)))
        // B's success arrives now: it tried the target a cool-down ago, and decides nothing.
        #expect(b.record(.success, .probe(episode: 1), now: second) == nil)
        #expect(b.state == .halfOpen(probes: 1, episode: 2))
        #expect(b.record(.success, .probe(episode: 2), now: second) == BreakerTransition(from: .halfOpen, to: .closed))
    }

    @Test("once closed, a late probe's failure counts like any other failure")
    func lateProbeWhenClosed() {
        var b = opened()
        let at = Self.t0 + .seconds(30)
        _ = b.admit(now: at)
        _ = b.admit(now: at)
        _ = b.record(.success, .probe(episode: 1), now: at)
        #expect(b.record(.failure, .probe(episode: 1), now: at) == nil)
        #expect(b.state == .closed(failures: 1))
    }

    @Test("new settings keep the state: a lower threshold applies at the next failure, more probes are let in")
    func reconfigure() {
        var b = breaker()
        _ = b.record(.failure, .ordinary, now: Self.t0)
        _ = b.record(.failure, .ordinary, now: Self.t0)
        b.reconfigure(.init(failures: 2, openFor: .seconds(5), halfOpenProbes: 3))
        #expect(b.state == .closed(failures: 2))
        #expect(b.record(.failure, .ordinary, now: Self.t0) == BreakerTransition(from: .closed, to: .open))
        #expect(b.state == .open(until: Self.t0 + .seconds(5)))
        let at = Self.t0 + .seconds(5)
        for _ in 0..<3 { #expect(b.admit(now: at).0 == .run(.probe(episode: 1))) }
        #expect(b.admit(now: at).0 == .passOver(retryIn: CircuitBreaker.probesBusyRetry))
        // An open breaker keeps the end it was given when its cool-down setting changes.
        var open = opened()
        open.reconfigure(.init(failures: 3, openFor: .seconds(1), halfOpenProbes: 2))
        #expect(open.state == .open(until: Self.t0 + .seconds(30)))
    }

    @Test("what an attempt's error says about its target", arguments: [
        (ProviderError.unreachable("connection refused"), CircuitBreaker.Verdict.failure),
        (.transport("connection reset", timeout: false), .failure),
        (.transport("first byte", timeout: true), .failure),
        (.upstreamStatus(500, message: "boom"), .failure),
        (.upstreamStatus(502, message: "bad gateway"), .failure),
        (.upstreamStatus(503, message: "down", retryAfterSeconds: 5), .failure),
        (.upstreamStatus(529, message: "overloaded"), .failure),
        (.upstreamStatus(408, message: "request timeout"), .failure),
        (.upstreamStatus(302, message: "moved"), .failure),
        (.malformedResponse("<html>"), .failure),
        (.truncated("no first event"), .failure),
        (.upstreamStatus(429, message: "slow down", retryAfterSeconds: 2), .neutral),
        (.upstreamStatus(400, message: "bad request"), .neutral),
        (.upstreamStatus(401, message: "bad key"), .neutral),
        (.upstreamStatus(404, message: "no such model"), .neutral),
        (.upstreamStatus(413, message: "too large"), .neutral),
        (.upstreamStatus(422, message: "invalid"), .neutral),
        (.responseTooLarge(limit: 1024), .neutral),
        (.busy("full", local: false), .neutral),
        (.unavailable("restarting", retryAfterSeconds: 2), .neutral),
        (.unconfigured("no key"), .neutral),
    ])
    func verdicts(_ error: ProviderError, _ verdict: CircuitBreaker.Verdict) {
        #expect(CircuitBreaker.Verdict(error) == verdict, "\(error)")
    }

    enum Event: CaseIterable {
        case admit, success, failure, neutral, lateSuccess, lateFailure, wait
    }

    /// Every sequence of up to seven events (admit; the oldest outstanding attempt ends with a
    /// success, failure or neutral verdict; an ordinary attempt from before ends late; the clock
    /// moves by a cool-down), with a threshold of two and two probes. After each event: a
    /// transition is reported exactly when the phase changed, and from the phase it was in;
    /// probes in flight stay within 0…`halfOpenProbes` and failures below the threshold; an
    /// attempt is passed over only while open or while every probe is out.
    @Test("every short event sequence keeps the invariants")
    func exhaustive() {
        let settings = BreakerSettings(failures: 2, openFor: .seconds(10), halfOpenProbes: 2)
        var checked = 0
        var problems: [String] = []
        func walk(_ b: CircuitBreaker, _ tickets: [CircuitBreaker.Ticket], _ now: ContinuousClock.Instant, _ path: [Event]) {
            guard path.count < 7, problems.isEmpty else { return }
            for event in Event.allCases {
                var (b, tickets, now) = (b, tickets, now)
                let before = b.state
                var transition: BreakerTransition?
                switch event {
                case .admit:
                    let (admission, t) = b.admit(now: now)
                    transition = t
                    switch (admission, before) {
                    case (.run(let ticket), _): tickets.append(ticket)
                    case (.passOver, .open(let until)) where now < until: break
                    case (.passOver, .halfOpen(let probes, _)) where probes == settings.halfOpenProbes: break
                    case (.passOver, _): problems.append("\(path + [event]): passed over from \(before)")
                    }
                case .success, .failure, .neutral:
                    guard !tickets.isEmpty else { continue }
                    let verdict: CircuitBreaker.Verdict = event == .success ? .success : event == .failure ? .failure : .neutral
                    transition = b.record(verdict, tickets.removeFirst(), now: now)
                case .lateSuccess:
                    transition = b.record(.success, .ordinary, now: now)
                case .lateFailure:
                    transition = b.record(.failure, .ordinary, now: now)
                case .wait:
                    now = now + settings.openFor
                }
                let expected = phase(before) == phase(b.state) ? nil : BreakerTransition(from: phase(before), to: phase(b.state))
                if transition != expected { problems.append("\(path + [event]): \(before) -> \(b.state) reported \(String(describing: transition))") }
                switch b.state {
                case .closed(let failures) where !(0..<settings.failures).contains(failures),
                     .halfOpen(let failures, _) where !(0...settings.halfOpenProbes).contains(failures):
                    problems.append("\(path + [event]): \(b.state)")
                default: break
                }
                checked += 1
                walk(b, tickets, now, path + [event])
            }
        }
        walk(CircuitBreaker(settings: settings), [], Self.t0, [])
        #expect(problems.isEmpty, "\(problems.prefix(5))")
        #expect(checked > 50_000)
    }

    func phase(_ state: CircuitBreaker.State) -> BreakerPhase {
        switch state {
        case .closed: .closed
        case .open: .open
        case .halfOpen: .halfOpen
        }
    }
}
