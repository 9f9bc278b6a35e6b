import ArgumentParser
import SwitchyardDecision
import SwitchyardLedger
import SwitchyardServer
import SwitchyardWire

/// `switchyard calibration status|export`: the learning loop's calibration as the ledger holds
/// it (docs/routing.md, "Learning from live traffic"), read the same way every replica reads it.
struct CalibrationCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "calibration",
        abstract: "Show or export the confidence calibration the gateway learned from its traffic.",
        subcommands: [Status.self, Export.self],
        defaultSubcommand: Status.self
    )

    /// The policy's learning state from its ledger, or exit 1 saying why there is none.
    static func state(_ ledger: LedgerOptions) async throws -> CalibrationState {
        let policy = try loadOrExit(ledger.policy)
        return try await ledger.withLedger { store, _ in
            guard let state = try await CalibrationState.load(policy: policy, ledger: store) else {
                throw fail("the policy does not learn: it has no `learning:` section or no local model (docs/policy.md)")
            }
            return state
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The version in force, labels by source, held-out log-loss and AUROC, and each learned threshold with its risk.")

        @Flag(name: .long, help: "Print the status as JSON, as GET /v1/switchyard/calibration answers.")
        var json = false

        @OptionGroup var ledger: LedgerOptions

        func run() async throws {
            let state = try await CalibrationCommand.state(ledger)
            if json {
                print(state.json.prettyText())
                return
            }
            let calibration = state.trust.calibration
            let labels = ["escalation", "shadow", "feedback"].map { "\($0) \(state.labelCounts[$0] ?? 0)" }.joined(separator: ", ")
            print("target:       \(state.target)")
            print("version:      \(calibration.version) (\(calibration.model == nil ? "no fitted model: the geometric-mean token probability" : "fitted on \(calibration.labelsUsed) labels"))")
            print("labels:       \(labels)")
            if let quality = state.quality {
                let auroc = quality.auroc.map { "AUROC \(format($0)) ± \(format(quality.aurocMargin ?? 0))" } ?? "AUROC -"
                print("held out:     \(quality.labels) labels after the fit: log-loss \(format(quality.logLoss)) ± \((quality.logLossMargin.isFinite ? format(quality.logLossMargin) : "-")), \(auroc)")
            } else {
                print("held out:     no labels after the fit yet")
            }
            for (rule, threshold) in state.trust.thresholds.sorted(by: { $0.key < $1.key }) {
                var line = "rule \(rule): threshold \(threshold.summary)"
                if let risk = threshold.estimatedRisk, let bound = threshold.riskBound {
                    line += "; estimated risk \(format(risk)), bound \(format(bound)), escalation rate \(format(threshold.escalationRate ?? 0))"
                }
                print(line)
            }
        }
    }

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write the calibration in force as a file a policy can pin (`calibration: FILE`).")

        @Option(name: .long, help: "Where to write the weights.")
        var out: String

        @OptionGroup var ledger: LedgerOptions

        func run() async throws {
            let state = try await CalibrationCommand.state(ledger)
            guard let json = state.exportJSON else {
                throw fail("no fitted calibration yet (version \(state.trust.calibration.version)): nothing to export")
            }
            try write(out, json.prettyText() + "\n")
            print("calibration v\(state.trust.calibration.version) written to \(out)")
        }
    }
}
