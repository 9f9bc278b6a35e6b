import Testing
import SwitchyardSignals
import SwitchyardEval
@testable import SwitchyardLearning

#if canImport(Glibc)
import Glibc
#endif

/// The pure pieces of the learning loop: bounds, the risk threshold, the fit, adoption, drift.
/// Expectations come from closed forms, brute force or the data's own generating process,
/// never from the code under test.
@Suite("Learning")
struct LearningTests {
    /// P(Bin(n, p) ≤ k), summed directly.
    static func binomialCDF(_ k: Int, _ n: Int, _ p: Double) -> Double {
        var total = 0.0
        for i in 0...k {
            let logTerm = lgamma(Double(n + 1)) - lgamma(Double(i + 1)) - lgamma(Double(n - i + 1)) + Double(i) * log(p) + Double(n - i) * log(1 - p)
            total += exp(logTerm)
        }
        return total
    }

    @Test("Clopper–Pearson bounds: the closed form at zero errors, the binomial tail elsewhere")
    func clopperPearson() {
        // No errors: the upper bound solves (1 − p)^n = δ.
        for n in [1, 5, 10, 29, 100] {
            let expected = 1 - pow(0.05, 1 / Double(n))
            #expect(abs(BinomialBound.upper(errors: 0, trials: Double(n), delta: 0.05) - expected) < 1e-9)
        }
        // Elsewhere the upper bound p makes seeing at most k errors exactly δ likely.
        for (k, n) in [(1, 10), (3, 20), (10, 50), (49, 50)] {
            let p = BinomialBound.upper(errors: Double(k), trials: Double(n), delta: 0.05)
            #expect(abs(Self.binomialCDF(k, n, p) - 0.05) < 1e-7, "k=\(k) n=\(n) p=\(p)")
            let q = BinomialBound.lower(errors: Double(k), trials: Double(n), delta: 0.05)
            // Seeing at least k errors under the lower bound is δ likely.
            #expect(abs((1 - Self.binomialCDF(k - 1, n, q)) - 0.05) < 1e-7, "k=\(k) n=\(n) q=\(q)")
        }
        #expect(BinomialBound.upper(errors: 5, trials: 5, delta: 0.05) == 1)
        #expect(BinomialBound.lower(errors: 0, trials: 5, delta: 0.05) == 0)
        #expect(BinomialBound.upper(errors: 0, trials: 0, delta: 0.05) == 1)
    }

    /// Perfectly calibrated points: confidence c uniform, wrong with probability 1 − c. The risk
    /// among points with c ≥ t is then (1 − t) / 2.
    static func calibratedPoints(_ n: Int, _ generator: inout SplitMix64, keepAbove: Double = 2, keepRate: Double = 1) -> [ScoredPoint] {
        var points: [ScoredPoint] = []
        while points.count < n {
            let c = Double.random(in: 0..<1, using: &generator)
            let wrong = Double.random(in: 0..<1, using: &generator) > c
            // A sampling design: above `keepAbove` only a `keepRate` share is labelled.
            if c >= keepAbove, Double.random(in: 0..<1, using: &generator) >= keepRate { continue }
            points.append(ScoredPoint(confidence: c, loss: wrong ? 1 : 0, weight: c >= keepAbove ? 1 / keepRate : 1))
        }
        return points
    }

    @Test("The risk threshold holds its bound: across 200 draws the true risk exceeds it in at most δ of them")
    func riskThresholdCoverage() {
        var generator = SplitMix64(seed: 42)
        let risk = 0.1, delta = 0.05
        var violations = 0, thresholds: [Double] = []
        for _ in 0..<200 {
            let chosen = RiskThreshold.choose(Self.calibratedPoints(3000, &generator), risk: risk, delta: delta)
            let trueRisk = chosen.threshold.isFinite ? (1 - chosen.threshold) / 2 : 0
            if trueRisk > risk { violations += 1 }
            thresholds.append(chosen.threshold)
        }
        // δ = 0.05 of 200 is 10; allow Monte Carlo noise (the binomial 99.9% quantile is 21).
        #expect(violations <= 21, "\(violations) of 200 draws broke the bound")
        // And it is not vacuous: the best threshold is 0.8, and 3000 labels usually get near it
        // (an unlucky draw may certify nothing, and then escalates everything).
        let finite = thresholds.filter(\.isFinite)
        let mean = finite.reduce(0, +) / Double(max(1, finite.count))
        #expect(finite.count >= 180 && mean > 0.8 && mean < 0.9, "\(finite.count) finite, mean threshold \(mean)")
    }

    @Test("Weighted labels (a shadow rate above the threshold) still bound the risk of the traffic")
    func riskThresholdWeighted() {
        var generator = SplitMix64(seed: 7)
        var violations = 0
        for _ in 0..<200 {
            // Escalations below 0.5 are all labelled; above it, one request in five is shadowed.
            let points = Self.calibratedPoints(1500, &generator, keepAbove: 0.5, keepRate: 0.2)
            let chosen = RiskThreshold.choose(points, risk: 0.1, delta: 0.05)
            if chosen.threshold.isFinite, (1 - chosen.threshold) / 2 > 0.1 { violations += 1 }
        }
        #expect(violations <= 20, "\(violations) of 200 draws broke the bound")
    }

    /// Points like the replay's measuring half: one answer in four right, ranked well (a latent
    /// score z, right with probability σ(−2.2 + 3z)), the confidence that probability.
    static func fewRightPoints(_ n: Int, _ generator: inout SplitMix64) -> [ScoredPoint] {
        (0..<n).map { _ in
            let c = fewRightConfidence(&generator)
            return ScoredPoint(confidence: c, loss: Double.random(in: 0..<1, using: &generator) < c ? 0 : 1, weight: 1)
        }
    }

    static func fewRightConfidence(_ generator: inout SplitMix64) -> Double {
        // Box–Muller: a standard normal from two uniforms.
        let u = Double.random(in: Double.ulpOfOne..<1, using: &generator), v = Double.random(in: 0..<1, using: &generator)
        let z = (-2 * log(u)).squareRoot() * cos(2 * .pi * v)
        return 1 / (1 + exp(2.2 - 3 * z))
    }

    @Test("On a few dozen labels with one answer in four right, the bound still certifies a threshold, and holds")
    func riskThresholdFewLabels() {
        var generator = SplitMix64(seed: 21)
        // The true risk of serving confidence ≥ t, from a large population: the mean of 1 − c above t.
        let population = (0..<200_000).map { _ in Self.fewRightConfidence(&generator) }.sorted(by: >)
        func trueRisk(_ t: Double) -> Double {
            let served = population.prefix { $0 >= t }
            return served.isEmpty ? 0 : served.reduce(0) { $0 + (1 - $1) } / Double(served.count)
        }
        var certified = 0, violations = 0
        for _ in 0..<200 {
            let chosen = RiskThreshold.choose(Self.fewRightPoints(62, &generator), risk: 0.3, delta: 0.05)
            guard chosen.threshold.isFinite else { continue }
            certified += 1
            if trueRisk(chosen.threshold) > 0.3 { violations += 1 }
        }
        // At most δ of all draws (10): the guarantee is per draw, certified or not.
        #expect(violations <= 10, "\(violations) of 200 draws broke the bound")
        // A start fixed at four times the smallest passable set (33 of these 62 points, most of
        // them wrong) certified none of these draws.
        #expect(certified >= 40, "certified in \(certified) of 200 draws, \(violations) over the bound")
    }

    @Test("Confidences too pessimistic to predict any pass still let right answers be certified")
    func riskThresholdPessimistic() {
        // Every answer right, each given a confidence of 0.1 to 0.3: no simulated draw passes
        // anywhere, and a start at the single most confident answer could never pass.
        let points = (0..<62).map { ScoredPoint(confidence: 0.1 + 0.2 * Double($0) / 62, loss: 0, weight: 1) }
        let chosen = RiskThreshold.choose(points, risk: 0.3, delta: 0.05)
        #expect(chosen.threshold.isFinite && chosen.escalationRate < 0.5, "\(chosen)")
    }

    @Test("With nothing that meets the bound, everything escalates")
    func riskThresholdNothingServed() {
        let points = (0..<50).map { ScoredPoint(confidence: Double($0) / 50, loss: 1, weight: 1) }
        let chosen = RiskThreshold.choose(points, risk: 0.05, delta: 0.05)
        #expect(chosen.threshold == .infinity)
        #expect(chosen.escalationRate == 1)
    }

    @Test("The fit recovers the model that generated the labels, and equals the gradient-descent fit")
    func fitRecovers() {
        var generator = SplitMix64(seed: 3)
        let trueWeights = [1.5, -2.0], trueBias = 0.3
        var rows: [[Double]] = [], scores: [Double] = []
        for _ in 0..<20_000 {
            let x = [Double.random(in: -2...2, using: &generator), Double.random(in: -1...3, using: &generator)]
            let p = 1 / (1 + exp(-(trueBias + trueWeights[0] * x[0] + trueWeights[1] * x[1])))
            rows.append(x)
            scores.append(Double.random(in: 0..<1, using: &generator) < p ? 1 : 0)
        }
        let model = CalibrationFit.fit(features: ["a", "b"], rows: rows, scores: scores, weights: rows.map { _ in 1 }, l2: 0)
        // Back to raw-feature coefficients.
        let raw = zip(model.weights, model.scale).map { $0 / $1 }
        let bias = model.bias - zip(raw, model.mean).reduce(0) { $0 + $1.0 * $1.1 }
        #expect(abs(raw[0] - 1.5) < 0.1 && abs(raw[1] + 2.0) < 0.1 && abs(bias - 0.3) < 0.1, "\(raw) \(bias)")
        let descent = LogisticModel.fit(features: ["a", "b"], rows: rows, labels: scores.map { $0 == 1 }, l2: 0.01)
        let newton = CalibrationFit.fit(features: ["a", "b"], rows: rows, scores: scores, weights: rows.map { _ in 1 }, l2: 0.01)
        for row in rows.prefix(200) { #expect(abs(descent.probability(row) - newton.probability(row)) < 2e-3) }
    }

    @Test("A strong prior holds the fit to it; no prior and no penalty lets the labels decide")
    func fitShrinksToPrior() {
        let prior = LogisticModel(features: ["a"], mean: [1], scale: [2], weights: [3], bias: -1)
        let rows = (0..<40).map { [Double($0 % 7)] }, scores = (0..<40).map { Double($0 % 2) }
        let held = CalibrationFit.fit(features: ["a"], rows: rows, scores: scores, weights: rows.map { _ in 1 }, prior: prior, l2: 1e6)
        for x in [-3.0, 0, 2, 5] { #expect(abs(held.probability([x]) - prior.probability([x])) < 0.02) }
    }

    @Test("AUROC and log-loss equal their brute-force definitions, weights and ties included")
    func quality() {
        var generator = SplitMix64(seed: 11)
        let points = (0..<300).map { _ in
            ScoredPoint(confidence: Double(Int.random(in: 0...20, using: &generator)) / 20,
                        loss: Bool.random(using: &generator) ? 1 : 0, weight: Double.random(in: 0.5...3, using: &generator))
        }
        var pairs = 0.0, norm = 0.0
        for a in points where a.loss == 0 {
            for b in points where b.loss == 1 {
                pairs += a.weight * b.weight * (a.confidence > b.confidence ? 1 : a.confidence == b.confidence ? 0.5 : 0)
                norm += a.weight * b.weight
            }
        }
        let quality = CalibrationQuality(points)
        #expect(abs((quality.auroc ?? -1) - pairs / norm) < 1e-12)
        let clamp = { (p: Double) in min(max(p, 1e-6), 1 - 1e-6) }
        let direct = points.reduce(0) { $0 + $1.weight * -($1.loss == 0 ? log(clamp($1.confidence)) : log(1 - clamp($1.confidence))) }
            / points.reduce(0) { $0 + $1.weight }
        #expect(abs(quality.logLoss - direct) < 1e-12)
    }

    static func labels(_ n: Int, from start: Int64 = 1, _ generator: inout SplitMix64, truth: LogisticModel) -> [StoredLabel] {
        (0..<n).map { i in
            let features = ConfidenceModelFeatures.names.map { _ in Double.random(in: -1...1, using: &generator) }
            let right = Double.random(in: 0..<1, using: &generator) < truth.probability(features)
            return StoredLabel(sequence: start + Int64(i), label: Label(requestID: "r\(i)", source: .shadow, features: features,
                                                                        score: right ? 1 : 0, propensity: 1, calibrationVersion: 0,
                                                                        recordedAtMilliseconds: Int64(i)))
        }
    }

    static let truth: LogisticModel = {
        let d = ConfidenceModelFeatures.names.count
        return LogisticModel(features: ConfidenceModelFeatures.names, mean: .init(repeating: 0, count: d), scale: .init(repeating: 1, count: d),
                             weights: (0..<d).map { $0 % 2 == 0 ? 2.0 : -1.0 }, bias: 0.2)
    }()

    @Test("A refit better than the calibration in force is adopted; one that is worse is not")
    func refitAdoption() {
        var generator = SplitMix64(seed: 5)
        let labels = Self.labels(600, &generator, truth: Self.truth)
        // In force: a model that knows nothing (every weight zero) → the refit beats it.
        let blind = Calibration(version: 4, model: LogisticModel(features: ConfidenceModelFeatures.names,
                                                                 mean: Self.truth.mean, scale: Self.truth.scale,
                                                                 weights: Self.truth.weights.map { _ in 0 }, bias: 0))
        guard case .adopted(let adopted, let candidate, let current) = Refit().run(labels, current: blind, prior: nil, now: 99) else {
            Issue.record("a better refit was not adopted")
            return
        }
        #expect(adopted.version == 5 && candidate.logLoss < current.logLoss)
        let fitHalf = labels.filter { $0.label.half == .fit }
        #expect(adopted.fittedThrough == fitHalf.last?.sequence && adopted.labelsUsed == fitHalf.count)
        #expect(fitHalf.count > 240 && fitHalf.count < 360, "the request id splits the labels about in half")
        // In force: the true model; the fit half of the labels is noise (labels flipped at random),
        // the other half follows the truth → the candidate is worse there and is rejected.
        var noisy = labels
        for i in noisy.indices where noisy[i].label.half == .fit { noisy[i].label.score = Bool.random(using: &generator) ? 1 : 0 }
        let outcome = Refit().run(noisy, current: Calibration(version: 4, model: Self.truth), prior: nil, now: 99)
        guard case .rejected(let worse, let inForce) = outcome else {
            Issue.record("a worse refit was adopted: \(outcome)")
            return
        }
        #expect(worse.logLoss > inForce.logLoss)
    }

    @Test("Too few labels: the rule's threshold, or the default; enough: the risk bound's")
    func thresholdFallback() {
        var generator = SplitMix64(seed: 9)
        let calibration = Calibration(version: 2, model: Self.truth)
        let few = Self.labels(10, &generator, truth: Self.truth)
        let rule = ThresholdInForce.compute(few, calibration: calibration, risk: 0.2, delta: 0.05, minimumLabels: 30, recentWindow: 100, fallback: (0.6, .rule))
        #expect(rule.value == 0.6 && rule.source == .rule && rule.labels == few.filter { $0.label.half == .bound }.count && rule.calibrationVersion == 2)
        let many = Self.labels(800, &generator, truth: Self.truth)
        let bound = ThresholdInForce.compute(many, calibration: calibration, risk: 0.2, delta: 0.05, minimumLabels: 30, recentWindow: 1000, fallback: (0.6, .rule))
        #expect(bound.source == .risk && bound.labels == many.filter { $0.label.half == .bound }.count && !bound.drift)
        // The true risk at that threshold (the labels follow `truth`, so its confidence is exact), on fresh labels:
        let fresh = Self.labels(20_000, &generator, truth: Self.truth).map { Refit.point($0.label, calibration) }
        #expect(RiskThreshold.evaluate(fresh, threshold: bound.value, delta: 0.05).risk <= 0.2)
        // Labels of the half calibrations are fitted on never estimate the risk.
        let fitHalf = many.filter { $0.label.half == .fit }
        #expect(ThresholdInForce.compute(fitHalf, calibration: calibration, risk: 0.2, delta: 0.05, minimumLabels: 30, recentWindow: 100,
                                         fallback: (0.5, .policyDefault)).source == .policyDefault)
    }

    @Test("Drift: recent labels worse than the bound raise the threshold")
    func drift() {
        var generator = SplitMix64(seed: 13)
        let calibration = Calibration(version: 1, model: Self.truth)
        var labels = Self.labels(1500, &generator, truth: Self.truth)
        let steady = ThresholdInForce.compute(labels, calibration: calibration, risk: 0.15, delta: 0.05, minimumLabels: 30, recentWindow: 300, fallback: (0.5, .rule))
        #expect(!steady.drift)
        // The model's answers get worse: the newest 200 are wrong half the time whatever the confidence.
        for i in 1300..<1500 { labels[i].label.score = Bool.random(using: &generator) ? 1 : 0 }
        let drifted = ThresholdInForce.compute(labels, calibration: calibration, risk: 0.15, delta: 0.05, minimumLabels: 30, recentWindow: 200, fallback: (0.5, .rule))
        #expect(steady.value.isFinite, "\(steady)")
        #expect(drifted.drift, "\(steady) → \(drifted)")
        #expect(drifted.value > steady.value)
    }

    @Test("Refits are due every N labels, or after T with new labels only")
    func schedule() {
        var schedule = RefitSchedule(everyLabels: 50, everyMilliseconds: 60_000, startedAt: 0)
        #expect(!schedule.isDue(labels: 49, now: 1000))
        #expect(schedule.isDue(labels: 50, now: 1000))
        schedule.ran(labels: 50, now: 1000)
        #expect(!schedule.isDue(labels: 50, now: 1_000_000))
        #expect(schedule.isDue(labels: 51, now: 61_000))
        #expect(!schedule.isDue(labels: 51, now: 60_999))
    }

    @Test("A judge's reply is a verdict only when it is exactly one of the two words", arguments: [
        ("correct", true), ("Correct.", true), ("  INCORRECT\n", false), ("\"incorrect\"", false), ("**correct**", true),
        ("The answer is correct", nil), ("correct, mostly", nil), ("", nil), ("yes", nil), ("incorrect.\nBecause…", nil),
    ] as [(String, Bool?)])
    func verdicts(_ reply: String, _ expected: Bool?) {
        #expect(Judgement.verdict(reply) == expected)
    }

    @Test("Matchers compare a local answer with the cloud's", arguments: [
        (Judgement.Matcher.number, "The sum is 19,671.", "19671", true as Bool?),
        (.number, "It is 12", "13", false), (.number, "no digits", "7", false), (.number, "7", "seven", nil),
        (.exactWord, "The capital is Ankara.", "Ankara.", true), (.exactWord, "Ankaran", "Ankara", false),
        (.contains, "paris, of course", "Paris", true), (.contains, "London", "Paris", false), (.contains, "x", "  ", nil),
    ] as [(Judgement.Matcher, String, String, Bool?)])
    func matchers(_ matcher: Judgement.Matcher, _ candidate: String, _ reference: String, _ expected: Bool?) {
        #expect(matcher.agrees(candidate: candidate, reference: reference) == expected)
    }
}
