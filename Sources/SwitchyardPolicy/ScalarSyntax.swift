/// The number and duration syntax of a policy file, parsed without ever trapping.
///
/// Yams's own `Node.int` is not used on purpose: it reads YAML 1.1 base-60 numbers
/// (`1:1:1:1:1:1:1:1:1:1:1:1`) with unchecked arithmetic, which traps on overflow, and reads
/// `010` as octal 8. Here numbers are decimal, written the way the documentation shows them,
/// and anything else is a diagnostic.
enum ScalarSyntax {
    enum Integer: Equatable {
        case value(Int)
        /// Decimal digits too large for an `Int`, with their sign.
        case overflow(negative: Bool)
        case invalid
    }

    /// `[+-]digits`, `_` allowed between digits (YAML's digit separator).
    static func integer(_ text: String) -> Integer {
        var digits = Substring(text)
        var negative = false
        if let sign = digits.first, sign == "+" || sign == "-" {
            negative = sign == "-"
            digits = digits.dropFirst()
        }
        guard let first = digits.first, first.isASCII, first.isWholeNumber,
              digits.allSatisfy({ $0 == "_" || ($0.isASCII && $0.isWholeNumber) }) else { return .invalid }
        let plain = digits.filter { $0 != "_" }
        guard let value = Int((negative ? "-" : "") + plain) else { return .overflow(negative: negative) }
        return .value(value)
    }

    /// A decimal number, `[+-]digits[.digits][e[+-]digits]`: nil for anything else, including
    /// YAML's `.inf` and `.nan`. The result may still be infinite (`1e400`): callers check the range.
    static func decimal(_ text: String) -> Double? {
        let scalars = Array(text.unicodeScalars)
        var i = 0
        func digits() -> Int {
            let start = i
            while i < scalars.count, ("0"..."9").contains(scalars[i]) || (i > start && scalars[i] == "_") { i += 1 }
            return i - start
        }
        if i < scalars.count, scalars[i] == "+" || scalars[i] == "-" { i += 1 }
        var mantissa = digits()
        if i < scalars.count, scalars[i] == "." {
            i += 1
            mantissa += digits()
        }
        guard mantissa > 0 else { return nil }
        if i < scalars.count, scalars[i] == "e" || scalars[i] == "E" {
            i += 1
            if i < scalars.count, scalars[i] == "+" || scalars[i] == "-" { i += 1 }
            guard digits() > 0 else { return nil }
        }
        guard i == scalars.count else { return nil }
        return Double(text.filter { $0 != "_" })
    }

    enum DurationParse: Equatable {
        /// The duration in milliseconds, not yet range-checked (it may be huge or below 1 ms).
        case milliseconds(Double)
        case invalid
    }

    /// `250ms`, `5s`, `2m`, `1h`, or a bare number of seconds; a decimal point is allowed
    /// (`1.5s`), exponents and signs are not.
    static func duration(_ text: String) -> DurationParse {
        let trimmed = text.trimmingSpaces
        for (suffix, scale) in [("ms", 1.0), ("s", 1000), ("m", 60_000), ("h", 3_600_000), ("", 1000)] where trimmed.hasSuffix(suffix) {
            let number = trimmed.dropLast(suffix.count).trimmingSpaces
            guard !number.isEmpty, number.allSatisfy({ $0 == "." || ($0.isASCII && $0.isWholeNumber) }),
                  number.filter({ $0 == "." }).count <= 1, number != ".", let value = Double(number) else { continue }
            return .milliseconds(value * scale)
        }
        return .invalid
    }
}

extension StringProtocol {
    var trimmingSpaces: SubSequence {
        var s = self[...]
        while s.first == " " { s = s.dropFirst() }
        while s.last == " " { s = s.dropLast() }
        return s
    }
}
