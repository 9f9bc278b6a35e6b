/// How a local answer is judged against a reference answer (the cloud's, for an escalation or a
/// shadow request): by a judge model given a fixed grading prompt, or by a deterministic
/// matcher where answers are short. A verdict is validated like any upstream answer: a judge
/// reply that is not exactly one of the two words yields no label.
public enum Judgement {
    /// The instruction the judge model gets, fixed so verdicts are comparable across time.
    public static let instruction = """
        You grade answers. You are given a question, a reference answer that is correct, and a \
        candidate answer. Decide whether the candidate answer gives the same final answer as the \
        reference. Ignore wording, formatting and extra explanation; judge only whether the final \
        answer agrees. Reply with exactly one word: correct or incorrect.
        """

    /// The user turn sent to the judge. Each part is cut to `limit` characters: a verdict needs
    /// the final answer, not a whole essay, and a request must stay small.
    public static func prompt(question: String, reference: String, candidate: String, limit: Int = 4000) -> String {
        "Question:\n\(question.prefix(limit))\n\nReference answer:\n\(reference.prefix(limit))\n\nCandidate answer:\n\(candidate.prefix(limit))"
    }

    /// The judge's reply read strictly: `correct` or `incorrect` (any case, optionally quoted or
    /// followed by a full stop), else nil.
    public static func verdict(_ reply: String) -> Bool? {
        var word = reply.trimmingWhitespace.lowercased()
        // Quotes and Markdown emphasis around the word (`**correct**`), a few layers at most.
        for _ in 0..<4 {
            guard let mark = word.first, "\"'`*_".contains(mark), word.last == mark, word.count >= 2 else { break }
            word = String(word.dropFirst().dropLast())
        }
        if word.hasSuffix(".") { word = String(word.dropLast()) }
        switch word {
        case "correct": return true
        case "incorrect": return false
        default: return nil
        }
    }

    /// A deterministic comparison of a candidate with a reference answer.
    public enum Matcher: String, Sendable, CaseIterable {
        /// The last number in each agrees.
        case number
        /// The reference, trimmed of spaces and a final full stop, appears in the candidate as a whole word (case-sensitive).
        case exactWord = "exact-word"
        /// The reference, so trimmed, appears in the candidate (case-insensitive).
        case contains

        /// Whether the candidate agrees with the reference; nil when the reference has nothing
        /// to compare (no number in it, or empty): no label.
        public func agrees(candidate: String, reference: String) -> Bool? {
            switch self {
            case .number:
                guard let expected = AnswerScoring.lastNumber(in: reference) else { return nil }
                guard let actual = AnswerScoring.lastNumber(in: candidate) else { return false }
                return abs(actual - expected) < 1e-9 * max(1, abs(expected))
            case .exactWord, .contains:
                var gold = reference.trimmingWhitespace
                if gold.hasSuffix(".") { gold = String(gold.dropLast()) }
                guard !gold.isEmpty else { return nil }
                return AnswerScoring.isCorrect(candidate, gold: gold, match: self == .exactWord ? .exactWord : .contains)
            }
        }
    }
}

extension String {
    var trimmingWhitespace: String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
              let last = scalars.lastIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        return String(scalars[first...last])
    }
}
