/// Finds a YAML alias (`*name`) that refers to an anchor (`&name`) before Yams composes the text.
///
/// Why policies refuse aliases: Yams shares an aliased node instead of copying it, but anything
/// that walks the composed tree walks it once per alias, and Yams itself does so while composing
/// (its duplicate-key check hashes every mapping key whole). Ten nested anchors of ten aliases
/// each turn a few hundred bytes into a billion nodes, and `policy check` or a reload would hang.
/// A policy has no need for them: every section is short enough to write out.
///
/// The scan is lexical and errs on the safe side: any `*name` whose name also appears as an
/// `&name` anywhere counts, even inside a quoted string or a comment. A real alias is never
/// missed, since both are read with YAML's own rule for where a name ends.
enum YAMLAliases {
    /// The first alias with a matching anchor, at its line and column (both from 1, columns in
    /// Unicode scalars as libyaml counts them).
    static func first(in text: String) -> (line: Int, column: Int, name: String)? {
        let scalars = Array(text.unicodeScalars)
        var anchors = Set<String>()
        for (i, scalar) in scalars.enumerated() where scalar == "&" {
            let name = Self.name(after: i, in: scalars)
            if !name.isEmpty { anchors.insert(name) }
        }
        guard !anchors.isEmpty else { return nil }
        var line = 1, column = 1
        for (i, scalar) in scalars.enumerated() {
            if scalar == "*" {
                let name = Self.name(after: i, in: scalars)
                if anchors.contains(name) { return (line, column, name) }
            }
            if scalar == "\n" {
                line += 1
                column = 1
            } else {
                column += 1
            }
        }
        return nil
    }

    /// An anchor name runs to the next space, line break or flow indicator (YAML's ns-anchor-char).
    /// Only its first 64 scalars are compared: names that share them count as equal, which can
    /// only add a refusal, and a text of nothing but `&` is scanned in linear time.
    private static func name(after index: Int, in scalars: [Unicode.Scalar]) -> String {
        var end = index + 1
        while end < scalars.count, end - index <= 64, !stops.contains(scalars[end]) { end += 1 }
        return String(String.UnicodeScalarView(scalars[(index + 1)..<end]))
    }

    private static let stops: Set<Unicode.Scalar> = [" ", "\t", "\r", "\n", ",", "[", "]", "{", "}"]
}
