import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import Synchronization

/// Runs each connection's task on its channel's event loop instead of Swift's global pool.
///
/// By default a connection's task lives on the global pool, and its channel on a NIO event loop:
/// every request head read, every response part written and every upstream answer resumed is a
/// hand-off between two threads, each a wake-up in the kernel. `perf` put those wake-ups at the
/// largest single cost of a proxied request (docs/benchmarks.md). With the task's executor
/// preference set to its channel's loop, reads resume and writes run on the thread that does the
/// channel's I/O, and the one hand-off left per upstream leg is the curl thread's answer.
///
/// Hummingbird offers no executor preference for handlers, so this wraps its child channel: the
/// preference is taken once per connection, and every child task (a request body's reader, a
/// stream's producer) inherits it.
struct ConnectionLoopChannel<Base: ServerChildChannel>: ServerChildChannel {
    typealias Value = Base.Value
    let base: Base
    let executors: LoopExecutors

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        base.setup(channel: channel, logger: logger)
    }

    func handle(value: Value, logger: Logger) async {
        await withTaskExecutorPreference(executors.executor(for: value.channel.eventLoop)) {
            await base.handle(value: value, logger: logger)
        }
    }
}

extension HTTPServerBuilder {
    /// Hummingbird's HTTP/1 server, each connection's task on its channel's event loop.
    static func http1OnConnectionLoop(configuration: HTTP1Channel.Configuration, executors: LoopExecutors) -> HTTPServerBuilder {
        .init { responder in
            ConnectionLoopChannel(base: HTTP1Channel(responder: responder, configuration: configuration), executors: executors)
        }
    }
}

/// One task executor per event loop of the server's group, made at start: a connection's task and
/// its requests' tasks share their loop's, so that passing from one to the other is no hop.
struct LoopExecutors: Sendable {
    private let byLoop: [ObjectIdentifier: EventLoopTaskExecutor]

    init(group: any EventLoopGroup) {
        var byLoop: [ObjectIdentifier: EventLoopTaskExecutor] = [:]
        for loop in group.makeIterator() { byLoop[ObjectIdentifier(loop)] = EventLoopTaskExecutor(loop: loop) }
        self.byLoop = byLoop
    }

    /// The loop's executor; a loop outside the group (none is, in the gateway) gets one of its own.
    func executor(for loop: any EventLoop) -> EventLoopTaskExecutor {
        byLoop[ObjectIdentifier(loop)] ?? EventLoopTaskExecutor(loop: loop)
    }
}

/// A task executor that runs jobs on one NIO event loop.
///
/// NIO's loops are serial executors, which actors can use, but not task executors, which a task's
/// preference needs. Hand-written for that reason: NIO 2.101 has none. Work that blocks must not
/// run on such a task: it would stall every connection of the loop. The gateway's blocking work
/// has threads of its own (the curl loop, the SQLite writer).
///
/// Jobs wait in a queue of this executor's, and the loop is handed one stored closure that runs
/// them: a closure made per job is an allocation per job, about 40 per proxied request (`perf` of
/// malloc, release build). A job enqueued from the loop's own thread costs no wake-up (NIO's
/// `execute` checks). The closure runs the jobs queued when it started, then hands itself to the
/// loop again if more came, so the loop's I/O is not starved by a task that keeps enqueueing.
final class EventLoopTaskExecutor: TaskExecutor {
    private struct Queue: ~Copyable {
        var jobs = CircularBuffer<UnownedJob>(initialCapacity: 8)
        /// True from when the closure was handed to the loop until it finds the queue empty.
        var scheduled = false
        /// Made at the first job: it needs `self`. It holds `self` unowned, so that the executor
        /// and its closure are not a cycle; a task with a job queued holds the executor.
        var drain: Drain?
    }

    /// The closure in a struct: a bare closure returned through `withLock`'s generic result is
    /// re-abstracted, and converting it back allocates a thunk each time.
    private struct Drain: Sendable {
        let run: @Sendable () -> Void
    }

    let loop: any EventLoop
    private let queue = Mutex(Queue())

    init(loop: any EventLoop) {
        self.loop = loop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let drain = queue.withLock { queue -> Drain? in
            queue.jobs.append(job)
            guard !queue.scheduled else { return nil }
            queue.scheduled = true
            if queue.drain == nil { queue.drain = Drain { [unowned self] in self.runQueuedJobs() } }
            return queue.drain
        }
        if let drain { loop.execute(drain.run) }
    }

    private func runQueuedJobs() {
        var count = queue.withLock { $0.jobs.count }
        while count > 0, let job = queue.withLock({ $0.jobs.popFirst() }) {
            job.runSynchronously(on: asUnownedTaskExecutor())
            count -= 1
        }
        let again = queue.withLock { queue -> Drain? in
            guard !queue.jobs.isEmpty else {
                queue.scheduled = false
                return nil
            }
            return queue.drain
        }
        if let again { loop.execute(again.run) }
    }
}
