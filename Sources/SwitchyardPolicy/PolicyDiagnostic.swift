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
}

/// The closest candidate by edit distance, for "did you mean" hints; nil when nothing is close.
func nearest(_ word: String, in candidates: [String]) -> String? {
    let scored = candidates.map { ($0, editDistance(word.lowercased(), $0.lowercased())) }
    guard let best = scored.min(by: { $0.1 < $1.1 }), best.1 <= max(2, word.count / 3) else { return nil }
    return best.0
}

func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a.utf8), b = Array(b.utf8)
    if a.isEmpty { return b.count }
    var previous = Array(0...b.count)
    var current = previous
    for i in 1...a.count {
        current[0] = i
        for j in 1...max(1, b.count) where !b.isEmpty {
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        swap(&previous, &current)
    }
    return previous[b.count]
}
