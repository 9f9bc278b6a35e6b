import SwitchyardDecision
import SwitchyardSignals
import SwitchyardPolicy
import SwitchyardWire
import Synchronization

/// One cloud target's circuit breaker, shared by every request to it: `CircuitBreaker` under a
/// lock, with the clock read here and each transition announced (log line, metrics).
final class TargetBreaker: Sendable {
    enum Admission {
        /// Send the attempt; record how it ended on the pass.
        case run(BreakerPass)
        /// Pass the target over, as an unconfigured one is; it may be tried again in `retryIn`.
        case passOver(retryIn: Duration)
    }

    let target: String
    private let state: Mutex<CircuitBreaker>
    private let announce: @Sendable (String, BreakerTransition) -> Void

    init(target: String, settings: BreakerSettings, announce: @escaping @Sendable (String, BreakerTransition) -> Void) {
        self.target = target
        state = Mutex(CircuitBreaker(settings: settings))
        self.announce = announce
    }

    func admit() -> Admission {
        let (admission, transition) = state.withLock { $0.admit(now: .now) }
        if let transition { announce(target, transition) }
        switch admission {
        case .run(let ticket): return .run(BreakerPass(breaker: self, ticket: ticket))
        case .passOver(let retryIn): return .passOver(retryIn: retryIn)
        }
    }

    fileprivate func record(_ verdict: CircuitBreaker.Verdict, _ ticket: CircuitBreaker.Ticket) {
        let transition = state.withLock { $0.record(verdict, ticket, now: .now) }
        if let transition { announce(target, transition) }
    }

    func reconfigure(_ settings: BreakerSettings) {
        state.withLock { $0.reconfigure(settings) }
    }

    /// Where the breaker stands now (`/readyz`, metrics).
    var status: BreakerStatus { state.withLock { $0.status(at: .now) } }
}

/// An admitted attempt's place in its target's breaker. `record` gives the attempt's verdict
/// once; a pass dropped without one belongs to an attempt that never reached the upstream (no
/// slot, no room in a budget, the client left), which says nothing of the target: it is recorded
/// as neutral then, so a half-open probe's place is never lost.
final class BreakerPass: Sendable {
    private let breaker: TargetBreaker
    private let ticket: CircuitBreaker.Ticket
    private let recorded = Atomic<Bool>(false)

    fileprivate init(breaker: TargetBreaker, ticket: CircuitBreaker.Ticket) {
        self.breaker = breaker
        self.ticket = ticket
    }

    func record(_ verdict: CircuitBreaker.Verdict) {
        guard !recorded.exchange(true, ordering: .relaxed) else { return }
        breaker.record(verdict, ticket)
    }

    deinit { record(.neutral) }
}

/// The breakers of every cloud target, kept across policy reloads by name, so that a target
/// failing before a reload is still passed over after it.
public final class TargetBreakers: Sendable {
    private let breakers = Mutex<[String: TargetBreaker]>([:])
    private let announce: @Sendable (String, BreakerTransition) -> Void

    /// - Parameter announce: told of every transition (target name, from, to), outside any lock.
    public init(announce: @escaping @Sendable (String, BreakerTransition) -> Void = { _, _ in }) {
        self.announce = announce
    }

    /// The breakers for a policy's cloud targets (none when `resilience.breaker.enabled` is
    /// false): existing ones keep their state and take the new settings. Breakers of targets the
    /// policy no longer has, or no longer has in the cloud, are forgotten.
    func breakers(for policy: Policy) -> [String: TargetBreaker] {
        let settings = policy.resilience.breaker
        return breakers.withLock { breakers in
            var current: [String: TargetBreaker] = [:]
            if settings.enabled {
                for target in policy.models where !target.isLocal {
                    let breaker = breakers[target.name] ?? TargetBreaker(target: target.name, settings: settings, announce: announce)
                    breaker.reconfigure(settings)
                    current[target.name] = breaker
                }
            }
            breakers = current
            return current
        }
    }
}

extension GatewayError {
    /// Every candidate left was passed over by its breaker (and none failed on this request).
    static func circuitOpen(_ target: String, retryInSeconds: Int) -> GatewayError {
        GatewayError(status: 503, code: "circuit_open",
                     message: "target '\(target)' failed repeatedly and is passed over for now (its circuit breaker is open); it is tried again in \(retryInSeconds) s",
                     retryAfterSeconds: max(1, retryInSeconds))
    }
}
