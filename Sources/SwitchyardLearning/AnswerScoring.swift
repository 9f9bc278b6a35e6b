/// Scores an answer against a gold answer the way `../shared/eval/README.md` defines `match`.
public enum AnswerScoring {
    public enum Match: String, Sendable, Codable {
        /// The last number in the answer (commas removed) equals the gold number.
        case number
        /// The gold appears as a whole word, case-sensitive.
        case exactWord = "exact-word"
        /// The gold appears, case-insensitive.
        case contains
    }

    public static func isCorrect(_ answer: String, gold: String, match: Match) -> Bool {
        switch match {
        case .number:
            guard let last = lastNumber(in: answer), let expected = Double(gold.replacingCommas) else { return false }
            return abs(last - expected) < 1e-9 * max(1, abs(expected))
        case .exactWord:
            return containsWord(answer, gold)
        case .contains:
            return answer.lowercased().contains(gold.lowercased())
        }
    }

    /// The last number written in the text: an optional minus, digits with optional thousands
    /// commas, an optional decimal part (`1,234.5`, `-3`, `42.`).
    static func lastNumber(in text: String) -> Double? {
        let chars = Array(text)
        var last: Double?
        var i = 0
        while i < chars.count {
            guard chars[i].isASCII, chars[i].isNumber else { i += 1; continue }
            let negative = i > 0 && chars[i - 1] == "-" && (i < 2 || !(chars[i - 2].isLetter || chars[i - 2].isNumber))
            var j = i
            var digits = ""
            while j < chars.count {
                if chars[j].isASCII, chars[j].isNumber {
                    digits.append(chars[j])
                } else if chars[j] == ",", j + 1 < chars.count, chars[j + 1].isASCII, chars[j + 1].isNumber {
                    // thousands separator
                } else if chars[j] == ".", j + 1 < chars.count, chars[j + 1].isASCII, chars[j + 1].isNumber, !digits.contains(".") {
                    digits.append(".")
                } else {
                    break
                }
                j += 1
            }
            if let value = Double(digits) { last = negative ? -value : value }
            i = j
        }
        return last
    }

    static func containsWord(_ text: String, _ word: String) -> Bool {
        let boundary: (Character?) -> Bool = { c in c.map { !($0.isLetter || $0.isNumber) } ?? true }
        return text.ranges(of: word).contains { range in
            let before = range.lowerBound == text.startIndex ? nil : text[text.index(before: range.lowerBound)]
            let after = range.upperBound == text.endIndex ? nil : text[range.upperBound]
            return boundary(before) && boundary(after)
        }
    }
}

private extension String {
    var replacingCommas: String { filter { $0 != "," } }
}
