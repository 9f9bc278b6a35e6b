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
/// Fixed-sequence testing (Bates et al., "Learn then Test", 2021): the candidate thresholds serve
/// a geometric grid of set sizes (each 10% larger than the last), tested in a fixed order — from
/// the most confident (the fewest served) down — that depends on the confidences and weights
/// only, never on a verdict. (Every point as a candidate was tried: its many looks let one
/// unlucky bound stop the sequence early, 1 draw in 10 on 3,000 labels.) Each is tested with a
/// Clopper–Pearson bound at the full δ; the sequence stops at the first that fails, and the last
/// that passed is chosen. With probability ≥ 1 − δ no threshold whose true risk exceeds `risk` is
/// accepted, whatever the shape of the risk curve, and no union-bound penalty is paid for a fine
/// grid. The sequence starts at four times the smallest served set that could pass with no error
/// at all (fewer points fail for want of evidence, not of quality, and an early wrong answer or
/// two would stop it at once: starting at once or twice that size certified nothing in 1 draw of
/// 10 on 3,000 labels).
///
/// Earlier designs, measured on the replay harness (docs/routing.md): a bisection (Geifman and
/// El-Yaniv's SGR) missed thresholds that pass between failing ones; a geometric grid with a
/// Bonferroni δ/K never certified a threshold on a few hundred labels.
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
        // A set of fewer (effective) points than `needed` fails even with no error at all. The
        // sequence starts at four times that, where a few wrong answers among the most confident
        // do not end it before it began (or twice, or once, when there are not that many): a
        // choice made from the weights alone.
        let needed = log(delta) / log(1 - risk)
        let start = [4 * needed, 2 * needed, needed].first { prefix[m].effectiveSize >= $0 } ?? needed
        var z = 1
        while z <= m, prefix[servedCount(z)].effectiveSize < start { z = servedCount(z) + 1 }
        while z <= m {
            let count = servedCount(z)
            let served = prefix[count]
            let bound = served.upperBound(delta: delta)
            guard bound <= risk else { break }
            best = RiskThreshold(threshold: sorted[z - 1].confidence, estimatedRisk: served.rate, riskBound: bound,
                                 escalationRate: totalWeight > 0 ? 1 - served.weight / totalWeight : 1, labels: m)
            z = max(count + 1, Int((Double(z) * 1.1).rounded(.up)))
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
