/// Points scored by a model, with the answer's loss and its inverse-propensity weight: what the
/// threshold and the calibration's quality are estimated from.
public struct ScoredPoint: Sendable, Equatable {
    /// The probability the model gives that the local answer is right.
    public var confidence: Double
    /// 1 − the verdict's score: 1 for a wrong answer.
    public var loss: Double
    public var weight: Double

    public init(confidence: Double, loss: Double, weight: Double) {
        self.confidence = confidence
        self.loss = loss
        self.weight = weight
    }
}

/// Sums over a weighted sample, read as an estimate of a proportion.
struct WeightedProportion {
    var weight = 0.0
    var squaredWeight = 0.0
    var loss = 0.0

    mutating func add(_ point: ScoredPoint) {
        weight += point.weight
        squaredWeight += point.weight * point.weight
        loss += point.weight * point.loss
    }

    /// The weighted share of loss.
    var rate: Double { weight > 0 ? loss / weight : 0 }

    /// Kish's effective sample size: n when the weights are equal, less when they are not.
    var effectiveSize: Double { squaredWeight > 0 ? weight * weight / squaredWeight : 0 }

    /// An upper bound on the rate, holding with probability at least 1 − `delta`.
    func upperBound(delta: Double) -> Double {
        let n = effectiveSize
        return BinomialBound.upper(errors: rate * n, trials: n, delta: delta)
    }

    func lowerBound(delta: Double) -> Double {
        let n = effectiveSize
        return BinomialBound.lower(errors: rate * n, trials: n, delta: delta)
    }
}
