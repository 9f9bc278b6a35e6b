import Logging
import OTel
import ServiceLifecycle
import SwitchyardPolicy
import Tracing

/// The OpenTelemetry SDK (swift-otel) for a policy's `tracing:` block: a tracer, and the
/// service that batches its spans and sends them over OTLP/HTTP. Built once at start-up; the
/// service runs beside the server and sends what is left when the gateway stops.
struct TracingBackend: Sendable {
    let tracer: any Tracer
    let service: any Service
    let settings: TracingSettings

    /// The backend for `policy`, or nil when it does not trace, or when `OTEL_SDK_DISABLED` turns
    /// the SDK off as the OpenTelemetry specification says it does. The SDK applies the other
    /// standard `OTEL_*` variables over the policy's values (docs/operations.md, "Tracing").
    static func start(_ policy: Policy, environment: [String: String], logger: Logger) throws(PolicyError) -> TracingBackend? {
        guard let settings = policy.tracing else { return nil }
        if environment["OTEL_SDK_DISABLED"]?.lowercased() == "true" {
            logger.notice("tracing is off: OTEL_SDK_DISABLED is true")
            return nil
        }
        var configuration = OTel.Configuration.default
        configuration.serviceName = settings.serviceName
        configuration.diagnosticLogger = .custom(logger)
        configuration.diagnosticLogLevel = .warning
        configuration.traces.sampler = .parentBasedTraceIDRatio(ratio: settings.sampleRatio) ?? .parentBasedAlwaysOn
        // http/protobuf: swift-otel's http/json writes span ids in base64 where OTLP says hex,
        // which collectors refuse.
        configuration.traces.otlpExporter.protocol = .httpProtobuf
        if let endpoint = settings.endpoint { configuration.traces.otlpExporter.endpoint = endpoint }
        configuration.metrics.enabled = false
        configuration.logs.enabled = false
        do {
            let (tracer, service) = try OTel.makeTracingBackend(configuration: configuration)
            return TracingBackend(tracer: tracer, service: service, settings: settings)
        } catch {
            throw PolicyError(diagnostics: [PolicyDiagnostic(file: policy.source, line: settings.line, column: 1,
                                                             message: "tracing cannot start: \(error)")])
        }
    }
}
