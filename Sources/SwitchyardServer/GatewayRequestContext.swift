import Hummingbird

import SwitchyardDecision
import SwitchyardExecution
import SwitchyardSignals

/// What the gateway knows about a request besides the request itself: its connection's hang-up
/// signal, its caller and its policy snapshot, typed values filled by `AuthMiddleware`.
struct GatewayRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    /// Nil only outside a running gateway (no `ConnectionGuard` on the channel).
    let hangup: ClientHangup?
    /// The caller's key, when it sent a valid one.
    var key: AuthenticatedKey?
    /// The policy this request is served under, taken once by `AuthMiddleware` (nil before it ran).
    var snapshot: LivePolicy.Snapshot?

    var caller: Caller { key?.caller ?? .anonymous }

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        hangup = ConnectionRegistry.current?.hangup(for: source.channel)
    }
}
