
/// Runs of digits and separators: card numbers, phone numbers, US SSNs, IPv4 addresses.
extension PIIScan {
    enum NumericResult {
        case found(Finding)
        /// No number starts here; nothing before this index hides one.
        case skip(to: Int)
        /// Digits glued to letters (`3rd`, `5f3a9c`): a word, not a number.
        case word
    }

    /// Reads the run of digits and separators at `start` and judges it whole; failing that, the
    /// first part of it that ends at a space or cell break and is a card (`4111 1111 1111 1111
    /// 12/27`), the part before a wide gap (`+4420 7946 0958 - 2 lines`), and its first segment,
    /// up to its first space or cell break (`192.168.10.254 10.0.0`). If none is anything, the
    /// scan goes on after that first segment, so that a number later in the run
    /// (`2024-03-15 078-05-1120`, `qty 2 4111 1111 1111 1111`) is judged from its own start. A run
    /// stops after 24 digits (a card's 19 and an expiry), which bounds what reading it again costs.
    ///
    /// Wide gaps let a card number written in groups of four cross gaps of two or three
    /// separators (`4111 - 1111`, two spaces).
    func numeric(at start: Int) -> NumericResult {
        var run = PIIDetector.DigitRun()
        var stop = start
        var parts = RunParts()
        // Cells and rows join a run only after a card's group (four digits, or six in an Amex or
        // Diners number) and a word that names a card (`isCard`): elsewhere a table's figures, and
        // thousands, are read one by one, as they are meant.
        var cellsJoin: Bool?
        while stop < end {
            let b = bytes[stop]
            if PIIDetector.isDigit(b) {
                run.append(digit: Int(b - 48))
                stop += 1
                // A run this long is no number of a person (a table of figures), nor is its end.
                if run.count > 24 { break }
                continue
            }
            guard case let (kind, width)? = separator(at: stop) else { break }
            let next = bytes[stop + width]
            // `(415) 555-0100`: a closing parenthesis and a space continue the run only when a digit follows.
            let areaCodeClose = b == UInt8(ascii: ")") && next == UInt8(ascii: " ") && PIIDetector.isDigit(bytes[stop + 2])
            if PIIDetector.isDigit(next) || areaCodeClose {
                if PIIDetector.Separators.cells.contains(kind) {
                    guard run.lastGroup == 4 || run.lastGroup == 6 else { break }
                    if cellsJoin == nil { cellsJoin = precededByWord(PIIDetector.cardWords, at: start) }
                    if cellsJoin == false { break }
                }
                if PIIDetector.Separators.segmentEnds.contains(kind) { parts.note(run, start..<stop, wide: false, in: self) }
                run.append(kind)
                stop += width
            } else if run.mayWiden, let gapEnd = cardGapEnd(from: stop) {
                parts.note(run, start..<stop, wide: true, in: self)
                for k in stop..<gapEnd { run.append(PIIDetector.Separators(byte: bytes[k])!) }
                run.widened = true
                stop = gapEnd
            } else {
                break
            }
        }
        // Glued to letters (an order id like A12345678901, a hash, `3rd`) it is not a number of a person.
        let glued = PIIDetector.isLetter(bytes[stop])
        if !glued, let finding = classify(run, start..<stop) { return .found(finding) }
        if let finding = parts.cardPrefix ?? parts.beforeWideGap { return .found(finding) }
        if let (segment, segmentEnd) = parts.firstSegment {
            if let finding = classify(segment, start..<segmentEnd) { return .found(finding) }
            return .skip(to: segmentEnd)
        }
        return glued ? .word : .skip(to: stop)
    }

    /// The parts of a run `numeric` judges when the whole is nothing, noted at each space, cell
    /// break or wide gap as the run is read.
    struct RunParts {
        /// Up to the first space or cell break.
        private(set) var firstSegment: (PIIDetector.DigitRun, Int)?
        /// The first part ending at one that is a card.
        private(set) var cardPrefix: Finding?
        /// What the part before the first wide gap is.
        private(set) var beforeWideGap: Finding?
        private var crossedWideGap = false

        mutating func note(_ run: PIIDetector.DigitRun, _ part: Range<Int>, wide: Bool, in scan: PIIScan) {
            if firstSegment == nil { firstSegment = (run, part.upperBound) }
            if cardPrefix == nil, scan.isCard(run, part) { cardPrefix = Finding(kind: .creditCard, range: part) }
            if wide, !crossedWideGap {
                crossedWideGap = true
                beforeWideGap = scan.classify(run, part)
            }
        }
    }

    /// The separator at `position` and its width in bytes (a CR LF is one line break).
    func separator(at position: Int) -> (PIIDetector.Separators, Int)? {
        let b = bytes[position]
        if b == UInt8(ascii: "\r") { return (.newline, bytes[position + 1] == UInt8(ascii: "\n") ? 2 : 1) }
        return PIIDetector.Separators(byte: b).map { ($0, 1) }
    }

    /// Where a gap of two or three separators that may split a printed card number (space, dash,
    /// dot, underscore) ends, if a digit follows it.
    func cardGapEnd(from start: Int) -> Int? {
        var stop = start
        while stop < end, stop - start < 3, let separator = PIIDetector.Separators(byte: bytes[stop]),
              PIIDetector.Separators.printed.contains(separator) { stop += 1 }
        return stop - start >= 2 && stop < end && PIIDetector.isDigit(bytes[stop]) ? stop : nil
    }

    func classify(_ run: PIIDetector.DigitRun, _ range: Range<Int>) -> Finding? {
        let kind: PIIClass? = if isIPv4(run, range) {
            .ipAddress
        } else if isSSN(run, range) {
            .nationalID
        } else if isCard(run, range) {
            .creditCard
        } else if isPhone(run, range) {
            .phone
        } else {
            nil
        }
        return kind.map { Finding(kind: $0, range: range) }
    }

    /// Four dot-separated octets in range, not a version (`v10.0.0.1`, `version 1.2.3.4`).
    func isIPv4(_ run: PIIDetector.DigitRun, _ range: Range<Int>) -> Bool {
        guard run.separators == .dot, run.groupCount == 4, run.largestGroup <= 3 else { return false }
        var octet = 0
        for k in range {
            if bytes[k] == UInt8(ascii: ".") {
                octet = 0
            } else {
                octet = octet * 10 + Int(bytes[k] - 48)
                if octet > 255 { return false }
            }
        }
        let start = range.lowerBound
        if start > 0, bytes[start - 1] | 0x20 == UInt8(ascii: "v") { return false }
        return !precededByWord(PIIDetector.versionWords, at: start)
    }

    /// A US SSN: 3-2-4 digits with one kind of separator (dash, space or dot), or nine bare digits
    /// after a word that names it; never with a number the SSA does not issue.
    func isSSN(_ run: PIIDetector.DigitRun, _ range: Range<Int>) -> Bool {
        let separators = run.separators
        if run.groups(3, 2, 4), separators == .dash || separators == .space || separators == .dot { return run.isIssuedSSN }
        if separators.isEmpty, run.count == 9, run.isIssuedSSN { return precededByWord(PIIDetector.ssnWords, at: range.lowerBound) }
        return false
    }

    /// 13 to 19 digits that pass Luhn and start like a card network's numbers, written as cards
    /// are: unseparated, or in a card's groups (4-4-4-4, 4-6-5, …) split by spaces, dashes, dots,
    /// underscores (wide gaps of them too) or slashes. Split by tabs, line breaks or commas, which
    /// lay out tables whose rows of four-digit figures pass Luhn one time in ten, it is a card only
    /// after a word that names one (`card`, `visa`, …).
    func isCard(_ run: PIIDetector.DigitRun, _ range: Range<Int>) -> Bool {
        guard (13...19).contains(run.count), run.passesLuhn, run.hasCardNetworkPrefix else { return false }
        let separators = run.separators
        if separators.isEmpty { return true }
        guard run.hasCardGroups, separators.isSubset(of: .card) else { return false }
        if separators.isDisjoint(with: .cells) { return true }
        return precededByWord(PIIDetector.cardWords, at: range.lowerBound)
    }

    /// International numbers (`+` or `00` and a country code) of 8 to 15 digits; national ones of
    /// 10 or 11 digits that could be dialled (`isDiallableNational`: a trunk 0, or NANP) and are
    /// grouped as such numbers are written: NANP in 3-3-4 (`(415) 555-0100`); after a trunk 0 in
    /// two groups or more (`07911 123456`, `030 12345678`, `020 7946 0958`, `06 12 34 56 78`), not
    /// led by a date and not ending in a single digit (an ISBN). Bare national and `00` numbers
    /// only after a word that names a phone.
    func isPhone(_ run: PIIDetector.DigitRun, _ range: Range<Int>) -> Bool {
        let separators = run.separators
        guard !run.widened, separators.isSubset(of: .phone), run.groupCount <= 6 else { return false }
        let start = range.lowerBound
        if bytes[start] == UInt8(ascii: "+") {
            return (8...15).contains(run.count) && (separators == .plus || run.lastGroup >= 2)
        }
        if run.count > 2, run.digit(0) == 0, run.digit(1) == 0 {
            guard run.digit(2) != 0, (10...17).contains(run.count) else { return false }
            return separators.isEmpty ? precededByWord(PIIDetector.phoneWords, at: start) : run.lastGroup >= 2
        }
        guard (10...11).contains(run.count), run.isDiallableNational else { return false }
        if separators.isEmpty { return precededByWord(PIIDetector.phoneWords, at: start) }
        guard run.digit(0) == 0 else {
            // NANP, as it is written: `(415) 555-0100`, `415.555.0100`, `1-800-555-0100`.
            return run.groups(3, 3, 4) || run.groups(1, 3, 3, 4)
        }
        guard run.lastGroup >= 2, !run.startsWithDate else { return false }
        if run.groupCount == 2 {
            // Trunk 0, an area code, the subscriber number: `07911 123456`, `030 12345678`.
            return (2...5).contains(run.group(0)) && run.group(1) >= 5
        }
        return true
    }

    /// Whether one of `words` is among the whole words in the 32 bytes before `start`, in any
    /// case: the label that says what a bare number is (`Tel: 4155550100`, `"ssn":"078051120"`,
    /// the key before a value in a request body).
    func precededByWord(_ words: PIIDetector.WordList, at start: Int) -> Bool {
        let windowStart = max(0, start - 32)
        var j = start
        while j > windowStart {
            while j > windowStart, !PIIDetector.isLetter(bytes[j - 1]) { j -= 1 }
            let wordEnd = j
            while j > windowStart, PIIDetector.isLetter(bytes[j - 1]) { j -= 1 }
            // A word cut by the window's start is not a whole word.
            if j == wordEnd || (j == windowStart && j > 0 && PIIDetector.isLetter(bytes[j - 1])) { return false }
            if words.contains(j..<wordEnd, in: bytes) { return true }
        }
        return false
    }
}

extension PIIDetector {
    /// What the checks need to know of a run of digits, gathered as it is read, without allocating
    /// (the scan meets a run at every number in the text).
    struct DigitRun {
        private(set) var count = 0
        /// The first 19 digits as a number; the first four one by one.
        private(set) var value: UInt64 = 0
        private var leadingDigits: (UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0)
        /// Luhn sums with the digits at even, or at odd, positions from the left doubled: which one
        /// applies depends on the length, known only at the end.
        private var luhnSums = (evenDoubled: 0, oddDoubled: 0)
        private(set) var separators = Separators()
        /// Groups of digits between separators; the sizes of the first eight, a byte each, and the
        /// values of the first three.
        private(set) var groupCount = 0
        private var sizes: UInt64 = 0
        private var leadingValues = (0, 0, 0)
        private(set) var largestGroup = 0
        /// The size of the group being read: the last group's, once the run has ended.
        private(set) var lastGroup = 0
        private var onlyFours = true
        /// A gap of more than one separator was crossed.
        var widened = false

        @inline(__always)
        mutating func append(digit: Int) {
            if count < 19 { value = value * 10 + UInt64(digit) }
            switch count {
            case 0: leadingDigits.0 = UInt8(digit)
            case 1: leadingDigits.1 = UInt8(digit)
            case 2: leadingDigits.2 = UInt8(digit)
            case 3: leadingDigits.3 = UInt8(digit)
            default: break
            }
            let doubled = digit * 2 > 9 ? digit * 2 - 9 : digit * 2
            if count % 2 == 0 { luhnSums.evenDoubled += doubled; luhnSums.oddDoubled += digit } else { luhnSums.evenDoubled += digit; luhnSums.oddDoubled += doubled }
            if lastGroup == 0 { groupCount += 1 }
            lastGroup += 1
            count += 1
            if groupCount <= 8 { sizes = sizes & ~(0xFF << (8 * UInt64(groupCount - 1))) | UInt64(min(lastGroup, 255)) << (8 * UInt64(groupCount - 1)) }
            switch groupCount {
            case 1: leadingValues.0 = min(leadingValues.0 * 10 + digit, 99_999)
            case 2: leadingValues.1 = min(leadingValues.1 * 10 + digit, 99_999)
            case 3: leadingValues.2 = min(leadingValues.2 * 10 + digit, 99_999)
            default: break
            }
            largestGroup = max(largestGroup, lastGroup)
        }

        @inline(__always)
        mutating func append(_ separator: Separators) {
            separators.formUnion(separator)
            if lastGroup > 0, lastGroup != 4 { onlyFours = false }
            lastGroup = 0
        }

        /// Luhn doubles every second digit counting from the rightmost, which is not doubled: from
        /// the left and from zero, the even positions when the count is even, the odd ones when odd.
        var passesLuhn: Bool { (count % 2 == 0 ? luhnSums.evenDoubled : luhnSums.oddDoubled) % 10 == 0 }

        /// Only after groups of exactly four, and before a card's sixteen digits are complete.
        var mayWiden: Bool { onlyFours && lastGroup == 4 && count < 16 }

        /// The digit at `index` (0 to 3) from the left; 0 past the run's end.
        func digit(_ index: Int) -> Int {
            switch index {
            case 0: Int(leadingDigits.0)
            case 1: Int(leadingDigits.1)
            case 2: Int(leadingDigits.2)
            default: Int(leadingDigits.3)
            }
        }

        func group(_ index: Int) -> Int { Int(truncatingIfNeeded: sizes >> (8 * UInt64(index))) & 0xFF }

        func groups(_ a: Int, _ b: Int, _ c: Int) -> Bool { groupCount == 3 && group(0) == a && group(1) == b && group(2) == c }

        func groups(_ a: Int, _ b: Int, _ c: Int, _ d: Int) -> Bool {
            groupCount == 4 && group(0) == a && group(1) == b && group(2) == c && group(3) == d
        }

        /// Year, month, day in either order at the start (`2024-03-15 10`, `15.03.2024`).
        var startsWithDate: Bool {
            guard groupCount >= 3 else { return false }
            let (a, b, c) = leadingValues
            if group(0) == 4, group(1) == 2, group(2) == 2 { return (1...12).contains(b) && (1...31).contains(c) }
            if group(0) == 2, group(1) == 2, group(2) == 4 { return ((1...31).contains(a) && (1...12).contains(b)) || ((1...12).contains(a) && (1...31).contains(b)) }
            return false
        }

        /// 4-4-4-4 and its shorter or longer kin (a last group of one to four), also with a
        /// separator lost (`41111111 1111 1111`: an invisible one removed, two blocks joined);
        /// 4-6-5 (Amex), 4-6-4 (Diners).
        var hasCardGroups: Bool {
            guard (2...5).contains(groupCount) else { return false }
            if groupCount == 3, group(0) == 4, group(1) == 6, group(2) == 4 || group(2) == 5 { return true }
            let last = group(groupCount - 1)
            return (0..<(groupCount - 1)).allSatisfy { group($0) % 4 == 0 } && ((1...4).contains(last) || last % 4 == 0)
        }

        /// American Express, Diners and JCB (3), Visa (4), Mastercard (51-55, 2221-2720),
        /// Discover and UnionPay (6); not the airline, petroleum and other industry ranges,
        /// where years and serial numbers fall.
        var hasCardNetworkPrefix: Bool {
            guard count >= 4 else { return false }
            let leading = digit(0) * 1000 + digit(1) * 100 + digit(2) * 10 + digit(3)
            return (3...6).contains(leading / 1000) || (2221...2720).contains(leading)
        }

        /// Area 001-899 but 666, group 01-99, serial 0001-9999: the SSA issues no other.
        var isIssuedSSN: Bool {
            guard count == 9 else { return false }
            let area = value / 1_000_000, group = value / 10_000 % 100, serial = value % 10_000
            return area != 0 && area != 666 && area < 900 && group != 0 && serial != 0
        }

        /// Ten or eleven bare digits that could be dialled: a NANP number (area and exchange codes
        /// 2-9XX, not N11, no area code N9X), with or without its country code 1; or a national
        /// number after a trunk 0 (`07911123456`, `0301234567`).
        var isDiallableNational: Bool {
            if digit(0) == 0 { return digit(1) != 0 }
            let nanp: UInt64
            switch (count, digit(0)) {
            case (10, _): nanp = value
            case (11, 1): nanp = value - 10_000_000_000
            default: return false
            }
            let area = nanp / 10_000_000, exchange = nanp / 10_000 % 1000
            return area >= 200 && area % 100 != 11 && area / 10 % 10 != 9 && exchange >= 200 && exchange % 100 != 11
        }
    }

    /// The separators seen in a run of digits, as a bit set.
    struct Separators: OptionSet {
        let rawValue: UInt16
        static let space = Separators(rawValue: 1), dash = Separators(rawValue: 2), dot = Separators(rawValue: 4)
        static let open = Separators(rawValue: 8), close = Separators(rawValue: 16), plus = Separators(rawValue: 32)
        static let underscore = Separators(rawValue: 64), tab = Separators(rawValue: 128), newline = Separators(rawValue: 256)
        static let slash = Separators(rawValue: 512), comma = Separators(rawValue: 1024)
        /// Those a card number is printed or spelled with.
        static let printed: Separators = [.space, .dash, .dot, .underscore]
        /// Those that lay out tables: cells and rows.
        static let cells: Separators = [.tab, .newline, .comma]
        static let card: Separators = printed.union(cells).union(.slash)
        static let phone: Separators = [.space, .dash, .dot, .open, .close, .plus]
        /// Those after which a number may start afresh, so that the part of a run before them is
        /// judged on its own too.
        static let segmentEnds: Separators = [.space, .tab, .newline, .comma, .slash]

        init(rawValue: UInt16) { self.rawValue = rawValue }

        init?(byte: UInt8) {
            switch byte {
            case UInt8(ascii: " "): self = .space
            case UInt8(ascii: "-"): self = .dash
            case UInt8(ascii: "."): self = .dot
            case UInt8(ascii: "("): self = .open
            case UInt8(ascii: ")"): self = .close
            case UInt8(ascii: "+"): self = .plus
            case UInt8(ascii: "_"): self = .underscore
            case UInt8(ascii: "\t"): self = .tab
            case UInt8(ascii: "\n"): self = .newline
            case UInt8(ascii: "/"): self = .slash
            case UInt8(ascii: ","): self = .comma
            default: return nil
            }
        }
    }

    /// Words, in lower-case ASCII, that name what a bare number is; by length, so that a word of
    /// the text is compared with the few of its length.
    struct WordList {
        private let byLength: [[[UInt8]]]

        init(_ words: String...) {
            var byLength = [[[UInt8]]](repeating: [], count: 17)
            for word in words { byLength[word.utf8.count].append(Array(word.utf8)) }
            self.byLength = byLength
        }

        func contains<Text: ScanBytes>(_ range: Range<Int>, in bytes: Text) -> Bool {
            guard range.count < byLength.count else { return false }
            return byLength[range.count].contains { word in zip(word, range).allSatisfy { $0 == bytes[$1] | 0x20 } }
        }
    }

    static let phoneWords = WordList("phone", "phones", "telephone", "tel", "mobile", "mob", "cell", "cellphone", "fax", "call",
                                     "sms", "whatsapp", "contact", "ph", "telefon", "telefono", "handy", "movil", "mobil",
                                     "portable", "cel", "celular", "hotline")
    static let ssnWords = WordList("ssn", "ssns", "security", "socsec")
    static let cardWords = WordList("card", "cards", "cc", "ccn", "visa", "mastercard", "amex", "discover", "jcb", "diners",
                                    "unionpay", "maestro", "credit", "debit", "pan", "kreditkarte", "karte", "carte", "tarjeta", "payment")
    static let versionWords = WordList("version", "ver", "build", "release", "firmware")
}
