/// Where `RiskThreshold`'s test sequence starts: the candidate set from which it would serve the
/// most, on average over verdicts drawn as the confidences themselves predict (a point is wrong
/// with probability 1 − confidence).
///
/// The choice reads the confidences and weights alone, never a verdict, so the sequence keeps its
/// guarantee whatever it picks; how well it picks depends on how well the confidences are
/// calibrated. It adapts the start to the labels at hand: on a few dozen labels with one answer in
/// four right it starts at the handful of most confident answers, where a fixed start four times
/// the smallest passable set (the design before) began among wrong answers and certified nothing;
/// on thousands it starts deeper, where a wrong answer or two among the most confident does not
/// end the sequence. The draws are seeded, so every replica chooses alike from the same labels.
enum SequenceStart {
    /// Draws of verdicts: enough to find the peak of a smooth curve (the expected served share
    /// against the start), few enough that a refit's cost stays small (64 × the labels).
    static let draws = 64

    /// The grid of candidate sets over points sorted by falling confidence, with prefix sums.
    struct Candidates {
        let sorted: [ScoredPoint]
        /// `prefix[k]`: the sample the top `k` points make.
        let prefix: [WeightedProportion]
        /// The candidates, as served counts: each at least 10% larger than the last (by rank),
        /// ties at the boundary served together.
        let servedCounts: [Int]

        init(_ sorted: [ScoredPoint]) {
            self.sorted = sorted
            var prefix = [WeightedProportion()]
            prefix.reserveCapacity(sorted.count + 1)
            for point in sorted {
                var next = prefix[prefix.count - 1]
                next.add(point)
                prefix.append(next)
            }
            self.prefix = prefix
            var counts: [Int] = []
            var z = 1
            while z <= sorted.count {
                var count = z
                while count < sorted.count, sorted[count].confidence == sorted[z - 1].confidence { count += 1 }
                counts.append(count)
                z = max(count + 1, Int((Double(z) * 1.1).rounded(.up)))
            }
            servedCounts = counts
        }
    }

    /// The index in `candidates.servedCounts` to start at.
    static func choose(_ candidates: Candidates, risk: Double, delta: Double) -> Int {
        let counts = candidates.servedCounts, prefix = candidates.prefix
        // The most weighted error rate each candidate may show and pass (nil: none passes).
        let limits = counts.map { count -> Double? in
            let n = prefix[count].effectiveSize
            return BinomialBound.mostErrors(trials: n, withUpperBoundAtMost: risk, delta: delta).map { $0 / n }
        }
        var generator = SplitMix64(seed: 0x5EED_C0DE)
        var served = [Double](repeating: 0, count: counts.count)
        var passes = [Bool](repeating: false, count: counts.count)
        for _ in 0..<draws {
            var loss = 0.0, next = 0
            for (index, point) in candidates.sorted.enumerated() where next < counts.count {
                // A uniform draw in [0, 1) from the top 53 bits, written out: this loop runs draws × labels times.
                if Double(generator.next() >> 11) * 0x1p-53 >= point.confidence { loss += point.weight }
                while next < counts.count, counts[next] == index + 1 {
                    passes[next] = limits[next].map { loss / prefix[index + 1].weight <= $0 } ?? false
                    next += 1
                }
            }
            // From each start, the sequence serves up to the last candidate of its run of passes.
            var runEnd: Int?
            for start in counts.indices.reversed() {
                runEnd = passes[start] ? (runEnd ?? start) : nil
                if let end = runEnd { served[start] += prefix[counts[end]].weight }
            }
        }
        var best = 0
        for start in served.indices where served[start] > served[best] { best = start }
        return best
    }
}
