import SwitchyardLearning
import SwitchyardPolicy
import SwitchyardProviders
import SwitchyardDecision
import SwitchyardExecution
import SwitchyardSignals
import SwitchyardWire

#if canImport(Glibc)
import Glibc
#endif

/// What `switchyard eval` computes from items and their local answers: per-item records, the
/// policy's operating point and curve, baselines, and calibrated confidence from out-of-fold
/// predictions only (k-fold cross-validation; nothing is scored by a model fitted on it).
public struct Evaluation: Sendable {
    public struct Record: Sendable {
        public var item: EvalItem
        public var answer: LocalAnswer
        public var localCorrect: Bool
        public var decision: String
        public var escalated: Bool
        public var confidence: Double
        public var calibrated: Double
        /// Out-of-fold probability that the local answer is wrong, from the prompt alone.
        public var difficulty: Double = 0
        public var complexity: Double
        public var promptTokens: Int
        public var outcome: Outcome { Outcome(localCorrect: localCorrect, cloudCorrect: item.remoteCorrect) }
    }

    public var records: [Record]
    public var folds: Int
    public var curves: [String: [CurvePoint]] = [:]
    public var report: JSON = .null

    public static func run(items: [EvalItem], answers: [String: LocalAnswer], policy: Policy, maxTokens: Int, folds: Int, seed: UInt64) async throws -> Evaluation {
        var records: [Record] = []
        for item in items {
            guard let answer = answers[item.id] else { continue }
            records.append(Record(item: item, answer: answer, localCorrect: AnswerScoring.isCorrect(answer.text, gold: item.gold, match: item.match),
                                  decision: "", escalated: false, confidence: answer.geometricMeanProbability, calibrated: 0,
                                  complexity: 0, promptTokens: answer.promptTokens))
        }
        var evaluation = Evaluation(records: records, folds: folds)
        evaluation.crossValidate(seed: seed, maxTokens: maxTokens)
        try await evaluation.decide(policy: policy, maxTokens: maxTokens)
        evaluation.summarise(seed: seed, calibratedPolicy: policy.calibration != nil)
        return evaluation
    }

    /// Routes every item with the gateway's own decision code. Where the policy has fitted
    /// models, their values come from the out-of-fold predictions, never from weights that may
    /// have been fitted on the items being scored.
    mutating func decide(policy: Policy, maxTokens: Int) async throws {
        let answers = Dictionary(records.map { ($0.item.id, $0.answer) }, uniquingKeysWith: { a, _ in a })
        let decider = Decider(policy: policy, tokenizer: FixedTokenizer(answers: answers, items: records.map(\.item)))
        let complexitySlot = policy.signals.slot(named: "complexity")
        for i in records.indices {
            let request = try LocalAnswerer.request(records[i].item, maxTokens: maxTokens)
            var stubs: [(slot: Int, value: ConditionValue)] = []
            if policy.complexityModel != nil, let complexitySlot { stubs.append((complexitySlot, .number(records[i].difficulty))) }
            let decision = try await decider.decide(request.summary, Decider.Inputs(stubs: stubs))
            let confidence = policy.calibration != nil ? records[i].calibrated : records[i].answer.geometricMeanProbability
            records[i].confidence = confidence
            if case .number(let value)? = complexitySlot.flatMap({ decision.signals[$0] }) {
                records[i].complexity = value
            } else {
                records[i].complexity = ComplexityScorer.score(request.summary)
            }
            records[i].decision = decision.rule
            if decision.isRefusal {
                records[i].decision += ":deny"
            } else if case .cascade(let cascade) = decision.action {
                records[i].escalated = decider.escalates(cascade, after: decision, confidence: confidence).escalate
            } else {
                records[i].escalated = !(policy.model(named: decision.action.firstTarget ?? "")?.isLocal ?? true)
            }
        }
    }

    /// Calibrated probability that the local answer is right, for each record from a model
    /// fitted on the other folds.
    mutating func crossValidate(seed: UInt64, maxTokens: Int) {
        var generator = SplitMix64(seed: seed)
        let order = records.indices.shuffled(using: &generator)
        let features = records.map { Self.features($0, maxTokens: maxTokens) }
        for fold in 0..<folds {
            let test = Set(order.enumerated().filter { $0.offset % folds == fold }.map(\.element))
            let train = records.indices.filter { !test.contains($0) }
            let model = LogisticModel.fit(features: Self.featureNames, rows: train.map { features[$0] }, labels: train.map { records[$0].localCorrect })
            let promptOnly = ConfidenceModelFeatures.answer.count...
            let difficulty = LogisticModel.fit(features: ConfidenceModelFeatures.prompt, rows: train.map { Array(features[$0][promptOnly]) },
                                               labels: train.map { !records[$0].localCorrect })
            for i in test {
                records[i].calibrated = model.probability(features[i])
                records[i].difficulty = difficulty.probability(Array(features[i][promptOnly]))
            }
        }
    }

    static let featureNames = ConfidenceModelFeatures.names

    static func features(_ record: Record, maxTokens: Int) -> [Double] {
        let request = try? LocalAnswerer.request(record.item, maxTokens: maxTokens)
        return ConfidenceFeatures.of(logprobs: record.answer.logprobs, top: record.answer.top)
            + (request.map { PromptFeatures.of($0.summary, promptTokens: record.promptTokens) } ?? [])
    }

    /// The confidence model and the complexity model, fitted on all the records.
    public static func fit(_ records: [Record], maxTokens: Int) -> (confidence: LogisticModel, complexity: LogisticModel) {
        let rows = records.map { features($0, maxTokens: maxTokens) }
        let promptOnly = ConfidenceModelFeatures.answer.count...
        return (LogisticModel.fit(features: featureNames, rows: rows, labels: records.map(\.localCorrect)),
                LogisticModel.fit(features: ConfidenceModelFeatures.prompt, rows: rows.map { Array($0[promptOnly]) }, labels: records.map { !$0.localCorrect }))
    }

    mutating func summarise(seed: UInt64, calibratedPolicy: Bool) {
        let outcomes = records.map(\.outcome)
        let labels = records.map(\.localCorrect)
        let policyShare = Double(records.filter(\.escalated).count) / Double(max(1, records.count))
        func metrics(scores: [Double], probabilities: [Double]?, point: [Bool]?) -> (JSON, [CurvePoint]) {
            let curve = RouterMetrics.curve(outcomes, scores: scores)
            // A router without its own operating point is read at the policy's cloud share.
            let at = point.map { RouterMetrics.quality(outcomes, escalated: $0) }
                ?? curve.min(by: { abs($0.cloudShare - policyShare) < abs($1.cloudShare - policyShare) })?.quality ?? 0
            let share = point.map { Double($0.filter { $0 }.count) / Double(max(1, $0.count)) } ?? policyShare
            var object: JSONObject = [
                "accuracy": .double(at), "cloud_share": .double(share), "apgr": .double(RouterMetrics.apgr(curve)),
                "cpt50": RouterMetrics.cpt(curve, target: 0.5).map(JSON.double) ?? .null,
                "cpt80": RouterMetrics.cpt(curve, target: 0.8).map(JSON.double) ?? .null,
                "cpt95": RouterMetrics.cpt(curve, target: 0.95).map(JSON.double) ?? .null,
                "auroc": RouterMetrics.auroc(scores: scores.map { -$0 }, labels: labels).map(JSON.double) ?? .null,
            ]
            object["ece"] = probabilities.map { .double(RouterMetrics.ece(probabilities: $0, labels: labels)) } ?? .null
            return (.object(object), curve)
        }
        let n = records.count
        // The policy's ranking: items its rules send to the cloud first, then by cascade confidence.
        let policyScores = records.map { $0.decision.hasPrefix("model:") ? 0 : ($0.escalated && !$0.decision.contains(":deny") ? 2 - $0.confidence : 1 - $0.confidence) }
        let (policyMetrics, policyCurve) = metrics(scores: policyScores, probabilities: records.map(\.confidence), point: records.map(\.escalated))
        let (calibrated, calibratedCurve) = metrics(scores: records.map { 1 - $0.calibrated }, probabilities: records.map(\.calibrated), point: records.map { $0.calibrated < 0.5 })
        let geometricMean = records.map(\.answer.geometricMeanProbability)
        let (meanLogprob, meanCurve) = metrics(scores: geometricMean.map { -log(max($0, 1e-12)) }, probabilities: geometricMean, point: nil)
        let (length, lengthCurve) = metrics(scores: records.map { Double($0.promptTokens) }, probabilities: nil, point: nil)
        // Before generation: the complexity model's out-of-fold probability of a wrong local answer.
        let (complexity, _) = metrics(scores: records.map(\.difficulty), probabilities: records.map { 1 - $0.difficulty }, point: records.map { $0.difficulty > 0.5 })
        // Always-local and always-cloud are points, not rankings: no curve, no AUROC.
        func point(_ cloud: Bool) -> JSON {
            .object(["accuracy": .double(RouterMetrics.quality(outcomes, escalated: [Bool](repeating: cloud, count: n))),
                     "cloud_share": .double(cloud ? 1 : 0), "apgr": .null, "cpt50": .null, "cpt80": .null, "cpt95": .null,
                     "auroc": .null, "ece": .null])
        }
        let (local, cloud) = (point(false), point(true))
        // Random: the average of 200 random orders.
        var generator = SplitMix64(seed: seed ^ 0x5EED)
        var apgrSum = 0.0
        var randomCurve = [CurvePoint](repeating: CurvePoint(cloudShare: 0, quality: 0), count: n + 1)
        for _ in 0..<200 {
            let curve = RouterMetrics.curve(outcomes, scores: (0..<n).map { _ in Double.random(in: 0..<1, using: &generator) })
            apgrSum += RouterMetrics.apgr(curve)
            for k in curve.indices { randomCurve[k] = CurvePoint(cloudShare: curve[k].cloudShare, quality: randomCurve[k].quality + curve[k].quality / 200) }
        }
        let randomAt = randomCurve.min(by: { abs($0.cloudShare - policyShare) < abs($1.cloudShare - policyShare) })?.quality ?? 0
        let random: JSON = .object(["accuracy": .double(randomAt), "cloud_share": .double(policyShare), "apgr": .double(apgrSum / 200),
                                    "auroc": .double(0.5), "ece": .null])
        curves = ["policy": policyCurve, "calibrated-confidence": calibratedCurve, "mean-logprob": meanCurve, "prompt-length": lengthCurve, "random": randomCurve]
        let kinds = Set(records.map(\.item.remoteKind))
        report = .object([
            "items": .int(n),
            "remote_kind": .string(kinds.sorted().joined(separator: ",")),
            "remote_note": .string(kinds.contains("oracle") ? "oracle: the gold answer stands in for the cloud; an upper bound, not a real model" : "recorded cloud answers"),
            "validation": .string("calibrated-confidence: \(folds)-fold cross-validation; every reported prediction comes from a model fitted on the other folds"),
            "policy_confidence": .string(calibratedPolicy ? "calibrated, out-of-fold (the policy's weights file is not used on the items it may have been fitted on)"
                                                          : "geometric-mean token probability"),
            "local_accuracy": .double(RouterMetrics.quality(outcomes, escalated: [Bool](repeating: false, count: n))),
            "policy": policyMetrics,
            "baselines": .object([
                "always-local": local, "always-cloud": cloud, "random": random,
                "prompt-length": length, "mean-logprob": meanLogprob, "calibrated-confidence": calibrated,
                "calibrated-complexity": complexity,
            ]),
            "records": .array(records.map { r in
                .object([
                    "id": .string(r.item.id), "decision": .string(r.decision), "escalated": .bool(r.escalated),
                    "local_correct": .bool(r.localCorrect), "cloud_correct": .bool(r.item.remoteCorrect),
                    "confidence": .double(r.confidence), "calibrated": .double(r.calibrated), "complexity": .double(r.complexity),
                    "difficulty": .double(r.difficulty),
                    "prompt_tokens": .int(r.promptTokens), "completion_tokens": .int(r.answer.logprobs.count),
                    "answer": .string(String(r.answer.text.prefix(300))),
                ])
            }),
        ])
    }

    /// Quality against cloud share for every router, as an SVG line chart.
    public func svg() -> String {
        let width = 640.0, height = 420.0, left = 60.0, bottom = 50.0, top = 30.0, right = 170.0
        let all = curves.values.flatMap { $0.map(\.quality) }
        let low = max(0, (all.min() ?? 0) - 0.02), high = min(1, (all.max() ?? 1) + 0.02)
        func x(_ share: Double) -> Double { left + share * (width - left - right) }
        func y(_ quality: Double) -> Double { top + (high - quality) / max(1e-9, high - low) * (height - top - bottom) }
        let colours = ["policy": "#d62728", "calibrated-confidence": "#1f77b4", "mean-logprob": "#2ca02c", "prompt-length": "#9467bd", "random": "#7f7f7f"]
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" font-family=\"sans-serif\" font-size=\"12\">\n"
        svg += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        svg += "<text x=\"\(left)\" y=\"18\">Quality against cloud share (\(records.count) items)</text>\n"
        svg += "<line x1=\"\(left)\" y1=\"\(y(low))\" x2=\"\(x(1))\" y2=\"\(y(low))\" stroke=\"black\"/><line x1=\"\(left)\" y1=\"\(y(low))\" x2=\"\(left)\" y2=\"\(y(high))\" stroke=\"black\"/>\n"
        for t in stride(from: 0.0, through: 1.0, by: 0.25) {
            svg += "<text x=\"\(x(t) - 10)\" y=\"\(y(low) + 16)\">\(Int(t * 100))%</text>\n"
            let q = low + t * (high - low)
            svg += "<text x=\"\(left - 40)\" y=\"\(y(q) + 4)\">\(String(format3(q)))</text>\n"
        }
        svg += "<text x=\"\(x(0.4))\" y=\"\(height - 12)\">cloud share</text><text x=\"8\" y=\"\(height / 2)\">quality</text>\n"
        // The policy last, on top of a baseline it may coincide with.
        for (row, name) in ["random", "prompt-length", "mean-logprob", "calibrated-confidence", "policy"].enumerated() {
            guard let curve = curves[name] else { continue }
            let points = curve.map { "\(x($0.cloudShare)),\(y($0.quality))" }.joined(separator: " ")
            svg += "<polyline fill=\"none\" stroke=\"\(colours[name]!)\" stroke-width=\"\(name == "policy" ? 2.5 : 1.5)\" points=\"\(points)\"/>\n"
            svg += "<line x1=\"\(width - right + 10)\" y1=\"\(top + 20 + Double(row) * 18)\" x2=\"\(width - right + 30)\" y2=\"\(top + 20 + Double(row) * 18)\" stroke=\"\(colours[name]!)\" stroke-width=\"2\"/>"
            svg += "<text x=\"\(width - right + 35)\" y=\"\(top + 24 + Double(row) * 18)\">\(name)</text>\n"
        }
        return svg + "</svg>\n"
    }
}

func format3(_ value: Double) -> String {
    let scaled = Int((value * 1000).rounded())
    return "\(scaled / 1000).\(String(repeating: "0", count: 3 - String(scaled % 1000).count))\(scaled % 1000)"
}

/// Prompt tokens as the engine counted them when it answered (usage.prompt_tokens), so that the
/// routing decision sees the same count the gateway would, without asking again.
struct FixedTokenizer: PromptTokenizer {
    let counts: [String: Int]

    init(answers: [String: LocalAnswer], items: [EvalItem]) {
        var counts: [String: Int] = [:]
        for item in items { if let answer = answers[item.id] { counts[item.prompt] = answer.promptTokens } }
        self.counts = counts
    }

    func promptTokens(_ request: RequestSummary) async -> (count: Int, estimated: Bool) {
        if let count = counts[request.turns.last?.text ?? ""] { return (count, false) }
        return await EstimatingTokenizer().promptTokens(request)
    }
}
