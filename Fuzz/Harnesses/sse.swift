// Fuzzes SSEParser (Sources/SwitchyardWire/SSE.swift), which reads every streamed upstream answer.
//
// Input: the stream's bytes, where each 0xFF byte marks a chunk boundary chosen by the fuzzer
// (0xFF never occurs in UTF-8, and is removed before parsing).
// Oracles: no trap; the events do not depend on where the stream was cut: the same for the whole
// stream in one chunk, for the fuzzer's chunks, and for one byte at a time (shorter streams) or
// 7-byte chunks; and they are the events of a plain reference reading of the format (below).
//
// `feed` and `finish` are called only in `parse(_:)`. They are called with `try`, which compiles
// with today's non-throwing signatures (a warning) and keeps compiling if `feed` (or `finish`)
// becomes throwing, e.g. for a line-length cap; an error is then an outcome that, too, must not
// depend on the cut points.
import SwitchyardWire

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSSE(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let input = inputBuffer(start, count)
    let stream = input.filter { $0 != 0xFF }
    let fuzzerChunks = input.split(separator: 0xFF, omittingEmptySubsequences: false).map(Array.init)
    let small = stream.count <= 1024 ? 1 : 7
    let smallChunks = stride(from: 0, to: stream.count, by: small).map { Array(stream[$0..<min($0 + small, stream.count)]) }

    let whole = parse([stream])
    let cut = parse(fuzzerChunks)
    let fine = parse(smallChunks)
    require(cut.failed == whole.failed && fine.failed == whole.failed,
            "an error depends on the cut points: whole \(whole.failed), fuzzer's chunks \(cut.failed), \(small)-byte chunks \(fine.failed)")
    if whole.failed {
        // Events completed before an error may or may not have been returned; no contradictions, though.
        require(isPrefix(whole.events, of: fine.events) && isPrefix(cut.events, of: fine.events),
                "events before an error depend on the cut points")
        return 0
    }
    require(cut.events == whole.events,
            "events depend on the cut points:\n whole:  \(show(whole.events))\n chunks: \(show(cut.events))\n cuts at \(fuzzerChunks.map(\.count))")
    require(fine.events == whole.events,
            "events depend on the cut points:\n whole:    \(show(whole.events))\n \(small)-byte: \(show(fine.events))")
    let expected = referenceEvents(stream)
    require(whole.events == expected, "events differ from the reference reading:\n parser:    \(show(whole.events))\n reference: \(show(expected))")
    return 0
}

private struct Outcome {
    var events: [SSEEvent] = []
    var failed = false
}

/// The only place that calls the parser (see the header comment).
private func parse(_ chunks: [[UInt8]]) -> Outcome {
    var parser = SSEParser()
    var outcome = Outcome()
    do {
        for chunk in chunks { outcome.events += try parser.feed(chunk) }
        if let last = try parser.finish() { outcome.events.append(last) }
    } catch {
        outcome.failed = true
    }
    return outcome
}

private func isPrefix(_ a: [SSEEvent], of b: [SSEEvent]) -> Bool { a.count <= b.count && Array(b.prefix(a.count)) == a }

/// The format as the WHATWG spec reads it (lines end at CRLF, LF or CR; `field: value` with one
/// optional space; `data` lines joined by LF; a blank line dispatches when there is data; other fields
/// and `:` comments ignored), except where the parser documents otherwise: an event still open at
/// the end of the stream is returned (the spec drops it), and the UTF-8 BOM is not stripped.
private func referenceEvents(_ stream: [UInt8]) -> [SSEEvent] {
    var lines: [ArraySlice<UInt8>] = []
    var start = 0
    var i = 0
    while i < stream.count {
        if stream[i] == 0x0A || stream[i] == 0x0D {
            lines.append(stream[start..<i])
            i += (stream[i] == 0x0D && i + 1 < stream.count && stream[i + 1] == 0x0A) ? 2 : 1
            start = i
        } else {
            i += 1
        }
    }
    if start < stream.count { lines.append(stream[start...]) }
    lines.append([][...])  // end of stream: dispatch what is open

    var events: [SSEEvent] = []
    var name: String?
    var data: [String] = []
    for line in lines {
        if line.isEmpty {
            if !data.isEmpty { events.append(SSEEvent(event: name, data: data.joined(separator: "\n"))) }
            name = nil
            data = []
            continue
        }
        if line.first == UInt8(ascii: ":") { continue }
        let colon = line.firstIndex(of: UInt8(ascii: ":"))
        let field = String(decoding: line[..<(colon ?? line.endIndex)], as: UTF8.self)
        var value = colon.map { line[($0 + 1)...] } ?? [][...]
        if value.first == UInt8(ascii: " ") { value = value.dropFirst() }
        switch field {
        case "data": data.append(String(decoding: value, as: UTF8.self))
        case "event": name = String(decoding: value, as: UTF8.self)
        default: break
        }
    }
    return events
}
