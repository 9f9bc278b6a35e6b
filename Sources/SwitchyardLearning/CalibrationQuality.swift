#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How good a confidence model is on labelled points: its log-loss (what adoption compares)
/// and AUROC (how well it separates right answers from wrong), each with a 95% interval.
/// Points are inverse-propensity weighted, so a sample drawn unevenly from traffic estimates the
/// quality on traffic.
public struct CalibrationQuality: Sendable, Equatable {
    public var logLoss: Double
    /// Half the width of the 95% interval: mean ± 1.96 standard errors at the effective size.
    public var logLossMargin: Double
    /// Nil when the points are all right or all wrong.
    public var auroc: Double?
    /// Hanley and McNeil's (1982) standard error at the effective sizes of each class, × 1.96.
    public var aurocMargin: Double?
    public var labels: Int

    public static let z95 = 1.959964

    public init(_ points: [ScoredPoint]) {
        labels = points.count
        var total = WeightedProportion()
        var losses: [(Double, Double)] = []
        for point in points where point.weight > 0 {
            let p = min(max(point.confidence, 1e-6), 1 - 1e-6)
            // The verdict's score is 1 − loss: a right answer has loss 0.
            let value = -((1 - point.loss) * log(p) + point.loss * log(1 - p))
            losses.append((value, point.weight))
            total.add(point)
        }
        let weight = total.weight
        let mean = weight > 0 ? losses.reduce(0) { $0 + $1.0 * $1.1 } / weight : 0
        let variance = weight > 0 ? losses.reduce(0) { $0 + $1.1 * ($1.0 - mean) * ($1.0 - mean) } / weight : 0
        logLoss = mean
        let n = total.effectiveSize
        logLossMargin = n > 1 ? Self.z95 * (variance / n).squareRoot() : .infinity
        (auroc, aurocMargin) = Self.auroc(points)
    }

    /// The probability that a right answer is scored above a wrong one (ties count half), weighted.
    static func auroc(_ points: [ScoredPoint]) -> (Double?, Double?) {
        // A graded verdict counts as right when at least half right.
        let sorted = points.filter { $0.weight > 0 }.sorted { $0.confidence < $1.confidence }
        var right = WeightedProportion(), wrong = WeightedProportion()
        for point in sorted { if point.loss < 0.5 { right.add(point) } else { wrong.add(point) } }
        guard right.weight > 0, wrong.weight > 0 else { return (nil, nil) }
        // Walk up the scores: each right answer beats the wrong weight below it, and ties with half.
        var wrongBelow = 0.0, pairs = 0.0
        var i = 0
        while i < sorted.count {
            var j = i, rightHere = 0.0, wrongHere = 0.0
            while j < sorted.count, sorted[j].confidence == sorted[i].confidence {
                if sorted[j].loss < 0.5 { rightHere += sorted[j].weight } else { wrongHere += sorted[j].weight }
                j += 1
            }
            pairs += rightHere * (wrongBelow + wrongHere / 2)
            wrongBelow += wrongHere
            i = j
        }
        let a = pairs / (right.weight * wrong.weight)
        let n1 = right.effectiveSize, n2 = wrong.effectiveSize
        let q1 = a / (2 - a), q2 = 2 * a * a / (1 + a)
        let variance = (a * (1 - a) + (n1 - 1) * (q1 - a * a) + (n2 - 1) * (q2 - a * a)) / (n1 * n2)
        return (a, Self.z95 * max(variance, 0).squareRoot())
    }
}
