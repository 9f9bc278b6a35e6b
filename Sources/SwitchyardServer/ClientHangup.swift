import Synchronization

/// Tells a request's work that its client went away, so that the work stops: a client that
/// hangs up before its answer is ready must not leave the engine generating for nobody.
///
/// One per connection, fired by `ConnectionGuard` on the event loop when the peer closes while
/// a request is in flight; read by the request's handler, which runs its work in a task that
/// the hang-up cancels (and with it the upstream transfer and the engine's slot). That task runs
/// on the connection's event loop, as the connection's own task does (`ConnectionLoopChannel`):
/// an unstructured task does not inherit an executor preference, so it is given one.
final class ClientHangup: Sendable {
    private struct State {
        var hungUp = false
        var onHangup: (@Sendable () -> Void)?
    }

    private let state = Mutex(State())
    private let executor: any TaskExecutor

    init(executor: any TaskExecutor) {
        self.executor = executor
    }

    var hasHungUp: Bool { state.withLock { $0.hungUp } }

    func fire() {
        let action = state.withLock { state -> (@Sendable () -> Void)? in
            guard !state.hungUp else { return nil }
            state.hungUp = true
            defer { state.onHangup = nil }
            return state.onHangup
        }
        action?()
    }

    /// Runs `work`, cancelled if the client hangs up meanwhile (or had already).
    func cancellingOnHangup<T: Sendable>(_ work: sending @escaping @isolated(any) () async throws -> T) async throws -> T {
        let task = Task.immediate(executorPreference: executor, operation: work)
        let registered = state.withLock { state -> Bool in
            guard !state.hungUp else { return false }
            state.onHangup = { task.cancel() }
            return true
        }
        if !registered { task.cancel() }
        defer { state.withLock { $0.onHangup = nil } }
        return try await withTaskCancellationHandler { try await task.value } onCancel: { task.cancel() }
    }
}

/// The hang-up signal of each open connection, by channel, so that a request context (built
/// by Hummingbird from the channel alone) can find its connection's signal.
final class ConnectionRegistry: Sendable {
    private let connections = Mutex<[ObjectIdentifier: ClientHangup]>([:])

    func register(_ channel: AnyObject, _ hangup: ClientHangup) {
        connections.withLock { $0[ObjectIdentifier(channel)] = hangup }
    }

    func remove(_ channel: AnyObject) {
        _ = connections.withLock { $0.removeValue(forKey: ObjectIdentifier(channel)) }
    }

    func hangup(for channel: AnyObject) -> ClientHangup? {
        connections.withLock { $0[ObjectIdentifier(channel)] }
    }

    /// The registry of the gateway running in this task tree: request contexts are created
    /// by Hummingbird with no way to pass it in, but inside the gateway's own task group.
    @TaskLocal static var current: ConnectionRegistry?
}
