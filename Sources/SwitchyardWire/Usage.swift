/// Token counts of one completion, as every provider reports them once translated.
public struct TokenUsage: Sendable, Equatable {
    /// Every prompt token, those read from and written to a prompt cache included.
    public var promptTokens: Int
    public var completionTokens: Int
    /// Of `promptTokens`, those an upstream read from its prompt cache, and those it wrote to it
    /// (Anthropic's `cache_read_input_tokens`, `cache_creation_input_tokens`): priced apart.
    public var cacheReadTokens = 0
    public var cacheWriteTokens = 0
    public var totalTokens: Int { promptTokens + completionTokens }

    public init(promptTokens: Int, completionTokens: Int) {
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
    }

    /// The most tokens one attempt can plausibly report. An upstream's numbers are hostile until
    /// checked: a negative or absurd count would corrupt metrics, cost and budgets.
    public static let maxTokens = 1_000_000_000

    /// Reads an OpenAI `usage` object; nil when it is missing or its counts are not plausible.
    public init?(openAI json: JSON?) {
        guard let json, let prompt = json["prompt_tokens"]?.tokenCount, let completion = json["completion_tokens"]?.tokenCount else { return nil }
        self.init(promptTokens: prompt, completionTokens: completion)
    }

    /// Reads an Anthropic `usage` object: the prompt is the input plus the tokens written to and
    /// read from the prompt cache; nil when a count is missing or not plausible.
    public init?(anthropic json: JSON?) {
        guard let json, let input = json["input_tokens"]?.tokenCount, let output = json["output_tokens"]?.tokenCount else { return nil }
        func cached(_ field: String) -> Int?? {
            guard let value = json[field], !value.isNull else { return .some(0) }
            return value.tokenCount.map { .some($0) } ?? .none
        }
        guard case let write?? = cached("cache_creation_input_tokens"), case let read?? = cached("cache_read_input_tokens") else { return nil }
        self.init(promptTokens: input + write + read, completionTokens: output)
        cacheReadTokens = read
        cacheWriteTokens = write
    }

    public var json: JSON {
        .object([
            "prompt_tokens": .int(promptTokens),
            "completion_tokens": .int(completionTokens),
            "total_tokens": .int(totalTokens),
        ])
    }
}

extension JSON {
    /// The value as a token count: an integer in 0...`TokenUsage.maxTokens`, else nil.
    public var tokenCount: Int? {
        guard let count = intValue, (0...TokenUsage.maxTokens).contains(count) else { return nil }
        return count
    }
}
