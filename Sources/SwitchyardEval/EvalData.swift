import SwitchyardWire

/// One evaluation item (`../shared/eval/README.md`): a prompt, its gold answer, how to score it,
/// and what the cloud tier answers (a recorded real answer, or the oracle).
public struct EvalItem: Sendable {
    public var id: String
    public var prompt: String
    public var gold: String
    public var match: AnswerScoring.Match
    /// `recorded` or `oracle`.
    public var remoteKind: String
    public var remoteCorrect: Bool

    public static func load(_ path: String) throws -> [EvalItem] {
        guard let text = readText(path) else { throw EvalError("cannot read \(path)") }
        var items: [EvalItem] = []
        for (n, line) in text.split(separator: "\n").enumerated() where !line.isEmpty {
            guard let json = try? JSON.parse(String(line)), let id = json["id"]?.stringValue, let prompt = json["prompt"]?.stringValue,
                  let gold = json["gold"]?.stringValue, let match = json["match"]?.stringValue.flatMap(AnswerScoring.Match.init) else {
                throw EvalError("\(path):\(n + 1): not an evaluation item (id, prompt, gold, match)")
            }
            let kind = json["remote"]?["kind"]?.stringValue ?? "oracle"
            let correct = kind == "oracle" ? true : json["remote"]?["correct"]?.boolValue ?? false
            items.append(EvalItem(id: id, prompt: prompt, gold: gold, match: match, remoteKind: kind, remoteCorrect: correct))
        }
        return items
    }
}

public struct EvalError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

#if canImport(Glibc)
import Glibc
#endif

func readText(_ path: String) -> String? {
    guard let file = fopen(path, "rb") else { return nil }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let n = fread(&chunk, 1, chunk.count, file)
        if n > 0 { bytes.append(contentsOf: chunk[0..<n]) }
        if n < chunk.count { break }
    }
    return String(decoding: bytes, as: UTF8.self)
}

func writeText(_ path: String, _ text: String, append: Bool = false) throws {
    guard let file = fopen(path, append ? "ab" : "wb") else { throw EvalError("cannot write \(path)") }
    defer { fclose(file) }
    fputs(text, file)
}
