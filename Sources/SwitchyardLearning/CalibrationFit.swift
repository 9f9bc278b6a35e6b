import SwitchyardSignals

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Fits the confidence model (a logistic regression on standardised features, the same model
/// `switchyard eval fit` writes) to labels, weighted by inverse propensity, shrunk towards a
/// starting model.
///
/// Newton's method on the penalised log-loss: with a ridge penalty the problem is strictly
/// convex, so the result does not depend on where the iteration starts and is reproducible
/// bit for bit. The penalty pulls the weights towards the starting model's (a policy's
/// calibration file), not towards zero: with few labels the fit stays near what the operator
/// shipped, and the labels move it only as far as they carry weight.
public enum CalibrationFit {
    /// - Parameters:
    ///   - rows: feature vectors, each `features.count` long.
    ///   - scores: 1 for a right answer, 0 for a wrong one (graded scores between are allowed).
    ///   - weights: each row's weight (inverse propensity); all positive.
    ///   - prior: the model to shrink towards; its features must be `features`.
    ///   - l2: the penalty per unit of mean loss on the standardised weights' distance from the prior's.
    public static func fit(features: [String], rows: [[Double]], scores: [Double], weights: [Double],
                           prior: LogisticModel? = nil, l2: Double = 0.01) -> LogisticModel {
        let d = features.count
        let totalWeight = weights.reduce(0, +)
        guard d > 0, !rows.isEmpty, totalWeight > 0 else {
            return prior ?? LogisticModel(features: features, mean: .init(repeating: 0, count: d), scale: .init(repeating: 1, count: d),
                                          weights: .init(repeating: 0, count: d), bias: 0)
        }
        // Weighted standardisation.
        var mean = [Double](repeating: 0, count: d), scale = [Double](repeating: 1, count: d)
        for j in 0..<d {
            var sum = 0.0
            for (row, w) in zip(rows, weights) { sum += w * row[j] }
            mean[j] = sum / totalWeight
            var variance = 0.0
            for (row, w) in zip(rows, weights) { variance += w * (row[j] - mean[j]) * (row[j] - mean[j]) }
            variance /= totalWeight
            scale[j] = variance > 1e-12 ? variance.squareRoot() : 1
        }
        let x = rows.map { row in (0..<d).map { (row[$0] - mean[$0]) / scale[$0] } }
        let w = weights.map { $0 / totalWeight }
        // The prior, re-expressed on this standardisation: the same function of the raw features.
        // With a prior the bias is shrunk towards the prior's too; without one it is free.
        var target = [Double](repeating: 0, count: d + 1)
        var beta = [Double](repeating: 0, count: d + 1)  // weights, then the bias
        var penalised = d
        if let prior, prior.features == features, prior.isUsable {
            var bias = prior.bias
            for j in 0..<d {
                target[j] = prior.weights[j] * scale[j] / prior.scale[j]
                bias += prior.weights[j] * (mean[j] - prior.mean[j]) / prior.scale[j]
            }
            target[d] = bias
            beta = target
            penalised = d + 1
        } else {
            let positive = zip(scores, w).reduce(0) { $0 + $1.0 * $1.1 }
            beta[d] = log(max(positive, 1e-3) / max(1 - positive, 1e-3))
        }

        func objective(_ beta: [Double]) -> Double {
            var total = 0.0
            for i in x.indices {
                let z = linear(beta, x[i])
                // log(1 + e^z) − y·z, computed without overflow.
                total += w[i] * ((z > 0 ? z + log1p(exp(-z)) : log1p(exp(z))) - scores[i] * z)
            }
            for j in 0..<penalised { total += l2 / 2 * (beta[j] - target[j]) * (beta[j] - target[j]) }
            return total
        }

        var current = objective(beta)
        for _ in 0..<100 {
            var gradient = [Double](repeating: 0, count: d + 1)
            var hessian = [[Double]](repeating: [Double](repeating: 0, count: d + 1), count: d + 1)
            for i in x.indices {
                let p = sigmoid(linear(beta, x[i]))
                let row = x[i] + [1]
                let g = w[i] * (p - scores[i]), h = w[i] * p * (1 - p)
                for a in 0...d {
                    gradient[a] += g * row[a]
                    for b in 0...a { hessian[a][b] += h * row[a] * row[b] }
                }
            }
            for j in 0..<penalised {
                gradient[j] += l2 * (beta[j] - target[j])
                hessian[j][j] += l2
            }
            hessian[d][d] += 1e-9  // the bias is not penalised; keep the matrix definite on constant labels
            for a in 0...d { for b in 0..<a { hessian[b][a] = hessian[a][b] } }
            guard let step = solve(hessian, gradient) else { break }
            // Damped: halve the step until the objective does not rise.
            var stepSize = 1.0
            var improvement: Double?
            for _ in 0..<30 {
                let candidate = zip(beta, step).map { $0 - stepSize * $1 }
                let value = objective(candidate)
                if value <= current {
                    beta = candidate
                    improvement = current - value
                    current = value
                    break
                }
                stepSize /= 2
            }
            let length = step.reduce(0) { $0 + $1 * $1 }.squareRoot() * stepSize
            guard let improvement, improvement > 1e-15, length > 1e-10 else { break }
        }
        return LogisticModel(features: features, mean: mean, scale: scale, weights: Array(beta[0..<d]), bias: beta[d])
    }

    private static func linear(_ beta: [Double], _ row: [Double]) -> Double {
        var z = beta[row.count]
        for j in row.indices { z += beta[j] * row[j] }
        return z
    }

    static func sigmoid(_ z: Double) -> Double { z >= 0 ? 1 / (1 + exp(-z)) : exp(z) / (1 + exp(z)) }

    /// Solves A·x = b for a symmetric positive-definite A (Cholesky); nil if it is not.
    static func solve(_ a: [[Double]], _ b: [Double]) -> [Double]? {
        let n = b.count
        var l = [[Double]](repeating: [Double](repeating: 0, count: n), count: n)
        for i in 0..<n {
            for j in 0...i {
                var sum = a[i][j]
                for k in 0..<j { sum -= l[i][k] * l[j][k] }
                if i == j {
                    guard sum > 0, sum.isFinite else { return nil }
                    l[i][i] = sum.squareRoot()
                } else {
                    l[i][j] = sum / l[j][j]
                }
            }
        }
        var y = [Double](repeating: 0, count: n)
        for i in 0..<n {
            var sum = b[i]
            for k in 0..<i { sum -= l[i][k] * y[k] }
            y[i] = sum / l[i][i]
        }
        var x = [Double](repeating: 0, count: n)
        for i in stride(from: n - 1, through: 0, by: -1) {
            var sum = y[i]
            for k in (i + 1)..<n { sum -= l[k][i] * x[k] }
            x[i] = sum / l[i][i]
        }
        return x
    }
}
