import ArgumentParser
import Logging
import Metrics
import Prometheus
import SwitchyardEngine
import SwitchyardEval
import SwitchyardPolicy
import SwitchyardDecision
import SwitchyardExecution
import SwitchyardSignals
import SwitchyardServer
import SwitchyardWire

@main
struct Switchyard: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "switchyard",
        abstract: "A hybrid SLM/LLM routing gateway: one OpenAI-compatible endpoint, served on the box or in the cloud by policy.",
        subcommands: [Serve.self, PolicyCommand.self, KeysCommand.self, UsageCommand.self, CalibrationCommand.self, EvalCommand.self,
                      BenchSignals.self, BenchLedger.self],
        defaultSubcommand: Serve.self
    )
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Serve the OpenAI-compatible endpoint under a policy.")

    @Option(name: .long, help: "The policy file.")
    var policy: String = "policies/default.yaml"

    @Option(name: .long, help: "Address to listen on.")
    var host: String = "127.0.0.1"

    @Option(name: .long, help: "Port to listen on.")
    var port: Int = 8080

    @Option(name: .long, help: "Directory for the engine's pid file and log (default: $SWITCHYARD_HOME/state).")
    var stateDir: String?

    @Option(name: .long, help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: String = "info"

    @Flag(name: .long, inversion: .prefixedNo, help: "Reload the policy when its file changes (SIGHUP always reloads).")
    var watchPolicy = true

    @Flag(name: .long, help: "Listen beyond loopback although the policy's `auth.mode` is off (e.g. behind a proxy that authenticates).")
    var allowUnauthenticated = false

    @Option(name: .long, help: "A host name clients reach the gateway by, besides the policy's `server.allowed_hosts` (repeatable; e.g. a Kubernetes Service name).")
    var allowedHost: [String] = []

    func run() async throws {
        guard let level = Logger.Level(rawValue: logLevel) else {
            throw ValidationError("unknown log level '\(logLevel)'")
        }
        MallocTuning.apply()
        LoggingSystem.bootstrap { label in
            var handler = EscapingLogHandler(StreamLogHandler.standardError(label: label))
            handler.logLevel = level
            return handler
        }
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        let logger = Logger(label: "switchyard")

        // Refused before anything starts: an open gateway on a public address spends the cloud
        // budget of whoever finds it. (A reload keeps the listener; see docs/operations.md.)
        if !ListenAddress.isLoopback(host) {
            let mode = try loadOrExit(policy).auth.mode
            if mode == .off, !allowUnauthenticated {
                printError("""
                    switchyard: refusing to listen on \(host) without authentication: the policy \(policy) has `auth.mode: off`, \
                    so anyone who reaches this address may use the gateway and spend its cloud budget.
                      - require API keys: `auth: {mode: required}` in the policy, and `switchyard keys create --name NAME`;
                      - or listen on loopback only: --host 127.0.0.1;
                      - or, if something in front of the gateway authenticates callers, pass --allow-unauthenticated.
                    """)
                throw ExitCode(1)
            }
            if mode == .off {
                logger.warning("listening beyond loopback without authentication (--allow-unauthenticated)", metadata: ["host": "\(host)"])
            }
        }

        let environment = ProcessEnvironment.current
        for name in allowedHost {
            if let problem = BrowserAccess.hostProblem(name) { throw ValidationError("--allowed-host \(name): \(problem)") }
        }
        // Set by the Helm chart to the replica count: each replica enforces its share of a key's limits.
        var divisor = 1
        if let text = environment["SWITCHYARD_RATE_LIMIT_DIVISOR"] {
            guard let n = Int(text), (1...10_000).contains(n) else {
                throw ValidationError("SWITCHYARD_RATE_LIMIT_DIVISOR must be a whole number from 1 to 10000; got '\(text)'")
            }
            divisor = n
        }
        let stateDirectory = stateDir ?? EngineLocator(environment: environment).home + "/state"
        let options = GatewayOptions(host: host, port: port, policyPath: policy, stateDirectory: stateDirectory,
                                     environment: environment, watchPolicyFile: watchPolicy, allowedHosts: allowedHost,
                                     rateLimitDivisor: divisor)
        let gateway: Gateway
        do {
            gateway = try await Gateway(options: options, logger: logger, prometheus: registry)
        } catch let error as PolicyError {
            printError(error.description)
            throw ExitCode(1)
        } catch let error as EngineError {
            printError("switchyard: \(error)")
            throw ExitCode(1)
        } catch {
            printError("switchyard: cannot start: \(error)")
            throw ExitCode(1)
        }
        for warning in gateway.policy.warnings { logger.warning("policy warning", metadata: ["warning": "\(warning)"]) }
        try await gateway.run { port in
            logger.info("serving", metadata: ["address": "http://\(host):\(port)", "policy": "\(policy)"])
        }
    }
}

struct PolicyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy",
        abstract: "Work with policy files.",
        subcommands: [Check.self, Explain.self, Test.self]
    )

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate policy files; print every problem as FILE:LINE:COLUMN: message.",
            discussion: "Warnings (FILE:LINE:COLUMN: warning: message) are printed too but do not fail the check.")

        @Argument(help: "Policy files.")
        var files: [String]

        @Flag(name: .long, help: "Also list every signal the policy can read: name, type, range and what computing it costs.")
        var signals = false

        func run() async throws {
            var failed = false
            for file in files {
                do {
                    let policy = try PolicyLoader.load(path: file)
                    for warning in policy.warnings { printError(warning.description) }
                    print("\(file): ok (\(policy.models.count) models, \(policy.rules.count) rules)")
                    if signals { printSignals(policy.signals) }
                } catch {
                    failed = true
                    printError(error.description)
                }
            }
            if failed { throw ExitCode(1) }
        }

        /// One line per signal, from the registry: what `when:` conditions and test stubs may name.
        func printSignals(_ table: SignalTable) {
            for (slot, entry) in table.entries.enumerated() {
                let definition = table.definition(at: slot)
                let range = definition.range.map { $0.upperBound == .greatestFiniteMagnitude ? " ≥ \($0.lowerBound.clean)" : " \($0.lowerBound.clean)…\($0.upperBound.clean)" } ?? ""
                print("  \(entry.name)  \(definition.kind)\(range)  [\(definition.cost.rawValue)]  \(definition.summary)")
            }
            print("  header.NAME  string  [free]  any x-switchyard-NAME request header")
        }
    }

    struct Explain: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show how a policy decides a request, without calling any model.",
            discussion: "Prompt tokens are estimated (4 characters a token) unless given with --signal prompt_tokens=N.")

        @Argument(help: "The policy file.")
        var file: String

        @Option(name: .long, help: "A request body (JSON file; - for standard input), in --format.")
        var request: String

        @Option(name: .long, help: "The request's format: openai (chat completions, the default), anthropic or responses.")
        var format: String = RequestFormat.openAI.rawValue

        @Option(name: .long, help: "A request header NAME=VALUE, e.g. x-switchyard-tenant=research (repeatable).")
        var header: [String] = []

        @Option(name: .long, help: "A signal value to use instead of computing it, NAME=VALUE (repeatable).")
        var signal: [String] = []

        func run() async throws {
            var policy = try loadOrExit(file)
            guard let requestFormat = RequestFormat(rawValue: format) else {
                throw ValidationError("--format is one of \(RequestFormat.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            let text = request == "-" ? readStandardInput() : TextFile.read(request)
            guard let text else { throw ValidationError("cannot read \(request)") }
            let summary: RequestSummary
            do {
                summary = try requestFormat.summary(of: try JSONObject.requestBody(Array(text.utf8)))
            } catch {
                printError("\(request): \(error.message)")
                throw ExitCode(1)
            }
            var stubs: [(slot: Int, value: ConditionValue)] = []
            for entry in signal {
                guard let (name, value) = split(entry), let slot = policy.signals.resolve(name) else {
                    throw ValidationError("--signal \(entry): expected NAME=VALUE with a known signal")
                }
                let definition = policy.signals.definition(at: slot)
                guard let parsed = parseSignal(definition.kind, value) else { throw ValidationError("--signal \(entry): not a \(definition.kind)") }
                if let problem = definition.problem(with: parsed, name: name) { throw ValidationError("--signal \(entry): \(problem)") }
                stubs.append((slot, parsed))
            }
            var headers: [String: String] = [:]
            for entry in header {
                guard let (name, value) = split(entry) else { throw ValidationError("--header \(entry): expected NAME=VALUE") }
                headers[SwitchyardHeaders.signalName(ofTestHeader: name)] = value
            }
            let decider = Decider(policy: policy)
            do {
                let decision = try await decider.decide(summary, Decider.Inputs(headers: headers, stubs: stubs, explain: true))
                print(decision.json(signals: policy.signals).prettyText())
            } catch {
                print(error.openAIBody.prettyText())
                throw ExitCode(1)
            }
        }
    }

    struct Test: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Run the test cases written in a policy's `tests:` section.")

        @Argument(help: "Policy files.")
        var files: [String]

        func run() async throws {
            var failed = 0
            var total = 0
            for file in files {
                let policy = try loadOrExit(file)
                if policy.tests.isEmpty { print("\(file): no tests") }
                for outcome in await PolicyTestRunner(policy: policy).run() {
                    total += 1
                    if outcome.passed {
                        print("PASS \(outcome.test.name)")
                    } else {
                        failed += 1
                        print("FAIL \(outcome.test.name) (\(file):\(outcome.test.line))")
                        for failure in outcome.failures { print("  \(failure)") }
                        if let decision = outcome.decision { print("  decided by rule '\(decision.rule)': \(decision.reason)") }
                    }
                }
            }
            print("\(total - failed) passed, \(failed) failed")
            if failed > 0 { throw ExitCode(1) }
        }
    }
}

func loadOrExit(_ file: String) throws -> Policy {
    do {
        return try PolicyLoader.load(path: file)
    } catch {
        printError(error.description)
        throw ExitCode(1)
    }
}

func split(_ entry: String) -> (String, String)? {
    guard let eq = entry.firstIndex(of: "=") else { return nil }
    return (String(entry[..<eq]), String(entry[entry.index(after: eq)...]))
}

/// A stub's value by its signal's type: `7000`, `email,phone`, `true`, `research`.
func parseSignal(_ kind: SignalDefinition.Kind, _ value: String) -> ConditionValue? {
    switch kind {
    case .number: Double(value).map(ConditionValue.number)
    case .string: .string(value)
    case .bool: Bool(value).map(ConditionValue.bool)
    case .set: .set(Set(value.split(separator: ",").map(String.init)))
    }
}

func readStandardInput() -> String? { TextFile.read("/dev/stdin") }

#if canImport(Glibc)
import Glibc
#endif
