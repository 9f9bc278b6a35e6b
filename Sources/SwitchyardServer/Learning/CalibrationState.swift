import SwitchyardDecision
import SwitchyardLearning
import SwitchyardLedger
import SwitchyardPolicy
import SwitchyardSignals
import SwitchyardWire

/// What the ledger says about the trust in the local model now: the newest calibration version
/// (or the policy's own, version 0), the threshold of every `confidence < auto` cascade, and
/// how good the calibration is on the labels it was not fitted on. Read the same way by every
/// replica's calibration service, by `/v1/switchyard/calibration` and by `switchyard calibration`.
public struct CalibrationState: Sendable {
    public var target: String
    public var trust: Trust
    /// The stored version in force (nil: none stored yet, the policy's own calibration).
    public var record: CalibrationRecord?
    public var labelCounts: [String: Int]
    /// The calibration in force, on the labels no calibration is fitted on (nil: none yet).
    public var quality: CalibrationQuality?
    /// The labels read (the newest `learning.window`), in sequence order.
    public var labels: [StoredLabel]

    /// Reads the newest calibration and labels of the policy's local target. Nil when the policy
    /// does not learn (no `learning:` or no local target).
    public static func load(policy: Policy, ledger: any LearningLedger) async throws -> CalibrationState? {
        guard let settings = policy.learning, let target = policy.localModels.first?.name else { return nil }
        let record = try await ledger.latestCalibration(target: target)
        let calibration = record.flatMap(Self.calibration) ?? Calibration(version: record?.version ?? 0, model: policy.calibration)
        let stored = try await ledger.labels(target: target, after: 0, newest: settings.window)
        let labels = stored.compactMap { row in Self.label(row.label).map { StoredLabel(sequence: row.sequence, label: $0) } }
        let counts = try await ledger.labelCounts(target: target)
        var state = CalibrationState(target: target, trust: Trust(calibration: calibration), record: record, labelCounts: counts,
                                     quality: nil, labels: labels)
        state.computeThresholds(policy: policy, settings: settings)
        let unseen = labels.filter { $0.label.half == .bound }
        state.quality = unseen.isEmpty ? nil : CalibrationQuality(unseen.map { Refit.point($0.label, calibration) })
        return state
    }

    /// Each `confidence < auto` cascade's threshold on the labels the calibration did not see.
    mutating func computeThresholds(policy: Policy, settings: LearningSettings) {
        var thresholds: [String: ThresholdInForce] = [:]
        for rule in policy.rules {
            guard case .cascade(let cascade) = rule.action, let risk = cascade.risk else { continue }
            let fallback: (Double, ThresholdInForce.Source) = cascade.threshold.map { ($0, .rule) } ?? (settings.defaultThreshold, .policyDefault)
            thresholds[rule.name] = ThresholdInForce.compute(labels, calibration: trust.calibration, risk: risk, delta: settings.delta,
                                                             minimumLabels: settings.minimumLabels, recentWindow: settings.driftWindow,
                                                             fallback: fallback)
        }
        trust.thresholds = thresholds
    }

    static func calibration(_ record: CalibrationRecord) -> Calibration? {
        let model: LogisticModel?
        if let text = record.model {
            guard let json = try? JSON.parse(text), let read = LogisticModel(json: json, key: "confidence"),
                  read.features == ConfidenceModelFeatures.names, read.isUsable else { return nil }
            model = read
        } else {
            model = nil
        }
        return Calibration(version: record.version, model: model, fittedThrough: record.fittedThrough, labelsUsed: record.labelsUsed,
                           adoptedAtMilliseconds: record.adoptedAt.milliseconds)
    }

    static func label(_ record: LabelRecord) -> Label? {
        guard let source = Label.Source(rawValue: record.source), record.features.count == ConfidenceModelFeatures.names.count else { return nil }
        return Label(requestID: record.requestID, source: source, features: record.features, score: record.score, propensity: record.propensity,
                     calibrationVersion: record.calibrationVersion, recordedAtMilliseconds: record.recordedAt.milliseconds, streamed: record.streamed)
    }

    /// A calibration as a file a policy can pin (`calibration: FILE`), as `switchyard eval fit` writes.
    public var exportJSON: JSON? {
        guard let model = trust.calibration.model else { return nil }
        var confidence = model.json()
        confidence["calibration_version"] = .int(trust.calibration.version)
        confidence["labels_used"] = .int(trust.calibration.labelsUsed)
        return .object(["confidence": .object(confidence)])
    }

    /// What `/v1/switchyard/calibration` answers and `switchyard calibration status --json` prints.
    public var json: JSON {
        let calibration = trust.calibration
        var object: JSONObject = [
            "target": .string(target),
            "version": .int(calibration.version),
            "fitted": .bool(calibration.model != nil),
            "labels_used": .int(calibration.labelsUsed),
            "fitted_through": .int(Int(calibration.fittedThrough)),
            "labels": .object(JSONObject(Label.Source.allCases.map { ($0.rawValue, JSON.int(labelCounts[$0.rawValue] ?? 0)) })),
            "thresholds": .object(JSONObject(trust.thresholds.sorted { $0.key < $1.key }.map { ($0.key, $0.value.json) })),
        ]
        if calibration.adoptedAtMilliseconds > 0 { object["adopted_at_ms"] = .int(Int(calibration.adoptedAtMilliseconds)) }
        if let model = calibration.model { object["model"] = .object(model.json()) }
        if let quality {
            var recent: JSONObject = ["labels": .int(quality.labels), "log_loss": .double(quality.logLoss)]
            if quality.logLossMargin.isFinite { recent["log_loss_margin_95"] = .double(quality.logLossMargin) }
            if let auroc = quality.auroc { recent["auroc"] = .double(auroc) }
            if let margin = quality.aurocMargin { recent["auroc_margin_95"] = .double(margin) }
            object["held_out"] = .object(recent)
        }
        if let report = record?.report, let json = try? JSON.parse(report) { object["adoption"] = json }
        return .object(object)
    }
}
