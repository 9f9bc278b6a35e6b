/// Token counts of one completion, as every provider reports them once translated.
public struct TokenUsage: Sendable, Equatable {
    public var promptTokens: Int
    public var completionTokens: Int
    public var totalTokens: Int { promptTokens + completionTokens }

    public init(promptTokens: Int, completionTokens: Int) {
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
    }

    /// Reads an OpenAI `usage` object.
    public init?(openAI json: JSON?) {
        guard let json, let prompt = json["prompt_tokens"]?.intValue, let completion = json["completion_tokens"]?.intValue else { return nil }
        self.init(promptTokens: prompt, completionTokens: completion)
    }

    public var json: JSON {
        .object([
            "prompt_tokens": .int(promptTokens),
            "completion_tokens": .int(completionTokens),
            "total_tokens": .int(totalTokens),
        ])
    }
}
