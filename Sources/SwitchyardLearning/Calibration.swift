import SwitchyardSignals

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One version of the confidence model, as the decision reads it: the fitted model, or none
/// (the geometric-mean token probability), and which labels went into it.
public struct Calibration: Sendable, Equatable {
    /// 0 is the policy's own (its calibration file, or none); each adopted refit is the next.
    public var version: Int
    /// Nil: confidence is the geometric-mean token probability.
    public var model: LogisticModel?
    /// The last label sequence number the fit saw: labels after it are held out from the fit
    /// and may estimate its risk.
    public var fittedThrough: Int64
    /// Labels the fit used.
    public var labelsUsed: Int
    /// Milliseconds since 1970 when it was adopted.
    public var adoptedAtMilliseconds: Int64

    public init(version: Int, model: LogisticModel?, fittedThrough: Int64 = 0, labelsUsed: Int = 0, adoptedAtMilliseconds: Int64 = 0) {
        self.version = version
        self.model = model
        self.fittedThrough = fittedThrough
        self.labelsUsed = labelsUsed
        self.adoptedAtMilliseconds = adoptedAtMilliseconds
    }

    /// The probability this calibration gives that an answer with these features is right.
    public func confidence(_ features: [Double]) -> Double {
        if let model, model.features.count == features.count { return model.probability(features) }
        // Uncalibrated: exp(mean log-probability), the first confidence feature.
        return exp(features.first ?? -10)
    }
}

/// A label as the ledger keeps it: in the order it was recorded, shared by every replica.
public struct StoredLabel: Sendable, Equatable {
    public var sequence: Int64
    public var label: Label

    public init(sequence: Int64, label: Label) {
        self.sequence = sequence
        self.label = label
    }
}
