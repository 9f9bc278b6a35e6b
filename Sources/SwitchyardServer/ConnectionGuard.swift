import NIOCore
import NIOHTTPTypes

/// Guards one client connection: it must send a request head soon after connecting
/// (`header_timeout`), its body soon after its head (`body_timeout`), and may sit idle between
/// requests only so long (`idle_timeout`). A slowloris client trickling bytes therefore holds a
/// connection for a bounded time, and `max_connections` bounds how many it can hold.
/// It also fires the connection's `ClientHangup` when the peer closes with a request in flight.
/// Lives on the channel's event loop, after the HTTP decoder.
final class ConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    struct Timeouts: Sendable {
        var header: TimeAmount
        var body: TimeAmount
        var idle: TimeAmount
    }

    private let timeouts: Timeouts
    private let registry: ConnectionRegistry
    private let executors: LoopExecutors
    /// Made when the handler joins its channel, whose event loop the request's work runs on.
    private var hangup: ClientHangup?
    private var timer: Scheduled<Void>?
    /// Requests whose head arrived and whose response has not ended.
    private var inFlight = 0

    init(timeouts: Timeouts, registry: ConnectionRegistry, executors: LoopExecutors) {
        self.timeouts = timeouts
        self.registry = registry
        self.executors = executors
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let hangup = ClientHangup(executor: executors.executor(for: context.eventLoop))
        self.hangup = hangup
        registry.register(context.channel, hangup)
        arm(timeouts.header, context)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        disarm()
        registry.remove(context.channel)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            inFlight += 1
            arm(timeouts.body, context)
        case .body:
            break
        case .end:
            disarm()
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) {
            inFlight = max(0, inFlight - 1)
            if inFlight == 0 { arm(timeouts.idle, context) }
        }
        context.write(data, promise: promise)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed, inFlight > 0 {
            hangup?.fire()
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        disarm()
        hangup?.fire()
        registry.remove(context.channel)
        context.fireChannelInactive()
    }

    private func arm(_ delay: TimeAmount, _ context: ChannelHandlerContext) {
        timer?.cancel()
        let channel = context.channel
        timer = context.eventLoop.scheduleTask(in: delay) { channel.close(promise: nil) }
    }

    private func disarm() {
        timer?.cancel()
        timer = nil
    }
}
