import SwitchyardLearning
import SwitchyardPolicy
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
        guard let text = TextFile.read(path) else { throw EvalError("cannot read \(path)") }
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

