/// The bytes of request bodies the gateway holds at once, within `server.max_inflight_body_bytes`.
///
/// A pure state machine, as `AdmissionState` is: `BodyBudget` drives it under a lock, and every
/// sequence of claims and returns can be unit-tested without I/O. It never waits: a body that
/// does not fit is refused at once (503 with `Retry-After`), so an overload sheds load instead of
/// queueing connections that each hold a socket.
struct InflightBytes: Equatable {
    let limit: Int
    private(set) var held = 0
    /// The most held at once since everything was last given back: the size of the burst.
    private(set) var peak = 0

    init(limit: Int) { self.limit = max(0, limit) }

    /// Takes `bytes` if they fit beside what is held; takes nothing and returns false otherwise.
    mutating func take(_ bytes: Int) -> Bool {
        // `held <= limit` always, so `limit - held` cannot overflow; a negative claim is refused.
        guard bytes >= 0, bytes <= limit - held else { return false }
        held += bytes
        peak = max(peak, held)
        return true
    }

    /// Gives back `bytes` taken earlier (a request ended, however it ended). When that leaves
    /// nothing held, the burst is over: returns its peak (and starts counting the next one).
    mutating func give(_ bytes: Int) -> Int? {
        precondition(bytes >= 0 && bytes <= held, "returning \(bytes) request-body bytes of \(held) held")
        held -= bytes
        guard held == 0 else { return nil }
        defer { peak = 0 }
        return peak
    }
}
