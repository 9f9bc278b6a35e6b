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
    ///
    /// It jumps from one `%` or `&` to the next (memchr), and moves the bytes between escapes only
    /// once one has been decoded: most text has none, and a link has a few among many bytes.
    static func decode(_ out: inout [UInt8], from start: Int, origins: inout [Range<Int>]?, recordingOrigins: Bool) {
        let count = out.count
        var decodedOrigins: [Range<Int>] = []
        func origin(_ k: Int) -> Range<Int> { origins?[k - start] ?? (k - start)..<(k - start + 1) }
        let end: Int? = out.withUnsafeMutableBufferPointer { buffer in
            var candidates = Candidates(buffer: UnsafeBufferPointer(buffer))
            // Bytes before `read` are decoded and moved to before `write`; after it, not yet.
            var read = start, write = start, searchFrom = start
            var changed = false
            func move(upTo stop: Int) {
                if recordingOrigins { decodedOrigins += (read..<stop).map(origin) }
                if write != read, stop > read { buffer.baseAddress!.advanced(by: write).update(from: buffer.baseAddress!.advanced(by: read), count: stop - read) }
                write += stop - read
                read = stop
            }
            while let candidate = candidates.first(from: searchFrom) {
                searchFrom = candidate + 1
                guard case let (byte, length)? = escape(at: candidate, in: UnsafeBufferPointer(buffer)) else { continue }
                if !changed {
                    changed = true
                    read = candidate
                    write = candidate
                    if recordingOrigins { decodedOrigins = (start..<candidate).map(origin) }
                } else {
                    move(upTo: candidate)
                }
                if recordingOrigins { decodedOrigins.append(origin(candidate).lowerBound..<origin(candidate + length - 1).upperBound) }
                buffer[write] = byte
                write += 1
                read = candidate + length
                searchFrom = read
            }
            guard changed else { return nil }
            move(upTo: count)
            return write
        }
        guard let end else { return }
        out.removeSubrange(end...)
        if recordingOrigins { origins = decodedOrigins }
    }

    /// The next `%` and the next `&`, each found with memchr and kept until the scan passes it, so
    /// that finding all of them reads the text once for each.
    struct Candidates {
        let buffer: UnsafeBufferPointer<UInt8>
        private var nextPercent = -1, nextAmpersand = -1

        init(buffer: UnsafeBufferPointer<UInt8>) { self.buffer = buffer }

        mutating func first(from position: Int) -> Int? {
            if nextPercent < position { nextPercent = find(UInt8(ascii: "%"), from: position) }
            if nextAmpersand < position { nextAmpersand = find(UInt8(ascii: "&"), from: position) }
            let first = min(nextPercent, nextAmpersand)
            return first < buffer.count ? first : nil
        }

        /// The index of the next `byte` from `position`, or the buffer's count if there is none.
        private func find(_ byte: UInt8, from position: Int) -> Int {
            guard position < buffer.count, let base = buffer.baseAddress,
                  let found = memchr(base + position, Int32(byte), buffer.count - position) else { return buffer.count }
            return UnsafeRawPointer(base).distance(to: UnsafeRawPointer(found))
        }
    }

    /// The byte the escape at `position` spells and the escape's length, if it is decoded.
    static func escape(at position: Int, in bytes: UnsafeBufferPointer<UInt8>) -> (UInt8, Int)? {
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
