import ArgumentParser
import Logging
import Metrics
import Prometheus
import SwitchyardEngine
import SwitchyardPolicy
import SwitchyardServer

@main
struct Switchyard: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "switchyard",
        abstract: "A hybrid SLM/LLM routing gateway: one OpenAI-compatible endpoint, served on the box or in the cloud by policy.",
        subcommands: [Serve.self, PolicyCommand.self],
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

    func run() async throws {
        guard let level = Logger.Level(rawValue: logLevel) else {
            throw ValidationError("unknown log level '\(logLevel)'")
        }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        let logger = Logger(label: "switchyard")

        let environment = ProcessEnvironment.current
        let stateDirectory = stateDir ?? EngineLocator(environment: environment).home + "/state"
        let options = GatewayOptions(host: host, port: port, policyPath: policy, stateDirectory: stateDirectory, environment: environment)
        let gateway: Gateway
        do {
            gateway = try Gateway(options: options, logger: logger, prometheus: registry)
        } catch let error as PolicyError {
            printError(error.description)
            throw ExitCode(1)
        } catch let error as EngineError {
            printError("switchyard: \(error)")
            throw ExitCode(1)
        }
        try await gateway.run { port in
            logger.info("serving", metadata: ["address": "http://\(host):\(port)", "policy": "\(policy)"])
        }
    }
}

struct PolicyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy",
        abstract: "Work with policy files.",
        subcommands: [Check.self]
    )

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Validate policy files; print every problem as FILE:LINE:COLUMN: message.")

        @Argument(help: "Policy files.")
        var files: [String]

        func run() async throws {
            var failed = false
            for file in files {
                do {
                    let policy = try PolicyLoader.load(path: file)
                    print("\(file): ok (\(policy.models.count) models, \(policy.rules.count) rules)")
                } catch {
                    failed = true
                    printError(error.description)
                }
            }
            if failed { throw ExitCode(1) }
        }
    }
}

func printError(_ message: String) {
    var stderr = StandardError()
    print(message, to: &stderr)
}

struct StandardError: TextOutputStream {
    mutating func write(_ string: String) {
        var bytes = Array(string.utf8)
        _ = bytes.withUnsafeMutableBytes { Glibc.write(2, $0.baseAddress, $0.count) }
    }
}

#if canImport(Glibc)
import Glibc
#endif
