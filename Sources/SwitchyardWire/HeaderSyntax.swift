/// What may be written into a request's header section as it is. libcurl copies each header
/// line given to it verbatim: a CR or LF in a value ends the line early and starts another
/// header, or the body, of the attacker's choosing (header injection, request splitting).
/// The client refuses such a header before anything is sent, and the policy loader refuses it
/// at load with the same rule, so a bad header never reaches a socket either way.
public enum HeaderSyntax {
    /// Why `name: value` cannot be sent as one header line, or nil when it can. Never quotes the
    /// value: it may be a credential.
    public static func problem(name: String, value: String) -> String? {
        if name.isEmpty { return "a header name must not be empty" }
        if let bad = name.unicodeScalars.first(where: { !isTokenCharacter($0) }) {
            return "the header name '\(printable(name))' has \(describe(bad)), which a header name may not hold (letters, digits and !#$%&'*+-.^_`|~ only)"
        }
        if let bad = value.unicodeScalars.first(where: isControl) {
            return "the value of header '\(name)' has \(describe(bad)): a control character would split or corrupt the request"
        }
        return nil
    }

    /// `text` as a header value or an error message may quote what a client sent: printable ASCII
    /// only, one "?" for any other scalar, at most `limit` characters. Text that already is such
    /// (the common case) is returned as it is, without rebuilding it scalar by scalar.
    public static func printableASCII(_ text: some StringProtocol, limit: Int) -> String {
        if text.utf8.count <= limit, text.utf8.allSatisfy({ (0x20..<0x7F).contains($0) }) { return String(text) }
        return String(String.UnicodeScalarView(text.unicodeScalars.prefix(limit).map { (0x20..<0x7F).contains($0.value) ? $0 : "?" }))
    }

    /// RFC 9110 `tchar`.
    public static func isTokenCharacter(_ c: Unicode.Scalar) -> Bool {
        switch c {
        case "a"..."z", "A"..."Z", "0"..."9": true
        case "!", "#", "$", "%", "&", "'", "*", "+", "-", ".", "^", "_", "`", "|", "~": true
        default: false
        }
    }

    /// Controls other than horizontal tab (RFC 9110 `field-value` excludes them), C1 controls included.
    static func isControl(_ c: Unicode.Scalar) -> Bool {
        c != "\t" && (c.value < 0x20 || (0x7F...0x9F).contains(c.value))
    }

    private static func describe(_ c: Unicode.Scalar) -> String {
        switch c {
        case "\r": "a carriage return (CR)"
        case "\n": "a line feed (LF)"
        case " ": "a space"
        case ":": "a colon"
        default: c.value < 0x20 || (0x7F...0x9F).contains(c.value) ? "the control character U+\(hex(c.value))" : "'\(c)'"
        }
    }

    /// A name as a message may show it: controls as U+XXXX.
    private static func printable(_ name: String) -> String {
        String(name.unicodeScalars.map { isControl($0) || $0 == "\t" ? "U+\(hex($0.value))" : String($0) }.joined())
    }

    private static func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }
}
