// Fuzzes PolicyLoader.parse (Sources/SwitchyardPolicy/PolicyLoader.swift): YAML through Yams, then
// validation. A policy file is trusted input, but `policy check` and hot reload read whatever is
// on disk, and a trap there takes the gateway down.
// Oracles: no trap; a refusal has at least one diagnostic, each pointing into the file (line
// 1...lines, column 1...line length + 1, or libyaml's end-of-file position); a policy that loads is consistent (every target a rule,
// fallback, cascade or constraint names is a defined model, and there is at least one rule).
import SwitchyardPolicy
import SwitchyardWire

private let file = "fuzz.yaml"

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPolicy(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let text = String(decoding: inputBuffer(start, count), as: UTF8.self)
    let policy: Policy
    do {
        policy = try PolicyLoader.parse(text, file: file)
    } catch {
        require(!error.diagnostics.isEmpty, "a refusal without a diagnostic")
        let lines = lineLengths(text)
        for d in error.diagnostics {
            require(d.file == file, "diagnostic names another file: \(d)")
            // libyaml reports the end of a file without a final line break at the start of the next line.
            if d.line == lines.count + 1 && d.column == 1 { continue }
            require(d.line >= 1 && d.line <= lines.count, "diagnostic line outside the file's \(lines.count) lines: \(d)")
            require(d.column >= 1 && d.column <= lines[d.line - 1] + 1,
                    "diagnostic column outside line \(d.line) (\(lines[d.line - 1]) characters): \(d)")
        }
        return 0
    }
    let names = Set(policy.models.map(\.name))
    require(!policy.rules.isEmpty, "a policy loaded without rules")
    for rule in policy.rules {
        for target in rule.action.targets {
            require(names.contains(target), "rule '\(rule.name)' names '\(target)', which is not a model: \(names.sorted())")
        }
    }
    for target in policy.constraints.privateData?.allowedTargets ?? [] {
        require(names.contains(target), "private_data allows '\(target)', which is not a model")
    }
    return 0
}

/// The length of each line in characters (lines end at LF, CRLF or CR, as YAML reads them);
/// a file always has at least one line, and a final line break starts an empty one.
private func lineLengths(_ text: String) -> [Int] {
    var lengths = [0]
    var previousCR = false
    for scalar in text.unicodeScalars {
        if scalar == "\n" && previousCR { previousCR = false; continue }
        previousCR = scalar == "\r"
        // YAML's line breaks: LF, CR, CRLF, and NEL, LS, PS.
        if [0x0A, 0x0D, 0x85, 0x2028, 0x2029].contains(scalar.value) { lengths.append(0) } else { lengths[lengths.count - 1] += 1 }
    }
    return lengths
}
