/// Money in nano-dollars (1e-9 USD). Integers make sums exact: a ledger that adds millions of
/// tiny per-token costs must not drift the way floating-point dollars would, and budgets compare
/// exactly. 1 token at $0.15 per million tokens is 150. Int64 holds about $9.2 billion.
public struct Nanodollars: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var value: Int64

    public init(_ value: Int64) { self.value = value }

    public static let zero = Nanodollars(0)

    /// `dollars` rounded to the nearest nano-dollar; negative amounts and NaN are 0, and amounts
    /// past what Int64 holds are clamped to its maximum (a price is never negative, and a
    /// conversion must never trap on a hostile number).
    public static func usd(_ dollars: Double) -> Nanodollars {
        let nanos = (dollars * 1e9).rounded()
        guard nanos > 0 else { return .zero }  // also NaN
        guard nanos < 9.2e18 else { return Nanodollars(.max) }
        return Nanodollars(Int64(nanos))
    }

    /// The amount in US dollars (for display and for the policy's `budget.*` signals).
    public var usd: Double { Double(value) / 1e9 }

    /// Saturating: sums of costs never trap.
    public static func + (lhs: Nanodollars, rhs: Nanodollars) -> Nanodollars {
        let (sum, overflow) = lhs.value.addingReportingOverflow(rhs.value)
        return Nanodollars(overflow ? (rhs.value > 0 ? .max : .min) : sum)
    }

    public static func - (lhs: Nanodollars, rhs: Nanodollars) -> Nanodollars {
        let (difference, overflow) = lhs.value.subtractingReportingOverflow(rhs.value)
        return Nanodollars(overflow ? (rhs.value < 0 ? .max : .min) : difference)
    }

    public static func += (lhs: inout Nanodollars, rhs: Nanodollars) { lhs = lhs + rhs }

    public static func < (lhs: Nanodollars, rhs: Nanodollars) -> Bool { lhs.value < rhs.value }

    /// "$0.000150000": dollars with all nine decimals, exact.
    public var description: String {
        let sign = value < 0 ? "-" : ""
        let magnitude = value.magnitude
        let fraction = String(magnitude % 1_000_000_000)
        return "\(sign)$\(magnitude / 1_000_000_000).\(String(repeating: "0", count: 9 - fraction.count))\(fraction)"
    }
}
