import Dispatch
import Hummingbird
import NIOCore
import NIOPosix
import Synchronization
import Testing
import SwitchyardEval
import SwitchyardHTTP
@testable import SwitchyardServer

/// A connection's task runs on its channel's event loop (`ConnectionLoopChannel`), also after
/// another thread woke it: that is what saves the request path its thread hand-offs.
@Suite("Connection loop")
struct ConnectionLoopTests {
    @Test("a task preferring a loop's executor runs on that loop, after wake-ups from other threads and in its child tasks")
    func executorKeepsTheLoop() async {
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let seen = await withTaskExecutorPreference(EventLoopTaskExecutor(loop: loop)) {
            var seen = [loop.inEventLoop]
            for _ in 0..<3 {
                await withCheckedContinuation { (resumed: CheckedContinuation<Void, Never>) in
                    DispatchQueue.global().async { resumed.resume() }
                }
                seen.append(loop.inEventLoop)
            }
            async let child = loop.inEventLoop
            seen.append(await child)
            return seen
        }
        #expect(seen == Array(repeating: true, count: 5))
        #expect(!loop.inEventLoop)
    }

    @Test("a task that keeps yielding on a loop does not starve the loop's other work")
    func yieldingTaskLetsTheLoopRun() async {
        final class Flag: Sendable { let raised = Mutex(false) }
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let flag = Flag()
        let yields = await withTaskExecutorPreference(EventLoopTaskExecutor(loop: loop)) {
            // Queued on the loop behind the job running now; a drain that ran until its queue was
            // empty would run this task's yields first, all of them.
            loop.execute { flag.raised.withLock { $0 = true } }
            var yields = 0
            while !flag.raised.withLock({ $0 }), yields < 10_000 {
                await Task.yield()
                yields += 1
            }
            return yields
        }
        #expect(yields < 10, "the loop's own task waited behind \(yields) yields")
    }

    /// The channel's loop and the server's port, as a handler sees them.
    struct LoopContext: RequestContext {
        var coreContext: CoreRequestContextStorage
        let loop: any EventLoop
        let port: Int
        init(source: ApplicationRequestContextSource) {
            coreContext = .init(source: source)
            loop = source.channel.eventLoop
            port = source.channel.localAddress?.port ?? 0
        }
    }

    @Test("a handler runs on its connection's loop, before and after the curl thread answered it, request after request")
    func handlerOnConnectionLoop() async throws {
        let client = HTTPClient()
        let router = Router(context: LoopContext.self)
        router.get("upstream") { _, _ in "up" }
        router.get("where") { _, context -> String in
            let before = context.loop.inEventLoop
            // Resumed by the curl thread, as every upstream leg of the gateway is.
            let answer = try await client.send(SwitchyardHTTP.HTTPRequest(url: "http://127.0.0.1:\(context.port)/upstream"))
            return "\(before) \(context.loop.inEventLoop) \(answer.status)"
        }
        let server = await LoopbackServer.start(router, server: .http1OnConnectionLoop(
            configuration: .init(), executors: LoopExecutors(group: MultiThreadedEventLoopGroup.singleton)), label: "connection-loop-test")
        var answers: [String] = []
        for _ in 0..<4 {
            let response = try await client.send(SwitchyardHTTP.HTTPRequest(url: "http://127.0.0.1:\(server.port)/where"))
            answers.append(String(decoding: response.body, as: UTF8.self))
        }
        await server.stop()
        await client.shutdown()
        #expect(answers == Array(repeating: "true true 200", count: 4))
    }
}
