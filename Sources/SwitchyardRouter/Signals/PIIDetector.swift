import SwitchyardPolicy
import SwitchyardWire

/// Finds personal data and secrets in text, by class and span. Precision matters more than
/// recall here: a false positive keeps a harmless request on the box, but one that fires on
/// order numbers, dates or version strings makes the constraint useless. Each class is checked
/// beyond its shape: card numbers by Luhn, IBANs by their mod-97 checksum, IPv4 octets by range.
///
/// Text is normalised first (TextNormalizer), so that digits of other scripts, fullwidth and
/// mathematical forms, odd spaces and dashes, and invisible characters do not hide a number or
/// an address from a model that reads straight through them. Findings are reported in the text
/// as given.
public enum PIIDetector {
    public struct Finding: Sendable, Equatable {
        public var kind: PIIClass
        /// Byte offsets in the text's UTF-8. The text is scanned normalised; a finding covers the
        /// characters its normalised form came from, invisible ones within it included.
        public var range: Range<Int>
    }

    public static func classes(in text: String) -> Set<String> {
        Set(findings(in: text).map(\.kind.rawValue))
    }

    /// The classes found anywhere in a chat request body, OpenAI or Anthropic: every string and
    /// key at any depth, since every one of them reaches the upstream. RequestText says what is
    /// read beyond that and which binary payloads are left out.
    public static func classes(inRequestBody body: JSONObject) -> Set<String> {
        Set(findings(inScanText: RequestText(body).bytes).map(\.kind.rawValue))
    }

    public static func findings(in text: String) -> [Finding] {
        var normalizer = TextNormalizer()
        var bytes: [UInt8] = []
        let origins = normalizer.append(text[...], to: &bytes, recordingOrigins: true)
        bytes.append(UInt8(ascii: "\n"))
        var found = findings(inScanText: bytes)
        if let origins {
            for k in found.indices {
                let range = found[k].range
                found[k].range = origins[range.lowerBound].lowerBound..<origins[range.upperBound - 1].upperBound
            }
        }
        return found
    }

    /// Findings in normalised UTF-8 whose last byte ends every run (a newline), so that no check
    /// reads past the buffer.
    static func findings(inScanText bytes: [UInt8]) -> [Finding] {
        var found: [Finding] = []
        var i = 0
        let n = bytes.count - 1
        // The word the secret check is in. A word holds a start after each `/`, `-`, `.` in it,
        // and its tails from those starts all end where it does: measuring the word once, and
        // judging all its tails in one pass (`SecretTails`), keeps a long token without spaces
        // (base64, a URL) from costing its length squared.
        var currentWordEnd = 0
        var tails: SecretTails?
        while i < n {
            let b = bytes[i]
            if b == UInt8(ascii: "@"), let email = email(at: i, bytes, notBefore: found.last?.range.upperBound ?? 0) {
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
            if startsWord, b == UInt8(ascii: "-"), let key = privateKeyHeader(at: i, bytes) {
                found.append(Finding(kind: .secret, range: key))
                i = key.upperBound
                continue
            }
            if startsWord, isSecretStart(b) {
                var secret = false
                if i >= currentWordEnd {
                    currentWordEnd = wordEnd(from: i, bytes)
                    tails = nil
                    secret = isSecret(bytes[i..<currentWordEnd])
                } else if currentWordEnd - i <= maxSecretLength {
                    if tails == nil { tails = SecretTails(bytes, from: i, to: currentWordEnd) }
                    secret = tails!.contains(i)
                }
                if secret {
                    found.append(Finding(kind: .secret, range: i..<currentWordEnd))
                    i = currentWordEnd
                    continue
                }
            }
            i += 1
        }
        return found
    }

    // MARK: email

    /// An address around the `@` at `at`. Letters of any script count in its parts (bytes above
    /// 0x7F), as in internationalised addresses, and so that one Cyrillic `а` in a domain does
    /// not hide the whole address.
    /// - Parameter notBefore: where the previous finding ended: findings never overlap.
    static func email(at: Int, _ bytes: [UInt8], notBefore: Int = 0) -> Range<Int>? {
        var start = at
        while start > notBefore, isLocalPart(bytes[start - 1]) { start -= 1 }
        guard start < at, bytes[start] != UInt8(ascii: ".") else { return nil }
        var end = at + 1
        var lastDot = -1
        while end < bytes.count, isAlnum(bytes[end]) || bytes[end] >= 0x80 || bytes[end] == UInt8(ascii: "-") || bytes[end] == UInt8(ascii: ".") {
            if bytes[end] == UInt8(ascii: ".") { lastDot = end }
            end += 1
        }
        // A sentence's full stop after the address is not part of it.
        while end > at + 1, bytes[end - 1] == UInt8(ascii: ".") { end -= 1 }
        if lastDot >= end { lastDot = bytes[(at + 1)..<end].lastIndex(of: UInt8(ascii: ".")) ?? -1 }
        guard lastDot > at + 1, end - lastDot - 1 >= 2, bytes[(lastDot + 1)..<end].allSatisfy({ isLetter($0) || $0 >= 0x80 }) else { return nil }
        return start..<end
    }

    // MARK: digit runs: cards, phones, national ids, IPv4

    /// Reads a run of digits and separators and classifies it; returns where the run ends.
    /// `wideGaps` lets a card number written in groups of four cross gaps of two or three
    /// separators (`4111 - 1111`, two spaces); a run that crossed one and is no card is read
    /// again without them, so a phone number followed by ` - 2` is still one.
    static func numeric(at start: Int, _ bytes: [UInt8], wideGaps: Bool = true) -> (Int, Finding?) {
        var run = DigitRun()
        var end = start
        while end < bytes.count {
            let b = bytes[end]
            if isDigit(b) {
                run.append(digit: Int(b - 48))
            } else if let separator = Separators(b), end + 1 < bytes.count {
                let next = bytes[end + 1]
                // `(415) 555-0100`: a closing parenthesis and a space continue the run only when a digit follows.
                let areaCodeClose = b == UInt8(ascii: ")") && next == UInt8(ascii: " ") && end + 2 < bytes.count && isDigit(bytes[end + 2])
                if isDigit(next) || areaCodeClose {
                    run.append(separator)
                } else if wideGaps, run.mayWiden, let gapEnd = cardGapEnd(from: end, bytes) {
                    for k in end..<gapEnd { run.append(Separators(bytes[k])!) }
                    run.widened = true
                    end = gapEnd
                    continue
                } else {
                    break
                }
            } else {
                break
            }
            // A run this long is no number of a person (a hash, a table of figures).
            if run.count > 40 { break }
            end += 1
        }
        // Glued to letters (an order id like A12345678901, a hash) it is not a number of a person.
        let result: (Int, Finding?) = end < bytes.count && isLetter(bytes[end]) ? (wordEnd(from: end, bytes), nil) : classify(run, start..<end, bytes)
        if run.widened, result.1?.kind != .creditCard { return numeric(at: start, bytes, wideGaps: false) }
        return result
    }

    static func classify(_ run: DigitRun, _ range: Range<Int>, _ bytes: [UInt8]) -> (Int, Finding?) {
        let (start, end) = (range.lowerBound, range.upperBound)
        let separators = run.separators
        if separators == .dot, run.groupCount == 4, run.largestGroup <= 3 {
            let afterVersionMark = start > 0 && (bytes[start - 1] == UInt8(ascii: "v") || bytes[start - 1] == UInt8(ascii: "V"))
            if octetsInRange(bytes[range]), !afterVersionMark { return (end, Finding(kind: .ipAddress, range: range)) }
            return (end, nil)
        }
        if separators == .dash, run.groups(3, 2, 4) {
            let area = run.leading / 10
            if area != 0, area != 666, area < 900 { return (end, Finding(kind: .nationalID, range: range)) }
            return (end, nil)
        }
        if (13...19).contains(run.count), run.passesLuhn {
            // Spaces and single dashes are how cards are printed, in any grouping. Dots,
            // underscores and wide gaps are not, so they must group like a card (4-4-4-4, 4-6-5)
            // of a network that issues cards to people.
            let printed = !run.widened && separators.isSubset(of: [.space, .dash])
            let spelled = separators.isSubset(of: [.space, .dash, .dot, .underscore]) && run.hasCardGroups && run.hasCardNetworkPrefix
            if printed || spelled { return (end, Finding(kind: .creditCard, range: range)) }
        }
        if run.count > 13, run.groupCount >= 2, separators.isSubset(of: Separators.card), let card = card(within: range, bytes) {
            return (end, Finding(kind: .creditCard, range: card))
        }
        if run.widened || separators.contains(.underscore) { return (end, nil) }
        let looksLikeDate = separators.isSubset(of: [.dash, .dot]) && (run.groups(4, 2, 2) || run.groups(2, 2, 4))
        let hasPhoneSeparators = !separators.isEmpty
        // National numbers have 10 or 11 digits; only international ones (+ or 00) run to 15.
        let international = bytes[start] == UInt8(ascii: "+") || (run.count > 2 && run.leadingTwo == 0)
        let plausibleLength = international ? (8...15).contains(run.count) : (10...11).contains(run.count)
        if plausibleLength, !looksLikeDate, international || (hasPhoneSeparators && run.groupCount >= 3) {
            return (end, Finding(kind: .phone, range: range))
        }
        return (end, nil)
    }

    /// A card number among the groups of a longer run, which the run as a whole hides: an expiry
    /// after it (`4111 1111 1111 1111 12/27`), a quantity before it. Only groups that group like a
    /// card, of a card network, pass, as for cards spelled with dots.
    static func card(within range: Range<Int>, _ bytes: [UInt8]) -> Range<Int>? {
        // A run holds at most 41 digits, hence at most 41 groups.
        withUnsafeTemporaryAllocation(of: Range<Int>.self, capacity: 41) { groups in
            var count = 0
            var i = range.lowerBound
            while i < range.upperBound, count < groups.count {
                guard isDigit(bytes[i]) else { i += 1; continue }
                let start = i
                while i < range.upperBound, isDigit(bytes[i]) { i += 1 }
                groups.initializeElement(at: count, to: start..<i)
                count += 1
            }
            for first in 0..<count {
                var run = DigitRun()
                for last in first..<min(count, first + 5) {
                    if last > first { run.append(.space) }
                    for k in groups[last] { run.append(digit: Int(bytes[k] - 48)) }
                    if (13...19).contains(run.count), run.passesLuhn, run.hasCardGroups, run.hasCardNetworkPrefix {
                        return groups[first].lowerBound..<groups[last].upperBound
                    }
                }
            }
            return nil
        }
    }

    /// Where a gap of two or three separators that may split a card number (space, dash, dot,
    /// underscore) ends, if a digit follows it.
    static func cardGapEnd(from start: Int, _ bytes: [UInt8]) -> Int? {
        var end = start
        while end < bytes.count, end - start < 3, let separator = Separators(bytes[end]), Separators.card.contains(separator) { end += 1 }
        return end - start >= 2 && end < bytes.count && isDigit(bytes[end]) ? end : nil
    }

    /// What the checks need to know of a run of digits, gathered as it is read, without allocating
    /// (the scan meets a run at every number in the text).
    struct DigitRun {
        private(set) var count = 0
        /// The first four digits as a number (fewer if the run is shorter).
        private(set) var leading = 0
        /// The first two digits as a number.
        private(set) var leadingTwo = 0
        /// Luhn sums with the digits at even, or at odd, positions from the left doubled: which one
        /// applies depends on the length, known only at the end.
        private var luhnSums = (evenDoubled: 0, oddDoubled: 0)
        private(set) var separators = Separators()
        /// Groups of digits between separators; the sizes of the first eight, a byte each.
        private(set) var groupCount = 0
        private var sizes: UInt64 = 0
        private(set) var largestGroup = 0
        private var current = 0
        private var onlyFours = true
        /// A gap of more than one separator was crossed.
        var widened = false

        mutating func append(digit: Int) {
            if count < 4 { leading = leading * 10 + digit }
            if count < 2 { leadingTwo = leadingTwo * 10 + digit }
            let doubled = digit * 2 > 9 ? digit * 2 - 9 : digit * 2
            if count % 2 == 0 { luhnSums.evenDoubled += doubled; luhnSums.oddDoubled += digit } else { luhnSums.evenDoubled += digit; luhnSums.oddDoubled += doubled }
            if current == 0 { groupCount += 1 }
            current += 1
            count += 1
            if groupCount <= 8 { sizes = sizes & ~(0xFF << (8 * UInt64(groupCount - 1))) | UInt64(current) << (8 * UInt64(groupCount - 1)) }
            largestGroup = max(largestGroup, current)
        }

        mutating func append(_ separator: Separators) {
            separators.formUnion(separator)
            if current > 0, current != 4 { onlyFours = false }
            current = 0
        }

        /// Luhn doubles every second digit counting from the rightmost, which is not doubled: from
        /// the left and from zero, the even positions when the count is even, the odd ones when odd.
        var passesLuhn: Bool { (count % 2 == 0 ? luhnSums.evenDoubled : luhnSums.oddDoubled) % 10 == 0 }

        /// Only after groups of exactly four, and before a card's sixteen digits are complete.
        var mayWiden: Bool { onlyFours && current == 4 && count < 16 }

        func group(_ index: Int) -> Int { Int(truncatingIfNeeded: sizes >> (8 * UInt64(index))) & 0xFF }

        func groups(_ a: Int, _ b: Int, _ c: Int) -> Bool { groupCount == 3 && group(0) == a && group(1) == b && group(2) == c }

        /// 4-4-4-4 and its shorter or longer kin (a last group of one to four), 4-6-5 (Amex),
        /// 4-6-4 (Diners).
        var hasCardGroups: Bool {
            guard (2...5).contains(groupCount) else { return false }
            if groupCount == 3, group(0) == 4, group(1) == 6, group(2) == 4 || group(2) == 5 { return true }
            return (0..<(groupCount - 1)).allSatisfy { group($0) == 4 } && (1...4).contains(group(groupCount - 1))
        }

        /// American Express, Diners and JCB (3), Visa (4), Mastercard (51-55, 2221-2720),
        /// Discover and UnionPay (6); not the airline, petroleum and other industry ranges,
        /// where years and serial numbers fall.
        var hasCardNetworkPrefix: Bool {
            let first = leading / 1000
            return (3...6).contains(first) || (2221...2720).contains(leading)
        }
    }

    /// The separators seen in a run of digits, as a bit set.
    struct Separators: OptionSet {
        let rawValue: UInt8
        static let space = Separators(rawValue: 1), dash = Separators(rawValue: 2), dot = Separators(rawValue: 4)
        static let open = Separators(rawValue: 8), close = Separators(rawValue: 16), plus = Separators(rawValue: 32)
        static let underscore = Separators(rawValue: 64)
        /// Those that may split a card number.
        static let card: Separators = [.space, .dash, .dot, .underscore]

        init(rawValue: UInt8) { self.rawValue = rawValue }

        init?(_ byte: UInt8) {
            switch byte {
            case UInt8(ascii: " "): self = .space
            case UInt8(ascii: "-"): self = .dash
            case UInt8(ascii: "."): self = .dot
            case UInt8(ascii: "("): self = .open
            case UInt8(ascii: ")"): self = .close
            case UInt8(ascii: "+"): self = .plus
            case UInt8(ascii: "_"): self = .underscore
            default: return nil
            }
        }
    }

    /// Whether every dot-separated group of digits is at most 255.
    static func octetsInRange(_ bytes: ArraySlice<UInt8>) -> Bool {
        var octet = 0
        for b in bytes {
            if b == UInt8(ascii: ".") {
                octet = 0
            } else {
                octet = octet * 10 + Int(b - 48)
                if octet > 255 { return false }
            }
        }
        return true
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

    static let secretPrefixes: [[UInt8]] = [
        "sk-", "sk_live_", "sk_test_", "rk_live_", "pk_live_", "ghp_", "gho_", "ghs_", "ghu_", "github_pat_",
        "xoxb-", "xoxp-", "xoxa-", "AKIA", "ASIA", "AIza", "glpat-", "hf_", "npm_",
    ].map { Array($0.utf8) }

    /// A word is judged whole from its first start; its tails (from each later start after a `/`,
    /// `.`, `-`) only when they are at most this long. No key checked here is longer (`sk-proj-`
    /// keys run to about 170 characters), so a key at the end of a URL is still found.
    static let maxSecretLength = 256

    static func isSecretStart(_ b: UInt8) -> Bool { isAlnum(b) || b == UInt8(ascii: "-") }
    static func isKeyCharacter(_ b: UInt8) -> Bool { isAlnum(b) || b == UInt8(ascii: "_") || b == UInt8(ascii: "-") }

    /// A known key prefix followed by enough key material, or a long high-entropy token: digits
    /// and letters of both cases, each case at least a fifth of the letters. Random keys mix the
    /// cases about evenly; names, paths and URLs are mostly lowercase with a capital here and
    /// there (`Camponotus_flavomarginatus.jpg/1280px-...`), and clear 4 bits of entropy too.
    static func isSecret(_ word: ArraySlice<UInt8>) -> Bool {
        guard word.count >= 16 else { return false }
        var keyCharactersFrom = word.endIndex
        while keyCharactersFrom > word.startIndex, isKeyCharacter(word[keyCharactersFrom - 1]) { keyCharactersFrom -= 1 }
        guard word.count >= 32 else { return isSecret(word, nil, keyCharactersFrom: keyCharactersFrom) }
        return withUnsafeTemporaryAllocation(of: Int.self, capacity: 256) { counts in
            isSecret(word, Tally(of: word, counts: counts), keyCharactersFrom: keyCharactersFrom)
        }
    }

    /// `isSecret` from a tally of the token and the index from which it holds only key
    /// characters.
    static func isSecret(_ token: ArraySlice<UInt8>, _ tally: Tally?, keyCharactersFrom: Int) -> Bool {
        guard token.count >= 16 else { return false }
        for prefix in secretPrefixes where hasPrefix(token, prefix) {
            let rest = token.startIndex + prefix.count
            if token.endIndex - rest >= 16, keyCharactersFrom <= rest { return true }
        }
        guard token.count >= 32, let tally else { return false }
        let (upper, lower) = (tally.upper, tally.lower)
        return tally.digits > 0 && upper > 0 && lower > 0 && 4 * upper >= lower && 4 * lower >= upper && tally.entropy >= 4.0
    }

    /// `starts(with:)`, without the generic path's cost at every word start.
    static func hasPrefix(_ token: ArraySlice<UInt8>, _ prefix: [UInt8]) -> Bool {
        guard token.count >= prefix.count, token.first == prefix[0] else { return false }
        var i = token.startIndex
        for byte in prefix {
            if token[i] != byte { return false }
            i += 1
        }
        return true
    }

    /// Which tails of a word are secrets, judged in one pass from the word's end leftwards: each
    /// tail is the previous one and a byte, so its tally is too, and all of them together cost the
    /// length of the longest.
    struct SecretTails {
        private let start: Int
        private var bits: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)

        /// The tails of `bytes[start..<end]` (at most `maxSecretLength` bytes) from each word start.
        init(_ bytes: [UInt8], from start: Int, to end: Int) {
            self.start = start
            guard end - start >= 16 else { return }
            withUnsafeTemporaryAllocation(of: Int.self, capacity: 256) { counts in
                var tally = Tally(counts: counts)
                var keyCharactersFrom = end
                for j in (start..<end).reversed() {
                    let b = bytes[j]
                    tally.add(b)
                    if keyCharactersFrom == j + 1, isKeyCharacter(b) { keyCharactersFrom = j }
                    if j == 0 || !isAlnum(bytes[j - 1]), isSecretStart(b), isSecret(bytes[j..<end], tally, keyCharactersFrom: keyCharactersFrom) {
                        let offset = j - start
                        switch offset >> 6 {
                        case 0: bits.0 |= 1 << (offset & 63)
                        case 1: bits.1 |= 1 << (offset & 63)
                        case 2: bits.2 |= 1 << (offset & 63)
                        default: bits.3 |= 1 << (offset & 63)
                        }
                    }
                }
            }
        }

        func contains(_ i: Int) -> Bool {
            let offset = i - start
            let word = switch offset >> 6 {
            case 0: bits.0
            case 1: bits.1
            case 2: bits.2
            default: bits.3
            }
            return (word >> (offset & 63)) & 1 == 1
        }
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

        /// A whole word at once: its histogram first, the rest from that.
        init(of word: ArraySlice<UInt8>, counts: UnsafeMutableBufferPointer<Int>) {
            self.init(counts: counts)
            for b in word { counts[Int(b)] += 1 }
            count = word.count
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

        static func cLogC(_ c: Int) -> Double { c < table.count ? table[c] : Double(c) * log2(Double(c)) }
        private static let table: [Double] = (0...maxSecretLength).map { $0 == 0 ? 0 : Double($0) * log2(Double($0)) }
    }

    /// `-----BEGIN ... PRIVATE KEY`, as PEM and PGP private keys open. The header has spaces in
    /// it, so the word-based check above never sees it whole.
    static func privateKeyHeader(at start: Int, _ bytes: [UInt8]) -> Range<Int>? {
        let begin = "-----BEGIN ".utf8, privateKey = "PRIVATE KEY".utf8
        guard bytes[start...].starts(with: begin) else { return nil }
        var end = start + begin.count
        while end < bytes.count, end - start < 64, bytes[end] != UInt8(ascii: "\n") {
            if bytes[end...].starts(with: privateKey) { return start..<(end + privateKey.count) }
            end += 1
        }
        return nil
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
        isAlnum(b) || b >= 0x80 || b == UInt8(ascii: ".") || b == UInt8(ascii: "_") || b == UInt8(ascii: "%") || b == UInt8(ascii: "+") || b == UInt8(ascii: "-")
    }
}

private func log2(_ x: Double) -> Double { log(x) / log(2.0) }

#if canImport(Glibc)
import Glibc
#endif
