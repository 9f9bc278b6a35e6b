import Synchronization

/// Jobs waiting for a store's writer tasks, handed over in batches: everything that arrived
/// while the previous transaction committed goes into the next one (group commit). Under load a
/// commit's fixed cost (an fsync, a round trip) is shared by every caller waiting; alone, a job
/// is taken at once.
final class BatchQueue<Job: Sendable>: Sendable {
    private struct State {
        var pending: [Job] = []
        var waiters: [CheckedContinuation<Void, Never>] = []
        var closed = false
    }

    private let state = Mutex(State())

    /// False once closed: the job was not queued.
    func enqueue(_ job: Job) -> Bool {
        let (accepted, waiter) = state.withLock { state -> (Bool, CheckedContinuation<Void, Never>?) in
            guard !state.closed else { return (false, nil) }
            state.pending.append(job)
            return (true, state.waiters.popLast())
        }
        waiter?.resume()
        return accepted
    }

    /// Up to `limit` jobs, waiting for the first; empty only once closed and drained.
    func next(limit: Int) async -> [Job] {
        while true {
            let batch = state.withLock { state -> [Job]? in
                guard state.pending.isEmpty else {
                    let count = min(limit, state.pending.count)
                    defer { state.pending.removeFirst(count) }
                    return Array(state.pending.prefix(count))
                }
                return state.closed ? [] : nil
            }
            if let batch { return batch }
            await withCheckedContinuation { continuation in
                let ready = state.withLock { state -> Bool in
                    if !state.pending.isEmpty || state.closed { return true }
                    state.waiters.append(continuation)
                    return false
                }
                if ready { continuation.resume() }
            }
        }
    }

    /// No more jobs; those queued are still handed out.
    func close() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.closed = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }
}
