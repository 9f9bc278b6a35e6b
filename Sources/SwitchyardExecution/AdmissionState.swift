/// The admission state of one target: how many attempts run on it, and who waits for a turn.
///
/// A pure state machine in the style of AsyncHTTPClient's connection pool: each event returns
/// what the caller must do, and nothing here does I/O, sleeps or resumes anybody, so every
/// interleaving can be unit-tested. `TargetGate` drives it under a lock.
struct AdmissionState {
    struct Limits: Equatable {
        var maxConcurrency: Int
        var queueDepth: Int
    }

    enum Admit: Equatable {
        /// Run now: a slot was free.
        case run
        /// Wait in the queue for a slot (until the caller's deadline).
        case wait
        /// The target is full and so is its queue.
        case reject
    }

    private(set) var limits: Limits
    private(set) var running = 0
    /// Waiting callers in arrival order; `head` is the first still in the queue.
    private var waiting: [Int] = []
    private var head = 0

    init(limits: Limits) { self.limits = limits }

    var queued: Int { waiting.count - head }

    mutating func admit(_ id: Int) -> Admit {
        if running < limits.maxConcurrency && queued == 0 {
            running += 1
            return .run
        }
        guard queued < limits.queueDepth else { return .reject }
        waiting.append(id)
        return .wait
    }

    /// An attempt ended. Returns the waiter that takes its slot (it now counts as running), if any.
    mutating func release() -> Int? {
        running -= 1
        return promote().first
    }

    /// A waiter gave up (deadline passed, task cancelled). False when it was not waiting any
    /// more: it had already been given a slot, which it must now release.
    mutating func abandon(_ id: Int) -> Bool {
        guard let index = waiting[head...].firstIndex(of: id) else { return false }
        waiting.remove(at: index)
        return true
    }

    /// New limits from a policy reload. Returns the waiters that a higher limit lets run now.
    mutating func reconfigure(_ newLimits: Limits) -> [Int] {
        limits = newLimits
        return promote()
    }

    private mutating func promote() -> [Int] {
        var started: [Int] = []
        while running < limits.maxConcurrency, head < waiting.count {
            started.append(waiting[head])
            head += 1
            running += 1
        }
        if head == waiting.count {
            waiting.removeAll(keepingCapacity: true)
            head = 0
        }
        return started
    }
}
