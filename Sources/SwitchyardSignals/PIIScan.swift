
/// One scan of normalised text for `PIIDetector`, in two passes, each linear in the text.
///
/// 1. The specific detectors, by position: an address at each `@`; an IBAN, a number (card,
///    phone, SSN, IPv4), a private-key header or a prefixed key (`sk-`, `AKIA`, …) at each word
///    start, the first byte after one that is not a letter or digit. A detector that finds nothing
///    hides nothing: a number glued to letters (`3rd`, `5f3a9c`, `2fa`) is handed on to the key
///    checks at the same place, and after it every later word start, every `@`, is still tried;
///    a run of digits that is no number as a whole is read again from after each space or cell
///    break in it (`2024-03-15 078-05-1120`). A finding skips only its own bytes.
/// 2. High-entropy keys: each token of key characters (letters, digits, `+/_-.`), judged whole
///    and by its tails after each `/`, `.`, `-`, `_`. Such a token may hold a finding of the first
///    pass (an IBAN in a URL path): the key is then reported around it, so that each class keeps
///    its findings and findings never overlap.
struct PIIScan<Text: ScanBytes> {
    typealias Finding = PIIDetector.Finding

    let bytes: Text
    /// Where scanning stops: the last byte is a boundary, so that no check reads past the text.
    let end: Int

    init(_ bytes: Text) {
        self.bytes = bytes
        end = bytes.count - 1
    }

    func findings() -> [Finding] {
        guard end > 0 else { return [] }
        return merging(specificFindings(), secretTokens())
    }

    func isWordStart(_ i: Int) -> Bool { i == 0 || !PIIDetector.isAlnum(bytes[i - 1]) }

    // MARK: pass 1

    func specificFindings() -> [Finding] {
        var found: [Finding] = []
        // The run of key characters the last prefixed-key check measured: the word starts after
        // each `-` and `_` in it share its end, which is measured once.
        var keyRun = 0..<0
        var i = 0
        while i < end {
            let b = bytes[i]
            if b == UInt8(ascii: "@") {
                if let email = email(at: i, notBefore: found.last?.range.upperBound ?? 0) {
                    found.append(Finding(kind: .email, range: email))
                    i = email.upperBound
                } else {
                    i += 1
                }
                continue
            }
            guard isWordStart(i) else {
                i += 1
                continue
            }
            if PIIDetector.isLetter(b), let iban = iban(at: i) {
                found.append(Finding(kind: .iban, range: iban))
                i = iban.upperBound
                continue
            }
            if PIIDetector.isDigit(b) || ((b == UInt8(ascii: "+") || b == UInt8(ascii: "(")) && PIIDetector.isDigit(bytes[i + 1])) {
                switch numeric(at: i) {
                case .found(let finding):
                    found.append(finding)
                    i = finding.range.upperBound
                    continue
                case .skip(let to):
                    i = to
                    continue
                case .word:
                    break  // digits glued to letters: a word, which may still be a key
                }
            }
            if b == UInt8(ascii: "-"), let header = privateKeyHeader(at: i) {
                found.append(Finding(kind: .secret, range: header))
                i = header.upperBound
                continue
            }
            if PIIDetector.isLetter(b), let key = prefixedKey(at: i, keyRun: &keyRun) {
                found.append(Finding(kind: .secret, range: key))
                i = key.upperBound
                continue
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
    func email(at: Int, notBefore: Int) -> Range<Int>? {
        var start = at
        while start > notBefore, Self.isLocalPart(bytes[start - 1]) { start -= 1 }
        while start < at, bytes[start] == UInt8(ascii: ".") { start += 1 }
        guard start < at else { return nil }
        var stop = at + 1
        var lastDot = -1
        while stop < end, Self.isDomain(bytes[stop]) {
            if bytes[stop] == UInt8(ascii: ".") { lastDot = stop }
            stop += 1
        }
        // A sentence's full stop after the address is not part of it.
        while stop > at + 1, bytes[stop - 1] == UInt8(ascii: ".") { stop -= 1 }
        if lastDot >= stop {
            lastDot = stop - 1
            while lastDot > at, bytes[lastDot] != UInt8(ascii: ".") { lastDot -= 1 }
        }
        guard lastDot > at + 1, stop - lastDot - 1 >= 2 else { return nil }
        for k in (lastDot + 1)..<stop where !PIIDetector.isLetter(bytes[k]) && bytes[k] < 0x80 { return nil }
        return start..<stop
    }

    static func isLocalPart(_ b: UInt8) -> Bool {
        PIIDetector.isAlnum(b) || b >= 0x80 || b == UInt8(ascii: ".") || b == UInt8(ascii: "_") || b == UInt8(ascii: "%")
            || b == UInt8(ascii: "+") || b == UInt8(ascii: "-")
    }

    static func isDomain(_ b: UInt8) -> Bool {
        PIIDetector.isAlnum(b) || b >= 0x80 || b == UInt8(ascii: "-") || b == UInt8(ascii: ".")
    }

    // MARK: merging the passes

    /// The first pass's findings and the second's keys, in order; a key that covers findings of
    /// the first pass is reported as the parts of it around them that hold a letter or digit.
    func merging(_ found: [Finding], _ keys: [Range<Int>]) -> [Finding] {
        guard !keys.isEmpty else { return found }
        var merged: [Finding] = []
        merged.reserveCapacity(found.count + keys.count)
        var next = 0
        var covered = 0
        func addKeyPart(_ part: Range<Int>) {
            guard !part.isEmpty, part.contains(where: { PIIDetector.isAlnum(bytes[$0]) }) else { return }
            merged.append(Finding(kind: .secret, range: part))
        }
        for key in keys {
            var start = max(key.lowerBound, covered)
            while next < found.count, found[next].range.lowerBound < key.upperBound {
                let range = found[next].range
                if range.lowerBound > start { addKeyPart(start..<range.lowerBound) }
                merged.append(found[next])
                next += 1
                covered = range.upperBound
                start = max(start, covered)
            }
            if start < key.upperBound { addKeyPart(start..<key.upperBound) }
            covered = max(covered, key.upperBound)
        }
        merged += found[next...]
        return merged
    }
}
