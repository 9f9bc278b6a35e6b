import Logging
import Testing
import SwitchyardPolicy
import SwitchyardDecision
import SwitchyardExecution
import SwitchyardSignals
import SwitchyardWire
@testable import SwitchyardEval
import SwitchyardLearning

#if canImport(Glibc)
import Glibc
#endif

@Suite("Evaluation metrics and scoring")
struct EvalTests {
    // Four items: local right on 0 and 1, cloud right on all but 1.
    let outcomes = [Outcome(localCorrect: true, cloudCorrect: true), Outcome(localCorrect: true, cloudCorrect: false),
                    Outcome(localCorrect: false, cloudCorrect: true), Outcome(localCorrect: false, cloudCorrect: true)]

    @Test("the quality curve escalates items in score order")
    func curve() {
        // Scores escalate item 2, then 3, then 0, then 1. By hand: qualities 2/4, 3/4, 4/4, 4/4, 3/4.
        let curve = RouterMetrics.curve(outcomes, scores: [0.2, 0.1, 0.9, 0.8])
        #expect(curve.map(\.cloudShare) == [0, 0.25, 0.5, 0.75, 1])
        #expect(curve.map(\.quality) == [0.5, 0.75, 1, 1, 0.75])
    }

    @Test("APGR and CPT, computed by hand")
    func apgr() {
        // local 0.5, cloud 0.75: PGR = (q − 0.5) / 0.25 → 0, 1, 2, 2, 1.
        // Trapezoids of width 0.25: (0+1)/2 + (1+2)/2 + (2+2)/2 + (2+1)/2 = 0.5 + 1.5 + 2 + 1.5 = 5.5 → × 0.25 = 1.375.
        let curve = RouterMetrics.curve(outcomes, scores: [0.2, 0.1, 0.9, 0.8])
        #expect(abs(RouterMetrics.apgr(curve) - 1.375) < 1e-12)
        #expect(RouterMetrics.cpt(curve, target: 0.5) == 0.25)
        #expect(RouterMetrics.cpt(curve, target: 1.5) == 0.5)
        // The worst order, escalating first the item the cloud gets wrong: by hand,
        // escalate 1 → q 0.25 (PGR −1), then 0 → 0.25 (−1), then 2 → 0.5 (0), then 3 → 0.75 (1).
        let worst = RouterMetrics.curve(outcomes, scores: [0.8, 0.9, 0.2, 0.1])
        #expect(worst.map(\.quality) == [0.5, 0.25, 0.25, 0.5, 0.75])
        #expect(abs(RouterMetrics.apgr(worst) - 0.25 * ((0 - 1) / 2.0 + (-1 - 1) / 2.0 + (-1 + 0) / 2.0 + (0 + 1) / 2.0)) < 1e-12)
    }

    @Test("AUROC with ties, by hand", arguments: [
        ([0.9, 0.8, 0.3, 0.1], [true, true, false, false], 1.0),
        ([0.1, 0.3, 0.8, 0.9], [true, true, false, false], 0.0),
        ([0.5, 0.5, 0.5, 0.5], [true, false, true, false], 0.5),
        // Pairs (positive, negative): (0.9,0.8) win, (0.9,0.5) win, (0.5,0.8) loss, (0.5,0.5) tie → 2.5 / 4.
        ([0.9, 0.5, 0.8, 0.5], [true, true, false, false], 0.625),
    ] as [([Double], [Bool], Double)])
    func auroc(_ scores: [Double], _ labels: [Bool], _ expected: Double) {
        #expect(RouterMetrics.auroc(scores: scores, labels: labels) == expected)
    }

    @Test("ECE, by hand")
    func ece() {
        // Bin [0.9, 1.0): p 0.9, 0.9, outcomes 1, 0 → |1.8 − 1| = 0.8; bin [0.1, 0.2): p 0.1, y 0 → 0.1.
        // ECE = (0.8 + 0.1) / 3 = 0.3.
        #expect(abs(RouterMetrics.ece(probabilities: [0.9, 0.9, 0.1], labels: [true, false, false]) - 0.3) < 1e-12)
        #expect(RouterMetrics.ece(probabilities: [1, 0], labels: [true, false]) == 0)
    }

    @Test("answers are scored as the data's README says", arguments: [
        ("The total is 1,234 dollars.", "1234", AnswerScoring.Match.number, true),
        ("First 12, then 13.", "13", .number, true),
        ("First 13, then 12.", "13", .number, false),
        ("It is -4.", "-4", .number, true),
        ("x = 2.50", "2.5", .number, true),
        ("No number here", "3", .number, false),
        ("The capital is Ankara.", "Ankara", .exactWord, true),
        ("The capital is ankara.", "Ankara", .exactWord, false),
        ("Ankaras", "Ankara", .exactWord, false),
        ("PARIS!", "paris", .contains, true),
    ] as [(String, String, AnswerScoring.Match, Bool)])
    func scoring(_ answer: String, _ gold: String, _ match: AnswerScoring.Match, _ expected: Bool) {
        #expect(AnswerScoring.isCorrect(answer, gold: gold, match: match) == expected)
    }

    @Test("a policy's calibration file is loaded, and a missing or foreign one is refused")
    func calibrationFile() throws {
        let directory = try Fixtures.temporaryDirectory()
        let names = ConfidenceModelFeatures.names
        let model = LogisticModel(features: names, mean: names.map { _ in 0 }, scale: names.map { _ in 1 }, weights: names.map { _ in 0.1 }, bias: -0.2)
        try Fixtures.writeFile(directory + "/weights.json", JSON.object(["confidence": .object(model.json())]).text)
        try Fixtures.writeFile(directory + "/p.yaml", "version: 1\ncalibration: weights.json\nmodels:\n  local: {kind: local}\n")
        #expect(try PolicyLoader.load(path: directory + "/p.yaml").calibration == model)

        try Fixtures.writeFile(directory + "/q.yaml", "version: 1\ncalibration: nowhere.json\nmodels:\n  local: {kind: local}\n")
        #expect(throws: PolicyError.self) { try PolicyLoader.load(path: directory + "/q.yaml") }
        let foreign = LogisticModel(features: ["x"], mean: [0], scale: [1], weights: [1], bias: 0)
        try Fixtures.writeFile(directory + "/foreign.json", JSON.object(["confidence": .object(foreign.json())]).text)
        try Fixtures.writeFile(directory + "/r.yaml", "version: 1\ncalibration: foreign.json\nmodels:\n  local: {kind: local}\n")
        #expect(throws: PolicyError.self) { try PolicyLoader.load(path: directory + "/r.yaml") }
    }

    @Test("with calibration, confidence is the model's probability; without, the geometric-mean token probability")
    func scorer() throws {
        let request = try ChatRequest(body: ["model": .string("auto"), "messages": .array([.object(["role": .string("user"), "content": .string("2+2?")])])])
        let logprobs = [-0.1, -0.3], top = [[-0.1, -2.5], [-0.3, -1.5]]
        let features = ConfidenceFeatures.of(logprobs: logprobs, top: top) + PromptFeatures.of(request.summary, promptTokens: 9)
        let plain = Calibration(version: 0, model: nil).confidence(features)
        #expect(abs(plain - exp(-0.2)) < 1e-12)
        #expect(abs(plain - (ConfidenceScorer.geometricMean(logprobs) ?? 0)) < 1e-12)
        let names = ConfidenceModelFeatures.names
        // Weight only on mean_logprob: p = sigmoid(2 × mean_logprob + 1) = sigmoid(0.6).
        let model = LogisticModel(features: names, mean: names.map { _ in 0 }, scale: names.map { _ in 1 },
                                  weights: names.map { $0 == "mean_logprob" ? 2 : 0 }, bias: 1)
        let calibrated = Calibration(version: 1, model: model).confidence(features)
        #expect(abs(calibrated - 1 / (1 + exp(-0.6))) < 1e-12)
        #expect(ConfidenceScorer.geometricMean([]) == nil)
    }

    @Test("the logistic model learns a separable rule and round-trips through its weights file")
    func logistic() throws {
        let rows = (0..<40).map { [Double($0), Double($0 % 3)] }
        let labels = rows.map { $0[0] >= 20 }
        let model = LogisticModel.fit(features: ["a", "b"], rows: rows, labels: labels)
        let accuracy = zip(rows, labels).filter { (model.probability($0) >= 0.5) == $1 }.count
        #expect(accuracy >= 38)
        #expect(model.probability([39, 0]) > 0.9 && model.probability([0, 0]) < 0.1)
        let again = try #require(LogisticModel(json: .object(["confidence": .object(model.json())])))
        #expect(again == model)
    }
}

@Suite("switchyard eval against the real model", .serialized)
struct EvalRunTests {
    init() throws { try Fixtures.requireEngine() }

    @Test("items run through the local model and the policy; answers are cached and a rerun resumes from them")
    func endToEnd() async throws {
        let directory = try Fixtures.temporaryDirectory()
        let data = directory + "/items.jsonl"
        let lines = [
            #"{"id":"a","prompt":"What is the capital of France? Answer with the city name only.","gold":"Paris","match":"contains","remote":{"kind":"oracle"}}"#,
            #"{"id":"b","prompt":"What is 2 + 2? Answer with a number only.","gold":"4","match":"number","remote":{"kind":"recorded","correct":true}}"#,
            #"{"id":"c","prompt":"What is 9822 + 9849? Answer with a number only.","gold":"19671","match":"number","remote":{"kind":"recorded","correct":false}}"#,
            #"{"id":"d","prompt":"Name the largest planet. Answer with one word.","gold":"Jupiter","match":"exact-word","remote":{"kind":"oracle"}}"#,
        ]
        try Fixtures.writeFile(data, lines.joined(separator: "\n") + "\n")
        let items = try EvalItem.load(data)
        #expect(items.map(\.remoteCorrect) == [true, true, false, true])

        let policy = try PolicyLoader.parse("""
        version: 1
        models:
        \(Fixtures.localModelYAML)
          cloud: {kind: openai, model: m}
        rules:
          - cascade: {first: local, escalate_to: cloud, when: "confidence < 0.5"}
        """, file: directory + "/p.yaml")
        var logger = Logger(label: "eval-test")
        logger.logLevel = .warning
        let answerer = LocalAnswerer(policy: policy, cachePath: directory + "/cache.jsonl", maxTokens: 12, stateDirectory: directory, logger: logger)
        let progress = ProgressCount()
        let answers = try await answerer.answers(items) { done, _, _ in progress.record(done) }
        #expect(answers.count == 4)
        #expect(progress.last == 4)
        #expect(answers.values.allSatisfy { !$0.logprobs.isEmpty && $0.top.allSatisfy { $0.count == 5 } && $0.promptTokens > 0 })

        // A rerun finds every answer in the cache: no generation, no progress.
        let again = ProgressCount()
        let cached = try await answerer.answers(items) { done, _, _ in again.record(done) }
        #expect(again.last == nil)
        #expect(cached == answers)

        let evaluation = try await Evaluation.run(items: items, answers: answers, policy: policy, maxTokens: 12, folds: 2, seed: 1)
        let report = evaluation.report
        #expect(report["items"] == .int(4))
        #expect(report["remote_kind"] == .string("oracle,recorded"))
        #expect(report["baselines"]?.objectValue?.keys.sorted() == ["always-cloud", "always-local", "calibrated-complexity", "calibrated-confidence",
                                                                     "mean-logprob", "prompt-length", "random"])
        let records = try #require(report["records"]?.arrayValue)
        #expect(records.count == 4)
        for (record, answer) in zip(records, items.map { answers[$0.id]! }) {
            #expect(record["confidence"]?.doubleValue.map { abs($0 - answer.geometricMeanProbability) < 1e-9 } == true)
            #expect(record["escalated"]?.boolValue == ((answer.geometricMeanProbability) < 0.5))
        }
        let localCorrect = records.filter { $0["local_correct"] == .bool(true) }.count
        #expect(report["local_accuracy"]?.doubleValue == Double(localCorrect) / 4)
        #expect(evaluation.svg().hasPrefix("<svg"))
    }
}

/// Records progress calls from the answerer (called from its task).
final class ProgressCount: @unchecked Sendable {
    private(set) var last: Int?
    func record(_ done: Int) { last = done }
}
