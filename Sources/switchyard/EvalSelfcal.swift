import ArgumentParser
import Logging
import SwitchyardEngine
import SwitchyardEval
import SwitchyardHTTP
import SwitchyardLedger
import SwitchyardPolicy
import SwitchyardServer
import SwitchyardSignals
import SwitchyardWire

#if canImport(Glibc)
import Glibc
#endif

extension EvalCommand {
    /// `switchyard eval selfcal`: how well the gateway calibrates itself from its own traffic.
    /// Replays part of the items through a real gateway (real local model, fresh ledger, a
    /// `confidence < auto` cascade and a `learning:` block) whose cloud is an in-process oracle,
    /// and measures the live calibration and threshold on the items it never saw.
    struct Selfcal: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "selfcal",
            abstract: "Replay items through a live gateway that learns its cascade threshold (cloud: an oracle), and measure its self-calibration on unseen items.")

        @Option(name: .long, help: "Evaluation data, JSONL (repeatable).")
        var data: [String]

        @Option(name: .long, help: "Number of seeds (each shuffles and splits the items anew).")
        var seeds: Int = 3

        @Option(name: .long, help: "The first seed; the others follow it.")
        var seed: UInt64 = 7

        @Option(name: .long, help: "The cascade's `risk` values to run, comma-separated.")
        var risks: String = "0.1,0.2,0.3"

        @Option(name: .long, help: "`learning.shadow_rate` of the replayed gateway.")
        var shadowRate: Double = 1.0

        @Option(name: .long, help: "Tokens the local model may generate per item.")
        var maxTokens: Int = 48

        @Option(name: .long, help: "Local answers, shared with `eval run` (resume).")
        var cache: String = "eval-cache.jsonl"

        @Option(name: .long, help: "Label counts at which the calibration is measured, comma-separated (and at the end).")
        var checkpoints: String = "25,50,100"

        @Option(name: .long, help: "Share of the items replayed; the rest are the unseen ones.")
        var replayShare: Double = 0.6

        @Option(name: .long, help: "Replay at most this many items per run (a quick look).")
        var limit: Int?

        @Option(name: .long, help: "Longest wait for a request's label, in milliseconds.")
        var labelWait: Int = 2000

        @Option(name: .long, help: "Threads of the local engine.")
        var threads: Int = 2

        @Option(name: .long, help: "The whole report as JSON.")
        var out: String?

        static let rule = "default"
        static let adminKey = "sy-selfcal-admin"
        static let keyVariable = "SELFCAL_ORACLE_API_KEY"
        static let price = (input: 0.15, output: 0.60)

        func policy(oracle: String, risk: Double) -> String {
            """
            # Written by `switchyard eval selfcal`: the cloud is an oracle (the gold answers), not a model.
            version: 1
            models:
              local:
                kind: local
                context: 2048
                slots: 2
                threads: \(threads)
              cloud:
                kind: openai
                base_url: "\(oracle)"
                model: oracle
                api_key_env: \(Self.keyVariable)
                price: {input: \(Self.price.input), output: \(Self.price.output)}
            rules:
              - name: \(Self.rule)
                cascade: {first: local, escalate_to: cloud, when: "confidence < auto", risk: \(risk)}
            learning:
              judge: cloud
              shadow_rate: \(shadowRate)
              refit_every_labels: 10
              min_labels: 20
              shadow_budget: {usd: 100, period: total}
            """
        }

        func run() async throws {
            try await stoppingOnSignals { try await replayAll() }
        }

        /// Every seed and risk, replayed and measured.
        func replayAll() async throws {
            let riskList = risks.split(separator: ",").compactMap { Double($0.trimmingCharacters(in: " ")) }
            let checkpointList = checkpoints.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: " ")) }.sorted()
            guard !riskList.isEmpty, riskList.allSatisfy({ $0 > 0 && $0 < 1 }) else { throw ValidationError("--risks: numbers between 0 and 1") }
            guard seeds >= 1 else { throw ValidationError("--seeds: at least 1") }
            guard (0...1).contains(shadowRate) else { throw ValidationError("--shadow-rate: between 0 and 1") }
            guard replayShare > 0, replayShare < 1 else { throw ValidationError("--replay-share: between 0 and 1") }
            var items: [EvalItem] = []
            for file in data { items += try EvalItem.load(file) }
            guard items.count >= 10 else { throw ValidationError("too few items (\(items.count))") }

            let oracle = OracleServer(items: items)
            try await oracle.start()
            do {
                try await measure(items, oracle: oracle, risks: riskList, checkpoints: checkpointList)
                await oracle.stop()
            } catch {
                await oracle.stop()
                throw error
            }
        }

        func measure(_ items: [EvalItem], oracle: OracleServer, risks riskList: [Double], checkpoints checkpointList: [Int]) async throws {
            say("selfcal: \(items.count) items of \(data.joined(separator: ", ")); the cloud is an ORACLE (it answers the gold answer and judges by the item's match rule), not a model")

            // The policy, checked; the local answers (cached) give the unseen items' features.
            let work = try temporaryDirectory()
            let policyPath = work + "/policy.yaml"
            try write(policyPath, policy(oracle: oracle.baseURL, risk: riskList[0]))
            let loaded = try loadOrExit(policyPath)
            var logger = Logger(label: "switchyard-selfcal")
            logger.logLevel = .warning
            let answerer = LocalAnswerer(policy: loaded, cachePath: cache, maxTokens: maxTokens, stateDirectory: EngineLocator().home + "/eval-state",
                                         logger: logger)
            let answers = try await answerer.answers(items) { done, total, _ in
                if done == total || done % max(1, total / 10) == 0 { printError("local answers: \(done)/\(total)") }
            }

            var seedReports: [JSON] = []
            var finals: [Double: [(cv: Double?, checkpoint: SelfCalibrationCheckpoint)]] = [:]
            /// The report so far, written after every run so an interrupted replay leaves its figures.
            func report(complete: Bool) -> JSON {
                JSON.object([
                    "complete": .bool(complete),
                    "data": .array(data.map(JSON.string)),
                    "cloud": .string("oracle: answers the item's gold answer; judges by the item's own match rule (an upper bound, not a model)"),
                    "settings": .object([
                        "seeds": .int(seeds), "first_seed": .int(Int(seed)), "risks": .array(riskList.map(JSON.double)), "shadow_rate": .double(shadowRate),
                        "max_tokens": .int(maxTokens), "replay_share": .double(replayShare), "checkpoints": .array(checkpointList.map(JSON.int)),
                        "refit_every_labels": .int(10), "min_labels": .int(20), "confidence_level": .double(0.95),
                        "price_usd_per_million": .object(["input": .double(Self.price.input), "output": .double(Self.price.output)]),
                        "spend_source": .string("the ledger's learning budget (shadow requests and judge calls), read beside the gateway"),
                    ]),
                    "goal": .string("AUROC on unseen items within 0.03 of the 5-fold CV AUROC of eval fit; realised risk on unseen items ≤ risk"),
                    "seeds": .array(seedReports),
                    "summary": summarise(finals, risks: riskList, print: complete),
                ])
            }
            for s in 0..<seeds {
                let seed = self.seed + UInt64(s)
                var (replay, unseenItems) = SelfCalibration.split(items, seed: seed, replayShare: replayShare)
                if let limit { replay = Array(replay.prefix(limit)) }
                let unseen = try SelfCalibration.unseen(unseenItems, answers: answers, maxTokens: maxTokens)
                let evaluation = try await Evaluation.run(items: items, answers: answers, policy: loaded, maxTokens: maxTokens, folds: 5, seed: seed)
                let cv = evaluation.report["baselines"]?["calibrated-confidence"]?["auroc"]?.doubleValue
                let accuracy = Double(unseen.filter(\.correct).count) / Double(max(1, unseen.count))
                say("\nseed \(seed): \(replay.count) replayed, \(unseen.count) unseen (local accuracy \(format(accuracy))); 5-fold CV AUROC of eval fit on all \(items.count) items: \(cv.map(format) ?? "-")")
                var runs: [JSON] = []
                seedReports.append(.null)
                for risk in riskList {
                    let run = try await replayRun(seed: seed, risk: risk, replay: replay, unseen: unseen, answers: answers, oracle: oracle,
                                                  checkpoints: checkpointList, logger: logger)
                    printTable(risk: risk, run: run, cv: cv)
                    runs.append(run.json)
                    if let last = run.checkpoints.last { finals[risk, default: []].append((cv, last)) }
                    seedReports[seedReports.count - 1] = .object([
                        "seed": .int(Int(seed)), "replayed": .int(replay.count), "unseen": .int(unseen.count),
                        "unseen_local_accuracy": .double(accuracy), "cv_auroc_eval_fit": cv.map(JSON.double) ?? .null, "runs": .array(runs),
                    ])
                    if let out { try write(out, report(complete: false).prettyText() + "\n") }
                }
            }
            let final = report(complete: true)
            if let out {
                try write(out, final.prettyText() + "\n")
                say("report: \(out)")
            }
        }

        // MARK: - One replay

        struct RunResult {
            var seed: UInt64
            var risk: Double
            var checkpoints: [SelfCalibrationCheckpoint]
            var requests: Int
            var escalated: Int
            var failures: [String]
            var oracle: OracleServer.Counts
            var usage: JSON
            var diagnostics: JSON
            var seconds: Double
            var stateDirectory: String

            var json: JSON {
                .object([
                    "risk": .double(risk), "requests": .int(requests), "escalated": .int(escalated),
                    "failures": .array(failures.map(JSON.string)), "oracle": oracle.json,
                    "oracle_priced_usd": .object([
                        "escalations": .double(oracle.escalations.usd(input: Selfcal.price.input, output: Selfcal.price.output)),
                        "shadows": .double(oracle.shadows.usd(input: Selfcal.price.input, output: Selfcal.price.output)),
                        "judges": .double(oracle.judges.usd(input: Selfcal.price.input, output: Selfcal.price.output)),
                    ]),
                    "usage_by_route": usage, "label_diagnostics": diagnostics, "seconds": .double(seconds),
                    "state_directory": .string(stateDirectory),
                    "checkpoints": .array(checkpoints.map(\.json)),
                ])
            }
        }

        func replayRun(seed: UInt64, risk: Double, replay: [EvalItem], unseen: [UnseenItem], answers: [String: LocalAnswer],
                       oracle: OracleServer, checkpoints: [Int], logger: Logger) async throws -> RunResult {
            try Task.checkCancellation()
            let started = ContinuousClock.now
            let directory = try temporaryDirectory()
            let policyPath = directory + "/policy.yaml"
            try write(policyPath, policy(oracle: oracle.baseURL, risk: risk))
            _ = try loadOrExit(policyPath)
            var environment = ProcessEnvironment.current
            for key in environment.keys where key.hasSuffix("_API_KEY") { environment[key] = nil }
            environment[Self.keyVariable] = "oracle"
            environment["SWITCHYARD_ADMIN_KEY"] = Self.adminKey
            var gatewayLogger = Logger(label: "selfcal-gateway")
            gatewayLogger.logLevel = .error
            let gateway = try await Gateway(options: GatewayOptions(port: 0, policyPath: policyPath, stateDirectory: directory, environment: environment,
                                                                    shutdownSignals: [], watchPolicyFile: false, calibrationPoll: .milliseconds(200)),
                                            logger: gatewayLogger)
            let (ports, portContinuation) = AsyncStream<Int>.makeStream()
            let task = Task {
                defer { portContinuation.finish() }
                try await gateway.run { port in portContinuation.yield(port) }
            }
            var port = 0
            for await p in ports {
                port = p
                break
            }
            guard port > 0 else {
                // Stopped before listening, or this task was cancelled (a signal): then stop it here.
                task.cancel()
                try await task.value
                try Task.checkCancellation()
                throw ValidationError("the gateway stopped before listening")
            }
            let client = HTTPClient()
            let base = "http://127.0.0.1:\(port)"
            var ledger: (any LedgerStore)?
            var stopped: Result<Void, any Error>?
            // Everything started here is stopped however the replay ends: an error, or a
            // cancellation (a signal) that would otherwise leave the gateway's engine running.
            var result = try await finally({
                if let engine = gateway.engine {
                    let deadline = ContinuousClock.now + .seconds(180)
                    while engine.readyEndpoint == nil {
                        guard ContinuousClock.now < deadline else { throw ValidationError("the local engine did not start: \(engine.status)") }
                        try await Task.sleep(for: .milliseconds(50))
                    }
                }
                let store = try await Ledger.sqlite(path: directory + "/ledger.sqlite", logger: logger)
                ledger = store
                return try await replayRequests(replay, base: base, client: client, oracle: oracle, ledger: store, risk: risk, unseen: unseen,
                                                answers: answers, checkpoints: checkpoints)
            }, then: {
                try? await ledger?.close()
                await gateway.shutdown()
                stopped = await task.result
                await client.shutdown()
            })
            // A replay that finished still fails if its gateway did.
            try stopped?.get()
            result.seed = seed
            result.stateDirectory = directory
            result.seconds = seconds(since: started)
            return result
        }

        func replayRequests(_ replay: [EvalItem], base: String, client: HTTPClient, oracle: OracleServer, ledger: any LedgerStore, risk: Double,
                            unseen: [UnseenItem], answers: [String: LocalAnswer], checkpoints: [Int]) async throws -> RunResult {
            let oracleAtStart = oracle.snapshot
            let admin = [("Authorization", "Bearer \(Self.adminKey)")]
            func status() async throws -> JSON? {
                let response = try await client.send(HTTPRequest(url: base + "/v1/switchyard/calibration", headers: admin))
                guard response.status == 200 else { return nil }
                return try JSON.parse(response.body)
            }
            func total(_ status: JSON?) -> Int {
                status?["labels"]?.objectValue?.fields.reduce(0) { $0 + ($1.value.intValue ?? 0) } ?? 0
            }
            func spend() async -> Double? {
                let scope = BudgetScope(kind: .learning, id: "shadow", limit: .usd(100), period: .total)
                return try? await ledger.budgetState(scope, now: .now).spent.usd
            }
            // The calibration service reads the ledger once at start: the endpoint answers 503 until then.
            var current: JSON?
            let ready = ContinuousClock.now + .seconds(30)
            while current == nil, ContinuousClock.now < ready {
                current = try await status()
                if current == nil { try await Task.sleep(for: .milliseconds(100)) }
            }
            guard var last = current else { throw ValidationError("GET /v1/switchyard/calibration never answered") }

            var measured: [SelfCalibrationCheckpoint] = []
            var next = 0
            var escalated = 0
            var failures: [String] = []
            var requestItems: [String: String] = [:]
            var labelLatencies: [Double] = []
            let terminal = isatty(2) != 0
            for (index, item) in replay.enumerated() {
                let before = total(last)
                let shadowsBefore = oracle.snapshot.shadows.requests
                let body = JSON.object([
                    "model": .string("auto"), "max_tokens": .int(maxTokens), "temperature": .int(0), "stream": .bool(false),
                    "messages": .array([.object(["role": .string("user"), "content": .string(item.prompt)])]),
                ])
                oracle.clientStarted()
                let response: HTTPResponse
                do {
                    response = try await client.send(HTTPRequest(method: .post, url: base + "/v1/chat/completions",
                                                                 headers: [("Content-Type", "application/json")], body: body.serialized(),
                                                                 timeouts: HTTPTimeouts(connect: .seconds(2), firstByte: .seconds(120), stall: .seconds(120), total: .seconds(180))))
                } catch {
                    oracle.clientFinished()
                    failures.append("\(item.id): \(error)")
                    continue
                }
                oracle.clientFinished()
                let sent = ContinuousClock.now
                guard response.status == 200 else {
                    failures.append("\(item.id): HTTP \(response.status) \(response.bodyText.prefix(200))")
                    continue
                }
                let wentToCloud = response.head.header("x-switchyard-route") == "cloud"
                if wentToCloud { escalated += 1 }
                if let id = response.head.header("x-switchyard-request-id") { requestItems[id] = item.id }
                // Its label: an escalation always brings one; a kept answer only if it was shadowed.
                let deadline = sent + .milliseconds(labelWait)
                while ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(50))
                    if let now = try await status() { last = now }
                    if total(last) > before { break }
                    // At a shadow rate below 1 a kept answer may bring none: given up on when no shadow reached the oracle within a second.
                    if !wentToCloud, shadowRate < 1, oracle.snapshot.shadows.requests == shadowsBefore, ContinuousClock.now - sent > .seconds(1) { break }
                }
                if total(last) > before { labelLatencies.append(seconds(since: sent)) }
                while next < checkpoints.count, total(last) >= checkpoints[next] {
                    measured.append(.measure(name: "\(checkpoints[next])", requests: index + 1, escalated: escalated, status: last, rule: Self.rule,
                                             risk: risk, unseen: unseen, learningSpendUSD: await spend()))
                    next += 1
                }
                if terminal {
                    printError("\u{1B}[2K\rrisk \(risk): \(index + 1)/\(replay.count) requests, \(total(last)) labels, v\(last["version"]?.intValue ?? 0)", newline: false)
                }
            }
            if terminal { printError("\u{1B}[2K\r", newline: false) }
            // The last labels: wait until the count stops changing (at most `labelWait`).
            let settle = ContinuousClock.now + .milliseconds(labelWait)
            var stable = total(last)
            while ContinuousClock.now < settle {
                try await Task.sleep(for: .milliseconds(300))
                if let now = try await status() { last = now }
                if total(last) == stable { break }
                stable = total(last)
            }
            measured.append(.measure(name: "end", requests: replay.count, escalated: escalated, status: last, rule: Self.rule, risk: risk,
                                     unseen: unseen, learningSpendUSD: await spend()))

            let usage = try? await client.send(HTTPRequest(url: base + "/v1/switchyard/usage?group_by=route", headers: admin))
            let diagnostics = await labelDiagnostics(ledger: ledger, requestItems: requestItems, replay: replay, answers: answers)
            var counts = oracle.snapshot
            counts.escalations = counts.escalations.minus(oracleAtStart.escalations)
            counts.shadows = counts.shadows.minus(oracleAtStart.shadows)
            counts.judges = counts.judges.minus(oracleAtStart.judges)
            counts.verdictsCorrect -= oracleAtStart.verdictsCorrect
            counts.verdictsIncorrect -= oracleAtStart.verdictsIncorrect
            counts.refused -= oracleAtStart.refused
            var diagnosticsObject = diagnostics.objectValue ?? [:]
            let sortedLatencies = labelLatencies.sorted()
            diagnosticsObject["label_latency_seconds"] = sortedLatencies.isEmpty ? .null : .object([
                "labelled_requests": .int(sortedLatencies.count), "median": .double(sortedLatencies[sortedLatencies.count / 2]),
                "max": .double(sortedLatencies.last!),
            ])
            return RunResult(seed: 0, risk: risk, checkpoints: measured, requests: replay.count, escalated: escalated, failures: failures,
                             oracle: counts, usage: usage.flatMap { try? JSON.parse($0.body) } ?? .null, diagnostics: .object(diagnosticsObject),
                             seconds: 0, stateDirectory: "")
        }

        /// The gateway's labels against what the harness computes for the same items: whether
        /// their features agree with the cached local answers' (top-5 included), and their verdicts.
        func labelDiagnostics(ledger: any LedgerStore, requestItems: [String: String], replay: [EvalItem],
                              answers: [String: LocalAnswer]) async -> JSON {
            guard let labels = try? await ledger.labels(target: "local", after: 0, newest: 1_000_000) else { return .null }
            let byID = Dictionary(replay.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
            var noTopK = 0, matched = 0, verdictAgrees = 0
            // Labels taken while no fitted model was in force (version 0) apart from the others:
            // the gateway asks the engine for the top-5 alternatives only when a fitted model reads them.
            var maxDifference = [[Double]](repeating: [Double](repeating: 0, count: ConfidenceModelFeatures.names.count), count: 2)
            var byVersion: [Int: Int] = [:]
            for (_, label) in labels {
                byVersion[label.calibrationVersion, default: 0] += 1
                if label.features.count > 4, label.features[3] == 0, label.features[4] == 0 { noTopK += 1 }
                guard let itemID = requestItems[label.requestID], let item = byID[itemID], let answer = answers[item.id],
                      let mine = try? SelfCalibration.features(item, answer, maxTokens: maxTokens), mine.count == label.features.count else { continue }
                matched += 1
                let group = label.calibrationVersion == 0 ? 0 : 1
                for j in mine.indices where j < maxDifference[group].count {
                    maxDifference[group][j] = max(maxDifference[group][j], abs(mine[j] - label.features[j]))
                }
                if (label.score >= 0.5) == SelfCalibration.isCorrect(item, answer) { verdictAgrees += 1 }
            }
            return .object([
                "labels": .int(labels.count),
                "labels_without_top_k": .int(noTopK),
                "labels_by_calibration_version": .object(JSONObject(byVersion.sorted { $0.key < $1.key }.map { ("\($0.key)", JSON.int($0.value)) })),
                "matched_to_items": .int(matched),
                "verdict_agrees_with_cached_answer": .int(verdictAgrees),
                "max_feature_difference_vs_harness": .object([
                    "labels_of_version_0": .object(JSONObject(zip(ConfidenceModelFeatures.names, maxDifference[0]).map { ($0.0, JSON.double($0.1)) })),
                    "labels_of_later_versions": .object(JSONObject(zip(ConfidenceModelFeatures.names, maxDifference[1]).map { ($0.0, JSON.double($0.1)) })),
                ]),
            ])
        }

        // MARK: - Output

        func printTable(risk: Double, run: RunResult, cv: Double?) {
            say("\nseed \(run.seed), risk \(risk): \(run.requests) requests replayed in \(Int(run.seconds)) s, \(run.escalated) escalated"
                  + (run.failures.isEmpty ? "" : ", \(run.failures.count) FAILED (first: \(run.failures[0]))")
                  + "; oracle: \(run.oracle.escalations.requests) escalations, \(run.oracle.shadows.requests) shadows, \(run.oracle.judges.requests) judge calls")
            var table = TextTable(["checkpoint", "labels", "esc/shadow", "ver", "AUROC unseen", "vs CV", "threshold (source)", "risk real/target",
                                   "cloud", "hindsight", "gap", "gap same risk", "shadow spend"], numeric: [1, 3, 4, 5, 8, 9, 10, 11, 12])
            for c in run.checkpoints {
                let threshold = c.threshold.isFinite ? format(c.threshold) : (c.threshold.isNaN ? "?" : "all")
                table.add([
                    c.name, "\(c.labels)",
                    "\(c.labelsBySource["escalation"] ?? 0)/\(c.labelsBySource["shadow"] ?? 0)",
                    "v\(c.version)", c.auroc.map(format) ?? "-",
                    zip2(c.auroc, cv).map { signed($0 - $1) } ?? "-",
                    "\(threshold) (\(c.thresholdSource)\(c.drift ? ", drift" : ""))",
                    "\(format(c.realisedRisk))/\(format(c.risk))" + (c.realisedRisk > c.risk ? " !" : ""),
                    format(c.cloudShare), format(c.hindsightCloudShare), signed(c.gap), signed(c.sameRiskGap),
                    c.learningSpendUSD.map { "$" + money($0) } ?? "-",
                ])
            }
            say(table.render())
        }

        func summarise(_ finals: [Double: [(cv: Double?, checkpoint: SelfCalibrationCheckpoint)]], risks: [Double], print printing: Bool) -> JSON {
            if printing { say("\nsummary at the end of each replay, across \(seeds) seed(s): mean [min – max]") }
            var table = TextTable(["risk", "labels", "ver", "AUROC unseen", "CV AUROC", "AUROC − CV", "realised risk", "cloud", "hindsight", "gap",
                                   "gap same risk", "shadow spend", "goals met"], numeric: [1, 2])
            var json: [(String, JSON)] = []
            for risk in risks {
                let rows = finals[risk] ?? []
                func stats(_ values: [Double]) -> (text: String, json: JSON) {
                    guard !values.isEmpty else { return ("-", .null) }
                    let mean = values.reduce(0, +) / Double(values.count)
                    let lo = values.min()!, hi = values.max()!
                    return ("\(format(mean)) [\(format(lo)) – \(format(hi))]",
                            .object(["mean": .double(mean), "min": .double(lo), "max": .double(hi), "values": .array(values.map(JSON.double))]))
                }
                let auroc = rows.compactMap(\.checkpoint.auroc)
                let cvs = rows.compactMap(\.cv)
                let differences = rows.compactMap { row in zip2(row.checkpoint.auroc, row.cv).map { $0 - $1 } }
                let aurocGoal = differences.filter { abs($0) <= 0.03 }.count
                let riskGoal = rows.filter { $0.checkpoint.realisedRisk <= risk }.count
                let gapGoal = rows.filter { $0.checkpoint.sameRiskGap <= 0.05 }.count
                let columns: [(String, [Double])] = [
                    ("labels", rows.map { Double($0.checkpoint.labels) }), ("version", rows.map { Double($0.checkpoint.version) }),
                    ("auroc_unseen", auroc), ("cv_auroc", cvs), ("auroc_minus_cv", differences),
                    ("realised_risk", rows.map(\.checkpoint.realisedRisk)), ("cloud_share", rows.map(\.checkpoint.cloudShare)),
                    ("hindsight_cloud_share", rows.map(\.checkpoint.hindsightCloudShare)), ("gap", rows.map(\.checkpoint.gap)),
                    ("gap_same_realised_risk", rows.map(\.checkpoint.sameRiskGap)),
                    ("learning_spend_usd", rows.compactMap(\.checkpoint.learningSpendUSD)),
                ]
                let s = columns.map { stats($0.1) }
                table.add([format(risk), meanText(columns[0].1), meanText(columns[1].1), s[2].text, s[3].text, s[4].text, s[5].text, s[6].text,
                           s[7].text, s[8].text, s[9].text, columns[10].1.isEmpty ? "-" : "$" + money(columns[10].1.reduce(0, +) / Double(columns[10].1.count)),
                           "AUROC \(aurocGoal)/\(rows.count), risk \(riskGoal)/\(rows.count), gap \(gapGoal)/\(rows.count)"])
                var object = JSONObject(zip(columns, s).map { ($0.0.0, $0.1.json) })
                object["seeds_auroc_within_0.03"] = .int(aurocGoal)
                object["seeds_realised_risk_within_risk"] = .int(riskGoal)
                object["seeds_cloud_share_within_0.05_at_same_realised_risk"] = .int(gapGoal)
                object["seeds"] = .int(rows.count)
                json.append((String(risk), .object(object)))
            }
            if printing {
                say(table.render())
                say("goals: AUROC on unseen within 0.03 of the 5-fold CV AUROC of eval fit; realised risk ≤ risk; cloud share within 0.05 of the best "
                    + "static threshold in hindsight at the same realised risk ('gap same risk'; 'gap' compares at max(realised risk, risk)). The cloud is an oracle.")
            }
            return .object(JSONObject(json))
        }
    }
}

/// To standard output, unbuffered: each table as soon as it is measured, also into a file or a pipe.
private func say(_ message: String) {
    var bytes = Array((message + "\n").utf8)
    _ = bytes.withUnsafeMutableBytes { Glibc.write(1, $0.baseAddress, $0.count) }
}

private func zip2(_ a: Double?, _ b: Double?) -> (Double, Double)? {
    guard let a, let b else { return nil }
    return (a, b)
}

private func signed(_ value: Double) -> String { (value >= 0 ? "+" : "") + format(value) }

private func meanText(_ values: [Double]) -> String {
    guard !values.isEmpty else { return "-" }
    return String(Int((values.reduce(0, +) / Double(values.count)).rounded()))
}

private func money(_ usd: Double) -> String {
    let cents = Int((usd * 10_000).rounded())
    let fraction = String(cents % 10_000)
    return "\(cents / 10_000).\(String(repeating: "0", count: 4 - fraction.count))\(fraction)"
}

private func seconds(since start: ContinuousClock.Instant) -> Double {
    let (s, attoseconds) = (ContinuousClock.now - start).components
    return Double(s) + Double(attoseconds) / 1e18
}

private func temporaryDirectory() throws -> String {
    var template = Array("/tmp/switchyard-selfcal-XXXXXX".utf8CString)
    guard let path = mkdtemp(&template) else { throw ValidationError("mkdtemp failed") }
    return String(cString: path)
}

private extension OracleServer.Tally {
    func minus(_ other: OracleServer.Tally) -> OracleServer.Tally {
        var tally = self
        tally.requests -= other.requests
        tally.promptTokens -= other.promptTokens
        tally.completionTokens -= other.completionTokens
        return tally
    }
}

private extension Substring {
    func trimmingCharacters(in set: String) -> String {
        String(drop { set.contains($0) }.reversed().drop { set.contains($0) }.reversed())
    }
}
