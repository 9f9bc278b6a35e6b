/// OpenTelemetry traces (`tracing:`; docs/operations.md, "Tracing"). A policy without the block
/// traces nothing and pays nothing for it: no tracer is built, no span started, no header read.
/// Read at start-up, like `server:`: the exporter runs beside the server, so a reload that
/// changes the block is refused until a restart.
///
/// The standard `OTEL_*` environment variables refine what the block says (the OpenTelemetry SDK
/// reads them): `OTEL_EXPORTER_OTLP_HEADERS` for a collector's credentials, which have no place
/// in a policy file, `OTEL_RESOURCE_ATTRIBUTES`, `OTEL_TRACES_SAMPLER`. They never turn tracing
/// on by themselves.
public struct TracingSettings: Sendable, Equatable {
    /// Where spans are sent: the collector's whole traces URL (`…/v1/traces`), as
    /// `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` takes it. Nil: the SDK's default,
    /// `http://localhost:4318/v1/traces`, or `OTEL_EXPORTER_OTLP_ENDPOINT` + `/v1/traces`.
    public var endpoint: String?
    /// `service.name` of every span's resource.
    public var serviceName = "switchyard"
    /// The share of new traces recorded (0 to 1); a request that arrives with a `traceparent`
    /// follows its caller's sampling decision.
    public var sampleRatio = 1.0
    /// Whether a request's messages and its answer are exported (`gen_ai.input.messages`,
    /// `gen_ai.output.messages`). Off by default: a trace then holds no text of a prompt or an
    /// answer, only counts, names and the decision's reasons.
    public var captureContent = false
    /// The block's line, for the diagnostic of a reload that changes it.
    public var line: Int

    public init(line: Int) { self.line = line }

    /// The same settings, wherever the block is written: a reload that only moves it is no change.
    public static func == (a: TracingSettings, b: TracingSettings) -> Bool {
        (a.endpoint, a.serviceName, a.sampleRatio, a.captureContent) == (b.endpoint, b.serviceName, b.sampleRatio, b.captureContent)
    }
}

extension TracingSettings {
    /// What is wrong with an endpoint, or nil: an http(s) URL with a host, of bounded size,
    /// without spaces or control characters (it becomes a request line).
    static func endpointProblem(_ endpoint: String) -> String? {
        guard endpoint.hasPrefix("https://") || endpoint.hasPrefix("http://") else {
            return "`endpoint` must start with https:// or http:// (OTLP over HTTP)"
        }
        guard endpoint.utf8.count <= SettingRanges.endpointBytes else {
            return "`endpoint` must be at most \(SettingRanges.endpointBytes) bytes"
        }
        guard !endpoint.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value == 0x7f }) else {
            return "`endpoint` must not contain spaces or control characters"
        }
        let authority = endpoint.drop { $0 != "/" }.dropFirst(2).prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        guard !authority.isEmpty, !authority.hasPrefix(":") else { return "`endpoint` must name a host (http://HOST:4318/v1/traces)" }
        return nil
    }
}
