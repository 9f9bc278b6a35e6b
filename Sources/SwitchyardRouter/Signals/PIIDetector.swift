import SwitchyardPolicy

/// Finds personal data and secrets in text, by class and span. Precision matters more than
/// recall here: a false positive keeps a harmless request on the box, but one that fires on
/// order numbers, dates or version strings makes the constraint useless. Each class is checked
/// beyond its shape: card numbers by Luhn, IBANs by their mod-97 checksum, IPv4 octets by range.
public enum PIIDetector {
    public struct Finding: Sendable, Equatable {
        public var kind: PIIClass
        /// Byte offsets in the UTF-8 text.
        public var range: Range<Int>
    }

    public static func classes(in text: String) -> Set<String> {
        Set(findings(in: text).map(\.kind.rawValue))
    }

    public static func findings(in text: String) -> [Finding] {
        var bytes = Array(text.utf8)
        bytes.append(0x20)  // a sentinel so every run ends before the buffer does
        var found: [Finding] = []
        var i = 0
        let n = bytes.count - 1
        while i < n {
            let b = bytes[i]
            if b == UInt8(ascii: "@"), let email = email(at: i, bytes) {
                found.append(Finding(kind: .email, range: email))
                i = email.upperBound
                continue
            }
            let startsWord = i == 0 || !isAlnum(bytes[i - 1])
            if startsWord, isUpper(b), let iban = iban(at: i, bytes) {
                found.append(Finding(kind: .iban, range: iban))
                i = iban.upperBound
                continue
            }
            if startsWord, isDigit(b) || ((b == UInt8(ascii: "+") || b == UInt8(ascii: "(")) && i + 1 < n && isDigit(bytes[i + 1])) {
                let (end, finding) = numeric(at: i, bytes)
                if let finding { found.append(finding) }
                i = max(end, i + 1)
                continue
            }
            if startsWord, isSecretStart(b) {
                let end = wordEnd(from: i, bytes)
                if isSecret(bytes[i..<end]) {
                    found.append(Finding(kind: .secret, range: i..<end))
                    i = end
                    continue
                }
            }
            i += 1
        }
        return found
    }

    // MARK: email

    static func email(at at: Int, _ bytes: [UInt8]) -> Range<Int>? {
        var start = at
        while start > 0, isLocalPart(bytes[start - 1]) { start -= 1 }
        guard start < at, bytes[start] != UInt8(ascii: ".") else { return nil }
        var end = at + 1
        var lastDot = -1
        while end < bytes.count, isAlnum(bytes[end]) || bytes[end] == UInt8(ascii: "-") || bytes[end] == UInt8(ascii: ".") {
            if bytes[end] == UInt8(ascii: ".") { lastDot = end }
            end += 1
        }
        // A sentence's full stop after the address is not part of it.
        while end > at + 1, bytes[end - 1] == UInt8(ascii: ".") { end -= 1 }
        if lastDot >= end { lastDot = bytes[(at + 1)..<end].lastIndex(of: UInt8(ascii: ".")) ?? -1 }
        guard lastDot > at + 1, end - lastDot - 1 >= 2, bytes[(lastDot + 1)..<end].allSatisfy(isLetter) else { return nil }
        return start..<end
    }

    // MARK: digit runs: cards, phones, national ids, IPv4

    /// Reads a run of digits and separators and classifies it; returns where the run ends.
    static func numeric(at start: Int, _ bytes: [UInt8]) -> (Int, Finding?) {
        var end = start
        var digits: [UInt8] = []
        digits.reserveCapacity(20)
        var separators = Separators()
        var groups: [Int] = [0]
        while end < bytes.count {
            let b = bytes[end]
            if isDigit(b) {
                digits.append(b - 48)
                groups[groups.count - 1] += 1
            } else if let separator = Separators(b),
                      end + 1 < bytes.count, isDigit(bytes[end + 1]) || (b == UInt8(ascii: ")") && bytes[end + 1] == UInt8(ascii: " ")) {
                separators.formUnion(separator)
                if groups.last != 0 { groups.append(0) }
            } else {
                break
            }
            // A run this long is no number of a person (a hash, a table of figures).
            if digits.count > 40 { break }
            end += 1
        }
        // Glued to letters (an order id like A12345678901, a hash) it is not a number of a person.
        if end < bytes.count, isLetter(bytes[end]) { return (wordEnd(from: end, bytes), nil) }
        let range = start..<end
        let groupSizes = groups.filter { $0 > 0 }

        if separators == .dot, groupSizes.count == 4, groupSizes.allSatisfy({ $0 <= 3 }) {
            let octets = octetValues(bytes[range])
            let afterVersionMark = start > 0 && (bytes[start - 1] == UInt8(ascii: "v") || bytes[start - 1] == UInt8(ascii: "V"))
            if octets.allSatisfy({ $0 <= 255 }), !afterVersionMark { return (end, Finding(kind: .ipAddress, range: range)) }
            return (end, nil)
        }
        if separators == .dash, groupSizes == [3, 2, 4] {
            let area = Int(digits[0]) * 100 + Int(digits[1]) * 10 + Int(digits[2])
            if area != 0, area != 666, area < 900 { return (end, Finding(kind: .nationalID, range: range)) }
            return (end, nil)
        }
        if (13...19).contains(digits.count), separators.isSubset(of: [.space, .dash]), luhn(digits) {
            return (end, Finding(kind: .creditCard, range: range))
        }
        let looksLikeDate = separators.isSubset(of: [.dash, .dot]) && (groupSizes == [4, 2, 2] || groupSizes == [2, 2, 4])
        let hasPhoneSeparators = !separators.isEmpty
        // National numbers have 10 or 11 digits; only international ones (+ or 00) run to 15.
        let international = bytes[start] == UInt8(ascii: "+") || (digits.count > 2 && digits[0] == 0 && digits[1] == 0)
        let plausibleLength = international ? (8...15).contains(digits.count) : (10...11).contains(digits.count)
        if plausibleLength, !looksLikeDate, international || (hasPhoneSeparators && groupSizes.count >= 3) {
            return (end, Finding(kind: .phone, range: range))
        }
        return (end, nil)
    }

    /// The separators seen in a run of digits, as a bit set (no allocation per run).
    struct Separators: OptionSet {
        let rawValue: UInt8
        static let space = Separators(rawValue: 1), dash = Separators(rawValue: 2), dot = Separators(rawValue: 4)
        static let open = Separators(rawValue: 8), close = Separators(rawValue: 16), plus = Separators(rawValue: 32)

        init(rawValue: UInt8) { self.rawValue = rawValue }

        init?(_ byte: UInt8) {
            switch byte {
            case UInt8(ascii: " "): self = .space
            case UInt8(ascii: "-"): self = .dash
            case UInt8(ascii: "."): self = .dot
            case UInt8(ascii: "("): self = .open
            case UInt8(ascii: ")"): self = .close
            case UInt8(ascii: "+"): self = .plus
            default: return nil
            }
        }
    }

    static func octetValues(_ bytes: ArraySlice<UInt8>) -> [Int] {
        bytes.split(separator: UInt8(ascii: ".")).map { $0.reduce(0) { $0 * 10 + Int($1 - 48) } }
    }

    static func luhn(_ digits: [UInt8]) -> Bool {
        var sum = 0
        for (i, d) in digits.reversed().enumerated() {
            var v = Int(d)
            if i % 2 == 1 {
                v *= 2
                if v > 9 { v -= 9 }
            }
            sum += v
        }
        return sum % 10 == 0
    }

    // MARK: IBAN

    static func iban(at start: Int, _ bytes: [UInt8]) -> Range<Int>? {
        guard start + 15 < bytes.count, isUpper(bytes[start + 1]), isDigit(bytes[start + 2]), isDigit(bytes[start + 3]) else { return nil }
        var chars: [UInt8] = []
        var end = start
        while end < bytes.count, chars.count < 34 {
            let b = bytes[end]
            if isDigit(b) || isUpper(b) {
                chars.append(b)
            } else if b == UInt8(ascii: " "), end + 1 < bytes.count, isDigit(bytes[end + 1]) || isUpper(bytes[end + 1]), chars.count % 4 == 0 {
                // IBANs are printed in groups of four.
            } else {
                break
            }
            end += 1
        }
        guard chars.count >= 15, end >= bytes.count || !isAlnum(bytes[end]) else { return nil }
        // Move the first four characters to the end, letters to 10...35, and check mod 97 == 1.
        var remainder = 0
        for c in chars[4...] + chars[..<4] {
            let value = isDigit(c) ? Int(c - 48) : Int(c - 65 + 10)
            remainder = value >= 10 ? (remainder * 100 + value) % 97 : (remainder * 10 + value) % 97
        }
        return remainder == 1 ? start..<end : nil
    }

    // MARK: secrets

    static let secretPrefixes: [String] = [
        "sk-", "sk_live_", "sk_test_", "rk_live_", "pk_live_", "ghp_", "gho_", "ghs_", "ghu_", "github_pat_",
        "xoxb-", "xoxp-", "xoxa-", "AKIA", "ASIA", "AIza", "glpat-", "hf_", "npm_", "-----BEGIN",
    ]

    static func isSecretStart(_ b: UInt8) -> Bool { isAlnum(b) || b == UInt8(ascii: "-") }

    /// A known key prefix followed by enough key material, or a long high-entropy token.
    static func isSecret(_ word: ArraySlice<UInt8>) -> Bool {
        guard word.count >= 16 else { return false }
        let text = String(decoding: word, as: UTF8.self)
        if text.hasPrefix("-----BEGIN"), text.contains("PRIVATE") { return true }
        for prefix in secretPrefixes where text.hasPrefix(prefix) {
            let rest = word.dropFirst(prefix.utf8.count)
            if rest.count >= 16, rest.allSatisfy({ isAlnum($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") }) { return true }
        }
        guard word.count >= 32 else { return false }
        let hasDigit = word.contains(where: isDigit), hasUpper = word.contains(where: isUpper), hasLower = word.contains(where: isLower)
        return hasDigit && hasUpper && hasLower && entropy(word) >= 4.0
    }

    static func entropy(_ word: ArraySlice<UInt8>) -> Double {
        var counts = [Int](repeating: 0, count: 256)
        for b in word { counts[Int(b)] += 1 }
        let n = Double(word.count)
        return counts.reduce(0.0) { sum, c in c == 0 ? sum : sum - (Double(c) / n) * log2(Double(c) / n) }
    }

    static func wordEnd(from start: Int, _ bytes: [UInt8]) -> Int {
        var end = start
        while end < bytes.count, !isSpace(bytes[end]), bytes[end] != UInt8(ascii: "\""), bytes[end] != UInt8(ascii: "'"), bytes[end] != UInt8(ascii: ",") { end += 1 }
        return end
    }

    static func isDigit(_ b: UInt8) -> Bool { b >= 48 && b <= 57 }
    static func isUpper(_ b: UInt8) -> Bool { b >= 65 && b <= 90 }
    static func isLower(_ b: UInt8) -> Bool { b >= 97 && b <= 122 }
    static func isLetter(_ b: UInt8) -> Bool { isUpper(b) || isLower(b) }
    static func isAlnum(_ b: UInt8) -> Bool { isDigit(b) || isLetter(b) }
    static func isSpace(_ b: UInt8) -> Bool { b == 32 || b == 9 || b == 10 || b == 13 }
    static func isLocalPart(_ b: UInt8) -> Bool {
        isAlnum(b) || b == UInt8(ascii: ".") || b == UInt8(ascii: "_") || b == UInt8(ascii: "%") || b == UInt8(ascii: "+") || b == UInt8(ascii: "-")
    }
}

private func log2(_ x: Double) -> Double { log(x) / log(2.0) }

#if canImport(Glibc)
import Glibc
#endif
