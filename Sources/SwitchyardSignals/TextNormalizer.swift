internal import Foundation

/// Rewrites text into the ASCII a reader, or a model, would take it for, so that the PII
/// detector (which reads ASCII) is not evaded by how a number or address is written: `４１１１`,
/// `٤١١١` and `𝟒𝟏𝟏𝟏` all read as `4111`, `jane＠example.com` as `jane@example.com`, and a
/// zero-width space, soft hyphen or combining mark inside a card number disappears.
///
/// What it does to each non-ASCII character, in this order:
/// - drops it if it is invisible or attaches to the previous one: format characters (Cf: zero-width
///   spaces and joiners, soft hyphen, bidi marks, tag characters), combining and enclosing marks
///   (Mn, Me: variation selectors, keycaps), and other default-ignorable code points (fillers);
/// - a decimal digit of any script (Nd, which Unicode defines as exactly the characters with
///   `numericType == .decimal`) becomes the ASCII digit of the same value;
/// - a space separator (Zs: no-break, thin, ideographic space) becomes a space, a line or paragraph
///   separator a newline, and dash punctuation (Pd) or the minus sign a hyphen-minus;
/// - anything else takes its NFKC compatibility form (fullwidth and mathematical letters,
///   ligatures, `＠`, `．`, superscripts), whose characters go through the rules above.
///
/// Then percent-escapes and HTML character references that spell ASCII are decoded
/// (TextEscapes): `jane.doe%40example.com` reads as `jane.doe@example.com`.
///
/// Offsets in the output map back to the input's through the origins `append` can record.
///
/// Cost: ASCII text is copied as it is, after one pass that finds no byte above 0x7F and a
/// memchr that finds no `%` or `&`. Elsewhere,
/// the standard library's character properties cost some 40 ns per look-up on Linux, and
/// Foundation's NFKC about half a microsecond per byte (it bridges through NSString), far too
/// much for a hot path. So the rule for each character of the two planes text is written in is
/// read from a table built once, and NFKC is applied only to the few characters it could change,
/// once per distinct character per normaliser.
struct TextNormalizer {
    /// NFKC forms already looked up, for the strings of one request.
    private var compatibilityForms: [Unicode.Scalar: String] = [:]

    /// Appends the normalised UTF-8 of `text` to `out`. With `recordingOrigins`, returns, for
    /// each byte appended, the bytes of `text`'s UTF-8 it comes from; nil when the text is ASCII
    /// with nothing to decode, which is appended as it is.
    @discardableResult
    mutating func append(_ text: Substring, to out: inout [UInt8], recordingOrigins: Bool = false) -> [Range<Int>]? {
        let start = out.count
        if text.utf8.withContiguousStorageIfAvailable({ out.append(contentsOf: $0) }) == nil {
            out.append(contentsOf: text.utf8)
        }
        let isASCII = out.withUnsafeBufferPointer { buffer in
            var high: UInt8 = 0
            for byte in buffer[start...] { high |= byte }
            return high < 0x80
        }
        var origins: [Range<Int>]?
        if !isASCII {
            out.removeSubrange(start...)
            origins = recordingOrigins ? [] : nil
            if text.utf8.withContiguousStorageIfAvailable({ append(decoding: $0, to: &out, origins: &origins) }) == nil {
                Array(text.utf8).withUnsafeBufferPointer { append(decoding: $0, to: &out, origins: &origins) }
            }
        }
        TextEscapes.decode(&out, from: start, origins: &origins, recordingOrigins: recordingOrigins)
        return origins
    }

    /// Decodes valid UTF-8 (as a `String` holds) and appends each character by its rule; an
    /// unchanged one as its own bytes.
    private mutating func append(decoding utf8: UnsafeBufferPointer<UInt8>, to out: inout [UInt8], origins: inout [Range<Int>]?) {
        var i = 0
        while i < utf8.count {
            let lead = utf8[i]
            if lead < 0x80 {
                out.append(lead)
                origins?.append(i..<(i + 1))
                i += 1
                continue
            }
            let appended = out.count
            let length = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2
            var value = UInt32(lead & (0x7F >> length))
            for k in 1..<length { value = value << 6 | UInt32(utf8[i + k] & 0x3F) }
            let scalar = Unicode.Scalar(value)!
            switch Self.rule(for: scalar) {
            case Self.unchanged: out.append(contentsOf: utf8[i..<(i + length)])
            case Self.dropped: break
            case Self.compatibilityForm:
                // An NFKC form is already in NFKC: its characters take the other rules only.
                for mapped in compatibilityForm(of: scalar).unicodeScalars {
                    switch Self.rule(for: mapped) {
                    case Self.unchanged, Self.compatibilityForm: UTF8.encode(mapped) { out.append($0) }
                    case Self.dropped: break
                    case let byte: out.append(byte)
                    }
                }
            case let byte: out.append(byte)
            }
            if origins != nil {
                for _ in appended..<out.count { origins!.append(i..<(i + length)) }
            }
            i += length
        }
    }

    private mutating func compatibilityForm(of scalar: Unicode.Scalar) -> String {
        if let known = compatibilityForms[scalar] { return known }
        let form = String(Character(scalar)).precomposedStringWithCompatibilityMapping
        compatibilityForms[scalar] = form
        return form
    }

    /// A rule is the ASCII byte a character becomes, or one of these codes (all control
    /// characters, which no rule produces).
    static let unchanged: UInt8 = 0, dropped: UInt8 = 1, compatibilityForm: UInt8 = 2

    static func rule(for scalar: Unicode.Scalar) -> UInt8 {
        let value = Int(scalar.value)
        switch value {
        case ..<0x10000: return rulesInBMP[value]
        case ..<0x20000: return rulesInSMP[value - 0x10000]
        // CJK ideograph extensions, and compatibility ideographs whose NFKC form is another
        // ideograph: nothing a detector reads.
        case ..<0x40000: return unchanged
        default: return ruleFromProperties(scalar)
        }
    }

    /// `ruleFromProperties` for each character of the Basic and the Supplementary Multilingual
    /// Planes (emoji, mathematical digits), a byte each, each plane built the first time text
    /// needs it (about 10 ms), from the standard library's own Unicode data: text in any script
    /// then costs one load per character rather than several look-ups.
    static let rulesInBMP = rules(inPlane: 0), rulesInSMP = rules(inPlane: 1)

    static func rules(inPlane plane: UInt32) -> [UInt8] {
        var rules = [UInt8](repeating: unchanged, count: 0x10000)
        for low in UInt32(0)..<0x10000 {
            if let scalar = Unicode.Scalar(plane << 16 | low) { rules[Int(low)] = ruleFromProperties(scalar) }
        }
        return rules
    }

    static func ruleFromProperties(_ scalar: Unicode.Scalar) -> UInt8 {
        if scalar.isASCII { return unchanged }
        let properties = scalar.properties
        switch properties.generalCategory {
        case .format, .nonspacingMark, .enclosingMark:
            return dropped
        case .decimalNumber:
            if let value = properties.numericValue { return UInt8(ascii: "0") + UInt8(value) }
        case .spaceSeparator:
            return UInt8(ascii: " ")
        case .lineSeparator, .paragraphSeparator:
            return UInt8(ascii: "\n")
        case .dashPunctuation:
            return UInt8(ascii: "-")
        default:
            break
        }
        if properties.isDefaultIgnorableCodePoint { return dropped }
        if scalar == "\u{2212}" { return UInt8(ascii: "-") }  // minus sign (Sm), the dash most often typed in numbers
        return mayHaveCompatibilityForm(properties) ? compatibilityForm : unchanged
    }

    /// Whether NFKC might change the character, from properties the standard library has at hand.
    /// NFKC changes a character only if NFKC_Casefold does. Of those, a letter that case folding
    /// changes and whose lowercase form NFKC_Casefold leaves alone (`Ä`, `Ж`, `Σ`) differs from its
    /// NFKC form at most in being a canonical singleton of another non-ASCII letter (`Ω` for the ohm
    /// sign), which matters to no detector; skipping those keeps capital letters of ordinary text
    /// away from Foundation. A lowercase form with ASCII in it (`K` for the kelvin sign) is looked up.
    static func mayHaveCompatibilityForm(_ properties: Unicode.Scalar.Properties) -> Bool {
        guard properties.changesWhenNFKCCaseFolded else { return false }
        guard properties.changesWhenCaseFolded else { return true }
        return properties.lowercaseMapping.unicodeScalars.contains { $0.isASCII || $0.properties.changesWhenNFKCCaseFolded }
    }
}
