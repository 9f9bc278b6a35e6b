import SwitchyardLearning
import SwitchyardSignals
import SwitchyardWire

#if canImport(Glibc)
import Glibc
#endif

/// What `switchyard eval selfcal` measures of the gateway's self-calibration, as pure values: the
/// split of the items into a replayed and an unseen part, the unseen items' confidence features,
/// and, at each checkpoint, how the live calibration and threshold (read from
/// `GET /v1/switchyard/calibration`) do on the unseen items.
public enum SelfCalibration {
    /// The items shuffled with `seed`; the first `replayShare` are replayed, the rest unseen.
    public static func split(_ items: [EvalItem], seed: UInt64, replayShare: Double = 0.6) -> (replay: [EvalItem], unseen: [EvalItem]) {
        var generator = SplitMix64(seed: seed)
        let shuffled = items.shuffled(using: &generator)
        let cut = Int((Double(items.count) * replayShare).rounded())
        return (Array(shuffled.prefix(cut)), Array(shuffled.dropFirst(cut)))
    }

    /// The confidence model's inputs for an item's local answer, as `Decider.escalation` computes
    /// them (the answer's log-probabilities with the top-5 alternatives, and the prompt).
    public static func features(_ item: EvalItem, _ answer: LocalAnswer, maxTokens: Int) throws -> [Double] {
        let request = try LocalAnswerer.request(item, maxTokens: maxTokens)
        return ConfidenceFeatures.of(logprobs: answer.logprobs, top: answer.top)
            + PromptFeatures.of(request.summary, promptTokens: answer.promptTokens)
    }

    /// Whether an item's local answer is right, by the item's match rule.
    public static func isCorrect(_ item: EvalItem, _ answer: LocalAnswer) -> Bool {
        AnswerScoring.isCorrect(answer.text, gold: item.gold, match: item.match)
    }

    /// The unseen items with their features and whether the local answer is right.
    public static func unseen(_ items: [EvalItem], answers: [String: LocalAnswer], maxTokens: Int) throws -> [UnseenItem] {
        try items.compactMap { item in
            guard let answer = answers[item.id] else { return nil }
            return UnseenItem(id: item.id, features: try features(item, answer, maxTokens: maxTokens),
                              correct: AnswerScoring.isCorrect(answer.text, gold: item.gold, match: item.match))
        }
    }

    /// The calibration in force as `/v1/switchyard/calibration` reports it: its fitted model, or
    /// none (the geometric-mean token probability).
    public static func calibration(_ status: JSON) -> Calibration {
        let version = status["version"]?.intValue ?? 0
        guard let model = status["model"], let fitted = LogisticModel(json: .object(["confidence": model])) else {
            return Calibration(version: version, model: nil)
        }
        return Calibration(version: version, model: fitted)
    }

    /// The share wrong among the items served on the box (confidence ≥ threshold), and how many were.
    public static func realisedRisk(confidences: [Double], correct: [Bool], threshold: Double) -> (risk: Double, served: Int) {
        var served = 0, wrong = 0
        for (c, ok) in zip(confidences, correct) where c >= threshold {
            served += 1
            if !ok { wrong += 1 }
        }
        return (served == 0 ? 0 : Double(wrong) / Double(served), served)
    }

    /// The best static threshold in hindsight: the lowest cloud share (escalating confidence <
    /// threshold) among all thresholds on these confidences whose realised risk is ≤ `maxRisk`.
    /// Ties in confidence are served together. Escalating everything (threshold ∞) always qualifies.
    public static func hindsight(confidences: [Double], correct: [Bool], maxRisk: Double) -> (cloudShare: Double, threshold: Double, risk: Double) {
        let n = confidences.count
        guard n > 0 else { return (1, .infinity, 0) }
        let order = confidences.indices.sorted { confidences[$0] > confidences[$1] }
        var best = (cloudShare: 1.0, threshold: Double.infinity, risk: 0.0)
        var wrong = 0
        var k = 0
        while k < n {
            var j = k
            while j < n, confidences[order[j]] == confidences[order[k]] {
                if !correct[order[j]] { wrong += 1 }
                j += 1
            }
            let risk = Double(wrong) / Double(j)
            if risk <= maxRisk + 1e-12 { best = (1 - Double(j) / Double(n), confidences[order[k]], risk) }
            k = j
        }
        return best
    }
}

public struct UnseenItem: Sendable {
    public var id: String
    public var features: [Double]
    public var correct: Bool
}

/// One look at the live calibration during a replay, measured on the unseen items.
public struct SelfCalibrationCheckpoint: Sendable {
    /// `25`, `50`, `100` (labels reached) or `end`.
    public var name: String
    /// Requests replayed so far.
    public var requests: Int
    /// Replayed requests the gateway escalated so far (`x-switchyard-route: cloud`).
    public var escalated: Int
    public var labels: Int
    public var labelsBySource: [String: Int]
    public var version: Int
    public var fitted: Bool
    /// AUROC of the live calibration's confidence as a predictor of a right local answer, on the unseen items.
    public var auroc: Double?
    /// The threshold in force for the rule (∞: every answer escalated).
    public var threshold: Double
    public var thresholdSource: String
    public var thresholdLabels: Int
    public var drift: Bool
    /// The rule's `risk`.
    public var risk: Double
    /// Share wrong among the unseen items the threshold serves on the box.
    public var realisedRisk: Double
    public var served: Int
    /// Share of the unseen items the threshold escalates.
    public var cloudShare: Double
    /// The lowest cloud share of a static threshold on the same confidences with realised risk
    /// ≤ max(the live threshold's realised risk, `risk`): what the bound's caution costs.
    public var hindsightCloudShare: Double
    public var hindsightThreshold: Double
    public var hindsightRisk: Double
    /// The same with realised risk ≤ the live threshold's own (issue 15's comparison, "at the same
    /// realised risk"): what a threshold placed in hindsight would have saved at that risk.
    public var sameRiskHindsightCloudShare: Double
    /// What the learning loop spent so far (shadow requests and judge calls), USD, from the ledger's learning budget.
    public var learningSpendUSD: Double?
    /// The calibration endpoint as read.
    public var status: JSON

    public var gap: Double { cloudShare - hindsightCloudShare }
    public var sameRiskGap: Double { cloudShare - sameRiskHindsightCloudShare }

    public static func measure(name: String, requests: Int, escalated: Int, status: JSON, rule: String, risk: Double,
                               unseen: [UnseenItem], learningSpendUSD: Double?) -> SelfCalibrationCheckpoint {
        let calibration = SelfCalibration.calibration(status)
        let confidences = unseen.map { calibration.confidence($0.features) }
        let correct = unseen.map(\.correct)
        let threshold = status["thresholds"]?[rule]
        let value: Double = threshold?["value"]?.doubleValue ?? (threshold?["value"]?.stringValue == "all" ? .infinity : .nan)
        let (realised, served) = SelfCalibration.realisedRisk(confidences: confidences, correct: correct, threshold: value)
        let n = max(1, unseen.count)
        let best = SelfCalibration.hindsight(confidences: confidences, correct: correct, maxRisk: max(realised, risk))
        let sameRisk = SelfCalibration.hindsight(confidences: confidences, correct: correct, maxRisk: realised)
        var bySource: [String: Int] = [:]
        for (key, count) in status["labels"]?.objectValue?.fields ?? [] { bySource[key] = count.intValue ?? 0 }
        return SelfCalibrationCheckpoint(
            name: name, requests: requests, escalated: escalated, labels: bySource.values.reduce(0, +), labelsBySource: bySource,
            version: calibration.version, fitted: calibration.model != nil,
            auroc: RouterMetrics.auroc(scores: confidences, labels: correct),
            threshold: value, thresholdSource: threshold?["source"]?.stringValue ?? "-", thresholdLabels: threshold?["labels"]?.intValue ?? 0,
            drift: threshold?["drift"]?.boolValue ?? false, risk: risk, realisedRisk: realised, served: served,
            cloudShare: 1 - Double(served) / Double(n), hindsightCloudShare: best.cloudShare, hindsightThreshold: best.threshold,
            hindsightRisk: best.risk, sameRiskHindsightCloudShare: sameRisk.cloudShare, learningSpendUSD: learningSpendUSD, status: status)
    }

    public var json: JSON {
        func number(_ x: Double) -> JSON { x.isFinite ? .double(x) : .string(x.isNaN ? "unknown" : "all") }
        var object: JSONObject = [
            "checkpoint": .string(name), "requests": .int(requests), "escalated": .int(escalated), "labels": .int(labels),
            "labels_by_source": .object(JSONObject(labelsBySource.sorted { $0.key < $1.key }.map { ($0.key, JSON.int($0.value)) })),
            "calibration_version": .int(version), "fitted": .bool(fitted),
            "auroc_unseen": auroc.map(JSON.double) ?? .null,
            "threshold": .object(["value": number(threshold), "source": .string(thresholdSource), "labels": .int(thresholdLabels), "drift": .bool(drift)]),
            "risk": .double(risk), "realised_risk_unseen": .double(realisedRisk), "served_unseen": .int(served),
            "cloud_share_unseen": .double(cloudShare),
            "hindsight": .object(["cloud_share": .double(hindsightCloudShare), "threshold": number(hindsightThreshold),
                                  "realised_risk": .double(hindsightRisk), "max_risk": .double(max(realisedRisk, risk))]),
            "cloud_share_gap": .double(gap),
            "same_realised_risk": .object(["hindsight_cloud_share": .double(sameRiskHindsightCloudShare), "cloud_share_gap": .double(sameRiskGap)]),
            "learning_spend_usd": learningSpendUSD.map(JSON.double) ?? .null,
        ]
        object["calibration_status"] = status
        return .object(object)
    }
}
