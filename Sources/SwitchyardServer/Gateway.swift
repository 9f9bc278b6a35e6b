import Hummingbird
import HummingbirdCore
import Logging
import Prometheus
import ServiceLifecycle
import UnixSignals
import SwitchyardEngine
import SwitchyardHTTP
import SwitchyardLedger
import SwitchyardPolicy
import SwitchyardProviders
import SwitchyardDecision
import SwitchyardExecution
import SwitchyardSignals
import SwitchyardTracing
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
    /// Signals that start a graceful shutdown; tests pass none and call `shutdown()`.
    public var shutdownSignals: [UnixSignal]
    /// Reload the policy when its file changes (SIGHUP always reloads).
    public var watchPolicyFile: Bool
    /// Host names accepted besides the policy's `server.allowed_hosts` (`serve --allowed-host`):
    /// the names a deployment gives the gateway (a Kubernetes Service), which belong to the
    /// deployment rather than to the policy.
    public var allowedHosts: [String]
    /// Replicas sharing each key's rate limits (`SWITCHYARD_RATE_LIMIT_DIVISOR`): each enforces
    /// its share, so N replicas together admit about the key's limit.
    public var rateLimitDivisor: Int
    /// How often the calibration service reads the ledger for another replica's labels and
    /// versions (tests and the replay harness shorten it).
    public var calibrationPoll: Duration

    public init(host: String = "127.0.0.1", port: Int = 8080, policyPath: String, stateDirectory: String,
                environment: [String: String] = ProcessEnvironment.current, shutdownSignals: [UnixSignal] = [.sigterm, .sigint],
                watchPolicyFile: Bool = true, allowedHosts: [String] = [], rateLimitDivisor: Int = 1,
                calibrationPoll: Duration = .seconds(2)) {
        self.calibrationPoll = calibrationPoll
        self.allowedHosts = allowedHosts
        self.rateLimitDivisor = rateLimitDivisor
        self.host = host
        self.port = port
        self.policyPath = policyPath
        self.stateDirectory = stateDirectory
        self.environment = environment
        self.shutdownSignals = shutdownSignals
        self.watchPolicyFile = watchPolicyFile
    }
}

/// Everything one gateway process runs, assembled once from the policy: the outbound client,
/// the supervised engine, a provider per target, the router, and the HTTP server.
public final class Gateway: Sendable {
    public let engine: LocalEngine?
    private let client: HTTPClient
    private let live: LivePolicy
    private let options: GatewayOptions
    private let logger: Logger
    private let prometheus: PrometheusCollectorRegistry?
    private let serviceGroup = Mutex<ServiceGroup?>(nil)
    /// Request bodies held at once, across every request (`server.max_inflight_body_bytes`).
    private let bodies: BodyBudget
    /// Each target's concurrency gate, kept across reloads (in-flight attempts stay counted).
    private let gates = TargetGates()
    /// Each cloud target's circuit breaker, kept across reloads (a failing target stays passed over).
    private let breakers: TargetBreakers
    /// Per-key request and token allowances, kept across reloads.
    private let rateLimiter: RateLimiter
    /// Keys, budgets and attempt records (nil when the policy turns the ledger off).
    private let ledger: (any LedgerStore)?
    /// API keys, when the gateway has a ledger.
    private let keys: LedgerKeyDirectory?
    /// Reloads the policy on SIGHUP or change; also runs as a service beside the server.
    private let reloader: PolicyReloader
    /// Labels cascades' outcomes and holds the trust in the local model (with a ledger).
    private let learner: Learner?
    /// Refits and swaps that trust, beside the server (with a ledger).
    private let calibration: CalibrationService?
    /// The tracer and its exporter, when the policy traces (`tracing:`).
    private let tracing: TracingBackend?

    deinit {
        // A gateway that was built but never run still owns a client to stop.
        if !client.isShutDown { Task { [client] in await client.shutdown() } }
    }

    /// The policy serving now (it changes on reload).
    public var policy: Policy { live.snapshot.policy }

    /// Loads the policy, opens the ledger (migrating and recovering it) and builds everything;
    /// serves nothing until `run()`.
    public init(options: GatewayOptions, logger: Logger, prometheus: PrometheusCollectorRegistry? = nil) async throws {
        self.options = options
        self.logger = logger
        self.prometheus = prometheus
        rateLimiter = RateLimiter(divisor: options.rateLimitDivisor)
        breakers = TargetBreakers { target, transition in BreakerMetrics.transition(target, transition, logger: logger) }
        // The file's stamp before it is read: a change made while the gateway starts, before its
        // watcher runs, is still a change (the watcher starts from this stamp, not its own first look).
        let loadedStamp = FileStamp(options.policyPath)
        let policy = try PolicyLoader.load(path: options.policyPath)
        let tracing = try TracingBackend.start(policy, environment: options.environment, logger: logger)
        self.tracing = tracing
        // What a reload must leave as it is, whether the SDK started or `OTEL_SDK_DISABLED` kept it off.
        let startedTracing = policy.tracing
        let ledger = try await LedgerOpener.open(policy.ledger, stateDirectory: options.stateDirectory,
                                                 environment: options.environment, logger: logger)
        self.ledger = ledger
        let client = HTTPClient()
        self.client = client
        let engine: LocalEngine?
        /// The engine's tokenizer under its own admission gate (or the estimate without an engine),
        /// the same across reloads: its cache, and its calls in flight counted against the gate.
        let tokenizer: any PromptTokenizer
        let (environment, gates, breakers, rateLimiter) = (options.environment, self.gates, self.breakers, self.rateLimiter)
        bodies = BodyBudget(limit: policy.server.maxInflightBodyBytes)
        do {
            engine = try policy.localModels.first.flatMap { local -> LocalEngine? in
                guard case .local(let settings) = local.kind else { return nil }
                return try LocalEngine(modelName: local.name, settings: settings, locator: EngineLocator(environment: options.environment),
                                       stateDirectory: options.stateDirectory, client: client, logger: logger)
            }
            tokenizer = engine.map {
                AdmittedTokenizer(LlamaTokenizer(engine: $0, client: client), concurrency: policy.server.tokenizerConcurrency,
                                  queue: policy.server.tokenizerQueue)
            } ?? EstimatingTokenizer()
            live = LivePolicy(try Self.snapshot(policy, engine: engine, client: client, environment: environment, tokenizer: tokenizer,
                                                gates: gates, breakers: breakers, rateLimiter: rateLimiter, ledger: ledger,
                                                tracing: (startedTracing, tracing), logger: logger))
        } catch {
            await client.shutdown()
            try? await ledger?.close()
            throw error
        }
        keys = ledger.map { LedgerKeyDirectory(ledger: $0) }
        let learner = ledger.map { Learner(ledger: $0, trust: LiveTrust(), logger: logger) }
        self.learner = learner
        let live = live
        calibration = ledger.flatMap { ledger in
            learner.map { CalibrationService(live: live, ledger: ledger, learner: $0, logger: logger,
                                             poll: options.calibrationPoll) }
        }
        self.engine = engine
        reloader = PolicyReloader(path: options.policyPath, live: live, logger: logger, watchFile: options.watchPolicyFile,
                                  loadedStamp: loadedStamp) { (policy) throws(PolicyError) in
            try Self.snapshot(policy, engine: engine, client: client, environment: environment, tokenizer: tokenizer, gates: gates,
                              breakers: breakers, rateLimiter: rateLimiter, ledger: ledger, tracing: (startedTracing, tracing), logger: logger)
        }
        for model in policy.models {
            if case .unconfigured(let detail)? = live.snapshot.executor.provider(model.name)?.availability {
                logger.warning("cloud target unconfigured: requests that would go there are served locally",
                               metadata: ["target": "\(model.name)", "detail": "\(detail)"])
            }
        }
    }

    /// Everything a policy needs at request time, built once: a provider per target (auth
    /// headers included), the router and the metric handles. The engine (and its tokenizer) is
    /// the one running: a policy that changes it cannot take effect without a restart.
    private static func snapshot(_ policy: Policy, engine: LocalEngine?, client: HTTPClient, environment: [String: String],
                                 tokenizer: any PromptTokenizer, gates: TargetGates, breakers: TargetBreakers, rateLimiter: RateLimiter,
                                 ledger: (any LedgerStore)?, tracing: (settings: TracingSettings?, backend: TracingBackend?),
                                 logger: Logger) throws(PolicyError) -> LivePolicy.Snapshot {
        if policy.tracing != tracing.settings {
            throw PolicyError(diagnostics: [PolicyDiagnostic(file: policy.source, line: policy.tracing?.line ?? 1, column: 1,
                message: "the `tracing` block differs from the one the gateway started with; restart the gateway to change it")])
        }
        var providers: [any Provider] = []
        for target in policy.models {
            switch target.kind {
            case .local(let settings):
                guard let engine, engine.modelName == target.name, engine.settings == settings else {
                    throw PolicyError(diagnostics: [PolicyDiagnostic(file: policy.source, line: target.line, column: 3,
                        message: "the local model '\(target.name)' differs from the running engine's; restart the gateway to change it")])
                }
                providers.append(OpenAIProvider(target: target, endpoint: .local(engine), client: client))
            case .openai(let remote):
                providers.append(OpenAIProvider(target: target, endpoint: .remote(remote, apiKey: apiKey(remote, environment)), client: client))
            case .anthropic(let remote):
                providers.append(AnthropicProvider(target: target, remote: remote, apiKey: apiKey(remote, environment), client: client))
            }
        }
        if policy.localModels.isEmpty, engine != nil {
            throw PolicyError(diagnostics: [PolicyDiagnostic(file: policy.source, line: 1, column: 1,
                message: "the policy removes the local model the gateway runs; restart the gateway to change it")])
        }
        let box = GateBox(gates: gates) { target in engine.flatMap { $0.modelName == target ? $0.readyAddress != nil : nil } }
        let decider = Decider(policy: policy, tokenizer: tokenizer, box: box)
        return LivePolicy.Snapshot(executor: Executor(decider: decider, providers: providers, gates: gates, breakers: breakers),
                                   logger: logger, rateLimiter: rateLimiter, ledger: ledger,
                                   tracing: tracing.backend.map { RequestTracing(tracer: $0.tracer, policy: policy, captureContent: $0.settings.captureContent) })
    }

    private static func apiKey(_ remote: RemoteSettings, _ environment: [String: String]) -> String? {
        guard let name = remote.apiKeyEnv else { return nil }
        return environment[name].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// Serves until a shutdown signal (or cancellation of the calling task), then drains
    /// requests, stops the engine and the outbound client. `onListening` gets the bound port.
    public func run(onListening: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        // The PII normaliser builds its lookup tables on first use (~20 ms): not on a request.
        _ = PIIDetector.classes(in: "é😀")
        let server = policy.server
        let registry = ConnectionRegistry()
        let timeouts = ConnectionGuard.Timeouts(header: .init(server.headerTimeout), body: .init(server.bodyTimeout),
                                                idle: .init(server.idleTimeout))
        // Cuts what the grace did not let finish, saying so (placed last: it hears of the shutdown first).
        let cutoff = ShutdownCutoff(grace: server.shutdownGrace, client: client)
        let loops = EventLoopGroupProvider.singleton
        let executors = LoopExecutors(group: loops.eventLoopGroup)
        let app = Application(
            router: makeHTTPRouter(cutoff: cutoff),
            server: .http1OnConnectionLoop(configuration: .init(additionalChannelHandlers: [
                ConnectionGuard(timeouts: timeouts, registry: registry, executors: executors),
            ]), executors: executors),
            configuration: .init(address: .hostname(options.host, port: options.port),
                                 availableConnectionsDelegate: MaximumAvailableConnections(server.maxConnections)),
            services: (engine.map { [$0] } ?? []) + [reloader] + (calibration.map { [$0] } ?? []),
            onServerRunning: { channel in await onListening(channel.localAddress?.port ?? 0) },
            eventLoopGroupProvider: loops,
            logger: logger
        )
        // The exporter first, so that it stops last: it sends the spans of the requests drained before it.
        var configuration = ServiceGroupConfiguration(services: (tracing.map { [$0.service] } ?? []) + [app, cutoff],
                                                      gracefulShutdownSignals: options.shutdownSignals, logger: logger)
        configuration.maximumGracefulShutdownDuration = server.shutdownGrace + ShutdownCutoff.writeMargin
        configuration.maximumCancellationDuration = .seconds(10)
        let group = ServiceGroup(configuration: configuration)
        serviceGroup.withLock { $0 = group }
        do {
            try await ConnectionRegistry.$current.withValue(registry) { try await group.run() }
            cutoff.stop()
        } catch {
            cutoff.stop()
            await client.shutdown()
            try? await ledger?.close()
            throw error
        }
        await client.shutdown()
        try? await ledger?.close()
    }

    /// Starts the same graceful shutdown as SIGTERM: stop accepting, drain, stop the engine.
    public func shutdown() async {
        await serviceGroup.withLock { $0 }?.triggerGracefulShutdown()
    }

    /// Reloads the policy file now, as SIGHUP does (docs/policy.md, Hot reload), and returns when
    /// a reload that read the file after this call has been applied or rejected (then
    /// `policy` or `/readyz` says which). Reloads are serialised with those of SIGHUP and the
    /// file watcher. Waits for the gateway to start if it has not; returns at once after it stopped.
    public func reloadPolicy() async { await reloader.reload(trigger: "request") }

    private func makeHTTPRouter(cutoff: ShutdownCutoff) -> Router<GatewayRequestContext> {
        let (live, bodies) = (live, bodies)
        let path = RequestPath(live: live, logger: logger, rateLimiter: rateLimiter, bodies: bodies, cutoff: cutoff, learner: learner)
        let learner = learner
        let endpoints = Endpoints(live: live, engine: engine, prometheus: prometheus, ledger: ledger)
        let http = Router(context: GatewayRequestContext.self)
        // Outermost, so that what it lets through gets its CORS headers even when it is an error.
        http.middlewares.add(BrowserGuard(settings: policy.server, listeningOn: options.host, alsoAllowing: options.allowedHosts))
        http.middlewares.add(ErrorMiddleware())
        // The model API: callers identified (and, under `auth: required`, refused) by their key.
        let api = http.group().add(middleware: JSONContentType()).add(middleware: AuthMiddleware(live: live, keys: keys))
        api.post("/v1/chat/completions") { request, context in try await path.respond(to: request, context: context, as: ChatCompletions()) }
        api.post("/v1/messages") { request, context in try await path.respond(to: request, context: context, as: Messages()) }
        let responses = Responses(store: ResponseStore(ledger: ledger, live: live, logger: logger))
        api.post("/v1/responses") { request, context in try await path.respond(to: request, context: context, as: responses) }
        api.get("/v1/responses/{id}") { _, context in
            let stored = try await responses.store.find(context.parameters.get("id") ?? "", caller: context.caller)
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: stored.response)))
        }
        api.get("/v1/responses/{id}/input_items") { request, context in
            let list = try ResponsesInputItems(query: request.uri.queryParameters.map { (String($0.key), String($0.value)) })
            return AdminAPI.json(.object(try await responses.store.inputItems(of: context.parameters.get("id") ?? "", caller: context.caller, list: list)))
        }
        api.delete("/v1/responses/{id}") { _, context in
            let id = context.parameters.get("id") ?? ""
            try await responses.store.delete(id, caller: context.caller)
            return AdminAPI.json(.object(["id": .string(id), "object": .string("response.deleted"), "deleted": .bool(true)]))
        }
        api.post("/v1/messages/count_tokens") { request, context in try await Messages.countTokens(request, context: context, path: path) }
        api.post("/v1/switchyard/explain") { request, context in
            try await Explain.respond(request, context: context, live: live, bodies: bodies, trust: learner?.trust)
        }
        api.get("/v1/models") { _, _ in endpoints.models() }
        if let ledger, let keys {
            let admin = AdminAPI(ledger: ledger, keys: keys, adminKey: OperatorSecret(options.environment["SWITCHYARD_ADMIN_KEY"]))
            let routes = http.group().add(middleware: JSONContentType())
            routes.post("/v1/switchyard/keys") { request, _ in try await admin.createKey(request) }
            routes.get("/v1/switchyard/keys") { request, _ in try await admin.listKeys(request) }
            routes.get("/v1/switchyard/keys/{id}") { request, context in try await admin.showKey(request, id: context.parameters.get("id") ?? "") }
            routes.delete("/v1/switchyard/keys/{id}") { request, context in try await admin.revokeKey(request, id: context.parameters.get("id") ?? "") }
            routes.get("/v1/switchyard/usage") { request, _ in try await admin.usage(request) }
            let dashboard = DashboardAPI(ledger: ledger, keys: keys, adminKey: admin.adminKey, live: live, engine: engine, gates: gates)
            routes.get("/v1/switchyard/dashboard") { request, _ in try await dashboard.report(request) }
            if let learner {
                let learning = LearningAPI(live: live, learner: learner, adminKey: admin.adminKey)
                api.post("/v1/switchyard/feedback") { request, context in try await learning.feedback(request, caller: context.caller) }
                routes.get("/v1/switchyard/calibration") { request, _ in try await learning.calibration(request) }
            }
        }
        // The dashboard's page: public, it holds no data (docs/operations.md, Dashboard).
        for asset in DashboardAsset.all { http.get(RouterPath(asset.path)) { _, _ in asset.response } }
        // Operations: liveness and readiness answer without a key; metrics, only where the gateway is open.
        let metrics = MetricsAccess(live: live, host: options.host, environment: options.environment)
        http.get("/healthz") { _, _ in endpoints.healthz() }
        http.get("/readyz") { _, _ in endpoints.readyz() }
        http.get("/metrics") { request, _ in
            try metrics.check(request)
            return endpoints.metrics()
        }
        return http
    }
}
