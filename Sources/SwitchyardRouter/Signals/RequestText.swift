import SwitchyardWire

/// The text a chat request body would carry upstream, as the PII scan reads it: every string
/// value and every object key at any depth, normalised (TextNormalizer), each followed by a
/// newline so that no number or address runs from one string into the next.
///
/// The walk knows no fields. A field the gateway does not read still reaches OpenAI-compatible
/// upstreams unchanged, so any field can carry personal data; and one walk covers OpenAI chat
/// bodies (message content and parts, `name`, tool calls, tool definitions, `user`, `metadata`,
/// `stop`, `response_format` schemas, vendor fields) and Anthropic Messages bodies (`system`,
/// content blocks, `tool_use.input`, `tool_result` content, `tools`, `metadata`) alike.
///
/// Beyond strings and keys it reads:
/// - numbers, since a card number can be a JSON number in tool arguments or `tool_use.input`;
///   except a `seed`, where a random 64-bit value would pass the Luhn check one time in ten;
/// - the decoded contents of a string that holds a JSON object or array, two levels down: the
///   Anthropic translation decodes tool-call `arguments` and forwards what they contain, so
///   `\u0034` escapes in them reach the upstream as digits.
///
/// It leaves out base64 payloads, which are binary, not text, and whose long random words would
/// trip the high-entropy secret check: the part after the comma of a `data:` URL with `;base64,`
/// (its media type is read), `input_audio.data`, `file.file_data`, the `data` of an object whose
/// `type` is `base64` (Anthropic image and document sources), and Anthropic's opaque thinking
/// blobs (`signature` of a `thinking` block, `data` of a `redacted_thinking` one). A payload is
/// left out only if it is all standard base64 alphabet, so such a field cannot carry an address,
/// a phone number or a spaced card number unread; the runs of eight or more digits it contains
/// (an unspaced card or phone number) are read all the same.
struct RequestText {
    private(set) var bytes: [UInt8] = []
    private var normalizer = TextNormalizer()

    /// How many times a string holding JSON is decoded within another: arguments, and a JSON
    /// string within them. Each level can at most re-read the bytes of the one above.
    static let decodedLevels = 2

    init(_ body: JSONObject) {
        add(body, key: nil, level: 0)
    }

    private mutating func add(_ value: JSON, key: String?, level: Int) {
        switch value {
        case .string(let string):
            add(string, level: level)
        case .number(let number):
            if key != "seed" {
                bytes.append(contentsOf: number.utf8)
                bytes.append(UInt8(ascii: "\n"))
            }
        case .array(let items):
            for item in items { add(item, key: key, level: level) }
            addJoinedTexts(items, level: level)
        case .object(let object):
            add(object, key: key, level: level)
        case .bool, .null:
            break
        }
    }

    private mutating func add(_ object: JSONObject, key: String?, level: Int) {
        let payloadField = Self.payloadField(of: object, key: key)
        for field in object.fields {
            normalizer.append(field.key[...], to: &bytes)
            bytes.append(UInt8(ascii: "\n"))
            if field.key == payloadField, case .string(let payload) = field.value, addDigitRuns(ifBase64: payload.utf8[...]) {
                continue
            }
            add(field.value, key: field.key, level: level)
        }
    }

    private mutating func add(_ string: String, level: Int) {
        var text = string[...]
        if let payload = Self.base64DataURLPayload(string), addDigitRuns(ifBase64: payload) {
            text = string[..<payload.startIndex]
        }
        normalizer.append(text, to: &bytes)
        bytes.append(UInt8(ascii: "\n"))
        if level < Self.decodedLevels, Self.mayHoldJSON(string), let decoded = try? JSON.parse(string) {
            add(decoded, key: nil, level: level + 1)
        }
    }

    /// The text blocks of one array, joined as they are: the Anthropic front sends an assistant
    /// turn's text blocks to OpenAI-compatible targets as one string (`MessagesRequest.chatRequest`),
    /// so what they spell only together (`jane` + `@example.com`) is read too.
    private mutating func addJoinedTexts(_ items: [JSON], level: Int) {
        var texts: [String] = []
        for item in items where item["type"]?.stringValue == "text" {
            if let text = item["text"]?.stringValue { texts.append(text) }
        }
        guard texts.count > 1 else { return }
        add(texts.joined(), level: level)
    }

    /// The field of `object` that holds a base64 payload, by the name of the field that holds
    /// `object` or by its `type`.
    static func payloadField(of object: JSONObject, key: String?) -> String? {
        switch key {
        case "input_audio": return "data"
        case "file": return "file_data"
        default: break
        }
        switch object["type"]?.stringValue {
        case "base64", "redacted_thinking": return "data"
        case "thinking": return "signature"
        default: return nil
        }
    }

    /// The part after the comma of a `data:` URL whose media type ends in `;base64`.
    static func base64DataURLPayload(_ string: String) -> Substring.UTF8View? {
        let utf8 = string.utf8
        guard utf8.count > 5, utf8.prefix(5).elementsEqual("data:".utf8, by: { $0 | 0x20 == $1 }),
              let comma = utf8.firstIndex(of: UInt8(ascii: ",")) else { return nil }
        let mediaType = utf8[..<comma]
        guard mediaType.count >= 7, mediaType.suffix(7).elementsEqual(";base64".utf8, by: { $0 | 0x20 == $1 }) else { return nil }
        return string[utf8.index(after: comma)...].utf8
    }

    /// If `payload` is all standard base64 alphabet, appends the digit runs it holds (`digitRuns`)
    /// and returns true; otherwise appends nothing and returns false: it is to be read as text.
    private mutating func addDigitRuns(ifBase64 payload: Substring.UTF8View) -> Bool {
        // Strings from the JSON parser are native, hence contiguous; a copy covers any other.
        let runs = payload.withContiguousStorageIfAvailable(Self.digitRuns) ?? Array(payload).withUnsafeBufferPointer(Self.digitRuns)
        guard let runs else { return false }
        bytes.append(contentsOf: runs)
        return true
    }

    /// The runs of eight or more digits in a base64 payload (an unspaced card or international
    /// phone number), each with two bytes before and one after, so that the detector judges them
    /// as it would within the payload (a `+` before, a letter glued after); each followed by a
    /// newline. Nil if the payload is not base64 (A-Z, a-z, 0-9, `+`, `/`, `=`, line breaks).
    ///
    /// A payload is megabytes, so it is read eight bytes at a time (`classify`). A run of eight
    /// digits always covers four digits aligned on a multiple of four, which random base64 holds
    /// once in some 800 words; only there is it read byte by byte.
    static func digitRuns(ifBase64 bytes: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        var runs: [UInt8] = []
        var readUpTo = 0
        /// Appends the run of digits around the four at `block`, if it is long enough.
        func run(around block: Int) {
            guard block >= readUpTo else { return }
            var start = block, end = block + 4
            while start > 0, bytes[start - 1] &- UInt8(ascii: "0") < 10 { start -= 1 }
            while end < bytes.count, bytes[end] &- UInt8(ascii: "0") < 10 { end += 1 }
            readUpTo = end
            guard end - start >= 8 else { return }
            runs.append(contentsOf: bytes[max(0, start - 2)..<min(bytes.count, end + 1)])
            runs.append(UInt8(ascii: "\n"))
        }
        let raw = UnsafeRawBufferPointer(bytes)
        var offset = 0
        while offset + 8 <= raw.count {
            let (isBase64, digits) = classify(UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self)))
            guard isBase64 else { return nil }
            if digits & 0x8080_8080 == 0x8080_8080 { run(around: offset) }
            if digits >> 32 == 0x8080_8080 { run(around: offset + 4) }
            offset += 8
        }
        for byte in bytes[offset...] {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "+"), UInt8(ascii: "/"), UInt8(ascii: "="), 0x0A, 0x0D:
                break
            default:
                return nil
            }
        }
        if bytes.count - offset >= 4, bytes[offset..<(offset + 4)].allSatisfy({ $0 &- UInt8(ascii: "0") < 10 }) { run(around: offset) }
        return runs
    }

    /// Whether eight bytes are all base64 alphabet or line breaks, and the high bit of each byte
    /// that is a digit, at once (SWAR): for a byte below 0x80, adding `0x80 - c` sets its high bit
    /// exactly when it is at least `c`, and no carry crosses into the next byte.
    @inline(__always)
    static func classify(_ x: UInt64) -> (isBase64: Bool, digits: UInt64) {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let high = ones &* 0x80
        func atLeast(_ c: UInt8) -> UInt64 { x &+ ones &* UInt64(0x80 - c) }
        func within(_ low: UInt8, _ top: UInt8) -> UInt64 { atLeast(low) & ~atLeast(top + 1) & high }
        let digits = within(UInt8(ascii: "0"), UInt8(ascii: "9"))
        let letters = within(UInt8(ascii: "A"), UInt8(ascii: "Z")) | within(UInt8(ascii: "a"), UInt8(ascii: "z"))
        let symbols = within(UInt8(ascii: "+"), UInt8(ascii: "+")) | within(UInt8(ascii: "/"), UInt8(ascii: "/"))
            | within(UInt8(ascii: "="), UInt8(ascii: "=")) | within(0x0A, 0x0A) | within(0x0D, 0x0D)
        return (x & high == 0 && digits | letters | symbols == high, digits)
    }

    /// Whether the string, trimmed, starts and ends like a JSON object or array.
    static func mayHoldJSON(_ string: String) -> Bool {
        let utf8 = string.utf8
        let isSpace: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }
        guard let first = utf8.first(where: { !isSpace($0) }), let last = utf8.last(where: { !isSpace($0) }) else { return false }
        return (first == UInt8(ascii: "{") && last == UInt8(ascii: "}")) || (first == UInt8(ascii: "[") && last == UInt8(ascii: "]"))
    }
}
