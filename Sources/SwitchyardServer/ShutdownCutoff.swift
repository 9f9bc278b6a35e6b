import ServiceLifecycle
import SwitchyardHTTP
import Synchronization
import SwitchyardWire

/// Ends what a graceful shutdown's grace did not let finish, and says so.
///
/// A graceful shutdown stops accepting and lets requests in flight finish, for
/// `server.shutdown_grace`. At that deadline this cuts every upstream transfer still running (the
/// outbound client is shut down): a stream still open then ends with an explicit error event in
/// its client's format, and its attempt is recorded `interrupted`, not `cancelled` (the client did
/// not leave; the gateway stopped). Without it, the service group's cancellation at the deadline
/// cut streams mid-event with nothing said and accounted them as client hang-ups. The group's own
/// deadline is `writeMargin` later, for those error events to be written.
///
/// A service placed after the server in the gateway's service group: the group signals services
/// in reverse order, so it hears of the shutdown first, starts the deadline and returns at once
/// (the group waits for it before signalling the server).
final class ShutdownCutoff: Service, Sendable {
    /// After the cut, how long the ends of cut streams have to be written before the group cancels.
    static let writeMargin: Duration = .seconds(2)

    private let grace: Duration
    private let client: HTTPClient
    private let deadline = Mutex<Task<Void, Never>?>(nil)
    private let cut = Atomic<Bool>(false)

    init(grace: Duration, client: HTTPClient) {
        self.grace = grace
        self.client = client
    }

    /// True once the grace ran out: whatever ends after this was ended by the gateway.
    var hasCut: Bool { cut.load(ordering: .acquiring) }

    func run() async throws {
        // Cancelled instead (the group stopped for another reason): there is nothing to cut.
        guard (try? await gracefulShutdown()) != nil else { return }
        let timer = Task { [self] in
            try? await Task.sleep(for: grace)
            guard !Task.isCancelled else { return }
            cut.store(true, ordering: .releasing)
            await client.shutdown()
        }
        deadline.withLock { $0 = timer }
    }

    /// The gateway stopped before the deadline: nothing is left to cut.
    func stop() {
        deadline.withLock { $0 }?.cancel()
    }
}

extension GatewayError {
    /// How a stream cut by the shutdown deadline ends, in its client's format.
    static let shuttingDown = GatewayError(
        status: 503, code: "gateway_shutting_down",
        message: "The gateway is shutting down and its shutdown grace ran out before this answer ended: it is incomplete. Retry it.",
        retryAfterSeconds: 1)
}
