import Tracing

/// One request's trace: its span (SERVER), which every other span of the request is a child
/// of: the decision, each attempt, a cascade's scoring, each ledger write. Carried with the
/// request's accounting (`AttemptRequest.trace`), so that what ends an attempt can end its span.
public struct RequestTrace: Sendable {
    let tracing: RequestTracing
    /// The request's span: ended by whoever answers last (the request path for a whole answer
    /// or an error, the stream's delivery for a stream).
    public let span: any Span

    public var captureContent: Bool { tracing.captureContent }

    /// A child of the request's span.
    public func child(_ name: String, kind: SpanKind = .internal) -> any Span {
        tracing.tracer.startSpan(name, context: span.context, ofKind: kind)
    }

    /// An attempt's span (CLIENT), named as the GenAI conventions name a model call
    /// (`chat MODEL`), with its target's attributes and the attempt's id.
    public func attempt(on target: String, id: String) -> any Span {
        let fixed = tracing.targets[target]
        let span = tracing.tracer.startSpan(fixed?.name ?? "chat \(target)", context: span.context, ofKind: .client)
        span.updateAttributes { attributes in
            if let fixed { attributes.merge(fixed.attributes) }
            attributes[TraceAttribute.attemptID] = id
        }
        return span
    }

    /// The headers that continue `span` upstream: `traceparent`, and `tracestate` when the caller sent one.
    public func headers(continuing span: any Span) -> [(name: String, value: String)] {
        var headers: [(name: String, value: String)] = []
        tracing.tracer.inject(span.context, into: &headers, using: HeaderListWriter())
        return headers
    }
}

/// Writes propagation headers into an outbound request's header list.
struct HeaderListWriter: Injector {
    func inject(_ value: String, forKey key: String, into carrier: inout [(name: String, value: String)]) {
        carrier.append((key, value))
    }
}
