import SwitchyardDecision
import SwitchyardSignals
import SwitchyardPolicy
import Synchronization

/// Bounds the attempts running on one target, with a bounded queue whose wait is bounded in
/// time. Without it, 200 simultaneous requests all went to a 4-slot engine (p50 31 s); with it,
/// the requests past the queue are turned away at once and can fall back elsewhere.
public final class TargetGate: Sendable {
    public enum Refusal: Error, Sendable, Equatable {
        /// Full, and so is the queue.
        case full
        /// Waited `queue_timeout` without getting a slot.
        case timedOut
    }

    private struct State {
        var admission: AdmissionState
        var waiters: [Int: CheckedContinuation<Void, any Error>] = [:]
        /// Fates decided before the waiter's continuation was stored (nil error: a slot was given).
        var decidedEarly: [Int: (any Error)?] = [:]
        var queueTimeout: Duration

        /// Takes the continuation of a waiter whose fate is decided, or records the fate for later.
        mutating func decide(_ id: Int, _ error: (any Error)?) -> CheckedContinuation<Void, any Error>? {
            if let waiter = waiters.removeValue(forKey: id) { return waiter }
            decidedEarly[id] = .some(error)
            return nil
        }
    }

    private let state: Mutex<State>
    private let nextID = Atomic<Int>(0)

    init(limits: TargetLimits) {
        state = Mutex(State(admission: AdmissionState(limits: .init(limits)), queueTimeout: limits.queueTimeout))
    }

    /// Waits for a slot (at most `queue_timeout`, or `limit` when shorter); the returned permit
    /// frees it when the last reference to it goes away (a stream holds it until the stream is
    /// finished or dropped).
    func admit(waitingAtMost limit: Duration? = nil) async throws -> Permit {
        let id = nextID.wrappingAdd(1, ordering: .relaxed).oldValue
        let (admit, timeout) = state.withLock { ($0.admission.admit(id), min($0.queueTimeout, limit ?? $0.queueTimeout)) }
        switch admit {
        case .run: return Permit(gate: self)
        case .reject: throw Refusal.full
        case .wait: break
        }
        let timer = Task { [weak self] in
            try await Task.sleep(for: timeout)
            self?.giveUp(id, with: Refusal.timedOut)
        }
        defer { timer.cancel() }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                // Its fate may have been decided before it got here (a slot, a time-out, a cancel).
                let early = state.withLock { state -> (any Error)?? in
                    if let fate = state.decidedEarly.removeValue(forKey: id) { return .some(fate) }
                    state.waiters[id] = continuation
                    return .none
                }
                switch early {
                case .none: break
                case .some(.none): continuation.resume()
                case .some(.some(let error)): continuation.resume(throwing: error)
                }
            }
        } onCancel: {
            giveUp(id, with: CancellationError())
        }
        return Permit(gate: self)
    }

    /// New limits after a policy reload; requests already running keep their slots.
    func reconfigure(_ limits: TargetLimits) {
        let started = state.withLock { state -> [CheckedContinuation<Void, any Error>] in
            state.queueTimeout = limits.queueTimeout
            return state.admission.reconfigure(.init(limits)).compactMap { state.decide($0, nil) }
        }
        for waiter in started { waiter.resume() }
    }

    fileprivate func release() {
        let next = state.withLock { state -> CheckedContinuation<Void, any Error>? in
            state.admission.release().flatMap { state.decide($0, nil) }
        }
        next?.resume()
    }

    private func giveUp(_ id: Int, with error: any Error) {
        let waiter = state.withLock { state -> CheckedContinuation<Void, any Error>? in
            guard state.admission.abandon(id) else { return nil }
            return state.decide(id, error)
        }
        waiter?.resume(throwing: error)
    }

    /// Attempts running and waiting now (for `/readyz` and tests).
    var load: (running: Int, queued: Int) { state.withLock { ($0.admission.running, $0.admission.queued) } }

    /// Attempts waiting, and slots free now.
    var occupancy: (queued: Int, freeSlots: Int) {
        state.withLock { ($0.admission.queued, max(0, $0.admission.limits.maxConcurrency - $0.admission.running)) }
    }
}

/// One slot on a target, freed when the permit is released by ARC: whoever holds the attempt's
/// answer (a whole completion being returned, a stream being written) holds the slot.
final class Permit: Sendable {
    private let gate: TargetGate
    fileprivate init(gate: TargetGate) { self.gate = gate }
    deinit { gate.release() }
}

/// The gates of every target, kept across policy reloads so that in-flight attempts stay counted
/// against the target they run on while the new policy's limits take effect.
public final class TargetGates: Sendable {
    private let gates = Mutex<[String: TargetGate]>([:])

    public init() {}

    /// The gates for a policy's targets: existing ones get the new limits.
    func gates(for policy: Policy) -> [String: TargetGate] {
        gates.withLock { gates in
            var current: [String: TargetGate] = [:]
            for target in policy.models {
                if let gate = gates[target.name] {
                    gate.reconfigure(target.limits)
                    current[target.name] = gate
                } else {
                    let gate = TargetGate(limits: target.limits)
                    gates[target.name] = gate
                    current[target.name] = gate
                }
            }
            return current
        }
    }

    /// Attempts running and waiting on a target now; nil for a target no policy has named.
    public func load(of target: String) -> (running: Int, queued: Int)? {
        gates.withLock { $0[target] }?.load
    }

    /// Attempts waiting on a target, and its slots free; nil for a target no policy has named.
    public func occupancy(of target: String) -> (queued: Int, freeSlots: Int)? {
        gates.withLock { $0[target] }?.occupancy
    }
}

extension AdmissionState.Limits {
    init(_ limits: TargetLimits) { self.init(maxConcurrency: limits.maxConcurrency, queueDepth: limits.queueDepth) }
}
