import CCurl
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Owns the libcurl multi handle and the one thread that drives it.
///
/// Other threads only append to the locked command queue and call `curl_multi_wakeup`,
/// the one multi call that is safe from any thread. They call it while holding the lock, and
/// the loop frees the multi handle only after it has taken the lock and seen `stopped`, so a
/// wake-up can never reach a freed handle. Everything else (easy handles, transfers, the
/// connection cache) lives on the loop thread.
final class CurlLoop: Sendable {
    private enum Command {
        case add(id: Int, HTTPRequest, TransferSink)
        case cancel(id: Int)
        case resume(id: Int)
        case shutdown(CheckedContinuation<Void, Never>)
    }

    private struct Inbox: ~Copyable {
        var commands: [Command] = []
        var stopped = false
    }

    /// The multi handle is only touched on the loop thread, except for `curl_multi_wakeup`.
    private struct MultiHandle: @unchecked Sendable { let raw: UnsafeMutableRawPointer }

    private let inbox = Mutex(Inbox())
    private let nextID = Atomic<Int>(1)
    private let multi: MultiHandle

    init(maxConnections: Int) {
        multi = MultiHandle(raw: curl_multi_init())
        sy_multi_setopt_long(multi.raw, CURLMOPT_MAXCONNECTS, maxConnections)
        let state = LoopState(multi: multi.raw)
        let context = Unmanaged.passRetained(LoopContext(loop: self, state: state)).toOpaque()
        var thread = pthread_t()
        let rc = pthread_create(&thread, nil, { raw in
            let context = Unmanaged<LoopContext>.fromOpaque(raw!).takeRetainedValue()
            context.loop.run(context.state)
            return nil
        }, context)
        precondition(rc == 0, "cannot start the curl thread: \(rc)")
        pthread_detach(thread)
    }

    var isStopped: Bool { inbox.withLock { $0.stopped } }

    func makeID() -> Int { nextID.wrappingAdd(1, ordering: .relaxed).oldValue }

    func submit(id: Int, _ request: HTTPRequest, sink: TransferSink) {
        if !send(.add(id: id, request, sink)) { sink.finish(.failed(.shutdown)) }
    }

    func cancel(_ id: Int) { send(.cancel(id: id)) }

    func resume(_ id: Int) { send(.resume(id: id)) }

    func shutdown() async {
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            let accepted = inbox.withLock { inbox -> Bool in
                guard !inbox.stopped else { return false }
                inbox.stopped = true
                inbox.commands.append(.shutdown(done))
                curl_multi_wakeup(multi.raw)
                return true
            }
            if !accepted { done.resume() }
        }
    }

    /// Queues a command and wakes the loop, under the lock (see the type's comment).
    @discardableResult
    private func send(_ command: Command) -> Bool {
        inbox.withLock { inbox -> Bool in
            guard !inbox.stopped else { return false }
            inbox.commands.append(command)
            curl_multi_wakeup(multi.raw)
            return true
        }
    }

    // MARK: loop thread

    private func run(_ state: LoopState) {
        var stillRunning: Int32 = 0
        while true {
            let commands = inbox.withLock { inbox -> [Command] in
                defer { inbox.commands.removeAll(keepingCapacity: true) }
                return inbox.commands
            }
            for command in commands {
                switch command {
                case .add(let id, let request, let sink):
                    state.start(id: id, request: request, sink: sink)
                case .cancel(let id):
                    state.cancel(id: id)
                case .resume(let id):
                    state.resume(id: id)
                case .shutdown(let done):
                    // `stopped` was set with this command, under the lock just taken: no
                    // other thread will call curl_multi_wakeup on the handle again.
                    state.closeAll()
                    curl_multi_cleanup(multi.raw)
                    done.resume()
                    return
                }
            }
            curl_multi_perform(multi.raw, &stillRunning)
            state.collectFinished()
            state.enforceDeadlines()
            var fds: Int32 = 0
            curl_multi_poll(multi.raw, nil, 0, state.pollTimeoutMilliseconds, &fds)
        }
    }
}

private final class LoopContext {
    let loop: CurlLoop
    let state: LoopState
    init(loop: CurlLoop, state: LoopState) {
        self.loop = loop
        self.state = state
    }
}
