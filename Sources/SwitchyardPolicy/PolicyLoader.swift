import SwitchyardLearning
import SwitchyardSignals
import SwitchyardWire
import Yams

/// Reads a policy file into a validated `Policy`, or every problem it has with its position.
/// No input makes it trap or hang: every number is range-checked before it is converted, and
/// the text is bounded in size and refused if it uses YAML aliases.
public enum PolicyLoader {
    /// - Parameter signals: what conditions and stubs may read (a test adds its own).
    public static func load(path: String, signals: SignalRegistry = .standard) throws(PolicyError) -> Policy {
        switch TextFile.read(path, maxBytes: SettingRanges.fileBytes) {
        case .success(let text):
            return try parse(text, file: path, signals: signals)
        case .failure(let error):
            throw PolicyError(diagnostics: [PolicyDiagnostic(file: path, line: 1, column: 1, message: "cannot load the policy: \(error)")])
        }
    }

    /// Every diagnostic it throws points at a real line and column of `text`, whatever the text.
    public static func parse(_ text: String, file: String, signals: SignalRegistry = .standard) throws(PolicyError) -> Policy {
        do {
            return try parseChecked(text, file: file, signals: signals)
        } catch {
            throw error.clamped(to: text)
        }
    }

    private static func parseChecked(_ text: String, file: String, signals: SignalRegistry) throws(PolicyError) -> Policy {
        var reader = NodeReader(file: file)
        // libyaml reads a C string: a NUL would end the document early and misplace every later
        // position. A policy is text; refuse it where the NUL is.
        if let nul = text.utf8.firstIndex(of: 0) {
            let at = SourceLines.position(ofByte: text.utf8.distance(from: text.utf8.startIndex, to: nul), in: text)
            throw PolicyError(diagnostics: [PolicyDiagnostic(file: file, line: at.line, column: at.column,
                message: "a NUL byte: a policy file is text")])
        }
        if let alias = YAMLAliases.first(in: text) {
            throw PolicyError(diagnostics: [PolicyDiagnostic(file: file, line: alias.line, column: alias.column,
                message: "YAML aliases (`*\(alias.name)`) are not supported in a policy: write the value out")])
        }
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw PolicyError(diagnostics: [reader.syntaxDiagnostic(error, in: text)])
        } catch {
            throw PolicyError(diagnostics: [PolicyDiagnostic(file: file, line: 1, column: 1, message: "\(error)")])
        }
        guard let root, let top = reader.mapping(root, "the policy") else {
            reader.error(root, "a policy is a mapping with at least `version` and `models`")
            throw PolicyError(diagnostics: reader.diagnostics)
        }
        var builder = PolicyBuilder(reader: reader, table: SignalTable(registry: signals, localTargets: []))
        var policy = builder.build(top, root: root, source: file)
        if !builder.reader.diagnostics.isEmpty { throw PolicyError(diagnostics: builder.reader.diagnostics) }
        policy.warnings = builder.warnings
        return policy
    }
}

/// Builds the policy section by section, recording problems instead of stopping at the first.
private struct PolicyBuilder {
    var reader: NodeReader
    /// The policy's signals: made again once the local targets are known, then each condition
    /// and stub resolves its names in it.
    var table: SignalTable
    /// Reported by `policy check` but not stopping the load.
    var warnings: [PolicyDiagnostic] = []

    static let topKeys = ["version", "server", "models", "rules", "constraints", "tests", "calibration", "auth", "ledger", "budgets",
                          "resilience", "learning", "tracing"]
    static let learningKeys = ["judge", "shadow_rate", "shadow_budget", "refit_every_labels", "refit_every", "min_labels", "window",
                               "confidence_level", "default_threshold", "drift_window", "feedback_window"]
    static let authKeys = ["mode"]
    static let tracingKeys = ["endpoint", "service_name", "sample_ratio", "capture_content"]
    static let ledgerKeys = ["postgres_url_env", "sqlite_path", "enabled"]
    static let budgetKeys = ["on_exhausted", "tenants", "savings_reference"]
    static let budgetLimitKeys = ["usd", "period"]
    static let resilienceKeys = ["retry", "breaker"]
    static let retryKeys = ["max_retries", "backoff", "max_backoff", "max_wait"]
    static let breakerKeys = ["enabled", "failures", "open_for", "half_open_probes"]
    static let serverKeys = ["max_body_bytes", "shutdown_grace", "response_retention", "max_connections", "idle_timeout", "header_timeout", "body_timeout",
                             "allowed_hosts", "allowed_origins"]
    static let serverLoadKeys = ["max_inflight_body_bytes", "tokenizer_concurrency", "tokenizer_queue"]
    static let commonModelKeys = ["kind", "context", "limits"]
    static let localKeys = commonModelKeys + ["model_file", "slots", "threads", "binary", "extra_args", "timeouts"]
    static let remoteKeys = commonModelKeys + ["base_url", "model", "api_key_env", "price", "timeouts", "headers", "responses"]
    static let timeoutKeys = ["connect", "first_byte", "stall", "total"]
    static let limitKeys = ["max_concurrency", "queue", "queue_timeout", "max_response_bytes"]
    static let priceKeys = ["input", "output", "image_tokens"]
    static let ruleKeys = ["name", "when", "serve", "fallbacks", "cascade", "deny"]
    static let cascadeKeys = ["first", "escalate_to", "when", "fallbacks", "hold_tokens", "hold_time", "risk", "threshold", "shadow"]
    static let constraintKeys = ["private_data"]
    static let privateDataKeys = ["classes", "allowed_targets"]
    static let testKeys = ["name", "format", "request", "headers", "signals", "expect"]
    static let expectKeys = ["target", "rule", "status"]

    init(reader: NodeReader, table: SignalTable) {
        self.reader = reader
        self.table = table
    }

    mutating func build(_ top: MappingEntries, root: Node, source: String) -> Policy {
        reader.checkKeys(top, allowed: Self.topKeys, in: "the policy")
        var policy = Policy(source: source, version: 1, server: ServerSettings(), models: [], rules: [], signals: table,
                            constraints: Constraints(), tests: [])

        if let version = top.value("version") {
            let text = version.scalar?.string ?? ""
            if text != "1" {
                reader.error(version, text.isEmpty ? "`version` must be 1" : "unsupported policy version \(text); this gateway reads version 1")
            }
        } else {
            reader.error(root, "missing `version: 1`")
        }
        if let server = top.value("server") { policy.server = buildServer(server) }
        if let auth = top.value("auth") { policy.auth = buildAuth(auth) }
        if let ledger = top.value("ledger") { policy.ledger = buildLedger(ledger) }
        if let models = top.value("models") {
            policy.models = buildModels(models)
        } else {
            reader.error(root, "missing `models`: a policy needs at least one target")
        }
        let localCount = policy.models.filter(\.isLocal).count
        if localCount > 1, let second = policy.models.filter(\.isLocal).dropFirst().first {
            reader.errorAt(line: second.line, column: 3, "only one `kind: local` model is supported per gateway")
        }
        table = SignalTable(registry: table.registry, localTargets: policy.localModels.map(\.name))
        if let rules = top.value("rules") {
            policy.rules = buildRules(rules, models: policy.models)
        } else if let first = policy.models.first(where: \.isLocal) ?? policy.models.first {
            policy.rules = [Rule(name: "default", action: .serve(Serve(targets: [first.name])), seesNamedModels: false, line: 0)]
        }
        if let budgets = top.value("budgets") { policy.budgets = buildBudgets(budgets, models: policy.models) }
        if let resilience = top.value("resilience") { policy.resilience = buildResilience(resilience) }
        if let learning = top.value("learning") { policy.learning = buildLearning(learning, models: policy.models) }
        checkLearning(policy, top: top)
        if let entry = top.first(where: { $0.key == "tracing" }) { policy.tracing = buildTracing(entry.value, line: entry.keyNode.mark?.line ?? 1) }
        if let constraints = top.value("constraints") {
            policy.constraints = buildConstraints(constraints, models: policy.models, rules: policy.rules)
        }
        if let tests = top.value("tests") { policy.tests = buildTests(tests, models: policy.models) }
        if let node = top.value("calibration"), let path = reader.string(node, "calibration") {
            let directory = source.lastIndex(of: "/").map { String(source[...$0]) } ?? ""
            let resolved = path.hasPrefix("/") ? path : directory + path
            if case .success(let text) = TextFile.read(resolved, maxBytes: SettingRanges.fileBytes), let json = try? JSON.parse(text),
               let model = LogisticModel(json: json), model.features == ConfidenceModelFeatures.names, model.isUsable {
                policy.calibration = model
                policy.complexityModel = LogisticModel(json: json, key: "complexity").flatMap {
                    $0.features == ConfidenceModelFeatures.prompt && $0.isUsable ? $0 : nil
                }
            } else {
                reader.error(node, "cannot read calibration weights from '\(resolved)' (write them with `switchyard eval fit`)")
            }
        }
        policy.signals = table
        return policy
    }

    mutating func buildServer(_ node: Node) -> ServerSettings {
        var settings = ServerSettings()
        guard let map = reader.mapping(node, "server") else { return settings }
        reader.checkKeys(map, allowed: Self.serverKeys + Self.serverLoadKeys, in: "server")
        if let n = map.value("max_body_bytes"), let v = reader.int(n, "max_body_bytes", in: SettingRanges.maxBodyBytes) { settings.maxBodyBytes = v }
        if let n = map.value("shutdown_grace"), let v = reader.duration(n, "shutdown_grace", in: SettingRanges.shutdownGrace) { settings.shutdownGrace = v }
        if let n = map.value("response_retention"), let v = reader.duration(n, "response_retention", in: SettingRanges.responseRetention) {
            settings.responseRetention = v
        }
        if let n = map.value("max_connections"), let v = reader.int(n, "max_connections", in: SettingRanges.maxConnections) { settings.maxConnections = v }
        if let n = map.value("idle_timeout"), let v = reader.duration(n, "idle_timeout", in: SettingRanges.idleTimeout) { settings.idleTimeout = v }
        if let n = map.value("header_timeout"), let v = reader.duration(n, "header_timeout", in: SettingRanges.headerTimeout) { settings.headerTimeout = v }
        if let n = map.value("body_timeout"), let v = reader.duration(n, "body_timeout", in: SettingRanges.bodyTimeout) { settings.bodyTimeout = v }
        if let n = map.value("allowed_hosts") { settings.allowedHosts = checkedStrings(n, "allowed_hosts", BrowserAccess.hostProblem) }
        if let n = map.value("allowed_origins") { settings.allowedOrigins = checkedStrings(n, "allowed_origins", BrowserAccess.originProblem) }
        buildServerLoad(map, into: &settings)
        return settings
    }

    /// The settings that bound what requests in flight take of the box: bodies held, tokenizer calls.
    mutating func buildServerLoad(_ map: MappingEntries, into settings: inout ServerSettings) {
        if let n = map.value("max_inflight_body_bytes"),
           let v = reader.int(n, "max_inflight_body_bytes", in: SettingRanges.maxInflightBodyBytes) {
            // A body within `max_body_bytes` must fit an empty budget, or it could never be served.
            if v < settings.maxBodyBytes {
                reader.error(n, "`max_inflight_body_bytes` must be at least `max_body_bytes` (\(settings.maxBodyBytes)); got \(v)")
            } else {
                settings.maxInflightBodyBytes = v
            }
        } else if settings.maxBodyBytes > settings.maxInflightBodyBytes {
            settings.maxInflightBodyBytes = settings.maxBodyBytes
        }
        if let n = map.value("tokenizer_concurrency"), let v = reader.int(n, "tokenizer_concurrency", in: SettingRanges.tokenizerConcurrency) {
            settings.tokenizerConcurrency = v
        }
        if let n = map.value("tokenizer_queue"), let v = reader.int(n, "tokenizer_queue", in: SettingRanges.tokenizerQueue) {
            settings.tokenizerQueue = v
        }
    }

    mutating func buildAuth(_ node: Node) -> AuthSettings {
        var settings = AuthSettings()
        guard let map = reader.mapping(node, "auth") else { return settings }
        reader.checkKeys(map, allowed: Self.authKeys, in: "auth")
        if let n = map.value("mode"), let mode = reader.choice(n, "mode", of: AuthSettings.Mode.self) { settings.mode = mode }
        return settings
    }

    mutating func buildLedger(_ node: Node) -> LedgerSettings {
        var settings = LedgerSettings()
        guard let map = reader.mapping(node, "ledger") else { return settings }
        reader.checkKeys(map, allowed: Self.ledgerKeys, in: "ledger")
        if let n = map.value("postgres_url_env") { settings.postgresURLEnv = environmentName(n, "postgres_url_env") }
        if let n = map.value("sqlite_path") { settings.sqlitePath = reader.string(n, "sqlite_path") }
        if let n = map.value("enabled") {
            if let value = n.bool { settings.enabled = value } else { reader.error(n, "`enabled` must be true or false") }
        }
        return settings
    }

    mutating func buildTracing(_ node: Node, line: Int) -> TracingSettings? {
        guard let map = reader.mapping(node, "tracing") else { return nil }
        reader.checkKeys(map, allowed: Self.tracingKeys, in: "tracing")
        var settings = TracingSettings(line: line)
        if let n = map.value("endpoint"), let endpoint = reader.string(n, "endpoint") {
            if let problem = TracingSettings.endpointProblem(endpoint) { reader.error(n, problem) } else { settings.endpoint = endpoint }
        }
        if let n = map.value("service_name"), let name = reader.string(n, "service_name") {
            if name.utf8.count > SettingRanges.serviceNameBytes {
                reader.error(n, "`service_name` must be at most \(SettingRanges.serviceNameBytes) bytes")
            } else {
                settings.serviceName = name
            }
        }
        if let n = map.value("sample_ratio"), let v = reader.number(n, "sample_ratio", in: 0...1) { settings.sampleRatio = v }
        if let n = map.value("capture_content") {
            if let value = n.bool { settings.captureContent = value } else { reader.error(n, "`capture_content` must be true or false") }
        }
        return settings
    }

    mutating func buildBudgets(_ node: Node, models: [ModelTarget]) -> BudgetSettings {
        var settings = BudgetSettings()
        guard let map = reader.mapping(node, "budgets") else { return settings }
        reader.checkKeys(map, allowed: Self.budgetKeys, in: "budgets")
        if let n = map.value("on_exhausted"), let value = reader.choice(n, "on_exhausted", of: BudgetSettings.Exhaustion.self) {
            settings.onExhausted = value
        }
        if let n = map.value("savings_reference"), let name = reader.string(n, "savings_reference") {
            checkTarget(name, node: n, names: models.map(\.name))
            settings.savingsReference = name
        }
        if let n = map.value("tenants"), let tenants = reader.mapping(n, "tenants") {
            for tenant in tenants {
                guard let limit = reader.mapping(tenant.value, "tenant budget") else { continue }
                reader.checkKeys(limit, allowed: Self.budgetLimitKeys, in: "a tenant budget")
                guard let usdNode = limit.value("usd"), let usd = reader.number(usdNode, "usd", in: SettingRanges.budgetUSD) else {
                    if limit.value("usd") == nil { reader.error(tenant.keyNode, "tenant budget '\(tenant.key)' needs `usd`") }
                    continue
                }
                var period = "month"
                if let p = limit.value("period"), let text = reader.string(p, "period") {
                    if BudgetSettings.periods.contains(text) { period = text } else {
                        reader.error(p, "unknown budget period '\(text)'; expected day, month or total")
                    }
                }
                settings.tenants[tenant.key] = BudgetSettings.Limit(usd: usd, period: period)
            }
        }
        return settings
    }

    mutating func buildResilience(_ node: Node) -> ResilienceSettings {
        var settings = ResilienceSettings()
        guard let map = reader.mapping(node, "resilience") else { return settings }
        reader.checkKeys(map, allowed: Self.resilienceKeys, in: "resilience")
        if let node = map.value("retry"), let retry = reader.mapping(node, "retry") {
            reader.checkKeys(retry, allowed: Self.retryKeys, in: "retry")
            var r = settings.retry
            if let n = retry.value("max_retries"), let v = reader.int(n, "max_retries", in: SettingRanges.maxRetries) { r.maxRetries = v }
            if let n = retry.value("backoff"), let v = reader.duration(n, "backoff", in: SettingRanges.backoff) { r.backoff = v }
            if let n = retry.value("max_backoff"), let v = reader.duration(n, "max_backoff", in: SettingRanges.backoff) { r.maxBackoff = v }
            if let n = retry.value("max_wait"), let v = reader.duration(n, "max_wait", in: SettingRanges.maxWait) { r.maxWait = v }
            if r.backoff > r.maxBackoff, let n = retry.value("max_backoff") ?? retry.value("backoff") {
                reader.error(n, "`backoff` (\(r.backoff.policyText)) must not be longer than `max_backoff` (\(r.maxBackoff.policyText))")
            }
            settings.retry = r
        }
        if let node = map.value("breaker"), let breaker = reader.mapping(node, "breaker") {
            reader.checkKeys(breaker, allowed: Self.breakerKeys, in: "breaker")
            var b = settings.breaker
            if let n = breaker.value("enabled") {
                if let value = n.bool { b.enabled = value } else { reader.error(n, "`enabled` must be true or false") }
            }
            if let n = breaker.value("failures"), let v = reader.int(n, "failures", in: SettingRanges.breakerFailures) { b.failures = v }
            if let n = breaker.value("open_for"), let v = reader.duration(n, "open_for", in: SettingRanges.openFor) { b.openFor = v }
            if let n = breaker.value("half_open_probes"), let v = reader.int(n, "half_open_probes", in: SettingRanges.halfOpenProbes) {
                b.halfOpenProbes = v
            }
            settings.breaker = b
        }
        return settings
    }

    mutating func buildLearning(_ node: Node, models: [ModelTarget]) -> LearningSettings? {
        guard let map = reader.mapping(node, "learning") else { return nil }
        reader.checkKeys(map, allowed: Self.learningKeys, in: "learning")
        var judge: LearningSettings.Judge?
        if let n = map.value("judge") {
            if let text = n.scalar?.string {
                checkTarget(text, node: n, names: models.map(\.name))
                judge = .target(text)
            } else if let judgeMap = reader.mapping(n, "judge") {
                reader.checkKeys(judgeMap, allowed: ["match"], in: "judge")
                if let m = judgeMap.value("match"), let text = reader.string(m, "match") {
                    if let matcher = Judgement.Matcher(rawValue: text) { judge = .match(matcher) } else {
                        let names = Judgement.Matcher.allCases.map(\.rawValue).joined(separator: ", ")
                        reader.error(m, "`match` is one of \(names); got '\(text)'")
                    }
                }
            }
        } else {
            reader.error(node, "`learning` needs a `judge`: a target (`judge: gpt-4o-mini`) or a matcher (`judge: {match: number}`)")
        }
        var settings = LearningSettings(judge: judge ?? .match(.contains))
        if let n = map.value("shadow_rate"), let v = reader.number(n, "shadow_rate", in: SettingRanges.shadowRate) { settings.shadowRate = v }
        if let n = map.value("shadow_budget"), let limit = reader.mapping(n, "shadow_budget") {
            reader.checkKeys(limit, allowed: Self.budgetLimitKeys, in: "shadow_budget")
            if let usdNode = limit.value("usd"), let usd = reader.number(usdNode, "usd", in: SettingRanges.budgetUSD) {
                var period = "day"
                if let p = limit.value("period"), let text = reader.string(p, "period") {
                    if BudgetSettings.periods.contains(text) { period = text } else {
                        reader.error(p, "unknown budget period '\(text)'; expected day, month or total")
                    }
                }
                settings.shadowBudget = BudgetSettings.Limit(usd: usd, period: period)
            } else if limit.value("usd") == nil {
                reader.error(n, "`shadow_budget` needs `usd`")
            }
        }
        if let n = map.value("refit_every_labels"), let v = reader.int(n, "refit_every_labels", in: SettingRanges.refitEveryLabels) {
            settings.refitEveryLabels = v
        }
        if let n = map.value("refit_every"), let v = reader.duration(n, "refit_every", in: SettingRanges.refitEvery) { settings.refitEvery = v }
        if let n = map.value("min_labels"), let v = reader.int(n, "min_labels", in: SettingRanges.minimumLabels) { settings.minimumLabels = v }
        if let n = map.value("window"), let v = reader.int(n, "window", in: SettingRanges.labelWindow) { settings.window = v }
        if let n = map.value("confidence_level"), let v = reader.number(n, "confidence_level", in: SettingRanges.confidenceLevel) {
            settings.confidenceLevel = v
        }
        if let n = map.value("default_threshold"), let v = reader.number(n, "default_threshold", in: SettingRanges.threshold) {
            settings.defaultThreshold = v
        }
        if let n = map.value("drift_window"), let v = reader.int(n, "drift_window", in: SettingRanges.driftWindow) { settings.driftWindow = v }
        if let n = map.value("feedback_window"), let v = reader.duration(n, "feedback_window", in: SettingRanges.feedbackWindow) {
            settings.feedbackWindow = v
        }
        return settings
    }

    /// A cascade that learns its threshold needs the `learning` block, and both need the ledger (labels live there).
    mutating func checkLearning(_ policy: Policy, top: MappingEntries) {
        let auto = policy.rules.first { rule in
            if case .cascade(let cascade) = rule.action { return cascade.risk != nil }
            return false
        }
        if let auto, policy.learning == nil {
            reader.errorAt(line: auto.line, column: 5, "rule '\(auto.name)' learns its threshold (`confidence < auto`): add a `learning:` block with a `judge`")
        }
        if policy.learning != nil, !policy.ledger.enabled, let node = top.value("learning") {
            reader.error(node, "`learning` keeps its labels in the ledger: it needs `ledger.enabled` (the default)")
        }
    }

    mutating func buildModels(_ node: Node) -> [ModelTarget] {
        guard let map = reader.mapping(node, "models") else { return [] }
        if map.isEmpty { reader.error(node, "`models` is empty: a policy needs at least one target") }
        var seen = Set<String>()
        var targets: [ModelTarget] = []
        for entry in map {
            if !seen.insert(entry.key).inserted { reader.error(entry.keyNode, "model '\(entry.key)' is defined twice") }
            if entry.key == "auto" { reader.error(entry.keyNode, "'auto' is reserved: it asks the rules to choose") }
            if let target = buildModel(name: entry.key, keyNode: entry.keyNode, entry.value) { targets.append(target) }
        }
        return targets
    }

    mutating func buildModel(name: String, keyNode: Node, _ node: Node) -> ModelTarget? {
        guard let map = reader.mapping(node, "model '\(name)'") else { return nil }
        guard let kindNode = map.value("kind") else {
            reader.error(keyNode, "model '\(name)' needs a `kind`: local, openai or anthropic")
            return nil
        }
        guard let kind = reader.string(kindNode, "kind") else { return nil }
        let line = keyNode.mark?.line ?? 0
        switch kind {
        case "local":
            reader.checkKeys(map, allowed: Self.localKeys, in: "a local model")
            var local = LocalEngineSettings()
            if let n = map.value("model_file"), let v = reader.string(n, "model_file") { local.modelFile = v }
            if let n = map.value("context"), let v = reader.int(n, "context", in: SettingRanges.context) { local.context = v }
            if let n = map.value("slots"), let v = reader.int(n, "slots", in: SettingRanges.slots) { local.slots = v }
            if let n = map.value("threads"), let v = reader.int(n, "threads", in: SettingRanges.threads) { local.threads = v }
            if let n = map.value("binary"), let v = reader.string(n, "binary") { local.binary = v }
            if let n = map.value("extra_args") { local.extraArgs = checkedStrings(n, "extra_args", EngineFlags.problem) }
            if let n = map.value("timeouts") { local.timeouts = buildTimeouts(n, defaults: local.timeouts) }
            if local.contextPerSlot < 128, let n = map.value("slots") {
                reader.error(n, "\(local.slots) slots leave \(local.contextPerSlot) tokens each of a \(local.context)-token context; use fewer slots or a larger context")
            }
            let limits = buildLimits(map.value("limits"), defaults: .local(slots: local.slots))
            return ModelTarget(name: name, kind: .local(local), contextWindow: local.contextPerSlot, limits: limits, line: line)
        case "openai", "anthropic":
            reader.checkKeys(map, allowed: Self.remoteKeys, in: "a remote model")
            let baseURL = map.value("base_url").flatMap { reader.string($0, "base_url") }
                ?? (kind == "openai" ? "https://api.openai.com/v1" : "https://api.anthropic.com/v1")
            if !(baseURL.hasPrefix("https://") || baseURL.hasPrefix("http://")), let n = map.value("base_url") {
                reader.error(n, "`base_url` must start with https:// or http://")
            }
            guard let modelNode = map.value("model") else {
                reader.error(keyNode, "model '\(name)' needs `model`: the provider's model id")
                return nil
            }
            var remote = RemoteSettings(baseURL: baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL,
                                        model: reader.string(modelNode, "model") ?? name)
            if let n = map.value("api_key_env") { remote.apiKeyEnv = environmentName(n, "api_key_env") }
            if let n = map.value("price") { remote.price = buildPrice(n) }
            if let n = map.value("timeouts") { remote.timeouts = buildTimeouts(n, defaults: remote.timeouts) }
            if let n = map.value("headers"), let headers = reader.mapping(n, "headers") {
                for header in headers {
                    guard let v = reader.string(header.value, "headers.\(header.key)", allowEmpty: true) else { continue }
                    if let problem = HeaderSyntax.problem(name: header.key, value: v) ?? Self.clientOwnedHeader(header.key) {
                        reader.error(header.keyNode, problem)
                    } else {
                        remote.headers[header.key] = v
                    }
                }
            }
            if let n = map.value("responses") {
                if let b = n.bool { remote.speaksResponses = b } else { reader.error(n, "`responses` must be true or false") }
                if kind != "openai" { reader.error(n, "`responses` is for an OpenAI target that speaks the Responses API") }
            }
            let context = map.value("context").flatMap { reader.int($0, "context", in: SettingRanges.context) } ?? 128_000
            let limits = buildLimits(map.value("limits"), defaults: .remote)
            return ModelTarget(name: name, kind: kind == "openai" ? .openai(remote) : .anthropic(remote), contextWindow: context,
                               limits: limits, line: line)
        default:
            let hint = nearest(kind, in: ["local", "openai", "anthropic"]).map { " (did you mean '\($0)'?)" } ?? ""
            reader.error(kindNode, "unknown model kind '\(kind)'\(hint); expected local, openai or anthropic")
            return nil
        }
    }

    /// The name of an environment variable, never the secret it holds (`EnvironmentName`).
    mutating func environmentName(_ node: Node, _ field: String) -> String? {
        guard let name = reader.string(node, field) else { return nil }
        if let problem = EnvironmentName.problem(name, field: field) {
            reader.error(node, problem)
            return nil
        }
        return name
    }

    /// A list of strings, each refused where it is when `problem` has something to say about it.
    mutating func checkedStrings(_ node: Node, _ field: String, _ problem: (String) -> String?) -> [String] {
        guard case .sequence(let items) = node else {
            reader.error(node, "`\(field)` must be a list of strings")
            return []
        }
        return items.compactMap { item in
            guard let text = reader.string(item, field) else { return nil }
            if let message = problem(text) {
                reader.error(item, message)
                return nil
            }
            return text
        }
    }

    /// Headers that frame the request or its connection are the HTTP client's to write: from a
    /// policy they would desynchronise the upstream (`Content-Length`, `Transfer-Encoding`) or
    /// send the request to another host (`Host`).
    static func clientOwnedHeader(_ name: String) -> String? {
        let owned = ["host", "content-length", "transfer-encoding", "connection", "keep-alive", "proxy-connection", "te", "trailer",
                     "upgrade", "expect"]
        guard owned.contains(name.lowercased()) else { return nil }
        return "the header '\(name)' is set by the HTTP client itself; a policy may not set it"
    }

    mutating func buildTimeouts(_ node: Node, defaults: TimeoutSettings) -> TimeoutSettings {
        var t = defaults
        guard let map = reader.mapping(node, "timeouts") else { return t }
        reader.checkKeys(map, allowed: Self.timeoutKeys, in: "timeouts")
        let range = SettingRanges.timeout
        if let n = map.value("connect"), let v = reader.duration(n, "connect", in: range) { t.connect = v }
        if let n = map.value("first_byte"), let v = reader.duration(n, "first_byte", in: range) { t.firstByte = v }
        if let n = map.value("stall"), let v = reader.duration(n, "stall", in: range) { t.stall = v }
        if let n = map.value("total"), let v = reader.duration(n, "total", in: range) { t.total = v }
        return t
    }

    mutating func buildLimits(_ node: Node?, defaults: TargetLimits) -> TargetLimits {
        var limits = defaults
        guard let node, let map = reader.mapping(node, "limits") else { return limits }
        reader.checkKeys(map, allowed: Self.limitKeys, in: "limits")
        if let n = map.value("max_concurrency"), let v = reader.int(n, "max_concurrency", in: SettingRanges.maxConcurrency) { limits.maxConcurrency = v }
        if let n = map.value("queue"), let v = reader.int(n, "queue", in: SettingRanges.queueDepth) { limits.queueDepth = v }
        if let n = map.value("queue_timeout"), let v = reader.duration(n, "queue_timeout", in: SettingRanges.queueTimeout) { limits.queueTimeout = v }
        if let n = map.value("max_response_bytes"), let v = reader.int(n, "max_response_bytes", in: SettingRanges.maxResponseBytes) {
            limits.maxResponseBytes = v
        }
        return limits
    }

    mutating func buildPrice(_ node: Node) -> Price? {
        guard let map = reader.mapping(node, "price") else { return nil }
        reader.checkKeys(map, allowed: Self.priceKeys, in: "price (USD per million tokens)")
        let input = map.value("input").flatMap { reader.number($0, "price.input", in: SettingRanges.price) } ?? 0
        let output = map.value("output").flatMap { reader.number($0, "price.output", in: SettingRanges.price) } ?? 0
        let images = map.value("image_tokens").flatMap { reader.int($0, "price.image_tokens", in: SettingRanges.imageTokens) }
        return Price(inputPerMillion: input, outputPerMillion: output, imageTokens: images)
    }

    mutating func buildRules(_ node: Node, models: [ModelTarget]) -> [Rule] {
        guard case .sequence(let sequence) = node else {
            reader.error(node, "`rules` must be a list")
            return []
        }
        let names = models.map(\.name)
        var rules: [Rule] = []
        var catchAll: Rule?
        for item in sequence {
            guard let map = reader.mapping(item, "a rule") else { continue }
            reader.checkKeys(map, allowed: Self.ruleKeys, in: "a rule")
            let line = item.mark?.line ?? 0
            let name = map.value("name").flatMap { reader.string($0, "name") } ?? "rule-\(rules.count + 1)"
            if rules.contains(where: { $0.name == name }), let n = map.value("name") {
                reader.error(n, "rule name '\(name)' is used twice")
            }
            var when = Condition.always
            if let n = map.value("when") {
                guard let condition = condition(n, models: models, allowConfidence: false) else { continue }
                when = condition
            }
            let actions = ["serve", "cascade", "deny"].filter { map.value($0) != nil }
            guard actions.count == 1 else {
                reader.error(item, actions.isEmpty
                    ? "rule '\(name)' has no action: add `serve: TARGET`, `cascade: {...}` or `deny: \"reason\"`"
                    : "rule '\(name)' has more than one action (\(actions.joined(separator: ", "))); give it one")
                continue
            }
            let fallbacks = map.value("fallbacks").map { targetList($0, "fallbacks", names: names) } ?? []
            let action: Action
            if let serveNode = map.value("serve") {
                guard let target = reader.string(serveNode, "serve") else { continue }
                checkTarget(target, node: serveNode, names: names)
                action = .serve(Serve(targets: [target] + fallbacks.map(\.0)))
                checkChain([(target, serveNode)] + fallbacks, rule: name)
            } else if let cascadeNode = map.value("cascade") {
                guard let cascade = buildCascade(cascadeNode, rule: name, models: models, fallbacks: fallbacks) else { continue }
                action = .cascade(cascade)
            } else {
                let denyNode = map.value("deny")!
                guard let message = reader.string(denyNode, "deny") else { continue }
                if !fallbacks.isEmpty, let n = map.value("fallbacks") { reader.error(n, "a `deny` rule has no fallbacks") }
                action = .deny(Deny(message: message))
            }
            let readsModel = table.slot(named: "model").map(when.signals.contains) ?? false
            let seesNamedModels = if case .deny = action { true } else { readsModel }
            let rule = Rule(name: name, when: when, action: action, seesNamedModels: seesNamedModels, line: line)
            if !rule.seesNamedModels {
                warnings.append(PolicyDiagnostic(file: reader.file, line: line, column: item.mark?.column ?? 1,
                                                 message: "rule '\(name)' is skipped by requests that name a model (it does not read `model`)",
                                                 severity: .warning))
            }
            if let catchAll {
                reader.error(item, "rule '\(name)' is never reached: rule '\(catchAll.name)' at line \(catchAll.line) matches every request")
            }
            if rule.when.isAlwaysTrue, catchAll == nil { catchAll = rule }
            rules.append(rule)
        }
        if rules.isEmpty { reader.error(node, "`rules` is empty: add at least one rule") }
        return rules
    }

    mutating func buildCascade(_ node: Node, rule: String, models: [ModelTarget], fallbacks: [(String, Node)]) -> Cascade? {
        guard let map = reader.mapping(node, "cascade") else { return nil }
        reader.checkKeys(map, allowed: Self.cascadeKeys, in: "cascade")
        let names = models.map(\.name)
        guard let firstNode = map.value("first"), let first = reader.string(firstNode, "first"),
              let escalateNode = map.value("escalate_to"), let escalateTo = reader.string(escalateNode, "escalate_to") else {
            reader.error(node, "a cascade needs `first` (the local model) and `escalate_to`")
            return nil
        }
        checkTarget(first, node: firstNode, names: names)
        checkTarget(escalateTo, node: escalateNode, names: names)
        if let target = models.first(where: { $0.name == first }), !target.isLocal {
            reader.error(firstNode, "a cascade starts on the local model (its confidence comes from the local token log-probabilities); '\(first)' is \(target.kindName)")
        }
        var when = (try? Condition.parse("confidence < 0.5", models: models, signals: &table)) ?? .always
        if let n = map.value("when") {
            guard let condition = condition(n, models: models, allowConfidence: true) else { return nil }
            when = condition
        }
        var extra = fallbacks
        if let n = map.value("fallbacks") { extra += targetList(n, "fallbacks", names: names) }
        checkChain([(first, firstNode), (escalateTo, escalateNode)] + extra, rule: rule)
        var cascade = Cascade(first: first, escalateTo: escalateTo, when: when, fallbacks: extra.map(\.0))
        if let n = map.value("hold_tokens"), let v = reader.int(n, "hold_tokens", in: SettingRanges.holdTokens) { cascade.holdTokens = v }
        if let n = map.value("hold_time"), let v = reader.duration(n, "hold_time", in: SettingRanges.holdTime) { cascade.holdTime = v }
        // `confidence < auto` learns its threshold within a risk bound; without `auto`, the bound has nothing to set.
        let learned = table.slot(named: "confidence.threshold").map(when.signals.contains) ?? false
        if let n = map.value("risk"), let v = reader.number(n, "risk", in: SettingRanges.risk) {
            cascade.risk = v
            if !learned { reader.error(n, "`risk` sets the threshold of `when: confidence < auto`; this cascade's `when` has no `auto`") }
        } else if learned {
            reader.error(map.value("when") ?? node, "`confidence < auto` needs `risk:` (the share of wrong answers the box may serve, e.g. 0.05)")
        }
        if let n = map.value("threshold"), let v = reader.number(n, "threshold", in: SettingRanges.threshold) {
            cascade.threshold = v
            if !learned { reader.error(n, "`threshold` is the starting point of `when: confidence < auto`; write a fixed one in `when`") }
        }
        if let n = map.value("shadow") {
            if let b = n.bool { cascade.shadow = b } else { reader.error(n, "`shadow` must be true or false") }
        }
        return cascade
    }

    /// Parses a condition, reporting its errors at their column in the file.
    mutating func condition(_ node: Node, models: [ModelTarget], allowConfidence: Bool) -> Condition? {
        guard case .scalar(let scalar) = node else {
            reader.error(node, "a condition is a string, like `prompt_tokens > 4000`")
            return nil
        }
        let text = scalar.string
        do {
            let condition = try Condition.parse(text, models: models, signals: &table)
            if !allowConfidence, let after = condition.signals.first(where: { table.definition(at: $0).cost == .afterGeneration }) {
                reader.error(node, "`\(table.entries[after].name)` is known only after the local model answered: use it in a cascade's `when`")
                return nil
            }
            return condition
        } catch {
            let mark = node.mark
            let quoted = scalar.style == .singleQuoted || scalar.style == .doubleQuoted
            if scalar.style == .literal || scalar.style == .folded || text.contains("\n") {
                // Folded or block text no longer maps column for column onto the file: point at
                // the condition, and say where in it.
                reader.errorAt(line: mark?.line ?? 1, column: mark?.column ?? 1,
                               "in condition, at character \(error.offset + 1): \(error.message)")
            } else {
                reader.errorAt(line: mark?.line ?? 1, column: (mark?.column ?? 1) + error.offset + (quoted ? 1 : 0), "in condition: \(error.message)")
            }
            return nil
        }
    }

    mutating func targetList(_ node: Node, _ field: String, names: [String]) -> [(String, Node)] {
        guard case .sequence(let sequence) = node else {
            reader.error(node, "`\(field)` must be a list of targets")
            return []
        }
        return sequence.compactMap { item in
            guard let name = reader.string(item, field) else { return nil }
            checkTarget(name, node: item, names: names)
            return (name, item)
        }
    }

    /// A chain of targets (serve or cascade, then fallbacks) may not name a target twice.
    mutating func checkChain(_ chain: [(String, Node)], rule: String) {
        for (i, (name, node)) in chain.enumerated() where chain[..<i].contains(where: { $0.0 == name }) {
            reader.error(node, "'\(name)' appears twice in rule '\(rule)' (a fallback cycle)")
        }
    }

    mutating func buildConstraints(_ node: Node, models: [ModelTarget], rules: [Rule]) -> Constraints {
        guard let map = reader.mapping(node, "constraints") else { return Constraints() }
        reader.checkKeys(map, allowed: Self.constraintKeys, in: "constraints")
        guard let privateNode = map.value("private_data"), let privateMap = reader.mapping(privateNode, "private_data") else {
            return Constraints()
        }
        reader.checkKeys(privateMap, allowed: Self.privateDataKeys, in: "private_data")
        let known = PIIClass.allCases.map(\.rawValue)
        var classes = Set(known)
        if let n = privateMap.value("classes") {
            classes = []
            for (item, itemNode) in zip(reader.strings(n, "classes"), n.sequence.map(Array.init) ?? []) {
                if known.contains(item) {
                    classes.insert(item)
                } else {
                    let hint = nearest(item, in: known).map { " (did you mean '\($0)'?)" } ?? ""
                    reader.error(itemNode, "unknown PII class '\(item)'\(hint); classes: \(known.joined(separator: ", "))")
                }
            }
        }
        let names = models.map(\.name)
        let allowed = privateMap.value("allowed_targets").map { targetList($0, "allowed_targets", names: names).map(\.0) }
            ?? models.filter(\.isLocal).map(\.name)
        let constraint = PrivateDataConstraint(classes: classes, allowedTargets: allowed)
        // A rule that only applies to private data must not name a target outside the box.
        let pii = table.slot(named: "pii")
        for rule in rules where pii.map({ rule.when.requires($0, toHoldOneOf: classes) }) ?? false {
            for target in rule.action.targets where !allowed.contains(target) {
                reader.errorAt(line: rule.line, column: 5,
                               "rule '\(rule.name)' matches private data (\(classes.sorted().joined(separator: ", "))) but may send it to '\(target)', which `constraints.private_data.allowed_targets` does not allow")
            }
        }
        return Constraints(privateData: constraint)
    }

    mutating func buildTests(_ node: Node, models: [ModelTarget]) -> [PolicyTest] {
        guard case .sequence(let sequence) = node else {
            reader.error(node, "`tests` must be a list")
            return []
        }
        let names = models.map(\.name)
        var tests: [PolicyTest] = []
        for item in sequence {
            guard let map = reader.mapping(item, "a test") else { continue }
            reader.checkKeys(map, allowed: Self.testKeys, in: "a test")
            let name = map.value("name").flatMap { reader.string($0, "name") } ?? "test-\(tests.count + 1)"
            var format = RequestFormat.openAI
            if let n = map.value("format"), let text = reader.string(n, "format") {
                if let known = RequestFormat(rawValue: text) { format = known } else {
                    reader.error(n, "`format` is one of \(RequestFormat.allCases.map(\.rawValue).joined(separator: ", ")); got '\(text)'")
                }
            }
            guard let requestNode = map.value("request"), case .object(let request) = reader.json(requestNode) else {
                reader.error(item, "test '\(name)' needs a `request` (a body in its `format`: chat completions by default)")
                continue
            }
            var headers: [String: String] = [:]
            if let n = map.value("headers"), let entries = reader.mapping(n, "headers") {
                for entry in entries { headers[entry.key.lowercased()] = reader.string(entry.value, entry.key, allowEmpty: true) }
            }
            var signals: [(slot: Int, value: ConditionValue)] = []
            if let n = map.value("signals"), let entries = reader.mapping(n, "signals") {
                for entry in entries {
                    guard let slot = table.resolve(entry.key) else {
                        let names = table.registry.names(localTargets: table.localTargets)
                        let hint = nearest(entry.key, in: names).map { " (did you mean '\($0)'?)" } ?? ""
                        reader.error(entry.keyNode, "unknown signal '\(entry.key)'\(hint)")
                        continue
                    }
                    if let value = reader.signalValue(entry.value, for: table.definition(at: slot), named: table.entries[slot].name) {
                        signals.append((slot, value))
                    }
                }
            }
            var expect = PolicyTest.Expectation()
            if let n = map.value("expect"), let entries = reader.mapping(n, "expect") {
                reader.checkKeys(entries, allowed: Self.expectKeys, in: "expect")
                if let t = entries.value("target") {
                    expect.target = reader.string(t, "target")
                    if let target = expect.target { checkTarget(target, node: t, names: names) }
                }
                if let r = entries.value("rule") { expect.rule = reader.string(r, "rule") }
                if let st = entries.value("status") { expect.status = reader.int(st, "status", in: SettingRanges.status) }
            } else {
                reader.error(item, "test '\(name)' needs `expect` (target, rule and/or status)")
            }
            tests.append(PolicyTest(name: name, format: format, request: request, headers: headers, signals: signals, expect: expect, line: item.mark?.line ?? 0))
        }
        return tests
    }

    mutating func checkTarget(_ target: String, node: Node, names: [String]) {
        guard !names.contains(target) else { return }
        let hint = nearest(target, in: names).map { " (did you mean '\($0)'?)" } ?? ""
        reader.error(node, "unknown target '\(target)'\(hint); defined models: \(names.joined(separator: ", "))")
    }
}
