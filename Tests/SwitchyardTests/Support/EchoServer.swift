import Hummingbird
import SwitchyardEval

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
        let server = await LoopbackServer.start(router, label: "echo-server")
        return try await finally({ try await body("http://127.0.0.1:\(server.port)/echo") }, then: server.stop)
    }
}
