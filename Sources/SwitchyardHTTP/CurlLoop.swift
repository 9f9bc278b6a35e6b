import CCurl
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Owns the libcurl multi handle and the one thread that drives it.
///
/// Other threads only append to the locked command queue and call `curl_multi_wakeup`,
/// the one multi call that is safe from any thread. Everything else (easy handles,
/// transfers, the connection cache) lives on the loop thread.
final class CurlLoop: Sendable {
    private enum Command {
        case add(id: Int, HTTPRequest, TransferSink)
        case cancel(id: Int)
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

    func makeID() -> Int { nextID.wrappingAdd(1, ordering: .relaxed).oldValue }

    func submit(id: Int, _ request: HTTPRequest, sink: TransferSink) {
        let accepted = inbox.withLock { inbox -> Bool in
            guard !inbox.stopped else { return false }
            inbox.commands.append(.add(id: id, request, sink))
            return true
        }
        if accepted { curl_multi_wakeup(multi.raw) } else { sink.finish(.failed(.shutdown)) }
    }

    func cancel(_ id: Int) {
        let accepted = inbox.withLock { inbox -> Bool in
            guard !inbox.stopped else { return false }
            inbox.commands.append(.cancel(id: id))
            return true
        }
        if accepted { curl_multi_wakeup(multi.raw) }
    }

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
                case .shutdown(let done):
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
