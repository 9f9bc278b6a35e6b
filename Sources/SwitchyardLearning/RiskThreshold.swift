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
/// a start down to larger sets — that depends on the confidences and weights only, never on a
/// verdict. Each is tested with a Clopper–Pearson bound at the full δ; the sequence stops at the
/// first that fails, and the last that passed is chosen. With probability ≥ 1 − δ no threshold
/// whose true risk exceeds `risk` is accepted, whatever the shape of the risk curve, and no
/// union-bound penalty is paid for a fine grid.
///
/// Where the sequence starts decides its power, not its guarantee: too small a set fails for want
/// of evidence, too large a one for want of quality, and either ends the sequence before it
/// begins. The start is the candidate from which the sequence would serve the most if the
/// confidences were right (`SequenceStart`).
///
/// Earlier designs, measured on the replay harness (docs/routing.md): a bisection (Geifman and
/// El-Yaniv's SGR) missed thresholds that pass between failing ones; a geometric grid with a
/// Bonferroni δ/K never certified a threshold on a few hundred labels; every point as a
/// candidate let one unlucky bound stop the sequence early; a start at four times the smallest
/// set that could pass with no error certified nothing on the replay's few dozen labels.
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
        var best = RiskThreshold(threshold: .infinity, estimatedRisk: 0, riskBound: 0, escalationRate: 1, labels: m)
        guard m > 0, risk > 0, risk < 1 else { return best }
        // Prefix sums: the sample served when the top `k` points are.
        var prefix = [WeightedProportion()]
        prefix.reserveCapacity(m + 1)
        for point in sorted {
            var next = prefix[prefix.count - 1]
            next.add(point)
            prefix.append(next)
        }
        // The candidates, as served counts: each at least 10% larger than the last (by rank), ties
        // at the boundary served together.
        var counts: [Int] = []
        var z = 1
        while z <= m {
            var count = z
            while count < m, sorted[count].confidence == sorted[z - 1].confidence { count += 1 }
            counts.append(count)
            z = max(count + 1, Int((Double(z) * 1.1).rounded(.up)))
        }
        let candidates = counts.map { SequenceStart.Candidate(count: $0, weight: prefix[$0].weight, effectiveSize: prefix[$0].effectiveSize) }
        let start = SequenceStart.choose(confidences: sorted.map(\.confidence), weights: sorted.map(\.weight), candidates: candidates,
                                         risk: risk, delta: delta)
        for count in counts[start...] {
            let served = prefix[count]
            let bound = served.upperBound(delta: delta)
            guard bound <= risk else { break }
            best = RiskThreshold(threshold: sorted[count - 1].confidence, estimatedRisk: served.rate, riskBound: bound,
                                 escalationRate: prefix[m].weight > 0 ? 1 - served.weight / prefix[m].weight : 1, labels: m)
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
