import Hummingbird
import Logging
import Prometheus
import ServiceLifecycle
import UnixSignals
import SwitchyardEngine
import SwitchyardHTTP
import SwitchyardPolicy
import SwitchyardProviders
import SwitchyardRouter
import SwitchyardWire
import Synchronization

public struct GatewayOptions: Sendable {
    public var host: String
    public var port: Int
    public var policyPath: String
    /// Where the engine's pid file and log live.
    public var stateDirectory: String
    /// API keys and set-up paths are read from here, once, at start-up.
    public var environment: [String: String]
    /// Signals that start a graceful shutdown; tests pass none and cancel instead.
    public var shutdownSignals: [UnixSignal]

    public init(host: String = "127.0.0.1", port: Int = 8080, policyPath: String, stateDirectory: String,
                environment: [String: String] = ProcessEnvironment.current, shutdownSignals: [UnixSignal] = [.sigterm, .sigint]) {
        self.host = host
        self.port = port
        self.policyPath = policyPath
        self.stateDirectory = stateDirectory
        self.environment = environment
        self.shutdownSignals = shutdownSignals
    }
}

/// Everything one gateway process runs, assembled once from the policy: the outbound client,
/// the supervised engine, a provider per target, the router, and the HTTP server.
public final class Gateway: Sendable {
    public let policy: Policy
    public let engine: LocalEngine?
    private let client: HTTPClient
    private let router: RequestRouter
    private let options: GatewayOptions
    private let logger: Logger
    private let prometheus: PrometheusCollectorRegistry?
    private let serviceGroup = Mutex<ServiceGroup?>(nil)

    public init(options: GatewayOptions, logger: Logger, prometheus: PrometheusCollectorRegistry? = nil) throws {
        self.options = options
        self.logger = logger
        self.prometheus = prometheus
        policy = try PolicyLoader.load(path: options.policyPath)
        client = HTTPClient()
        let locator = EngineLocator(environment: options.environment)
        var engine: LocalEngine?
        var providers: [any Provider] = []
        for target in policy.models {
            switch target.kind {
            case .local(let settings):
                let local = try LocalEngine(modelName: target.name, settings: settings, locator: locator,
                                            stateDirectory: options.stateDirectory, client: client, logger: logger)
                engine = local
                providers.append(OpenAIProvider(target: target, endpoint: .local(local), client: client))
            case .openai(let remote):
                providers.append(OpenAIProvider(target: target, endpoint: .remote(remote, apiKey: Self.apiKey(remote, options.environment)), client: client))
            case .anthropic(let remote):
                providers.append(AnthropicProvider(target: target, remote: remote, apiKey: Self.apiKey(remote, options.environment), client: client))
            }
        }
        self.engine = engine
        router = RequestRouter(policy: policy, providers: providers)
        for provider in providers {
            if case .unconfigured(let detail) = provider.availability {
                logger.warning("cloud target unconfigured: requests that would go there are served locally",
                               metadata: ["target": "\(provider.target.name)", "detail": "\(detail)"])
            }
        }
    }

    private static func apiKey(_ remote: RemoteSettings, _ environment: [String: String]) -> String? {
        guard let name = remote.apiKeyEnv else { return nil }
        return environment[name].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// Serves until a shutdown signal (or cancellation of the calling task), then drains
    /// requests, stops the engine and the outbound client. `onListening` gets the bound port.
    public func run(onListening: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        let app = Application(
            router: makeHTTPRouter(),
            configuration: .init(address: .hostname(options.host, port: options.port)),
            services: engine.map { [$0] } ?? [],
            onServerRunning: { channel in await onListening(channel.localAddress?.port ?? 0) },
            logger: logger
        )
        var configuration = ServiceGroupConfiguration(services: [app], gracefulShutdownSignals: options.shutdownSignals, logger: logger)
        configuration.maximumGracefulShutdownDuration = policy.server.shutdownGrace
        configuration.maximumCancellationDuration = .seconds(10)
        let group = ServiceGroup(configuration: configuration)
        serviceGroup.withLock { $0 = group }
        do {
            try await group.run()
        } catch {
            await client.shutdown()
            throw error
        }
        await client.shutdown()
    }

    /// Starts the same graceful shutdown as SIGTERM: stop accepting, drain, stop the engine.
    public func shutdown() async {
        await serviceGroup.withLock { $0 }?.triggerGracefulShutdown()
    }

    private func makeHTTPRouter() -> Router<BasicRequestContext> {
        let chat = ChatCompletions(router: router, metrics: GatewayMetrics(policy: policy),
                                   maxBodyBytes: policy.server.maxBodyBytes, logger: logger)
        let endpoints = Endpoints(router: router, engine: engine, prometheus: prometheus)
        let http = Router(context: BasicRequestContext.self)
        http.middlewares.add(ErrorMiddleware())
        http.post("/v1/chat/completions") { request, context in try await chat.respond(to: request, context: context) }
        http.get("/v1/models") { _, _ in endpoints.models() }
        http.get("/healthz") { _, _ in endpoints.healthz() }
        http.get("/readyz") { _, _ in endpoints.readyz() }
        http.get("/metrics") { _, _ in endpoints.metrics() }
        return http
    }
}
