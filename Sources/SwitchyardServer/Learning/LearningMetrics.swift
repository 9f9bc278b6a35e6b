import Metrics
import SwitchyardLearning

/// The learning loop in metrics (docs/operations.md, Metrics). Each counter is resolved once, for
/// every value its label can take: nothing is looked up by name per label, shadow or judgement.
struct LearningMetrics: Sendable {
    enum Judgement: String, CaseIterable {
        case correct, incorrect
        case noVerdict = "no_verdict", failed
        case withheldPrivateData = "withheld_private_data"
    }

    enum Shadow: String, CaseIterable {
        case served, failed
        case budgetExhausted = "budget_exhausted"
    }

    enum Skip: String, CaseIterable {
        case queueFull = "queue_full"
        case partialLocalAnswer = "partial_local_answer"
    }

    private let labels = counters("switchyard_learning_labels_total", "source", Label.Source.self)
    private let judgements = counters("switchyard_learning_judgements_total", "outcome", Judgement.self)
    private let shadows = counters("switchyard_learning_shadows_total", "outcome", Shadow.self)
    private let skips = counters("switchyard_learning_skipped_total", "why", Skip.self)

    func label(_ source: String) { Label.Source(rawValue: source).flatMap { labels[$0] }?.increment() }
    func judge(_ outcome: Judgement) { judgements[outcome]?.increment() }
    func shadow(_ outcome: Shadow) { shadows[outcome]?.increment() }
    func skipped(_ why: Skip) { skips[why]?.increment() }
}

/// The calibration service in metrics.
struct CalibrationMetrics: Sendable {
    enum Refit: String, CaseIterable {
        case adopted, rejected
        case tooFewLabels = "too_few_labels"
        case lostToReplica = "lost_to_replica"
        case ledgerError = "ledger_error"
    }

    private let refits = counters("switchyard_calibration_refits_total", "outcome", Refit.self)
    private let version = Gauge(label: "switchyard_calibration_version")

    func refit(_ outcome: Refit) { refits[outcome]?.increment() }
    /// Rules are the policy's, which a reload changes: this one is made when drift happens, which is rare.
    func drift(_ rule: String) { Counter(label: "switchyard_calibration_drift_total", dimensions: [("rule", rule)]).increment() }

    /// The version in force and each learned threshold, as gauges (once per look at the ledger, not per request).
    func installed(_ state: CalibrationState) {
        version.record(state.trust.calibration.version)
        for (rule, threshold) in state.trust.thresholds where threshold.value.isFinite {
            Gauge(label: "switchyard_cascade_threshold", dimensions: [("rule", rule)]).record(threshold.value)
        }
    }
}

/// A counter for each value of `Value`, under `dimension`.
private func counters<Value: RawRepresentable & CaseIterable & Hashable>(
    _ label: String, _ dimension: String, _: Value.Type
) -> [Value: Counter] where Value.RawValue == String {
    Dictionary(uniqueKeysWithValues: Value.allCases.map { ($0, Counter(label: label, dimensions: [(dimension, $0.rawValue)])) })
}
