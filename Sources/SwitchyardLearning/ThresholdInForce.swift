/// The escalation threshold a cascade with `confidence < auto` uses now, and why: what the
/// decision reads, what explain and `x-switchyard-escalated` show.
public struct ThresholdInForce: Sendable, Equatable {
    public enum Source: String, Sendable {
        /// The lowest threshold whose risk bound holds on the labels.
        case risk
        /// Too few labels yet: the rule's own `threshold:`.
        case rule
        /// Too few labels yet and the rule sets none: the policy's `learning.default_threshold`.
        case policyDefault = "default"
    }

    public var value: Double
    public var source: Source
    public var calibrationVersion: Int
    /// Labels the bound rests on (held out from the calibration's fit).
    public var labels: Int
    /// The estimated risk among served answers, and its upper bound, when `source` is `risk`.
    public var estimatedRisk: Double?
    public var riskBound: Double?
    /// The estimated share of requests escalated at this threshold.
    public var escalationRate: Double?
    /// Recent labels showed a realised error above the bound: the threshold was raised to what
    /// they alone support, until a refit or better labels bring it back.
    public var drift: Bool

    public init(value: Double, source: Source, calibrationVersion: Int, labels: Int, estimatedRisk: Double? = nil,
                riskBound: Double? = nil, escalationRate: Double? = nil, drift: Bool = false) {
        self.value = value
        self.source = source
        self.calibrationVersion = calibrationVersion
        self.labels = labels
        self.estimatedRisk = estimatedRisk
        self.riskBound = riskBound
        self.escalationRate = escalationRate
        self.drift = drift
    }

    /// `0.62 (risk 0.05, calibration v3, 412 labels)`: for headers and logs.
    public var summary: String {
        let value = self.value.isFinite ? String(self.value.rounded(toPlaces: 4)) : "all"
        let why = switch source {
        case .risk: "risk-bound"
        case .rule: "rule-threshold"
        case .policyDefault: "default-threshold"
        }
        return "\(value) (\(why)\(drift ? ", drift" : ""), calibration v\(calibrationVersion), \(labels) labels)"
    }

    /// The threshold for a cascade with `risk`, from the labels no calibration is fitted on.
    /// - Parameters:
    ///   - labels: in sequence order; only those of the bound half (`Label.half`) that the
    ///     gateway chose by a known probability count.
    ///   - minimumLabels: below this, `fallback` is used.
    ///   - recentWindow: the newest labels checked for drift.
    public static func compute(_ labels: [StoredLabel], calibration: Calibration, risk: Double, delta: Double,
                               minimumLabels: Int, recentWindow: Int, fallback: (Double, Source)) -> ThresholdInForce {
        let eligible = labels.filter { $0.label.half == .bound && $0.label.entersRiskBound }
        let points = eligible.map { Refit.point($0.label, calibration) }
        guard points.count >= minimumLabels else {
            return ThresholdInForce(value: fallback.0, source: fallback.1, calibrationVersion: calibration.version, labels: points.count)
        }
        var chosen = RiskThreshold.choose(points, risk: risk, delta: delta)
        var drift = false
        let recent = Array(points.suffix(recentWindow))
        if recent.count >= minimumLabels, recent.count < points.count {
            // Realised error among the recent answers that the threshold of the labels before them
            // would serve, significantly above the bound? Then the recent labels alone set it.
            let before = RiskThreshold.choose(Array(points.dropLast(recent.count)), risk: risk, delta: delta)
            let check = RiskThreshold.evaluate(recent, threshold: before.threshold, delta: delta)
            if check.served > 0, check.lower > risk {
                drift = true
                let tightened = RiskThreshold.choose(recent, risk: risk, delta: delta)
                if tightened.threshold > chosen.threshold { chosen = tightened }
            }
        }
        return ThresholdInForce(value: chosen.threshold, source: .risk, calibrationVersion: calibration.version, labels: points.count,
                                estimatedRisk: chosen.estimatedRisk, riskBound: chosen.riskBound, escalationRate: chosen.escalationRate,
                                drift: drift)
    }
}

extension Double {
    func rounded(toPlaces places: Int) -> Double {
        var factor = 1.0
        for _ in 0..<places { factor *= 10 }
        return (self * factor).rounded() / factor
    }
}
