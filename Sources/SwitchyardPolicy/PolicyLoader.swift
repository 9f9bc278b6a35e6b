import Yams

#if canImport(Glibc)
import Glibc
#endif

/// Reads a policy file into a validated `Policy`, or every problem it has with its position.
public enum PolicyLoader {
    public static func load(path: String) throws(PolicyError) -> Policy {
        guard let text = readFile(path) else {
            throw PolicyError(diagnostics: [PolicyDiagnostic(file: path, line: 1, column: 1, message: "cannot read the policy file")])
        }
        return try parse(text, file: path)
    }

    public static func parse(_ text: String, file: String) throws(PolicyError) -> Policy {
        var reader = NodeReader(file: file)
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw PolicyError(diagnostics: [reader.syntaxDiagnostic(error)])
        } catch {
            throw PolicyError(diagnostics: [PolicyDiagnostic(file: file, line: 1, column: 1, message: "\(error)")])
        }
        guard let root, let top = reader.mapping(root, "the policy") else {
            reader.error(root, "a policy is a mapping with at least `version` and `models`")
            throw PolicyError(diagnostics: reader.diagnostics)
        }
        var builder = PolicyBuilder(reader: reader)
        let policy = builder.build(top, root: root, source: file)
        if !builder.reader.diagnostics.isEmpty { throw PolicyError(diagnostics: builder.reader.diagnostics) }
        return policy
    }

    private static func readFile(_ path: String) -> String? {
        guard let file = fopen(path, "rb") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = fread(&chunk, 1, chunk.count, file)
            if n > 0 { bytes.append(contentsOf: chunk[0..<n]) }
            if n < chunk.count { break }
        }
        return String(validating: bytes, as: UTF8.self)
    }
}

/// Builds the policy section by section, recording problems instead of stopping at the first.
private struct PolicyBuilder {
    var reader: NodeReader

    static let topKeys = ["version", "server", "models", "rules"]
    static let serverKeys = ["max_body_bytes", "shutdown_grace"]
    static let commonModelKeys = ["kind", "context"]
    static let localKeys = commonModelKeys + ["model_file", "slots", "threads", "binary", "extra_args", "timeouts"]
    static let remoteKeys = commonModelKeys + ["base_url", "model", "api_key_env", "price", "timeouts", "headers"]
    static let timeoutKeys = ["connect", "first_byte", "stall", "total"]
    static let priceKeys = ["input", "output"]
    static let ruleKeys = ["name", "serve", "fallbacks"]

    init(reader: NodeReader) { self.reader = reader }

    mutating func build(_ top: MappingEntries, root: Node, source: String) -> Policy {
        reader.checkKeys(top, allowed: Self.topKeys, in: "the policy")
        var policy = Policy(source: source, version: 1, server: ServerSettings(), models: [], rules: [])

        if let version = top.value("version") {
            if let v = reader.int(version, "version"), v != 1 {
                reader.error(version, "unsupported policy version \(v); this gateway reads version 1")
            }
        } else {
            reader.error(root, "missing `version: 1`")
        }
        if let server = top.value("server") { policy.server = buildServer(server) }
        if let models = top.value("models") {
            policy.models = buildModels(models)
        } else {
            reader.error(root, "missing `models`: a policy needs at least one target")
        }
        let localCount = policy.models.filter(\.isLocal).count
        if localCount > 1, let second = policy.models.filter(\.isLocal).dropFirst().first {
            reader.errorAt(line: second.line, column: 3, "only one `kind: local` model is supported per gateway")
        }
        if let rules = top.value("rules") {
            policy.rules = buildRules(rules, models: policy.models)
        } else if let first = policy.models.first(where: \.isLocal) ?? policy.models.first {
            policy.rules = [Rule(name: "default", action: .serve(target: first.name, fallbacks: []), line: 0)]
        }
        return policy
    }

    mutating func buildServer(_ node: Node) -> ServerSettings {
        var settings = ServerSettings()
        guard let map = reader.mapping(node, "server") else { return settings }
        reader.checkKeys(map, allowed: Self.serverKeys, in: "server")
        if let n = map.value("max_body_bytes"), let v = reader.int(n, "max_body_bytes", min: 1024) { settings.maxBodyBytes = v }
        if let n = map.value("shutdown_grace"), let v = reader.duration(n, "shutdown_grace") { settings.shutdownGrace = v }
        return settings
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
            if let n = map.value("context"), let v = reader.int(n, "context", min: 128) { local.context = v }
            if let n = map.value("slots"), let v = reader.int(n, "slots", min: 1, max: 256) { local.slots = v }
            if let n = map.value("threads"), let v = reader.int(n, "threads", min: 1, max: 1024) { local.threads = v }
            if let n = map.value("binary"), let v = reader.string(n, "binary") { local.binary = v }
            if let n = map.value("extra_args") { local.extraArgs = reader.strings(n, "extra_args") }
            if let n = map.value("timeouts") { local.timeouts = buildTimeouts(n, defaults: local.timeouts) }
            if local.contextPerSlot < 128, let n = map.value("slots") {
                reader.error(n, "\(local.slots) slots leave \(local.contextPerSlot) tokens each of a \(local.context)-token context; use fewer slots or a larger context")
            }
            return ModelTarget(name: name, kind: .local(local), contextWindow: local.contextPerSlot, line: line)
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
            if let n = map.value("api_key_env"), let v = reader.string(n, "api_key_env") { remote.apiKeyEnv = v }
            if let n = map.value("price") { remote.price = buildPrice(n) }
            if let n = map.value("timeouts") { remote.timeouts = buildTimeouts(n, defaults: remote.timeouts) }
            if let n = map.value("headers"), let headers = reader.mapping(n, "headers") {
                for header in headers {
                    if let v = reader.string(header.value, "headers.\(header.key)") { remote.headers[header.key] = v }
                }
            }
            let context = map.value("context").flatMap { reader.int($0, "context", min: 128) } ?? 128_000
            return ModelTarget(name: name, kind: kind == "openai" ? .openai(remote) : .anthropic(remote), contextWindow: context, line: line)
        default:
            let hint = nearest(kind, in: ["local", "openai", "anthropic"]).map { " (did you mean '\($0)'?)" } ?? ""
            reader.error(kindNode, "unknown model kind '\(kind)'\(hint); expected local, openai or anthropic")
            return nil
        }
    }

    mutating func buildTimeouts(_ node: Node, defaults: TimeoutSettings) -> TimeoutSettings {
        var t = defaults
        guard let map = reader.mapping(node, "timeouts") else { return t }
        reader.checkKeys(map, allowed: Self.timeoutKeys, in: "timeouts")
        if let n = map.value("connect"), let v = reader.duration(n, "connect") { t.connect = v }
        if let n = map.value("first_byte"), let v = reader.duration(n, "first_byte") { t.firstByte = v }
        if let n = map.value("stall"), let v = reader.duration(n, "stall") { t.stall = v }
        if let n = map.value("total"), let v = reader.duration(n, "total") { t.total = v }
        return t
    }

    mutating func buildPrice(_ node: Node) -> Price? {
        guard let map = reader.mapping(node, "price") else { return nil }
        reader.checkKeys(map, allowed: Self.priceKeys, in: "price (USD per million tokens)")
        let input = map.value("input").flatMap { reader.number($0, "price.input", min: 0) } ?? 0
        let output = map.value("output").flatMap { reader.number($0, "price.output", min: 0) } ?? 0
        return Price(inputPerMillion: input, outputPerMillion: output)
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
            guard let serveNode = map.value("serve") else {
                reader.error(item, "rule '\(name)' has no action: add `serve: TARGET`")
                continue
            }
            guard let target = reader.string(serveNode, "serve") else { continue }
            checkTarget(target, node: serveNode, names: names)
            var fallbacks: [String] = []
            if let n = map.value("fallbacks") {
                fallbacks = reader.strings(n, "fallbacks")
                for (i, fallback) in fallbacks.enumerated() {
                    let at = n.sequence.map { Array($0)[i] } ?? n
                    checkTarget(fallback, node: at, names: names)
                    if fallback == target || fallbacks[..<i].contains(fallback) {
                        reader.error(at, "'\(fallback)' appears twice in rule '\(name)' (a fallback cycle)")
                    }
                }
            }
            let rule = Rule(name: name, action: .serve(target: target, fallbacks: fallbacks), line: line)
            if let catchAll {
                reader.error(item, "rule '\(name)' is never reached: rule '\(catchAll.name)' at line \(catchAll.line) matches every request")
            }
            catchAll = catchAll ?? rule  // every rule matches all requests until rules get conditions
            rules.append(rule)
        }
        if rules.isEmpty { reader.error(node, "`rules` is empty: add at least one `serve` rule") }
        return rules
    }

    mutating func checkTarget(_ target: String, node: Node, names: [String]) {
        guard !names.contains(target) else { return }
        let hint = nearest(target, in: names).map { " (did you mean '\($0)'?)" } ?? ""
        reader.error(node, "unknown target '\(target)'\(hint); defined models: \(names.joined(separator: ", "))")
    }
}
