/// One server-sent event: the `event:` name (if any) and its `data:` lines joined by newlines.
public struct SSEEvent: Sendable, Equatable {
    public var event: String?
    public var data: String

    public init(event: String? = nil, data: String) {
        self.event = event
        self.data = data
    }
}

/// Incremental `text/event-stream` parser: feed it body chunks as they arrive; it returns
/// the events completed so far and keeps partial lines for the next chunk. Each byte is scanned
/// once, and a line or an event longer than `maxEventBytes` is refused: an upstream that never
/// sends a newline cannot make the gateway buffer (or rescan) without end.
public struct SSEParser: Sendable {
    private var buffer: [UInt8] = []
    /// Bytes of `buffer` already scanned for a line end.
    private var scanned = 0
    private var event: String?
    private var dataLines: [String] = []
    private var dataBytes = 0
    public let maxEventBytes: Int

    public init(maxEventBytes: Int = 1 << 20) { self.maxEventBytes = maxEventBytes }

    public mutating func feed(_ chunk: [UInt8]) throws(SSEParseError) -> [SSEEvent] {
        buffer.append(contentsOf: chunk)
        var events: [SSEEvent] = []
        var lineStart = 0
        var i = scanned
        while i < buffer.count {
            let byte = buffer[i]
            guard byte == 0x0A || byte == 0x0D else { i += 1; continue }
            // A lone CR at the end of the buffer may be the first half of CRLF: wait for more.
            if byte == 0x0D && i + 1 == buffer.count { break }
            let line = buffer[lineStart..<i]
            i += (byte == 0x0D && buffer[i + 1] == 0x0A) ? 2 : 1
            lineStart = i
            if let completed = try process(line) { events.append(completed) }
        }
        buffer.removeFirst(lineStart)
        scanned = i - lineStart
        guard buffer.count <= maxEventBytes else { throw SSEParseError(limit: maxEventBytes) }
        return events
    }

    /// What remains when the stream ends: an event without its closing blank line.
    public mutating func finish() throws(SSEParseError) -> SSEEvent? {
        if !buffer.isEmpty {
            // A CR held back in case an LF followed ends the line after all.
            if buffer.last == 0x0D { buffer.removeLast() }
            let line = buffer[...]
            buffer.removeAll()
            scanned = 0
            if let completed = try process(line) { return completed }
        }
        return try process([][...])
    }

    private mutating func process(_ line: ArraySlice<UInt8>) throws(SSEParseError) -> SSEEvent? {
        if line.isEmpty {
            defer { event = nil; dataLines.removeAll(); dataBytes = 0 }
            guard !dataLines.isEmpty else { return nil }
            return SSEEvent(event: event, data: dataLines.joined(separator: "\n"))
        }
        if line.first == UInt8(ascii: ":") { return nil }  // comment / keep-alive
        // Split on bytes, not Characters: a combining mark after the colon must not hide it.
        let colon = line.firstIndex(of: UInt8(ascii: ":"))
        let field = String(decoding: line[..<(colon ?? line.endIndex)], as: UTF8.self)
        var valueStart = colon.map { line.index(after: $0) } ?? line.endIndex
        if valueStart < line.endIndex, line[valueStart] == UInt8(ascii: " ") { valueStart = line.index(after: valueStart) }
        let value = String(decoding: line[valueStart...], as: UTF8.self)
        switch field {
        case "data":
            dataBytes += value.utf8.count + 1
            guard dataBytes <= maxEventBytes else { throw SSEParseError(limit: maxEventBytes) }
            dataLines.append(String(value))
        case "event": event = String(value)
        default: break  // id, retry: not used by LLM APIs
        }
        return nil
    }
}

/// An event (or a line) longer than the parser's limit.
public struct SSEParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public var limit: Int
    public var description: String { "a server-sent event is longer than \(limit) bytes" }
}

public enum SSE {
    /// `data: <payload>\n\n`, the frame OpenAI streams use.
    public static func frame(_ payload: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(payload.count + 8)
        out.append(contentsOf: "data: ".utf8)
        out.append(contentsOf: payload)
        out.append(contentsOf: "\n\n".utf8)
        return out
    }

    public static func frame(_ json: JSON) -> [UInt8] { frame(json.serialized()) }

    /// `event: NAME\ndata: JSON\n\n`, the frame of formats that name each event (Anthropic's
    /// Messages, OpenAI's Responses). A name that holds a line break (only a hostile upstream's
    /// could) would split the frame into lines of the attacker's choosing: it is left out, and the
    /// data, whose serialisation escapes line breaks, still carries it.
    public static func frame(event name: String, data: JSONObject) -> [UInt8] {
        var out: [UInt8] = []
        if !name.isEmpty, !name.utf8.contains(where: { $0 == 0x0A || $0 == 0x0D }) {
            out.append(contentsOf: "event: ".utf8)
            out.append(contentsOf: name.utf8)
            out.append(0x0A)
        }
        out.append(contentsOf: "data: ".utf8)
        data.write(into: &out)
        out.append(contentsOf: "\n\n".utf8)
        return out
    }

    public static let done: [UInt8] = Array("data: [DONE]\n\n".utf8)
}
