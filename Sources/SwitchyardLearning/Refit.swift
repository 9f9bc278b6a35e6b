import SwitchyardSignals

/// A refit of the confidence model on the labels so far, and whether to adopt it: fitted on the
/// fit half of the labels (`Label.half`), compared with the calibration in force on the newest
/// labels of the other half (held out by time, and never fitted on), adopted only if its
/// log-loss there is lower. Pure: the caller supplies the labels and applies the outcome.
public struct Refit: Sendable {
    public enum Outcome: Sendable, Equatable {
        /// Not enough labels of each kind to fit and validate.
        case tooFewLabels(String)
        case adopted(Calibration, candidate: CalibrationQuality, current: CalibrationQuality)
        case rejected(candidate: CalibrationQuality, current: CalibrationQuality)
    }

    /// The share of the bound half's labels, newest first, that validates a candidate.
    public var holdoutShare = 0.3
    /// At least this many labels validate, and at least this many are fitted on.
    public var minimumEach = 10
    public var l2 = 0.01

    public init() {}

    /// - Parameters:
    ///   - labels: in sequence order.
    ///   - current: the calibration in force.
    ///   - prior: what a fit starts from and is shrunk towards (the policy's calibration file).
    ///   - now: stamped on an adopted calibration.
    public func run(_ labels: [StoredLabel], current: Calibration, prior: LogisticModel?, now: Int64) -> Outcome {
        let training = labels.filter { $0.label.half == .fit }
        let bound = labels.filter { $0.label.half == .bound }
        let held = bound.suffix(max(minimumEach, Int((Double(bound.count) * holdoutShare).rounded())))
        guard training.count >= minimumEach, held.count >= minimumEach else {
            return .tooFewLabels("\(training.count) labels to fit and \(held.count) to validate; a refit needs \(minimumEach) of each")
        }
        let right = training.filter { $0.label.score >= 0.5 }.count
        guard right > 0, right < training.count else {
            return .tooFewLabels("the fitted labels are all \(right == 0 ? "wrong" : "right")")
        }
        let model = CalibrationFit.fit(features: ConfidenceModelFeatures.names, rows: training.map(\.label.features),
                                       scores: training.map(\.label.score), weights: training.map(\.label.weight),
                                       prior: prior, l2: l2)
        let candidate = Calibration(version: current.version + 1, model: model, fittedThrough: training.last?.sequence ?? 0,
                                    labelsUsed: training.count, adoptedAtMilliseconds: now)
        let candidateQuality = CalibrationQuality(held.map { Self.point($0.label, candidate) })
        let currentQuality = CalibrationQuality(held.map { Self.point($0.label, current) })
        guard model.isUsable, candidateQuality.logLoss < currentQuality.logLoss else {
            return .rejected(candidate: candidateQuality, current: currentQuality)
        }
        return .adopted(candidate, candidate: candidateQuality, current: currentQuality)
    }

    /// A label as the quality and risk computations read it, scored by `calibration`.
    public static func point(_ label: Label, _ calibration: Calibration) -> ScoredPoint {
        ScoredPoint(confidence: calibration.confidence(label.features), loss: label.loss, weight: label.weight)
    }
}

/// When to refit: every `everyLabels` new labels, or every `every` if any label arrived.
public struct RefitSchedule: Sendable, Equatable {
    public var everyLabels: Int
    public var everyMilliseconds: Int64
    /// The label count and time of the last refit (adopted or not).
    public private(set) var labelsAtLast = 0
    public private(set) var lastMilliseconds: Int64

    public init(everyLabels: Int, everyMilliseconds: Int64, startedAt: Int64) {
        self.everyLabels = everyLabels
        self.everyMilliseconds = everyMilliseconds
        lastMilliseconds = startedAt
    }

    public func isDue(labels: Int, now: Int64) -> Bool {
        let new = labels - labelsAtLast
        return new >= everyLabels || (new > 0 && now - lastMilliseconds >= everyMilliseconds)
    }

    public mutating func ran(labels: Int, now: Int64) {
        labelsAtLast = labels
        lastMilliseconds = now
    }
}
