import SwitchyardWire

/// The text a chat request body would carry upstream, as the PII scan reads it: every string
/// value and every object key at any depth, normalised (TextNormalizer), each followed by a
/// boundary (`PIIDetector.boundary`) so that no number or address runs from one string into the
/// next.
///
/// The walk knows almost no fields. A field the gateway does not read still reaches
/// OpenAI-compatible upstreams unchanged, so any field can carry personal data; and one walk
/// covers OpenAI chat bodies (message content and parts, `name`, tool calls, tool definitions,
/// `user`, `metadata`, `stop`, `response_format` schemas, vendor fields) and Anthropic Messages
/// bodies (`system`, content blocks, `tool_use.input`, `tool_result` content, `tools`, `metadata`)
/// alike.
///
/// Beyond strings and keys it reads:
/// - numbers, since a card number can be a JSON number in tool arguments or `tool_use.input`;
///   all but the body's own top-level `seed`, OpenAI's sampling seed, where a random 64-bit value
///   would pass the Luhn check one time in ten (Anthropic's API has no such field). A
///   `seed` anywhere else (`metadata`, tool arguments) is data like any other;
/// - the decoded contents of a string that holds a JSON object or array, two levels down: the
///   Anthropic translation decodes tool-call `arguments` and forwards what they contain, so
///   `\u0034` escapes in them reach the upstream as digits;
/// - the texts the translation to OpenAI's form sets side by side, joined (`addSideBySide`).
///
/// It leaves out base64 payloads, which are binary, not text, and whose long random words would
/// trip the high-entropy key check; only where the formats put them, in a message's content
/// blocks (and a tool result's, and a document's): the part after the comma of an `image_url`
/// part's `data:` URL with `;base64,` (its media type is read), an `input_audio` part's `data`, a
/// `file` part's `file_data` (a data URL or bare), the `source.data` of an `image` or `document`
/// block whose source is `base64`, and Anthropic's opaque thinking blobs (`signature` of a
/// `thinking` block, `data` of a `redacted_thinking` one). The same fields anywhere else
/// (`metadata.input_audio.data`, a data URL in a message's text) are read as text. A payload is
/// left out only if it is all standard base64 alphabet, so it cannot carry an address, a phone
/// number or a spaced card number unread; the runs of eight or more digits it contains (an
/// unspaced card or phone number) are read all the same.
struct RequestText {
    private(set) var bytes: [UInt8] = []
    private var normalizer = TextNormalizer()

    /// How many times a string holding JSON is decoded within another: arguments, and a JSON
    /// string within them. Each level can at most re-read the bytes of the one above.
    static let decodedLevels = 2

    init(_ body: JSONObject) {
        for field in body.fields {
            addText(field.key[...])
            switch (field.key, field.value) {
            case ("seed", .number):
                continue
            case ("messages", .array(let messages)):
                for message in messages { addMessage(message) }
            default:
                add(field.value, level: 0)
            }
        }
    }

    private mutating func addMessage(_ message: JSON) {
        guard case .object(let object) = message else { return add(message, level: 0) }
        add(object, holding: .content, in: "content")
    }

    /// Content blocks or parts: where base64 payloads are.
    private mutating func addContent(_ blocks: [JSON]) {
        for block in blocks {
            guard case .object(let object) = block else {
                add(block, level: 0)
                continue
            }
            let type = object["type"]?.stringValue
            for field in object.fields {
                addText(field.key[...])
                switch (type, field.key, field.value) {
                case ("tool_result"?, "content", .array(let inner)):
                    addContent(inner)
                case ("thinking"?, "signature", .string(let payload)), ("redacted_thinking"?, "data", .string(let payload)):
                    addPayload(payload)
                case ("image_url"?, "image_url", .object(let holder)):
                    add(holder, holding: .payload, in: "url")
                case ("input_audio"?, "input_audio", .object(let holder)):
                    add(holder, holding: .payload, in: "data")
                case ("file"?, "file", .object(let holder)):
                    add(holder, holding: .payload, in: "file_data")
                case ("image"?, "source", .object(let source)), ("document"?, "source", .object(let source)):
                    switch source["type"]?.stringValue {
                    case "base64": add(source, holding: .payload, in: "data")
                    case "content": add(source, holding: .content, in: "content")
                    default: add(field.value, level: 0)
                    }
                default:
                    add(field.value, level: 0)
                }
            }
        }
        addSideBySide(blocks, level: 0)
    }

    /// What a field of a message, part or source holds, beyond what any field may.
    private enum Held { case content, payload }

    /// An object whose field `key` holds content blocks (a message, a document's source) or a
    /// base64 payload (an image URL, an audio or file part, a base64 source).
    private mutating func add(_ object: JSONObject, holding held: Held, in key: String) {
        for field in object.fields {
            addText(field.key[...])
            switch (held, field.key == key, field.value) {
            case (.content, true, .array(let blocks)): addContent(blocks)
            case (.payload, true, .string(let payload)): addPayload(payload)
            default: add(field.value, level: 0)
            }
        }
    }

    /// A payload's digit runs if it is base64, bare or as a `data:` URL (whose media type is read);
    /// otherwise the text it is.
    private mutating func addPayload(_ payload: String) {
        if let data = Self.base64DataURLPayload(payload), addDigitRuns(ifBase64: data) {
            addText(payload[..<data.startIndex])
        } else if !addDigitRuns(ifBase64: payload.utf8[...]) {
            add(payload, level: 0)
        }
    }

    private mutating func add(_ value: JSON, level: Int) {
        switch value {
        case .string(let string):
            add(string, level: level)
        case .number(let number):
            bytes.append(contentsOf: number.utf8)
            bytes.append(PIIDetector.boundary)
        case .array(let items):
            for item in items { add(item, level: level) }
            addSideBySide(items, level: level)
        case .object(let object):
            for field in object.fields {
                addText(field.key[...])
                add(field.value, level: level)
            }
        case .bool, .null:
            break
        }
    }

    private mutating func add(_ string: String, level: Int) {
        addText(string[...])
        if level < Self.decodedLevels, Self.mayHoldJSON(string), let decoded = try? JSON.parse(string) {
            add(decoded, level: level + 1)
        }
    }

    private mutating func addText(_ text: Substring) {
        normalizer.append(text, to: &bytes)
        bytes.append(PIIDetector.boundary)
    }

    /// The texts of one array's blocks that the translation to OpenAI's form sets side by side
    /// (`MessagesRequest.chatText(of:)`: text blocks and text documents, and OpenAI's text parts
    /// alike), read joined as well as one by one. The translation makes them one assistant string
    /// (joined as they are), one tool message or system prompt (joined by line breaks), or the
    /// text parts of one user message, which servers join either way: llama.cpp trims each and
    /// joins them by line breaks, chat templates often write them one after the other. So they are
    /// read joined as they are; trimmed and joined as they are, if trimming changes any; and
    /// trimmed and joined by line breaks where one ends and the next begins with a digit, the only
    /// place a line break joins what the detectors read (a card's groups).
    private mutating func addSideBySide(_ items: [JSON], level: Int) {
        var texts: [String] = []
        for item in items {
            if let text = MessagesRequest.chatText(of: item) { texts.append(text) }
        }
        guard texts.count > 1 else { return }
        add(texts.joined(), level: level)
        let trimmed = texts.map(Self.trimmed)
        if zip(texts, trimmed).contains(where: { $0.utf8.count != $1.utf8.count }) {
            add(trimmed.joined(), level: level)
        }
        let digitsMeet = zip(trimmed, trimmed.dropFirst()).contains { before, after in
            before.utf8.last.map(PIIDetector.isDigit) == true && after.utf8.first.map(PIIDetector.isDigit) == true
        }
        if digitsMeet { add(trimmed.joined(separator: "\n"), level: level) }
    }

    /// `text` without the spaces, tabs and line breaks at its ends.
    static func trimmed(_ text: String) -> String {
        let isSpace: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }
        let utf8 = text.utf8
        guard let first = utf8.firstIndex(where: { !isSpace($0) }), let last = utf8.lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(decoding: utf8[first...last], as: UTF8.self)
    }

    /// The part after the last comma of a `data:` URL whose media type ends in `;base64`. A base64
    /// payload holds no comma, so the last one is where it starts, whatever commas the media type
    /// holds (an Anthropic source's `media_type` is the client's, and the translation writes it
    /// into the URL as it is). Finding it reads the payload once more, as the digit runs do.
    static func base64DataURLPayload(_ string: String) -> Substring.UTF8View? {
        let utf8 = string.utf8
        guard utf8.count > 5, utf8.prefix(5).elementsEqual("data:".utf8, by: { $0 | 0x20 == $1 }),
              let comma = utf8.lastIndex(of: UInt8(ascii: ",")) else { return nil }
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
    /// boundary. Nil if the payload is not base64 (A-Z, a-z, 0-9, `+`, `/`, `=`, line breaks).
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
            runs.append(PIIDetector.boundary)
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
