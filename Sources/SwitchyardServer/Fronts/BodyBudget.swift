import Hummingbird
import Metrics
import Synchronization
import SwitchyardWire

/// The process-wide budget of request-body bytes in flight (`server.max_inflight_body_bytes`).
///
/// A body costs the gateway a few times its size while its request runs (the parsed request, the
/// body re-serialised for the upstream; docs/benchmarks.md, Memory), and nothing else bounds how
/// many run at once: 128 maximum-size bodies took 1.5 GB. Each request claims its body's bytes
/// before reading it (by `Content-Length`; a chunked body claims as it arrives); a claim that
/// does not fit is refused with 503 and `Retry-After`. The claim is returned when its request
/// ends, whichever way: the last reference to it goes with the handler or the stream it feeds.
final class BodyBudget: Sendable {
    private let state: Mutex<InflightBytes>
    private let gauge = Gauge(label: "switchyard_inflight_body_bytes")
    private let returnPending = Atomic<Bool>(false)

    init(limit: Int) {
        state = Mutex(InflightBytes(limit: limit))
    }

    var limit: Int { state.withLock { $0.limit } }
    /// Bytes claimed now (for tests and the gauge).
    var held: Int { state.withLock { $0.held } }

    /// A claim of `bytes`, or nil when they do not fit now.
    func claim(_ bytes: Int) -> BodyClaim? {
        guard take(bytes) else { return nil }
        return BodyClaim(budget: self, bytes: bytes)
    }

    fileprivate func take(_ bytes: Int) -> Bool {
        let (taken, held) = state.withLock { ($0.take(bytes), $0.held) }
        if taken { gauge.record(held) }
        return taken
    }

    fileprivate func give(_ bytes: Int) {
        let (burst, held) = state.withLock { ($0.give(bytes), $0.held) }
        gauge.record(held)
        if let burst, burst >= Self.burstToReturn { returnFreeMemorySoon() }
    }

    /// The bytes of bodies held at once past which the end of a burst returns free memory (eight
    /// default-size bodies): smaller ones leave little behind, and trimming costs milliseconds.
    static let burstToReturn = 32 << 20
    /// A burst's requests are over when their claims are given back, but their connections'
    /// buffers and answers go a little later: the free memory is returned after this.
    static let returnDelay: Duration = .seconds(1)

    /// What a burst of bodies left in the allocator's arenas goes back to the system, once (a
    /// return already pending covers this burst too).
    private func returnFreeMemorySoon() {
        guard !returnPending.exchange(true, ordering: .acquiringAndReleasing) else { return }
        Task { [self] in
            try? await Task.sleep(for: Self.returnDelay)
            returnPending.store(false, ordering: .releasing)
            MallocTuning.returnFreeMemory()
        }
    }
}

/// One request's share of the `BodyBudget`, given back when the last reference to it goes.
/// Grown by one reader at a time (the task reading the body), hence relaxed atomics.
final class BodyClaim: Sendable {
    private let budget: BodyBudget
    private let bytes: Atomic<Int>

    fileprivate init(budget: BodyBudget, bytes: Int) {
        self.budget = budget
        self.bytes = Atomic(bytes)
    }

    /// Bytes held by this claim.
    var held: Int { bytes.load(ordering: .relaxed) }

    /// Claims `more` bytes (a body without `Content-Length`, as it arrives); false if they do not fit.
    func grow(by more: Int) -> Bool {
        guard budget.take(more) else { return false }
        bytes.add(more, ordering: .relaxed)
        return true
    }

    deinit { budget.give(bytes.load(ordering: .relaxed)) }
}

extension GatewayError {
    /// The gateway holds as many request bodies as `server.max_inflight_body_bytes` allows.
    static let bodiesInFlight = GatewayError(
        status: 503, code: "gateway_overloaded",
        message: "The gateway holds as many request bodies as it may at once (server.max_inflight_body_bytes); retry shortly.",
        retryAfterSeconds: 1)
}
