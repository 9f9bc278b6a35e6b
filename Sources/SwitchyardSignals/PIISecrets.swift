/// API keys, tokens and private keys.
extension PIIScan {
    /// A known key prefix at `start` followed by its key: an AWS key id's sixteen capitals and
    /// digits (`AKIAIOSFODNN7EXAMPLE`), or at least 16 key characters (letters, digits, `_`, `-`)
    /// with a digit or a capital among the first 32, so that `sk-learn-is-a-library` is no key.
    /// The key ends where its characters do, before the punctuation of a sentence, Markdown or a
    /// shell (`AKIA….`, `` `ghp_…` ``, `export X=…;`).
    /// - Parameter keyRun: the run of key characters last measured, shared by the word starts
    ///   in it (after each `-` and `_`), so that a run of prefixes costs its length once.
    func prefixedKey(at start: Int, keyRun: inout Range<Int>) -> Range<Int>? {
        let first = bytes[start]
        guard first < 0x80, let prefix = PIIDetector.keyPrefixesByFirstByte[Int(first)].first(where: { matches($0, at: start) }) else { return nil }
        if PIIDetector.awsKeyPrefixes.contains(prefix) {
            var stop = start + prefix.count
            while stop - start < 20, PIIDetector.isDigit(bytes[stop]) || PIIDetector.isUpper(bytes[stop]) { stop += 1 }
            return stop - start == 20 && !PIIDetector.isAlnum(bytes[stop]) ? start..<stop : nil
        }
        if !keyRun.contains(start) {
            var stop = start
            while stop < end, PIIDetector.isKeyCharacter(bytes[stop]) { stop += 1 }
            keyRun = start..<stop
        }
        let material = (start + prefix.count)..<keyRun.upperBound
        guard material.count >= 16 else { return nil }
        for k in material.prefix(32) where PIIDetector.isDigit(bytes[k]) || PIIDetector.isUpper(bytes[k]) {
            return start..<keyRun.upperBound
        }
        return nil
    }

    /// `-----BEGIN ... PRIVATE KEY`, as PEM and PGP private keys open. The header has spaces in
    /// it, so no token check sees it whole.
    func privateKeyHeader(at start: Int) -> Range<Int>? {
        guard matches(PIIDetector.pemBegin, at: start) else { return nil }
        var stop = start + PIIDetector.pemBegin.count
        while stop < end, stop - start < 64, bytes[stop] != UInt8(ascii: "\n") {
            if matches(PIIDetector.pemPrivateKey, at: stop) { return start..<(stop + PIIDetector.pemPrivateKey.count) }
            stop += 1
        }
        return nil
    }

    /// Whether `word` is spelled at `position`; reads no further than its first difference, so
    /// never past the closing boundary (which no word holds).
    func matches(_ word: [UInt8], at position: Int) -> Bool {
        var k = 0
        while k < word.count {
            if bytes[position + k] != word[k] { return false }
            k += 1
        }
        return true
    }

    // MARK: pass 2: high-entropy keys

    /// The high-entropy keys in the text: in each token of key characters (letters, digits and
    /// `+/_-.`, as base64, base64url, JWTs and paths are written; without a sentence's final full
    /// stops), the whole token or its longest tail that is one.
    func secretTokens() -> [Range<Int>] {
        var keys: [Range<Int>] = []
        var i = 0
        while i < end {
            guard PIIDetector.isTokenCharacter(bytes[i]) else {
                i += 1
                continue
            }
            var stop = i + 1
            while stop < end, PIIDetector.isTokenCharacter(bytes[stop]) { stop += 1 }
            var last = stop
            while last > i, bytes[last - 1] == UInt8(ascii: ".") { last -= 1 }
            if last - i >= 32, let key = highEntropyKey(in: i..<last) { keys.append(key) }
            i = stop
        }
        return keys
    }

    /// The token from its first letter or digit, if it is a key; otherwise its longest tail from a
    /// word start (after a `/`, `.`, `-`, `_`, `+`) that is one, within `maxSecretLength` of its
    /// end: no key checked here is longer (`sk-proj-` keys run to about 170 characters), so a key
    /// at the end of a URL or path is still found. The tails are judged in one pass from the end
    /// leftwards, each the previous one and a byte, so a long token costs its length, not its
    /// length squared.
    func highEntropyKey(in token: Range<Int>) -> Range<Int>? {
        var first = token.lowerBound
        while first < token.upperBound, !PIIDetector.isAlnum(bytes[first]) { first += 1 }
        guard token.upperBound - first >= 32 else { return nil }
        return withUnsafeTemporaryAllocation(of: Int.self, capacity: 256) { counts in
            if PIIDetector.Tally(of: first..<token.upperBound, in: bytes, counts: counts).isHighEntropyKey { return first..<token.upperBound }
            return earliestKeyTail(from: max(first + 1, token.upperBound - PIIDetector.maxSecretLength), to: token.upperBound, counts: counts)
        }
    }

    /// The leftmost word start in `from..<to` whose tail up to `to` is a high-entropy key.
    func earliestKeyTail(from: Int, to: Int, counts: UnsafeMutableBufferPointer<Int>) -> Range<Int>? {
        var tally = PIIDetector.Tally(counts: counts)
        var earliest: Int?
        var j = to
        while j > from {
            j -= 1
            tally.add(bytes[j])
            if PIIDetector.isAlnum(bytes[j]), !PIIDetector.isAlnum(bytes[j - 1]), tally.isHighEntropyKey { earliest = j }
        }
        return earliest.map { $0..<to }
    }
}

extension PIIDetector {
    static let keyPrefixes: [[UInt8]] = [
        "sk-", "sk_live_", "sk_test_", "rk_live_", "pk_live_", "ghp_", "gho_", "ghs_", "ghu_", "github_pat_",
        "xoxb-", "xoxp-", "xoxa-", "AKIA", "ASIA", "AIza", "glpat-", "hf_", "npm_",
    ].map { Array($0.utf8) }

    /// `keyPrefixes` by their first byte, so that a word start costs one look-up.
    static let keyPrefixesByFirstByte: [[[UInt8]]] = (0..<128).map { byte in keyPrefixes.filter { $0[0] == byte } }

    /// AWS access key ids, long-term and temporary: the prefix and sixteen capitals and digits.
    static let awsKeyPrefixes: [[UInt8]] = [Array("AKIA".utf8), Array("ASIA".utf8)]

    static let pemBegin = Array("-----BEGIN ".utf8), pemPrivateKey = Array("PRIVATE KEY".utf8)

    static let maxSecretLength = 256

    static func isKeyCharacter(_ b: UInt8) -> Bool { isAlnum(b) || b == UInt8(ascii: "_") || b == UInt8(ascii: "-") }

    static func isTokenCharacter(_ b: UInt8) -> Bool {
        isKeyCharacter(b) || b == UInt8(ascii: "+") || b == UInt8(ascii: "/") || b == UInt8(ascii: ".")
    }

    /// The counts a token is judged by, a byte at a time, over a histogram on the caller's stack.
    struct Tally {
        private let counts: UnsafeMutableBufferPointer<Int>
        private(set) var count = 0, digits = 0, upper = 0, lower = 0
        /// The sum of c·log2(c) over the byte counts c, from which the entropy follows without
        /// another pass: log2(n) − sum / n bits per byte.
        private var sumCLogC = 0.0

        init(counts: UnsafeMutableBufferPointer<Int>) {
            counts.initialize(repeating: 0)
            self.counts = counts
        }

        /// A whole token at once: its histogram first, the rest from that.
        init<Text: ScanBytes>(of range: Range<Int>, in bytes: Text, counts: UnsafeMutableBufferPointer<Int>) {
            self.init(counts: counts)
            for k in range { counts[Int(bytes[k])] += 1 }
            count = range.count
            for (b, c) in counts.enumerated() where c > 0 {
                sumCLogC += Self.cLogC(c)
                let byte = UInt8(b)
                if isDigit(byte) { digits += c } else if isUpper(byte) { upper += c } else if isLower(byte) { lower += c }
            }
        }

        mutating func add(_ b: UInt8) {
            let c = counts[Int(b)]
            counts[Int(b)] = c + 1
            sumCLogC += Self.cLogC(c + 1) - Self.cLogC(c)
            count += 1
            if isDigit(b) { digits += 1 } else if isUpper(b) { upper += 1 } else if isLower(b) { lower += 1 }
        }

        var entropy: Double { log2(Double(count)) - sumCLogC / Double(count) }

        /// At least 32 bytes with digits and letters of both cases, each case at least a fifth of
        /// the letters, and 4 bits of entropy a byte. Random keys mix the cases about evenly;
        /// names, paths and URLs are mostly lower case with a capital here and there
        /// (`Camponotus_flavomarginatus.jpg/1280px-...`), and clear 4 bits of entropy too.
        var isHighEntropyKey: Bool {
            count >= 32 && digits > 0 && upper > 0 && lower > 0 && 4 * upper >= lower && 4 * lower >= upper && entropy >= 4.0
        }

        static func cLogC(_ c: Int) -> Double { c < table.count ? table[c] : Double(c) * log2(Double(c)) }
        private static let table: [Double] = (0...maxSecretLength).map { $0 == 0 ? 0 : Double($0) * log2(Double($0)) }
    }
}

private func log2(_ x: Double) -> Double { log(x) / log(2.0) }

#if canImport(Glibc)
import Glibc
#endif
