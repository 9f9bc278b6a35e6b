import ArgumentParser
import Logging
import SwitchyardEngine
import SwitchyardEval
import SwitchyardLearning
import SwitchyardPolicy
import SwitchyardWire

#if canImport(Glibc)
import Glibc
#endif

/// `switchyard eval`: how well a policy routes, measured on data with gold answers.
struct EvalCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Measure a policy's routing on evaluation data (JSONL with gold answers) with the real local model.",
        subcommands: [Run.self, Fit.self, Selfcal.self],
        defaultSubcommand: Run.self
    )

    struct Options: ParsableArguments {
        @Option(name: .long, help: "Evaluation data, JSONL (repeatable).")
        var data: [String]

        @Option(name: .long, help: "The policy whose decisions are measured.")
        var policy: String = "policies/default.yaml"

        @Option(name: .long, help: "Local answers, reused by later runs (resume).")
        var cache: String = "eval-cache.jsonl"

        @Option(name: .long, help: "Tokens the local model may generate per item.")
        var maxTokens: Int = 48

        @Option(name: .long, help: "Use a random subset of this many items (seeded).")
        var limit: Int?

        @Option(name: .long, help: "Seed for the subset, the folds and the random baseline.")
        var seed: UInt64 = 7

        @Option(name: .long, help: "Folds of the cross-validation.")
        var folds: Int = 5

        func evaluate() async throws -> (Evaluation, [EvalItem]) {
            let loaded = try loadOrExit(policy)
            var items: [EvalItem] = []
            for file in data { items += try EvalItem.load(file) }
            var subsetNote: String?
            if let limit, limit < items.count {
                var generator = SplitMix64(seed: seed)
                let total = items.count
                items = Array(items.shuffled(using: &generator).prefix(limit))
                subsetNote = "\(limit) of \(total) items, random subset with seed \(seed)"
            }
            var logger = Logger(label: "switchyard-eval")
            logger.logLevel = .warning
            let home = EngineLocator().home
            let answerer = LocalAnswerer(policy: loaded, cachePath: cache, maxTokens: maxTokens, stateDirectory: home + "/eval-state", logger: logger)
            let terminal = isatty(2) != 0
            let answers = try await answerer.answers(items) { done, total, rate in
                // On a terminal, one line updated in place; in a log, a line every 10%.
                guard terminal || done == total || done % max(1, total / 10) == 0 else { return }
                let left = Double(total - done) / max(rate, 1e-6)
                let line = "\(done)/\(total) items, \(String(Int(rate * 10)).withDecimal)/s, \(Int(left)) s left"
                printError(terminal ? "\u{1B}[2K\r" + line : line, newline: !terminal || done == total)
            }
            var evaluation = try await Evaluation.run(items: items, answers: answers, policy: loaded, maxTokens: maxTokens, folds: folds, seed: seed)
            if let subsetNote, case .object(var report) = evaluation.report {
                report["subset"] = .string(subsetNote)
                evaluation.report = .object(report)
            }
            return (evaluation, items)
        }
    }

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "run",
            abstract: "Run the items, score the local answers, and report the policy against the baselines.")

        @OptionGroup var options: Options

        @Option(name: .long, help: "The JSON report.")
        var out: String = "eval-report.json"

        @Option(name: .long, help: "An SVG chart of quality against cloud share.")
        var plot: String?

        func run() async throws {
            let (evaluation, _) = try await stoppingOnSignals { try await options.evaluate() }
            try write(out, evaluation.report.prettyText() + "\n")
            if let plot { try write(plot, evaluation.svg()) }
            guard case .object(let report) = evaluation.report else { return }
            print("\(report["items"]?.intValue ?? 0) items; local accuracy \(report["local_accuracy"]?.doubleValue.map(format) ?? "-"); \(report["remote_note"]?.stringValue ?? "")")
            print("router                   accuracy  cloud    APGR   AUROC    ECE")
            let rows: [(String, JSON?)] = [("policy", report["policy"])] + (report["baselines"]?.objectValue?.fields.map { ($0.key, $0.value) } ?? [])
            for (name, m) in rows {
                func cell(_ key: String) -> String { m?[key]?.doubleValue.map(format) ?? "  -  " }
                print(name.padding(24) + " " + cell("accuracy") + "   " + cell("cloud_share") + "  " + cell("apgr") + "  " + cell("auroc") + "  " + cell("ece"))
            }
            print("report: \(out)" + (plot.map { ", plot: \($0)" } ?? ""))
        }
    }

    struct Fit: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Fit the confidence calibrator on all the items and write its weights.")

        @OptionGroup var options: Options

        @Option(name: .long, help: "The weights file.")
        var out: String = "weights.json"

        func run() async throws {
            let (evaluation, _) = try await stoppingOnSignals { try await options.evaluate() }
            let models = Evaluation.fit(evaluation.records, maxTokens: options.maxTokens)
            let fittedOn = JSON.string("\(evaluation.records.count) items of \(options.data.joined(separator: ", "))")
            var confidence = models.confidence.json()
            confidence["fitted_on"] = fittedOn
            confidence["cross_validated_auroc"] = evaluation.report["baselines"]?["calibrated-confidence"]?["auroc"] ?? .null
            var complexity = models.complexity.json(predicts: "probability that the local answer is wrong, from the prompt alone")
            complexity["fitted_on"] = fittedOn
            let json = JSON.object(["confidence": .object(confidence), "complexity": .object(complexity)])
            try write(out, json.prettyText() + "\n")
            print("weights: \(out) (fitted on \(evaluation.records.count) items; \(options.folds)-fold AUROC \(evaluation.report["baselines"]?["calibrated-confidence"]?["auroc"]?.doubleValue.map(format) ?? "-"))")
        }
    }
}

func format(_ value: Double) -> String {
    let scaled = Int((value * 1000).rounded())
    let fraction = String(abs(scaled) % 1000)
    return "\(scaled < 0 ? "-" : "")\(abs(scaled) / 1000).\(String(repeating: "0", count: 3 - fraction.count))\(fraction)"
}

func write(_ path: String, _ text: String) throws {
    guard TextFile.write(path, text) else { throw ValidationError("cannot write \(path)") }
}

/// To standard error, unbuffered: diagnostics and progress, never mixed into a report on standard output.
func printError(_ message: String, newline: Bool = true) {
    var bytes = Array((message + (newline ? "\n" : "")).utf8)
    _ = bytes.withUnsafeMutableBytes { Glibc.write(2, $0.baseAddress, $0.count) }
}

extension String {
    func padding(_ width: Int) -> String { count >= width ? self : self + String(repeating: " ", count: width - count) }
    /// "123" (tenths) → "12.3".
    var withDecimal: String { count > 1 ? String(dropLast()) + "." + String(last!) : "0." + self }
}

