import SwitchyardLearning
import SwitchyardSignals

/// How far the decision trusts the local model now: the calibration version in force and the
/// threshold of every cascade that learns its own (`confidence < auto`). An input of the
/// decision, not state inside the executor: the learning loop builds a new one and swaps it
/// whole, and a request keeps the one it started with.
public struct Trust: Sendable, Equatable {
    public var calibration: Calibration
    /// Per rule name: the threshold of that rule's `confidence < auto` cascade.
    public var thresholds: [String: ThresholdInForce]

    public init(calibration: Calibration, thresholds: [String: ThresholdInForce] = [:]) {
        self.calibration = calibration
        self.thresholds = thresholds
    }
}

/// A cascade's verdict on its local answer: the confidence, whether to escalate, and what the
/// learning loop records of it (never the text of the prompt).
public struct CascadeVerdict: Sendable {
    public var confidence: Double?
    public var escalate: Bool
    /// The facts that made the condition hold (`confidence=0.41<0.62`).
    public var facts: [String]
    /// The confidence model's inputs (`ConfidenceModelFeatures.names`), for a label.
    public var features: [Double]
    /// The calibration version that scored it (0: the policy's own).
    public var calibrationVersion: Int
    /// The threshold in force, for a cascade with `confidence < auto`.
    public var threshold: ThresholdInForce?
}
