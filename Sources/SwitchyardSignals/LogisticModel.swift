import SwitchyardWire

#if canImport(Glibc)
import Glibc
#endif

/// A logistic regression on standardised features: what the calibrators are. Fitted by
/// gradient descent with a little L2 regularisation; a handful of features needs nothing more.
public struct LogisticModel: Sendable, Equatable {
    public var features: [String]
    public var mean: [Double]
    public var scale: [Double]
    public var weights: [Double]
    public var bias: Double

    public init(features: [String], mean: [Double], scale: [Double], weights: [Double], bias: Double) {
        self.features = features
        self.mean = mean
        self.scale = scale
        self.weights = weights
        self.bias = bias
    }

    /// Reads one model (`confidence` or `complexity`) of a weights file written by `switchyard eval fit`.
    public init?(json: JSON, key: String = "confidence") {
        guard let model = json[key], let names = model["features"]?.arrayValue?.compactMap(\.stringValue),
              let mean = model["mean"]?.arrayValue?.compactMap(\.doubleValue), let scale = model["scale"]?.arrayValue?.compactMap(\.doubleValue),
              let weights = model["weights"]?.arrayValue?.compactMap(\.doubleValue), let bias = model["bias"]?.doubleValue,
              mean.count == names.count, scale.count == names.count, weights.count == names.count else { return nil }
        self.init(features: names, mean: mean, scale: scale, weights: weights, bias: bias)
    }

    /// Whether the weights can be applied without producing NaN: every number finite and every
    /// scale positive (a calibration file is read from disk and may have been edited by hand).
    public var isUsable: Bool {
        (mean + scale + weights + [bias]).allSatisfy(\.isFinite) && scale.allSatisfy { $0 > 0 }
    }

    public func json(predicts: String = "probability that the local answer is right") -> JSONObject {
        [
            "kind": .string("logistic"),
            "predicts": .string(predicts),
            "features": .array(features.map(JSON.string)),
            "mean": .array(mean.map(JSON.double)), "scale": .array(scale.map(JSON.double)),
            "weights": .array(weights.map(JSON.double)), "bias": .double(bias),
        ]
    }

    public func probability(_ x: [Double]) -> Double {
        var z = bias
        for i in weights.indices { z += weights[i] * (x[i] - mean[i]) / scale[i] }
        return 1 / (1 + exp(-z))
    }

    public static func fit(features: [String], rows: [[Double]], labels: [Bool], l2: Double = 0.01, iterations: Int = 2000, rate: Double = 0.5) -> LogisticModel {
        let d = features.count, n = Double(max(1, rows.count))
        var mean = [Double](repeating: 0, count: d), scale = [Double](repeating: 1, count: d)
        for j in 0..<d {
            let column = rows.map { $0[j] }
            mean[j] = column.reduce(0, +) / n
            let variance = column.reduce(0) { $0 + ($1 - mean[j]) * ($1 - mean[j]) } / n
            scale[j] = variance > 1e-12 ? variance.squareRoot() : 1
        }
        let x = rows.map { row in (0..<d).map { (row[$0] - mean[$0]) / scale[$0] } }
        var w = [Double](repeating: 0, count: d)
        let positives = Double(labels.filter { $0 }.count)
        var b = log(max(positives, 0.5) / max(n - positives, 0.5))
        for _ in 0..<iterations {
            var gw = [Double](repeating: 0, count: d), gb = 0.0
            for (row, label) in zip(x, labels) {
                var z = b
                for j in 0..<d { z += w[j] * row[j] }
                let error = 1 / (1 + exp(-z)) - (label ? 1 : 0)
                for j in 0..<d { gw[j] += error * row[j] }
                gb += error
            }
            for j in 0..<d { w[j] -= rate * (gw[j] / n + l2 * w[j]) }
            b -= rate * gb / n
        }
        return LogisticModel(features: features, mean: mean, scale: scale, weights: w, bias: b)
    }
}

/// The inputs of the confidence model, in order: features of the local answer's tokens, then
/// of the prompt. A weights file must name exactly these.
public enum ConfidenceModelFeatures {
    public static let answer = ["mean_logprob", "min_logprob", "p10_logprob", "mean_entropy", "mean_margin", "log_tokens", "first4_logprob"]
    public static let prompt = ["log_words", "digits", "math_operators", "code_markers", "step_cues", "questions", "log_prompt_tokens"]
    public static let names = answer + prompt
}
