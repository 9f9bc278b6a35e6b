import SwitchyardSignals
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

    /// A Yams error as a located diagnostic; every kind Yams throws while composing has a position.
    func syntaxDiagnostic(_ error: YamlError, in text: String) -> PolicyDiagnostic {
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
             .composer(let context, let problem, let mark, _):
            let detail = context.map { "\($0.text) " } ?? ""
            return PolicyDiagnostic(file: file, line: mark.line, column: mark.column, message: "YAML syntax: \(detail)\(problem)")
        case .reader(let problem, let offset, _, _):
            // libyaml's reader counts bytes of its input, not characters.
            let at = SourceLines.position(ofByte: offset ?? 0, in: text)
            return PolicyDiagnostic(file: file, line: at.line, column: at.column, message: "YAML syntax: \(problem)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            let keys = duplicates.map { "`\($0)`" }.joined(separator: ", ")
            return PolicyDiagnostic(file: file, line: max(1, context.mark.line), column: max(1, context.mark.column),
                                    message: "\(keys) given twice in one mapping")
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

    /// A string scalar. Empty strings are refused unless `allowEmpty`: an empty name, target,
    /// path or message is always a mistake, while an empty header value may be meant.
    mutating func string(_ node: Node, _ field: String, allowEmpty: Bool = false) -> String? {
        guard case .scalar(let scalar) = node, scalar.tag != Tag(.null) || scalar.style != .plain || scalar.string != "" else {
            error(node, "`\(field)` must be a string")
            return nil
        }
        if scalar.string.isEmpty, !allowEmpty {
            error(node, "`\(field)` must not be empty")
            return nil
        }
        return scalar.string
    }

    /// One of an enumeration's raw values, or an error listing them.
    mutating func choice<T: RawRepresentable & CaseIterable>(_ node: Node, _ field: String, of type: T.Type) -> T? where T.RawValue == String {
        guard let text = string(node, field) else { return nil }
        if let value = T(rawValue: text) { return value }
        error(node, "unknown `\(field)` '\(text)'; expected \(T.allCases.map(\.rawValue).joined(separator: ", "))")
        return nil
    }

    mutating func strings(_ node: Node, _ field: String) -> [String] {
        guard case .sequence(let sequence) = node else {
            error(node, "`\(field)` must be a list of strings")
            return []
        }
        return sequence.compactMap { string($0, field) }
    }

    /// The text of a plain (unquoted) scalar: how YAML writes numbers.
    private func plainText(_ node: Node) -> String? {
        guard case .scalar(let scalar) = node, scalar.style == .plain || scalar.style == .any else { return nil }
        return scalar.string
    }

    /// A whole number within `range`; the diagnostic names the bound it broke.
    mutating func int(_ node: Node, _ field: String, in range: ClosedRange<Int>) -> Int? {
        switch plainText(node).map(ScalarSyntax.integer) ?? .invalid {
        case .invalid:
            error(node, "`\(field)` must be an integer from \(range.lowerBound) to \(range.upperBound)")
        case .overflow(let negative):
            error(node, negative ? "`\(field)` must be at least \(range.lowerBound)" : "`\(field)` must be at most \(range.upperBound)")
        case .value(let value) where value < range.lowerBound:
            error(node, "`\(field)` must be at least \(range.lowerBound); got \(value)")
        case .value(let value) where value > range.upperBound:
            error(node, "`\(field)` must be at most \(range.upperBound); got \(value)")
        case .value(let value):
            return value
        }
        return nil
    }

    /// A finite decimal number within `range` (`-0` reads as 0).
    mutating func number(_ node: Node, _ field: String, in range: ClosedRange<Double>) -> Double? {
        guard let text = plainText(node), let value = ScalarSyntax.decimal(text) else {
            error(node, "`\(field)` must be a number from \(range.lowerBound.clean) to \(range.upperBound.clean)")
            return nil
        }
        guard range.contains(value) else {
            error(node, "`\(field)` must be \(value < range.lowerBound ? "at least \(range.lowerBound.clean)" : "at most \(range.upperBound.clean)"); got \(text)")
            return nil
        }
        return value + 0
    }

    /// `250ms`, `5s`, `2m`, `1h`, or a bare number of seconds, within `range` (whole milliseconds).
    mutating func duration(_ node: Node, _ field: String, in range: DurationRange) -> Duration? {
        guard let text = node.scalar?.string, case .milliseconds(let ms) = ScalarSyntax.duration(text) else {
            let got = node.scalar.map { "; got '\($0.string)'" } ?? ""
            error(node, "`\(field)` must be a positive duration such as 500ms, 5s or 2m\(got)")
            return nil
        }
        let rounded = ms.rounded()
        let (low, high) = (Double(range.min.wholeMilliseconds), Double(range.max.wholeMilliseconds))
        guard rounded >= low else {
            error(node, "`\(field)` must be at least \(range.min.policyText); got \(text)")
            return nil
        }
        guard rounded <= high else {
            error(node, "`\(field)` must be at most \(range.max.policyText); got \(text)")
            return nil
        }
        return .milliseconds(Int64(rounded))
    }
}

extension NodeReader {
    /// A YAML value as JSON (for test requests): mappings, sequences, and typed scalars.
    /// Numbers are read with the policy's own syntax; one too large for a Double is refused.
    mutating func json(_ node: Node) -> JSON {
        switch node {
        case .mapping(let mapping):
            return .object(JSONObject(mapping.compactMap { pair in pair.key.scalar.map { ($0.string, json(pair.value)) } }))
        case .sequence(let sequence):
            return .array(sequence.map { json($0) })
        case .scalar(let scalar):
            guard scalar.style == .plain else { return .string(scalar.string) }
            if case .value(let i) = ScalarSyntax.integer(scalar.string) { return .int(i) }
            if let d = ScalarSyntax.decimal(scalar.string) {
                guard d.isFinite else {
                    error(node, "the number \(scalar.string) is too large")
                    return .null
                }
                return .double(d)
            }
            if let b = node.bool { return .bool(b) }
            if node.null != nil { return .null }
            return .string(scalar.string)
        case .alias:
            return .null
        }
    }

    /// A stubbed signal value of the signal's own type, within the values it can take.
    mutating func signalValue(_ node: Node, for signal: SignalDefinition, named name: String) -> ConditionValue? {
        let value: ConditionValue
        switch signal.kind {
        case .number:
            guard let text = node.scalar?.string, node.scalar?.style == .plain, let n = ScalarSyntax.decimal(text) else {
                error(node, "`\(name)` must be a number")
                return nil
            }
            value = .number(n + 0)
        case .string:
            guard let s = string(node, name, allowEmpty: true) else { return nil }
            value = .string(s)
        case .bool:
            guard let b = node.bool else { error(node, "`\(name)` must be true or false"); return nil }
            value = .bool(b)
        case .set:
            value = .set(Set(strings(node, name)))
        }
        if let problem = signal.problem(with: value, name: name) {
            error(node, problem)
            return nil
        }
        return value
    }
}
