import Hummingbird

/// What the gateway knows about a request besides the request itself: its connection's hang-up
/// signal (and, with API keys, its caller).
struct GatewayRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    /// Nil only outside a running gateway (no `ConnectionGuard` on the channel).
    let hangup: ClientHangup?

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        hangup = ConnectionRegistry.current?.hangup(for: source.channel)
    }
}
