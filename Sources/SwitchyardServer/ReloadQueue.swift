import Synchronization

/// Serialises policy reloads. Every trigger (SIGHUP, a change of the file, `Gateway.reloadPolicy()`)
/// is handed to this queue, and one consumer task runs the reloads, one at a time.
///
/// Why: two reloads running at once could finish in either order, so a slow reload of the old
/// file could be installed over a fast reload of the new one. Here triggers that arrive while a
/// reload runs are coalesced into one more reload, which reads the file as it is when that
/// reload starts: the newest file wins, and a burst of triggers costs at most two reloads.
final class ReloadQueue: Sendable {
    private struct State {
        /// Tickets handed out, one per trigger.
        var issued: UInt64 = 0
        /// Every ticket up to this one has been served by a reload that started after it was issued.
        var served: UInt64 = 0
        /// Triggers not yet taken by a reload, for its log line.
        var pending: [String] = []
        var waiters: [(ticket: UInt64, continuation: CheckedContinuation<Void, Never>)] = []
        /// The consumer has stopped: nothing will be reloaded any more.
        var closed = false
    }

    private let state = Mutex(State())
    private let wakeups: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation

    init() {
        // One buffered wake-up is enough: the consumer drains every pending trigger when it wakes.
        (wakeups, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Asks for a reload and returns at once (SIGHUP, the file watcher).
    func post(_ trigger: String) {
        _ = enqueue(trigger)
    }

    /// Asks for a reload and returns when a reload that started after this call has been applied
    /// or rejected. Before the consumer starts this waits for it; after it stopped, returns at once.
    func request(_ trigger: String) async {
        guard let ticket = enqueue(trigger) else { return }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = state.withLock { state in
                if state.closed || state.served >= ticket { return true }
                state.waiters.append((ticket, continuation))
                return false
            }
            if done { continuation.resume() }
        }
    }

    /// The ticket of a new trigger, or nil once the queue is closed.
    private func enqueue(_ trigger: String) -> UInt64? {
        let ticket: UInt64? = state.withLock { state in
            guard !state.closed else { return nil }
            state.issued += 1
            state.pending.append(trigger)
            return state.issued
        }
        if ticket != nil { wake.yield() }
        return ticket
    }

    /// The consumer: runs `reload` with the triggers it serves, one reload at a time, until the
    /// calling task is cancelled; then wakes every waiter and refuses further requests.
    /// Call it from one task only.
    func consume(_ reload: (_ triggers: [String]) async -> Void) async {
        for await _ in wakeups {
            while !Task.isCancelled, let (ticket, triggers) = take() {
                await reload(triggers)
                finish(ticket)
            }
        }
        close()
    }

    /// The newest ticket and the triggers it covers, or nil when every ticket has been served.
    private func take() -> (UInt64, [String])? {
        state.withLock { state in
            guard !state.pending.isEmpty else { return nil }
            defer { state.pending = [] }
            return (state.issued, state.pending)
        }
    }

    private func finish(_ ticket: UInt64) {
        let ready = state.withLock { state in
            state.served = ticket
            let (ready, waiting) = (state.waiters.filter { $0.ticket <= ticket }, state.waiters.filter { $0.ticket > ticket })
            state.waiters = waiting
            return ready
        }
        for waiter in ready { waiter.continuation.resume() }
    }

    private func close() {
        wake.finish()
        let waiting = state.withLock { state in
            state.closed = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiting { waiter.continuation.resume() }
    }
}
