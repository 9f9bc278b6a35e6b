import SwitchyardWire

#if canImport(Glibc)
import Glibc
#endif

/// A cheap estimate of how hard a request is, in [0, 1], from features of the text alone.
///
/// Provisional: the weights are set by hand from what makes a small model fail (long prompts,
/// math word problems, code, multi-step instructions, long requested answers). A logistic
/// model fitted on evaluation data replaces them (`switchyard eval fit`, issue 4); the features
/// stay. One pass over the bytes, no allocation beyond the counters.
public enum ComplexityScorer {
    public struct Features: Sendable, Equatable {
        public var words = 0
        public var digits = 0
        public var mathOperators = 0
        public var codeMarkers = 0
        public var questionMarks = 0
        public var stepCues = 0
        public var turns = 0
        public var requestedTokens = 0
    }

    public static func score(_ request: RequestSummary) -> Double {
        score(features(request))
    }

    public static func score(_ f: Features) -> Double {
        let z = -2.2
            + 0.55 * log1p(Double(f.words) / 20)
            + 0.35 * min(Double(f.digits) / 4, 4)
            + 0.30 * min(Double(f.mathOperators), 4)
            + 0.60 * min(Double(f.codeMarkers), 3)
            + 0.45 * min(Double(f.stepCues), 4)
            + 0.15 * min(Double(f.questionMarks), 3)
            + 0.10 * min(Double(f.turns), 10)
            + 0.25 * log1p(Double(f.requestedTokens) / 256)
        return 1 / (1 + exp(-z))
    }

    static let stepWords: Set<UInt64> = Set(["step", "steps", "first", "then", "explain", "why", "prove", "derive", "calculate",
                                             "compute", "solve", "compare", "analyze", "analyse", "implement", "design", "each", "total"].map(key))

    /// A lowercase word of up to 12 letters packed 5 bits a letter: set lookups without a String.
    static func key(_ word: String) -> UInt64 { word.utf8.reduce(0) { $0 << 5 | UInt64(($1 | 0x20) - 96) } }

    public static func features(_ request: RequestSummary) -> Features {
        var f = Features()
        f.turns = request.turns.count
        f.requestedTokens = request.maxTokens ?? 0
        var codeTicks = 0
        for message in request.turns where message.role != .assistant {
            var text = message.text
            text.withUTF8 { bytes in
                var word: UInt64 = 0
                var letters = 0
                var previous: UInt8 = 32
                for b in bytes {
                    let lower = b | 0x20
                    if lower >= 97 && lower <= 122 {
                        word = word << 5 | UInt64(lower - 96)
                        letters += 1
                        previous = b
                        continue
                    }
                    if letters > 0 {
                        f.words += 1
                        if letters <= 12, stepWords.contains(word) { f.stepCues += 1 }
                        word = 0
                        letters = 0
                    }
                    switch b {
                    case 48...57: f.digits += 1
                    case UInt8(ascii: "+"), UInt8(ascii: "*"), UInt8(ascii: "/"), UInt8(ascii: "="), UInt8(ascii: "%"), UInt8(ascii: "^"): f.mathOperators += 1
                    case UInt8(ascii: "?"): f.questionMarks += 1
                    case UInt8(ascii: "`") where previous == UInt8(ascii: "`"): codeTicks += 1
                    case UInt8(ascii: "{"), UInt8(ascii: ";"): f.codeMarkers += previous == 10 || previous == 32 ? 0 : 1
                    default: break
                    }
                    previous = b
                }
                if letters > 0 {
                    f.words += 1
                    if letters <= 12, stepWords.contains(word) { f.stepCues += 1 }
                }
            }
        }
        f.codeMarkers += codeTicks / 2
        return f
    }
}
