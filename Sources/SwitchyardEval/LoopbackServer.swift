import Hummingbird
import HummingbirdCore
import Logging

/// A Hummingbird server on 127.0.0.1, at a port the system chose: the replay's oracle cloud, and
/// the tests' scripted upstreams and collectors. Started with its router; stopped by cancelling it.
public struct LoopbackServer: Sendable {
    public let port: Int
    private let task: Task<Void, any Error>

    /// Starts `router` and returns once it listens. Its log is silenced: the shutdown races of a
    /// stand-in server are not findings. `server` is Hummingbird's HTTP/1 unless a test says otherwise.
    public static func start<Builder: HTTPResponderBuilder>(_ router: Builder, server: HTTPServerBuilder = .http1(),
                                                            label: String) async -> LoopbackServer
    where Builder.Responder.Context: InitializableFromSource<ApplicationRequestContextSource> {
        let (ports, portContinuation) = AsyncStream<Int>.makeStream()
        var logger = Logger(label: label)
        logger.logLevel = .critical
        let app = Application(router: router, server: server, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                              onServerRunning: { channel in portContinuation.yield(channel.localAddress?.port ?? 0) }, logger: logger)
        let task = Task { try await app.runService(gracefulShutdownSignals: []) }
        var port = 0
        for await bound in ports {
            port = bound
            break
        }
        return LoopbackServer(port: port, task: task)
    }

    public func stop() async {
        task.cancel()
        _ = try? await task.value
    }
}
