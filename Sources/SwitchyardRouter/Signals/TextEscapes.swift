#if canImport(Glibc)
import Glibc
#endif

/// Percent-escapes and HTML character references, as text pasted from a link or a page carries
/// them (`jane.doe%40example.com`, `jane&#64;example.com`, `4111&nbsp;1111`), decoded for the PII
/// scan: a model reads straight through them, so they must not hide an address or a number.
///
/// Decoded, when what they spell is printable ASCII, a tab or a line break:
/// - `%XX`, and `%25XX` (a link escaped twice, as in a redirect's `next=` parameter);
/// - `&#NNN;` and `&#xHH;`;
/// - the named references of the characters detectors read: `&commat;` `&period;` `&plus;`
///   `&lowbar;` `&hyphen;` `&dash;` `&minus;` `&sol;` `&colon;` `&semi;` `&equals;` `&num;`
///   `&amp;` `&nbsp;` (and the other spaces), and the rest of ASCII's punctuation.
///
/// Not decoded: escapes of other bytes (`%00`, the UTF-8 of non-ASCII characters such as
/// `%EF%BC%A0`), references to non-ASCII characters (`&#65312;`), other named references,
/// and a third level of escaping. Decoding is one pass, so the bytes it makes are not decoded
/// again (`%2526` is `%26`, not `&`).
enum TextEscapes {
    /// Decodes the escapes in `out[start...]`, in place. `origins`, if not nil, holds for each
    /// byte from `start` the input bytes it comes from (nil stands for each byte from itself);
    /// when something is decoded and `recordingOrigins`, it is rewritten for the decoded bytes.
    static func decode(_ out: inout [UInt8], from start: Int, origins: inout [Range<Int>]?, recordingOrigins: Bool) {
        guard let first = firstCandidate(out, from: start) else { return }
        var read = first, write = first
        var decoded: [Range<Int>] = []
        var changed = false
        func origin(_ k: Int) -> Range<Int> { origins?[k - start] ?? (k - start)..<(k - start + 1) }
        while read < out.count {
            let b = out[read]
            if b == UInt8(ascii: "%") || b == UInt8(ascii: "&"), case let (byte, length)? = escape(at: read, in: out) {
                if !changed {
                    changed = true
                    if recordingOrigins { decoded = (start..<write).map(origin) }
                }
                if recordingOrigins { decoded.append(origin(read).lowerBound..<origin(read + length - 1).upperBound) }
                out[write] = byte
                read += length
            } else {
                if changed, recordingOrigins { decoded.append(origin(read)) }
                out[write] = b
                read += 1
            }
            write += 1
        }
        guard changed else { return }
        out.removeSubrange(write...)
        if recordingOrigins { origins = decoded }
    }

    /// The first `%` or `&` from `start`, found with memchr: most text has neither.
    static func firstCandidate(_ out: [UInt8], from start: Int) -> Int? {
        out.withUnsafeBufferPointer { buffer -> Int? in
            guard start < buffer.count, let base = buffer.baseAddress else { return nil }
            var first: Int?
            for byte in [UInt8(ascii: "%"), UInt8(ascii: "&")] {
                let limit = (first ?? buffer.count) - start
                if limit > 0, let found = memchr(base + start, Int32(byte), limit) {
                    first = start + UnsafeRawPointer(base + start).distance(to: UnsafeRawPointer(found))
                }
            }
            return first
        }
    }

    /// The byte the escape at `position` spells and the escape's length, if it is decoded.
    static func escape(at position: Int, in bytes: [UInt8]) -> (UInt8, Int)? {
        if bytes[position] == UInt8(ascii: "%") {
            guard position + 2 < bytes.count, let value = hex(bytes[position + 1], bytes[position + 2]) else { return nil }
            if value == UInt8(ascii: "%"), position + 4 < bytes.count, let inner = hex(bytes[position + 3], bytes[position + 4]), isDecoded(inner) {
                return (inner, 5)
            }
            return isDecoded(value) ? (value, 3) : nil
        }
        guard position + 3 < bytes.count else { return nil }
        if bytes[position + 1] == UInt8(ascii: "#") {
            let isHex = bytes[position + 2] | 0x20 == UInt8(ascii: "x")
            var k = position + (isHex ? 3 : 2)
            var value = 0
            let digitsStart = k
            while k < bytes.count, k - digitsStart < 7, let digit = isHex ? hexDigit(bytes[k]) : decimalDigit(bytes[k]) {
                value = value * (isHex ? 16 : 10) + Int(digit)
                k += 1
            }
            guard k > digitsStart, k < bytes.count, bytes[k] == UInt8(ascii: ";"), value < 0x80, isDecoded(UInt8(value)) else { return nil }
            return (UInt8(value), k + 1 - position)
        }
        var k = position + 1
        while k < bytes.count, k - position <= 8, (bytes[k] | 0x20) &- 97 < 26 { k += 1 }
        guard k > position + 1, k < bytes.count, bytes[k] == UInt8(ascii: ";"),
              let byte = named[Array(bytes[(position + 1)..<k])] else { return nil }
        return (byte, k + 1 - position)
    }

    static func isDecoded(_ b: UInt8) -> Bool { (0x20...0x7E).contains(b) || b == 0x09 || b == 0x0A || b == 0x0D }

    static func decimalDigit(_ b: UInt8) -> UInt8? { b &- 48 < 10 ? b - 48 : nil }

    static func hexDigit(_ b: UInt8) -> UInt8? {
        if let digit = decimalDigit(b) { return digit }
        let lower = b | 0x20
        return lower &- 97 < 6 ? lower - 97 + 10 : nil
    }

    static func hex(_ high: UInt8, _ low: UInt8) -> UInt8? {
        guard let h = hexDigit(high), let l = hexDigit(low) else { return nil }
        return h << 4 | l
    }

    /// HTML's named references for ASCII punctuation, and for the spaces and dashes the
    /// normaliser would fold to ASCII anyway.
    static let named: [[UInt8]: UInt8] = {
        let table: [(String, Character)] = [
            ("amp", "&"), ("lt", "<"), ("gt", ">"), ("quot", "\""), ("apos", "'"), ("commat", "@"), ("period", "."),
            ("comma", ","), ("colon", ":"), ("semi", ";"), ("excl", "!"), ("quest", "?"), ("num", "#"), ("dollar", "$"),
            ("percnt", "%"), ("plus", "+"), ("equals", "="), ("lowbar", "_"), ("hyphen", "-"), ("dash", "-"), ("minus", "-"),
            ("sol", "/"), ("bsol", "\\"), ("lpar", "("), ("rpar", ")"), ("lsqb", "["), ("rsqb", "]"), ("lcub", "{"),
            ("rcub", "}"), ("ast", "*"), ("vert", "|"), ("Tab", "\t"), ("NewLine", "\n"),
            ("nbsp", " "), ("ensp", " "), ("emsp", " "), ("thinsp", " "),
        ]
        return Dictionary(uniqueKeysWithValues: table.map { (Array($0.0.utf8), $0.1.asciiValue!) })
    }()
}
