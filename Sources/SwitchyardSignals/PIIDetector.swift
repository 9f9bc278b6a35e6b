import SwitchyardWire

/// Finds personal data and secrets in text, by class and span. Precision matters as much as
/// recall here: a false positive keeps a harmless request on the box, but one that fires on
/// order numbers, dates or version strings makes the constraint useless. Each class is checked
/// beyond its shape: card numbers by Luhn and network, IBANs by country length and mod-97, IPv4
/// octets by range, SSNs by the numbers never issued; the forms a shape alone cannot tell from
/// ordinary numbers (a bare 10-digit phone number or 9-digit SSN, a card split across table cells)
/// count only after a word that names them (`PIIScan.precededByWord`).
///
/// Text is normalised first (TextNormalizer), so that digits of other scripts, fullwidth and
/// mathematical forms, odd spaces and dashes, invisible characters, percent-escapes and HTML
/// character references do not hide a number or an address from a model that reads straight
/// through them. Findings are reported in the text as given.
///
/// The scan (PIIScan) never lets one token hide another: every detector may start at every word
/// start, whatever an earlier one skipped, and a high-entropy key is cut around anything more
/// specific found inside it.
public enum PIIDetector {
    public struct Finding: Sendable, Equatable {
        public var kind: PIIClass
        /// Byte offsets in the text's UTF-8. The text is scanned normalised; a finding covers the
        /// characters its normalised form came from, invisible ones and escapes within it included.
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
        bytes.append(boundary)
        var found = findings(inScanText: bytes)
        if let origins {
            for k in found.indices {
                let range = found[k].range
                found[k].range = origins[range.lowerBound].lowerBound..<origins[range.upperBound - 1].upperBound
            }
        }
        return found
    }

    /// Findings in normalised UTF-8 whose last byte is a `boundary`, so that no check reads past
    /// the buffer.
    static func findings<Text: ScanBytes>(inScanText bytes: Text) -> [Finding] {
        PIIScan(bytes).findings()
    }

    /// Ends every run, word and address: the scan text puts one after each string of a request,
    /// so that nothing runs from one string into the next. Text never holds it once normalised
    /// unless it was there (a NUL), where it ends runs too.
    static let boundary: UInt8 = 0

    static func isDigit(_ b: UInt8) -> Bool { b &- 48 < 10 }
    static func isUpper(_ b: UInt8) -> Bool { b &- 65 < 26 }
    static func isLower(_ b: UInt8) -> Bool { b &- 97 < 26 }
    static func isLetter(_ b: UInt8) -> Bool { (b | 0x20) &- 97 < 26 }
    static func isAlnum(_ b: UInt8) -> Bool { isDigit(b) || isLetter(b) }
}

/// What a scan reads: bytes by index, nothing else, so that a test can count every byte the
/// scan reads (the linearity tests) while production reads an array.
protocol ScanBytes {
    var count: Int { get }
    subscript(index: Int) -> UInt8 { get }
}

extension Array: ScanBytes where Element == UInt8 {}
