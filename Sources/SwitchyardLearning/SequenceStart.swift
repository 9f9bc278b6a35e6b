/// Where `RiskThreshold`'s test sequence starts: the candidate set from which it would serve the
/// most, on average over verdicts drawn as the confidences themselves predict (a point is wrong
/// with probability 1 − confidence).
///
/// The choice is given the confidences and weights alone, never a loss, so the sequence keeps its
/// guarantee whatever it picks; how well it picks depends on how well the confidences are
/// calibrated. It adapts the start to the labels at hand: on a few dozen labels with one answer in
/// four right it starts at the handful of most confident answers, where a fixed start four times
/// the smallest passable set (the design before) began among wrong answers and certified nothing;
/// on thousands it starts deeper, where a wrong answer or two among the most confident does not
/// end the sequence. When no draw passes anywhere (confidences too pessimistic to predict any
/// pass), it starts at the smallest set that could pass at all. The draws are seeded, so every
/// replica chooses alike from the same labels.
enum SequenceStart {
    /// Draws of verdicts: enough to find the peak of a smooth curve (the expected served share
    /// against the start), few enough that a refit's cost stays small (64 × the labels).
    static let draws = 64

    /// A candidate set: the top `count` points, with what the test reads of its size (never of its losses).
    struct Candidate {
        var count: Int
        /// The set's total weight.
        var weight: Double
        /// Its Kish effective size, at which the bound is computed.
        var effectiveSize: Double
    }

    /// The index in `candidates` to start at, for points sorted by falling confidence with these
    /// confidences and weights.
    static func choose(confidences: [Double], weights: [Double], candidates: [Candidate], risk: Double, delta: Double) -> Int {
        // The most weighted error rate each candidate may show and pass (nil: none passes).
        let limits = candidates.map { candidate -> Double? in
            let n = candidate.effectiveSize
            return BinomialBound.mostErrors(trials: n, withUpperBoundAtMost: risk, delta: delta).map { $0 / n }
        }
        var generator = SplitMix64(seed: 0x5EED_C0DE)
        var served = [Double](repeating: 0, count: candidates.count)
        var passes = [Bool](repeating: false, count: candidates.count)
        for _ in 0..<draws {
            var loss = 0.0, next = 0
            for index in confidences.indices {
                // A uniform draw in [0, 1) from the top 53 bits, written out: this loop runs draws × labels times.
                if Double(generator.next() >> 11) * 0x1p-53 >= confidences[index] { loss += weights[index] }
                while next < candidates.count, candidates[next].count == index + 1 {
                    passes[next] = limits[next].map { loss / candidates[next].weight <= $0 } ?? false
                    next += 1
                }
                if next == candidates.count { break }
            }
            // From each start, the sequence serves up to the last candidate of its run of passes.
            var runEnd: Int?
            for start in candidates.indices.reversed() {
                runEnd = passes[start] ? (runEnd ?? start) : nil
                if let end = runEnd { served[start] += candidates[end].weight }
            }
        }
        guard let most = served.max(), most > 0 else { return limits.firstIndex { $0 != nil } ?? 0 }
        return served.firstIndex(of: most) ?? 0
    }
}
