import SwitchyardPolicy
import Tracing

/// What starts each request's trace, built once per policy load when the policy traces: the
/// tracer, whether content is exported, and each target's span name and attributes, so that an
/// attempt's span costs a lookup rather than a URL parse.
///
/// No tracer is bootstrapped process-wide (`InstrumentationSystem`): the gateway hands this to
/// what records spans, and a gateway without `tracing:` has none to hand.
public struct RequestTracing: Sendable {
    /// An attempt span's name and the attributes its target fixes.
    struct TargetSpan: Sendable {
        var name: String
        var attributes: SpanAttributes
    }

    let tracer: any Tracer
    /// `tracing.capture_content`: messages and answers are exported.
    public let captureContent: Bool
    let targets: [String: TargetSpan]

    public init(tracer: any Tracer, policy: Policy, captureContent: Bool) {
        self.tracer = tracer
        self.captureContent = captureContent
        targets = Dictionary(uniqueKeysWithValues: policy.models.map { ($0.name, Self.targetSpan($0)) })
    }

    /// The request's span (SERVER), a child of the caller's span when its `traceparent` is valid
    /// (a malformed one starts a new trace). Only these two header values are handed to the
    /// propagator: it logs the carrier of a header it cannot read, and the request's other
    /// headers hold its API key. A `tracestate` longer than the 512 bytes W3C Trace Context
    /// asks every hop to pass on is dropped rather than sent upstream with every attempt.
    public func start(_ name: String, traceparent: String?, tracestate: String?) -> RequestTrace {
        var context = ServiceContext.topLevel
        if let traceparent, traceparent.utf8.count <= Self.maximumTraceparentBytes {
            let state = tracestate.flatMap { $0.utf8.count <= Self.maximumTracestateBytes ? $0 : nil }
            tracer.extract(TraceCarrier(traceparent: traceparent, tracestate: state), into: &context, using: TraceCarrier.Reader())
        }
        return RequestTrace(tracing: self, span: tracer.startSpan(name, context: context, ofKind: .server))
    }

    /// A version-00 `traceparent` is 55 bytes; later versions may append fields.
    static let maximumTraceparentBytes = 256
    static let maximumTracestateBytes = 512

    /// The GenAI conventions' provider names: a well-known value for OpenAI's and Anthropic's
    /// APIs; the on-box engine is llama.cpp's server.
    static func provider(_ target: ModelTarget) -> String {
        switch target.kind {
        case .local: "llama.cpp"
        case .openai: "openai"
        case .anthropic: "anthropic"
        }
    }

    static func targetSpan(_ target: ModelTarget) -> TargetSpan {
        let model = target.remote?.model ?? target.name
        var attributes = SpanAttributes()
        attributes[TraceAttribute.operationName] = "chat"
        attributes[TraceAttribute.providerName] = provider(target)
        attributes[TraceAttribute.system] = provider(target)
        attributes[TraceAttribute.requestModel] = model
        attributes[TraceAttribute.target] = target.name
        attributes[TraceAttribute.tier] = target.isLocal ? "local" : "cloud"
        if let remote = target.remote, let server = ServerAddress(url: remote.baseURL) {
            attributes[TraceAttribute.serverAddress] = server.host
            attributes[TraceAttribute.serverPort] = server.port
        }
        return TargetSpan(name: "chat \(model)", attributes: attributes)
    }
}

/// A URL's host and port (its scheme's default when it names none), for `server.address` and
/// `server.port`.
struct ServerAddress: Equatable {
    var host: String
    var port: Int
}

extension ServerAddress {
    init?(url: String) {
        let secure = url.hasPrefix("https://")
        guard secure || url.hasPrefix("http://") else { return nil }
        var authority = url.dropFirst(secure ? 8 : 7).prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
        var port = secure ? 443 : 80
        if authority.hasPrefix("[") {
            // An IPv6 literal: `[::1]:8080`.
            guard let close = authority.firstIndex(of: "]") else { return nil }
            let rest = authority[authority.index(after: close)...]
            if rest.hasPrefix(":") {
                guard let value = Int(rest.dropFirst()) else { return nil }
                port = value
            }
            authority = authority[...close]
        } else if let colon = authority.lastIndex(of: ":") {
            guard let value = Int(authority[authority.index(after: colon)...]) else { return nil }
            port = value
            authority = authority[..<colon]
        }
        guard !authority.isEmpty else { return nil }
        host = String(authority)
        self.port = port
    }
}

/// The two W3C Trace Context headers of a request, and nothing else of it.
struct TraceCarrier: Sendable, CustomStringConvertible {
    var traceparent: String?
    var tracestate: String?

    var description: String { "traceparent=\(traceparent ?? "-") tracestate=\(tracestate ?? "-")" }

    struct Reader: Extractor {
        func extract(key: String, from carrier: TraceCarrier) -> String? {
            switch key {
            case "traceparent": carrier.traceparent
            case "tracestate": carrier.tracestate
            default: nil
            }
        }
    }
}
