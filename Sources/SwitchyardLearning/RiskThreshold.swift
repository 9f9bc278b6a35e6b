#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The lowest escalation threshold whose risk among the answers it keeps on the box is bounded.
///
/// A cascade escalates when `confidence < threshold`. For a threshold t, the box serves the
/// requests with confidence ≥ t; their risk is the share of wrong answers among them. Given
/// labelled points (confidence, loss, inverse-propensity weight), this finds the lowest t —
/// the most served on the box, the lowest escalation rate — whose upper confidence bound on
/// that risk is at most `risk`.
///
/// The search is Geifman and El-Yaniv's "selection with guaranteed risk" (2017): a bisection
/// over the number of points served, each step testing one threshold with a Clopper–Pearson
/// bound at δ / k, where k is the number of steps the bisection can take. The union bound over
/// those k tests makes every threshold it accepts hold at once with probability ≥ 1 − δ, so
/// the one chosen does, without assuming the risk is monotone in the threshold.
public struct RiskThreshold: Sendable, Equatable {
    /// Escalate when confidence is below this; `.infinity` escalates everything (no threshold
    /// met the bound: nothing may be served on the box).
    public var threshold: Double
    /// The estimated risk among points at or above the threshold (0 when none).
    public var estimatedRisk: Double
    /// Its upper confidence bound (what was compared with `risk`).
    public var riskBound: Double
    /// The estimated share of requests escalated at this threshold.
    public var escalationRate: Double
    /// Labels the estimate rests on.
    public var labels: Int

    public static func choose(_ points: [ScoredPoint], risk: Double, delta: Double) -> RiskThreshold {
        let sorted = points.filter { $0.confidence.isFinite && $0.weight > 0 }.sorted { $0.confidence > $1.confidence }
        let m = sorted.count
        let totalWeight = sorted.reduce(0) { $0 + $1.weight }
        // Prefix sums: the sample served when the top `z` points (and any tied with the z-th) are.
        var prefix = [WeightedProportion()]
        prefix.reserveCapacity(m + 1)
        for point in sorted {
            var next = prefix[prefix.count - 1]
            next.add(point)
            prefix.append(next)
        }
        /// The number of points served at the z-th confidence: ties are served together.
        func servedCount(_ z: Int) -> Int {
            var count = z
            while count < m, sorted[count].confidence == sorted[z - 1].confidence { count += 1 }
            return count
        }
        let steps = max(1, Int(ceil(log2(Double(m + 1)))))
        let stepDelta = delta / Double(steps)
        var best = RiskThreshold(threshold: .infinity, estimatedRisk: 0, riskBound: 0, escalationRate: 1, labels: m)
        var low = 0, high = m
        while low < high {
            let z = (low + high + 1) / 2
            let served = prefix[servedCount(z)]
            let bound = served.upperBound(delta: stepDelta)
            if bound <= risk {
                low = z
                best = RiskThreshold(threshold: sorted[z - 1].confidence, estimatedRisk: served.rate, riskBound: bound,
                                     escalationRate: totalWeight > 0 ? 1 - served.weight / totalWeight : 1, labels: m)
            } else {
                high = z - 1
            }
        }
        return best
    }

    /// The risk among points a given threshold serves, with its bound at `delta` (one test, no bisection).
    public static func evaluate(_ points: [ScoredPoint], threshold: Double, delta: Double) -> (served: Double, risk: Double, lower: Double, upper: Double) {
        var served = WeightedProportion()
        var total = 0.0
        for point in points where point.weight > 0 {
            total += point.weight
            if point.confidence >= threshold { served.add(point) }
        }
        return (total > 0 ? served.weight / total : 0, served.rate, served.lowerBound(delta: delta), served.upperBound(delta: delta))
    }
}
