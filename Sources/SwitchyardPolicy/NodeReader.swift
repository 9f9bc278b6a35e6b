import SwitchyardWire
import Yams

typealias MappingEntries = [(key: String, keyNode: Node, value: Node)]

extension MappingEntries {
    func value(_ key: String) -> Node? { first { $0.key == key }?.value }
}

/// Typed reads of YAML nodes that record a located diagnostic instead of throwing,
/// so one pass reports every problem in a file.
struct NodeReader {
    let file: String
    private(set) var diagnostics: [PolicyDiagnostic] = []

    init(file: String) { self.file = file }

    mutating func error(_ node: Node?, _ message: String) {
        let mark = node?.mark
        errorAt(line: mark?.line ?? 1, column: mark?.column ?? 1, message)
    }

    mutating func errorAt(line: Int, column: Int, _ message: String) {
        diagnostics.append(PolicyDiagnostic(file: file, line: line, column: column, message: message))
    }

    func syntaxDiagnostic(_ error: YamlError) -> PolicyDiagnostic {
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _):
            let detail = context.map { "\($0.text) " } ?? ""
            return PolicyDiagnostic(file: file, line: mark.line, column: mark.column, message: "YAML syntax: \(detail)\(problem)")
        default:
            return PolicyDiagnostic(file: file, line: 1, column: 1, message: "YAML syntax: \(error)")
        }
    }

    mutating func mapping(_ node: Node, _ what: String) -> MappingEntries? {
        guard case .mapping(let mapping) = node else {
            error(node, "\(what) must be a mapping")
            return nil
        }
        var entries: MappingEntries = []
        for pair in mapping {
            guard let key = pair.key.scalar?.string else {
                error(pair.key, "keys in \(what) must be plain names")
                continue
            }
            entries.append((key, pair.key, pair.value))
        }
        return entries
    }

    mutating func checkKeys(_ entries: MappingEntries, allowed: [String], in what: String) {
        var seen = Set<String>()
        for entry in entries {
            if !seen.insert(entry.key).inserted {
                error(entry.keyNode, "`\(entry.key)` is given twice in \(what)")
            }
            guard !allowed.contains(entry.key) else { continue }
            let hint = nearest(entry.key, in: allowed).map { " (did you mean `\($0)`?)" } ?? ""
            error(entry.keyNode, "unknown field `\(entry.key)` in \(what)\(hint); valid fields: \(allowed.joined(separator: ", "))")
        }
    }

    mutating func string(_ node: Node, _ field: String) -> String? {
        guard case .scalar(let scalar) = node, scalar.tag != Tag(.null) || scalar.style != .plain || scalar.string != "" else {
            error(node, "`\(field)` must be a string")
            return nil
        }
        return scalar.string
    }

    mutating func strings(_ node: Node, _ field: String) -> [String] {
        guard case .sequence(let sequence) = node else {
            error(node, "`\(field)` must be a list of strings")
            return []
        }
        return sequence.compactMap { string($0, field) }
    }

    mutating func int(_ node: Node, _ field: String, min: Int? = nil, max: Int? = nil) -> Int? {
        guard let value = node.int else {
            error(node, "`\(field)` must be an integer")
            return nil
        }
        if let min, value < min { error(node, "`\(field)` must be at least \(min); got \(value)"); return nil }
        if let max, value > max { error(node, "`\(field)` must be at most \(max); got \(value)"); return nil }
        return value
    }

    mutating func number(_ node: Node, _ field: String, min: Double? = nil) -> Double? {
        guard let value = node.float ?? node.int.map(Double.init) else {
            error(node, "`\(field)` must be a number")
            return nil
        }
        if let min, value < min { error(node, "`\(field)` must be at least \(min); got \(value)"); return nil }
        return value
    }

    /// `250ms`, `5s`, `2m`, or a bare number of seconds.
    mutating func duration(_ node: Node, _ field: String) -> Duration? {
        guard let text = node.scalar?.string else {
            error(node, "`\(field)` must be a duration such as 500ms, 5s or 2m")
            return nil
        }
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("", 1)]
        for (suffix, scale) in units where text.hasSuffix(suffix) {
            if let number = Double(text.dropLast(suffix.count).trimmingSpaces), number > 0 {
                return .milliseconds(Int64((number * scale * 1000).rounded()))
            }
        }
        error(node, "`\(field)` must be a positive duration such as 500ms, 5s or 2m; got '\(text)'")
        return nil
    }
}

extension NodeReader {
    /// A YAML value as JSON (for test requests): mappings, sequences, and typed scalars.
    mutating func json(_ node: Node) -> JSON {
        switch node {
        case .mapping(let mapping):
            return .object(JSONObject(mapping.compactMap { pair in pair.key.scalar.map { ($0.string, json(pair.value)) } }))
        case .sequence(let sequence):
            return .array(sequence.map { json($0) })
        case .scalar(let scalar):
            if scalar.style == .plain {
                if let i = node.int { return .int(i) }
                if let d = node.float { return .double(d) }
                if let b = node.bool { return .bool(b) }
                if node.null != nil { return .null }
            }
            return .string(scalar.string)
        case .alias:
            return .null
        }
    }

    /// A stubbed signal value of the signal's own type.
    mutating func signalValue(_ node: Node, for signal: Signal) -> ConditionValue? {
        switch signal.kind {
        case .number:
            return number(node, signal.description).map(ConditionValue.number)
        case .string:
            return string(node, signal.description).map(ConditionValue.string)
        case .bool:
            guard let b = node.bool else { error(node, "`\(signal)` must be true or false"); return nil }
            return .bool(b)
        case .set:
            return .set(Set(strings(node, signal.description)))
        }
    }
}

private extension Substring {
    var trimmingSpaces: Substring {
        var s = self
        while s.first == " " { s = s.dropFirst() }
        while s.last == " " { s = s.dropLast() }
        return s
    }
}
