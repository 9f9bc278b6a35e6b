import Hummingbird
import Logging

/// A server on 127.0.0.1 that answers every request to `/echo` with what it received:
/// `METHOD BODY-BYTES X-ECHO` (`-` when the `x-echo` header is absent). The client's reused
/// easy handles are checked against it: each transfer must carry its own method, body and
/// headers, nothing of the transfer before it.
enum EchoServer {
    /// Runs `body` with the server's `/echo` URL, and stops the server afterwards.
    static func with<T: Sendable>(_ body: (String) async throws -> T) async throws -> T {
        let router = Router()
        for method in [HTTPRequest.Method.get, .post, .delete] {
            router.on("/echo", method: method) { request, _ -> String in
                let bytes = try await request.body.collect(upTo: 1 << 20)
                let echo = request.headers.first { $0.name.canonicalName == "x-echo" }?.value ?? "-"
                return "\(request.method.rawValue) \(bytes.readableBytes) \(echo)"
            }
        }
        let (ports, portContinuation) = AsyncStream<Int>.makeStream()
        var logger = Logger(label: "echo-server")
        logger.logLevel = .critical
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                              onServerRunning: { channel in portContinuation.yield(channel.localAddress?.port ?? 0) }, logger: logger)
        let task = Task { try await app.runService(gracefulShutdownSignals: []) }
        var port = 0
        for await p in ports {
            port = p
            break
        }
        do {
            let result = try await body("http://127.0.0.1:\(port)/echo")
            task.cancel()
            _ = try? await task.value
            return result
        } catch {
            task.cancel()
            _ = try? await task.value
            throw error
        }
    }
}
