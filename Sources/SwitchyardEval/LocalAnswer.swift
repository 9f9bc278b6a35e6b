import SwitchyardDecision
import SwitchyardExecution
import SwitchyardSignals
import SwitchyardWire

#if canImport(Glibc)
import Glibc
#endif

/// The local answer as the engine gave it, with what the confidence features need.
public struct LocalAnswer: Sendable, Equatable {
    public var text: String
    /// Log-probability of each generated token.
    public var logprobs: [Double]
    /// The top-k log-probabilities at each position (k = 5).
    public var top: [[Double]]
    public var promptTokens: Int

    var json: JSON {
        .object(["text": .string(text), "logprobs": .array(logprobs.map(JSON.double)),
                 "top": .array(top.map { .array($0.map(JSON.double)) }), "prompt_tokens": .int(promptTokens)])
    }

    init(text: String, logprobs: [Double], top: [[Double]], promptTokens: Int) {
        self.text = text
        self.logprobs = logprobs
        self.top = top
        self.promptTokens = promptTokens
    }

    init?(json: JSON) {
        guard let text = json["text"]?.stringValue, let lp = json["logprobs"]?.arrayValue else { return nil }
        self.text = text
        logprobs = lp.compactMap(\.doubleValue)
        top = json["top"]?.arrayValue?.map { $0.arrayValue?.compactMap(\.doubleValue) ?? [] } ?? []
        promptTokens = json["prompt_tokens"]?.intValue ?? 0
    }

    /// Reads an OpenAI completion with `logprobs` and `top_logprobs`.
    init?(completion: JSONObject) {
        guard let choice = completion["choices"]?.arrayValue?.first else { return nil }
        text = choice["message"]?["content"]?.stringValue ?? ""
        let content = choice["logprobs"]?["content"]?.arrayValue ?? []
        logprobs = content.compactMap { $0["logprob"]?.doubleValue }
        top = content.map { $0["top_logprobs"]?.arrayValue?.compactMap { $0["logprob"]?.doubleValue } ?? [] }
        promptTokens = completion["usage"]?["prompt_tokens"]?.intValue ?? 0
    }

    /// The confidence a cascade uses without calibration (0 for an empty answer).
    public var geometricMeanProbability: Double { ConfidenceScorer.geometricMean(logprobs) ?? 0 }
}

