/// Quality-against-cost metrics of a router, computed from per-item outcomes.
///
/// A router is a score per item (higher: send to the cloud). Escalating the top-k items for
/// k = 0…n traces quality against cloud share; RouteLLM's measures summarise that curve:
/// - PGR(c) = (quality(c) − quality_local) / (quality_cloud − quality_local), the share of the
///   gap between the small and the large model recovered at cloud share c;
/// - APGR, the area under PGR over c ∈ [0, 1] (trapezoids over the n + 1 points);
/// - CPT(x), the smallest cloud share whose PGR reaches x.
public struct Outcome: Sendable, Equatable {
    public var localCorrect: Bool
    public var cloudCorrect: Bool
    public init(localCorrect: Bool, cloudCorrect: Bool) {
        self.localCorrect = localCorrect
        self.cloudCorrect = cloudCorrect
    }
}

public struct CurvePoint: Sendable, Equatable {
    public var cloudShare: Double
    public var quality: Double
}

public enum RouterMetrics {
    /// Quality when the items at `escalated` go to the cloud and the rest stay local.
    public static func quality(_ outcomes: [Outcome], escalated: [Bool]) -> Double {
        guard !outcomes.isEmpty else { return 0 }
        var correct = 0
        for (o, e) in zip(outcomes, escalated) where e ? o.cloudCorrect : o.localCorrect { correct += 1 }
        return Double(correct) / Double(outcomes.count)
    }

    /// Escalating items in descending score order (ties in item order), one at a time.
    public static func curve(_ outcomes: [Outcome], scores: [Double]) -> [CurvePoint] {
        let n = outcomes.count
        let order = (0..<n).sorted { scores[$0] > scores[$1] || (scores[$0] == scores[$1] && $0 < $1) }
        var correct = outcomes.filter(\.localCorrect).count
        var points = [CurvePoint(cloudShare: 0, quality: n == 0 ? 0 : Double(correct) / Double(n))]
        for (k, i) in order.enumerated() {
            correct += (outcomes[i].cloudCorrect ? 1 : 0) - (outcomes[i].localCorrect ? 1 : 0)
            points.append(CurvePoint(cloudShare: Double(k + 1) / Double(n), quality: Double(correct) / Double(n)))
        }
        return points
    }

    public static func pgr(_ quality: Double, local: Double, cloud: Double) -> Double {
        cloud == local ? 0 : (quality - local) / (cloud - local)
    }

    public static func apgr(_ curve: [CurvePoint]) -> Double {
        guard let first = curve.first, let last = curve.last, curve.count > 1 else { return 0 }
        var area = 0.0
        for (a, b) in zip(curve, curve.dropFirst()) {
            let pa = pgr(a.quality, local: first.quality, cloud: last.quality)
            let pb = pgr(b.quality, local: first.quality, cloud: last.quality)
            area += (b.cloudShare - a.cloudShare) * (pa + pb) / 2
        }
        return area
    }

    /// The smallest cloud share at which PGR reaches `target` (nil if never).
    public static func cpt(_ curve: [CurvePoint], target: Double) -> Double? {
        guard let first = curve.first, let last = curve.last else { return nil }
        return curve.first { pgr($0.quality, local: first.quality, cloud: last.quality) >= target - 1e-12 }?.cloudShare
    }

    /// Probability that a random positive scores above a random negative (ties count half).
    public static func auroc(scores: [Double], labels: [Bool]) -> Double? {
        let positives = labels.filter { $0 }.count, negatives = labels.count - positives
        guard positives > 0, negatives > 0 else { return nil }
        // Mann–Whitney U through average ranks.
        let order = scores.indices.sorted { scores[$0] < scores[$1] }
        var ranks = [Double](repeating: 0, count: scores.count)
        var i = 0
        while i < order.count {
            var j = i
            while j + 1 < order.count, scores[order[j + 1]] == scores[order[i]] { j += 1 }
            let rank = Double(i + j) / 2 + 1
            for k in i...j { ranks[order[k]] = rank }
            i = j + 1
        }
        let positiveRanks = zip(ranks, labels).filter(\.1).map(\.0).reduce(0, +)
        let u = positiveRanks - Double(positives * (positives + 1)) / 2
        return u / Double(positives * negatives)
    }

    /// Expected calibration error over `bins` equal-width bins of the predicted probability.
    public static func ece(probabilities: [Double], labels: [Bool], bins: Int = 10) -> Double {
        guard !probabilities.isEmpty else { return 0 }
        var sumP = [Double](repeating: 0, count: bins), sumY = [Double](repeating: 0, count: bins), count = [Int](repeating: 0, count: bins)
        for (p, y) in zip(probabilities, labels) {
            let b = min(bins - 1, max(0, Int(p * Double(bins))))
            sumP[b] += p
            sumY[b] += y ? 1 : 0
            count[b] += 1
        }
        var error = 0.0
        for b in 0..<bins where count[b] > 0 {
            error += abs(sumP[b] - sumY[b]) / Double(probabilities.count)
        }
        return error
    }
}
