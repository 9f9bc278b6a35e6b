import SwitchyardDecision
import SwitchyardSignals
import SwitchyardPolicy
import SwitchyardProviders

/// The circuit breaker of one cloud target: closed (requests go through), open (the target is
/// passed over until its cool-down ends), half-open (a bounded number of probes try it again).
///
/// A pure state machine in the style of `AdmissionState`: events in (an attempt wants to start,
/// an attempt ended), decisions out (run, probe, pass over; which transition happened), with the
/// time passed in. Nothing here reads a clock or does I/O, so every path is unit-tested.
/// `TargetBreaker` drives it under a lock.
///
/// What counts (`Verdict.init`): a failure is the upstream being unwell (unreachable, a broken
/// or timed-out transfer, a 5xx, a 2xx that is not the promised format, a stream cut before its
/// first event). A 429 is not: it is the caller's quota, and its Retry-After already says when to
/// come back. A 4xx rejecting the request is not (the target is well, the request is not), nor is
/// a client hanging up. Failures open the breaker only when consecutive: one success in between
/// starts the count again.
struct CircuitBreaker: Equatable {
    enum State: Equatable {
        case closed(failures: Int)
        case open(until: ContinuousClock.Instant)
        /// `probes` are in flight; `episode` tells this half-open spell's probes from an earlier one's.
        case halfOpen(probes: Int, episode: Int)
    }

    /// What an admitted attempt carries until its end is recorded.
    enum Ticket: Equatable {
        /// Sent while closed: it counts towards (or resets) the consecutive failures.
        case ordinary
        /// A half-open probe: its verdict closes or reopens the breaker.
        case probe(episode: Int)
    }

    enum Admission: Equatable {
        case run(Ticket)
        /// Pass the target over; it may be tried again in `retryIn`.
        case passOver(retryIn: Duration)
    }

    /// What an attempt's end says about its target.
    enum Verdict: Equatable {
        case success
        case failure
        /// Nothing about the target's health: a rejected request, a rate limit, a client that
        /// left, an attempt that never reached the upstream.
        case neutral
    }

    /// When half-open probes are all out, the others come back after this (the probes' verdict
    /// is due within their first-byte timeout; a second is what a client is told to wait).
    static let probesBusyRetry: Duration = .seconds(1)

    private(set) var settings: BreakerSettings
    private(set) var state: State = .closed(failures: 0)
    /// Counts the times the breaker went half-open, to tell a late probe from a current one.
    private var episodes = 0

    init(settings: BreakerSettings) { self.settings = settings }

    /// An attempt wants to start at `now`.
    mutating func admit(now: ContinuousClock.Instant) -> (Admission, BreakerTransition?) {
        switch state {
        case .closed:
            return (.run(.ordinary), nil)
        case .open(let until):
            guard now >= until else { return (.passOver(retryIn: until - now), nil) }
            episodes += 1
            state = .halfOpen(probes: 1, episode: episodes)
            return (.run(.probe(episode: episodes)), BreakerTransition(from: .open, to: .halfOpen))
        case .halfOpen(let probes, let episode):
            guard probes < settings.halfOpenProbes else { return (.passOver(retryIn: Self.probesBusyRetry), nil) }
            state = .halfOpen(probes: probes + 1, episode: episode)
            return (.run(.probe(episode: episode)), nil)
        }
    }

    /// An admitted attempt ended at `now`. Ends that arrive after the state moved on (an
    /// ordinary attempt that was in flight when the breaker opened, a probe of an earlier
    /// half-open spell) say nothing about the state now and are ignored, except that a failure
    /// or success still counts while closed.
    mutating func record(_ verdict: Verdict, _ ticket: Ticket, now: ContinuousClock.Instant) -> BreakerTransition? {
        switch state {
        case .closed(let failures):
            switch verdict {
            case .success:
                state = .closed(failures: 0)
            case .failure:
                guard failures + 1 >= settings.failures else {
                    state = .closed(failures: failures + 1)
                    return nil
                }
                state = .open(until: now + settings.openFor)
                return BreakerTransition(from: .closed, to: .open)
            case .neutral:
                break
            }
            return nil
        case .open:
            return nil
        case .halfOpen(let probes, let episode):
            guard ticket == .probe(episode: episode) else { return nil }
            switch verdict {
            case .success:
                state = .closed(failures: 0)
                return BreakerTransition(from: .halfOpen, to: .closed)
            case .failure:
                state = .open(until: now + settings.openFor)
                return BreakerTransition(from: .halfOpen, to: .open)
            case .neutral:
                // The probe's slot is given back; the next request probes instead.
                state = .halfOpen(probes: probes - 1, episode: episode)
                return nil
            }
        }
    }

    /// New settings from a policy reload. The state is kept: a target failing before the
    /// reload is still failing after it. An open breaker keeps the end it was given.
    mutating func reconfigure(_ newSettings: BreakerSettings) {
        settings = newSettings
    }

    /// Where it stands as of `now`, for `/readyz` and metrics: an open breaker whose cool-down
    /// has passed lets the next request probe, so it reads as half-open (without becoming it).
    func status(at now: ContinuousClock.Instant) -> BreakerStatus {
        switch state {
        case .closed(let failures): BreakerStatus(phase: .closed, failures: failures)
        case .open(let until) where now >= until: BreakerStatus(phase: .halfOpen)
        case .open(let until): BreakerStatus(phase: .open, retryInSeconds: (until - now).wholeSecondsRoundedUp)
        case .halfOpen: BreakerStatus(phase: .halfOpen)
        }
    }
}

/// Where a breaker stands (`/readyz`, the `switchyard_breaker_state` gauge).
public enum BreakerPhase: String, Sendable, Equatable, CaseIterable {
    case closed
    case open
    case halfOpen = "half_open"
}

public struct BreakerStatus: Sendable, Equatable {
    public var phase: BreakerPhase
    /// Consecutive failures so far (closed).
    public var failures = 0
    /// In how many seconds probes will be let through (open).
    public var retryInSeconds: Int?
}

extension Duration {
    /// Seconds, a fraction counting as one more (what `Retry-After` and the headers say).
    var wholeSecondsRoundedUp: Int { Int(components.seconds) + (components.attoseconds > 0 ? 1 : 0) }
}

public struct BreakerTransition: Sendable, Equatable {
    public var from: BreakerPhase
    public var to: BreakerPhase
}

extension CircuitBreaker.Verdict {
    /// What a failed attempt's error says about its target (see `CircuitBreaker`).
    init(_ error: ProviderError) {
        switch error {
        case .unreachable, .transport, .malformedResponse, .truncated:
            self = .failure
        case .upstreamStatus(let status, _, _):
            // A 4xx is about the request (or, 429, the caller's quota), except a request timeout.
            self = (400..<500).contains(status) && status != 408 ? .neutral : .failure
        case .unavailable, .unconfigured, .responseTooLarge, .busy:
            self = .neutral
        }
    }
}
