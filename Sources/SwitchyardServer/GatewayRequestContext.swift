import Hummingbird

import SwitchyardDecision
import SwitchyardExecution
import SwitchyardSignals

/// What the gateway knows about a request besides the request itself: its connection's hang-up
/// signal and its caller, a typed value filled by `AuthMiddleware`.
struct GatewayRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    /// Nil only outside a running gateway (no `ConnectionGuard` on the channel).
    let hangup: ClientHangup?
    /// The caller's key, when it sent a valid one.
    var key: AuthenticatedKey?

    var caller: Caller { key?.caller ?? .anonymous }

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        hangup = ConnectionRegistry.current?.hangup(for: source.channel)
    }
}
