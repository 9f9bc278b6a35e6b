import Synchronization

/// Jobs waiting for a store's writer tasks, handed over in batches: everything that arrived
/// while the previous transaction committed goes into the next one (group commit). Under load a
/// commit's fixed cost (an fsync, a round trip) is shared by every caller waiting; alone, a job
/// is taken at once.
///
/// A job nobody waits for (not `urgent`: a SQLite record already durable in the journal) can
/// also wait for company: `linger` holds the writer a moment so that one commit carries many,
/// and ends early when an urgent job arrives, so that no caller waits for the lingering.
final class BatchQueue<Job: BatchJob>: Sendable {
    private struct State {
        var pending: [Job] = []
        var urgentPending = 0
        var waiters: [CheckedContinuation<Void, Never>] = []
        /// The writer lingering, and how many pending jobs end it early.
        var lingering: (continuation: CheckedContinuation<Void, Never>, enough: Int, token: Int)?
        var lingerToken = 0
        var closed = false

        mutating func take(_ limit: Int) -> [Job] {
            let taken = pending.prefix(limit)
            pending.removeFirst(taken.count)
            urgentPending -= taken.count(where: \.urgent)
            return Array(taken)
        }

        /// The lingering writer, when what is pending should end its wait.
        mutating func lingererToWake() -> CheckedContinuation<Void, Never>? {
            guard let lingering, closed || urgentPending > 0 || pending.count >= lingering.enough else { return nil }
            self.lingering = nil
            return lingering.continuation
        }
    }

    private let state = Mutex(State())

    /// False once closed: the job was not queued.
    func enqueue(_ job: Job) -> Bool {
        let (accepted, waiter, lingerer) = state.withLock { state -> (Bool, CheckedContinuation<Void, Never>?, CheckedContinuation<Void, Never>?) in
            guard !state.closed else { return (false, nil, nil) }
            state.pending.append(job)
            if job.urgent { state.urgentPending += 1 }
            return (true, state.waiters.popLast(), state.lingererToWake())
        }
        waiter?.resume()
        lingerer?.resume()
        return accepted
    }

    /// Up to `limit` jobs, waiting for the first; empty only once closed and drained.
    func next(limit: Int) async -> [Job] {
        while true {
            let batch = state.withLock { state -> [Job]? in
                guard state.pending.isEmpty else { return state.take(limit) }
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

    /// Up to `limit` jobs, at once (none when nothing is pending).
    func take(limit: Int) -> [Job] {
        state.withLock { $0.take(limit) }
    }

    /// Returns after `duration`, or sooner: once `enough` jobs are pending, an urgent job is, or
    /// the queue is closed. For one writer at a time.
    func linger(for duration: Duration, enough: Int) async {
        let token = state.withLock { state -> Int in
            state.lingerToken += 1
            return state.lingerToken
        }
        let timer = Task {
            try? await Task.sleep(for: duration)
            self.endLinger(token)
        }
        await withCheckedContinuation { continuation in
            let ready = state.withLock { state -> Bool in
                state.lingering = (continuation, enough, token)
                return state.lingererToWake() != nil
            }
            if ready { continuation.resume() }
        }
        timer.cancel()
    }

    private func endLinger(_ token: Int) {
        let lingerer = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard let lingering = state.lingering, lingering.token == token else { return nil }
            state.lingering = nil
            return lingering.continuation
        }
        lingerer?.resume()
    }

    /// No more jobs; those queued are still handed out.
    func close() {
        let (waiters, lingerer) = state.withLock { state -> ([CheckedContinuation<Void, Never>], CheckedContinuation<Void, Never>?) in
            state.closed = true
            defer { state.waiters = [] }
            return (state.waiters, state.lingererToWake())
        }
        for waiter in waiters { waiter.resume() }
        lingerer?.resume()
    }
}

/// A job for a `BatchQueue`.
protocol BatchJob: Sendable {
    /// Whether a caller waits for it (most do).
    var urgent: Bool { get }
}

extension BatchJob {
    var urgent: Bool { true }
}
