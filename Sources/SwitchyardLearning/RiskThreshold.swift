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
/// Candidate thresholds are a fixed geometric grid of served-set sizes (every 10% fewer points,
/// from all of them down), chosen before any loss is looked at; sizes too small to pass even
/// with no error are dropped. Each remaining candidate is tested with a Clopper–Pearson bound
/// at δ / K, K the number of candidates, so by the union bound every accepted threshold holds
/// at once with probability ≥ 1 − δ, and so does the lowest. This needs no assumption that the
/// risk falls as the threshold rises — which matters: a bisection (Geifman and El-Yaniv's SGR)
/// was tried first and, when the smallest served sets fail for want of points, misses the
/// thresholds that pass in between.
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
        var best = RiskThreshold(threshold: .infinity, estimatedRisk: 0, riskBound: 0, escalationRate: 1, labels: m)
        guard m > 0, risk > 0, risk < 1 else { return best }
        var sizes = Set<Int>()
        var size = Double(m)
        while size >= 1 {
            sizes.insert(Int(size.rounded(.up)))
            size *= 0.9
        }
        // A set smaller than this fails even with no error at all: not a candidate.
        let smallest = log(delta / Double(sizes.count)) / log(1 - risk)
        let candidates = sizes.filter { Double($0) >= smallest }.sorted(by: >)
        let testDelta = delta / Double(max(1, candidates.count))
        for z in candidates {
            let served = prefix[servedCount(z)]
            let bound = served.upperBound(delta: testDelta)
            if bound <= risk {
                best = RiskThreshold(threshold: sorted[z - 1].confidence, estimatedRisk: served.rate, riskBound: bound,
                                     escalationRate: totalWeight > 0 ? 1 - served.weight / totalWeight : 1, labels: m)
                break
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
