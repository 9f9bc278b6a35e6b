import CCurl
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Owns the libcurl multi handle and the one thread that drives it.
///
/// Other threads only append to the locked command queue and call `curl_multi_wakeup`, the one
/// multi call that is safe from any thread. They call it after releasing the lock, and only when
/// their command found the queue empty: the loop takes the whole queue at once, so a command
/// behind another is taken with it, and a wake-up is sticky (it makes the next poll return even
/// when it comes before that poll). The multi handle is freed by `deinit`, after the loop thread
/// has stopped and no caller holds the loop any longer, so a wake-up can never reach a freed
/// handle. Everything else (easy handles, transfers, the connection cache) lives on the loop
/// thread.
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

    /// The multi handle is only touched on the loop thread, except for `curl_multi_wakeup` and
    /// `curl_multi_cleanup` in `deinit`.
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

    /// The loop thread holds the loop until it returns from `run`, so this runs after it stopped
    /// touching the handle, and after every caller's last wake-up.
    deinit {
        curl_multi_cleanup(multi.raw)
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
                return true
            }
            if accepted { curl_multi_wakeup(multi.raw) } else { done.resume() }
        }
    }

    /// Queues a command and wakes the loop if the queue was empty (see the type's comment).
    @discardableResult
    private func send(_ command: Command) -> Bool {
        let (accepted, wake) = inbox.withLock { inbox -> (Bool, Bool) in
            guard !inbox.stopped else { return (false, false) }
            inbox.commands.append(command)
            return (true, inbox.commands.count == 1)
        }
        if wake { curl_multi_wakeup(multi.raw) }
        return accepted
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
                    // `stopped` was set with this command: nothing is queued after it. The
                    // handle is freed by `deinit`, once no caller can wake it.
                    state.closeAll()
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
