// Fuzzes PIIDetector (Sources/SwitchyardSignals/PIIDetector.swift): it scans the text of
// every request a `pii` condition or a private-data constraint looks at.
// Oracles: no trap; findings are in order, do not overlap and lie inside the text's UTF-8 bytes;
// `classes(in:)` is the set of the findings' classes; what is found does not depend on the text's
// place in a larger one (a space before it shifts every finding by one byte, a space after it
// changes nothing), since the detector looks at words, not at where the text starts or ends;
// and the time it takes grows linearly with the text.
import SwitchyardPolicy
import SwitchyardSignals
import SwitchyardWire

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPII(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let text = String(decoding: inputBuffer(start, count), as: UTF8.self)
    let size = text.utf8.count
    let findings = PIIDetector.findings(in: text)
    var end = 0
    // Spans are in the normalised text, which NFKC may make longer than the input when it is not ASCII.
    let limit = text.utf8.allSatisfy { $0 < 0x80 } ? size : Int.max
    for f in findings {
        require(f.range.lowerBound >= end && f.range.upperBound <= limit && !f.range.isEmpty,
                "finding \(f.kind) at \(f.range) out of order, overlapping, empty or outside \(size) bytes: \(show(findings))")
        end = f.range.upperBound
    }
    let classes = PIIDetector.classes(in: text)
    require(classes == Set(findings.map(\.kind.rawValue)), "classes(in:) \(classes.sorted()) disagrees with findings \(show(findings))")

    let found = findings.map { Found($0.kind, $0.range) }
    let shifted = PIIDetector.findings(in: " " + text).map { Found($0.kind, ($0.range.lowerBound - 1)..<($0.range.upperBound - 1)) }
    require(shifted == found, "a leading space changes the findings:\n  \(show(found))\n  \(show(shifted))")
    let padded = PIIDetector.findings(in: text + " ").map { Found($0.kind, $0.range) }
    require(padded == found, "a trailing space changes the findings:\n  \(show(found))\n  \(show(padded))")

    // The whole-body walk finds at least what a message with this text alone holds, and more
    // only if the text also appears as a key or decodes as JSON: never less.
    let body: JSONObject = ["messages": JSON.array([JSON.object(["role": JSON.string("user"), "content": JSON.string(text)])])]
    let inBody = PIIDetector.classes(inRequestBody: body)
    require(inBody.isSuperset(of: classes), "the body walk lost \(classes.subtracting(inBody).sorted()) that the text alone has")

    // Time: the detector runs on request bodies of up to `server.max_body_bytes` (4 MB by default),
    // so it must be linear. For one short input in 16 (chosen by a hash, so a failure reproduces),
    // scan it repeated to 16 KB: linear takes a few milliseconds even under ASan, quadratic seconds.
    if (1...256).contains(count), inputHash(text) & 15 == 0 {
        let long = String(repeating: text, count: 16_384 / size + 1)
        let elapsed = ContinuousClock().measure { _ = PIIDetector.findings(in: long) }
        require(elapsed < .seconds(1), "\(long.utf8.count) bytes (the input repeated) took \(elapsed): not linear")
    }
    return 0
}

private func inputHash(_ text: String) -> Int { text.utf8.reduce(5381) { ($0 &* 33) &+ Int($1) } }

private struct Found: Equatable {
    var kind: PIIClass
    var range: Range<Int>
    init(_ kind: PIIClass, _ range: Range<Int>) { self.kind = kind; self.range = range }
}
