/// One problem in a policy file, located the way compilers do: `FILE:LINE:COLUMN: message`,
/// or `FILE:LINE:COLUMN: warning: message` for one that does not stop the policy loading.
public struct PolicyDiagnostic: Sendable, Equatable, CustomStringConvertible {
    public enum Severity: Sendable, Equatable {
        /// The policy does not load.
        case error
        /// The policy loads, but probably does not do what its author meant.
        case warning
    }

    public var file: String
    public var line: Int
    public var column: Int
    public var message: String
    public var severity: Severity

    public var description: String { "\(file):\(line):\(column): \(severity == .warning ? "warning: " : "")\(message)" }

    public init(file: String, line: Int, column: Int, message: String, severity: Severity = .error) {
        self.file = file
        self.line = line
        self.column = column
        self.message = message
        self.severity = severity
    }
}

/// A policy that failed to load, with every problem found (not just the first).
public struct PolicyError: Error, Sendable, CustomStringConvertible {
    public var diagnostics: [PolicyDiagnostic]
    public var description: String { diagnostics.map(\.description).joined(separator: "\n") }

    public init(diagnostics: [PolicyDiagnostic]) { self.diagnostics = diagnostics }

    /// The same diagnostics, each moved inside `text` (a position libyaml computed on a document
    /// it read differently must still point at a real line and column).
    func clamped(to text: String) -> PolicyError {
        let lines = SourceLines(text)
        return PolicyError(diagnostics: diagnostics.map { lines.clamp($0) })
    }
}

/// A policy text's lines as YAML counts them (LF, CR, CRLF, NEL, LS and PS end a line), each's
/// length in Unicode scalars: what `FILE:LINE:COLUMN` positions refer to.
struct SourceLines {
    let lengths: [Int]

    init(_ text: String) {
        var lengths = [0]
        var previousCR = false
        for scalar in text.unicodeScalars {
            if scalar == "\n" && previousCR { previousCR = false; continue }
            previousCR = scalar == "\r"
            if Self.isBreak(scalar) { lengths.append(0) } else { lengths[lengths.count - 1] += 1 }
        }
        self.lengths = lengths
    }

    static func isBreak(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x0A, 0x0D, 0x85, 0x2028, 0x2029: true
        default: false
        }
    }

    func clamp(_ diagnostic: PolicyDiagnostic) -> PolicyDiagnostic {
        var d = diagnostic
        d.line = min(max(1, d.line), lengths.count)
        d.column = min(max(1, d.column), lengths[d.line - 1] + 1)
        return d
    }

    /// Line and column of the scalar at `offset` (a UTF-8 byte offset into the text).
    static func position(ofByte offset: Int, in text: String) -> (line: Int, column: Int) {
        var line = 1, column = 1, previousCR = false
        var index = text.utf8.startIndex
        let end = text.utf8.index(text.utf8.startIndex, offsetBy: min(max(0, offset), text.utf8.count))
        for scalar in text.unicodeScalars {
            guard index < end else { break }
            defer { index = text.utf8.index(index, offsetBy: scalar.utf8.count) }
            if scalar == "\n" && previousCR { previousCR = false; continue }
            previousCR = scalar == "\r"
            if isBreak(scalar) { line += 1; column = 1 } else { column += 1 }
        }
        return (line, column)
    }
}
