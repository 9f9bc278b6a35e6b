import SwitchyardWire

#if canImport(Glibc)
import Glibc
#endif

/// What a cascade reads of the local answer's tokens: their log-probabilities and top-k, checked
/// at the boundary, and the uncalibrated confidence. The calibrated one is `Calibration.confidence`
/// (SwitchyardLearning), over `ConfidenceFeatures` and `PromptFeatures`.
public enum ConfidenceScorer {
    /// exp(mean log-probability): the uncalibrated confidence; nil without tokens.
    public static func geometricMean(_ logprobs: [Double]) -> Double? {
        logprobs.isEmpty ? nil : exp(logprobs.reduce(0, +) / Double(logprobs.count))
    }

    /// The per-token log-probabilities and top-k of an OpenAI choice's `logprobs.content`.
    /// An upstream's numbers are not trusted: each is clamped to [-100, 0] (a log-probability),
    /// and one that is not a finite number is left out.
    public static func tokens(_ content: [JSON]) -> (logprobs: [Double], top: [[Double]]) {
        (content.compactMap { logprob($0["logprob"]) },
         content.map { $0["top_logprobs"]?.arrayValue?.compactMap { logprob($0["logprob"]) } ?? [] })
    }

    static func logprob(_ json: JSON?) -> Double? {
        guard let value = json?.doubleValue, value.isFinite else { return nil }
        return min(0, max(-100, value))
    }
}

/// Features of a local answer that predict whether it is right.
public enum ConfidenceFeatures {
    public static let names = ConfidenceModelFeatures.answer

    /// - Parameters:
    ///   - logprobs: each generated token's log-probability;
    ///   - top: the top-k log-probabilities at each position.
    public static func of(logprobs: [Double], top: [[Double]]) -> [Double] {
        let lp = logprobs.isEmpty ? [-10.0] : logprobs
        let sorted = lp.sorted()
        let p10 = sorted[min(sorted.count - 1, sorted.count / 10)]
        var entropy = 0.0, margin = 0.0
        for position in top where !position.isEmpty {
            let probabilities = position.map(exp)
            let total = probabilities.reduce(0, +)
            entropy += probabilities.reduce(0) { $1 > 0 ? $0 - ($1 / total) * log($1 / total) : $0 }
            margin += position.count > 1 ? position[0] - position[1] : 5
        }
        let positions = Double(max(1, top.count))
        let head = lp.prefix(4)
        return [lp.reduce(0, +) / Double(lp.count), sorted[0], p10, entropy / positions, margin / positions,
                log(Double(lp.count + 1)), head.reduce(0, +) / Double(head.count)]
    }
}

/// Features known before generation (the complexity signal's inputs, and the prompt's size).
public enum PromptFeatures {
    public static let names = ConfidenceModelFeatures.prompt

    public static func of(_ request: RequestSummary, promptTokens: Int) -> [Double] {
        let f = ComplexityScorer.features(request)
        return [log(Double(f.words + 1)), Double(min(f.digits, 40)), Double(min(f.mathOperators, 10)), Double(min(f.codeMarkers, 5)),
                Double(min(f.stepCues, 10)), Double(min(f.questionMarks, 5)), log(Double(promptTokens + 1))]
    }
}
