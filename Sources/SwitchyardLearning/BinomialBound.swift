#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Exact (Clopper–Pearson) confidence bounds on a binomial proportion: what the risk bound is
/// built on. Written here because no library in the package catalogue has the regularised
/// incomplete beta function; it is the textbook continued fraction (Lentz's method), and the
/// quantile is found by bisection, which cannot fail to converge.
///
/// Counts may be fractional: a weighted sample is read at its effective size (Kish), which is
/// exact when the weights are equal and an approximation otherwise (docs/routing.md).
public enum BinomialBound {
    /// The smallest `p` such that seeing at most `errors` in `trials` has probability at most
    /// `delta` under `p`: with probability at least `1 - delta`, the true rate is at most this.
    public static func upper(errors: Double, trials: Double, delta: Double) -> Double {
        guard trials > 0, delta > 0, delta < 1 else { return 1 }
        let k = min(max(errors, 0), trials)
        if k >= trials { return 1 }
        return betaQuantile(1 - delta, a: k + 1, b: trials - k)
    }

    /// The largest `p` such that seeing at least `errors` in `trials` has probability at most `delta`.
    public static func lower(errors: Double, trials: Double, delta: Double) -> Double {
        guard trials > 0, delta > 0, delta < 1 else { return 0 }
        let k = min(max(errors, 0), trials)
        if k <= 0 { return 0 }
        return betaQuantile(delta, a: k, b: trials - k + 1)
    }

    /// The most errors (fractional, as a weighted sample has) that `trials` may hold while `upper`
    /// stays at most `rate`, or nil when even none is too many: one search per set size, so a
    /// simulation can test a drawn sample by comparing counts instead of computing a bound.
    /// `upper(k, n) ≤ rate` exactly when Beta(k + 1, n − k)'s distribution function at `rate` is
    /// at least 1 − δ, which falls as k grows.
    public static func mostErrors(trials: Double, withUpperBoundAtMost rate: Double, delta: Double) -> Double? {
        guard trials > 0, delta > 0, delta < 1, rate > 0, rate < 1 else { return nil }
        func passes(_ k: Double) -> Bool { regularisedIncompleteBeta(rate, a: k + 1, b: trials - k) >= 1 - delta }
        guard passes(0) else { return nil }
        var low = 0.0, high = trials
        for _ in 0..<60 {
            let middle = (low + high) / 2
            if passes(middle) { low = middle } else { high = middle }
            if high - low < 1e-9 { break }
        }
        return low
    }

    /// The `q`-quantile of Beta(a, b), by bisection on the regularised incomplete beta function.
    static func betaQuantile(_ q: Double, a: Double, b: Double) -> Double {
        var low = 0.0, high = 1.0
        for _ in 0..<200 {
            let middle = (low + high) / 2
            if regularisedIncompleteBeta(middle, a: a, b: b) < q { low = middle } else { high = middle }
            if high - low < 1e-13 { break }
        }
        return (low + high) / 2
    }

    /// I_x(a, b), the Beta(a, b) distribution function at `x`.
    static func regularisedIncompleteBeta(_ x: Double, a: Double, b: Double) -> Double {
        if x <= 0 { return 0 }
        if x >= 1 { return 1 }
        let front = exp(lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log(1 - x))
        // The continued fraction converges fast on this side of the mean; use the symmetry otherwise.
        if x < (a + 1) / (a + b + 2) { return front * continuedFraction(x, a: a, b: b) / a }
        return 1 - front * continuedFraction(1 - x, a: b, b: a) / b
    }

    private static func continuedFraction(_ x: Double, a: Double, b: Double) -> Double {
        let tiny = 1e-300
        var c = 1.0, d = 1 - (a + b) * x / (a + 1)
        if abs(d) < tiny { d = tiny }
        d = 1 / d
        var h = d
        for m in 1...500 {
            let m = Double(m), m2 = 2 * m
            var aa = m * (b - m) * x / ((a + m2 - 1) * (a + m2))
            d = 1 + aa * d
            if abs(d) < tiny { d = tiny }
            c = 1 + aa / c
            if abs(c) < tiny { c = tiny }
            d = 1 / d
            h *= d * c
            aa = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1))
            d = 1 + aa * d
            if abs(d) < tiny { d = tiny }
            c = 1 + aa / c
            if abs(c) < tiny { c = tiny }
            d = 1 / d
            let delta = d * c
            h *= delta
            if abs(delta - 1) < 1e-15 { break }
        }
        return h
    }
}
