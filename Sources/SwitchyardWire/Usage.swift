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
    /// Anthropic's prompt-cache counts come along when it carries them under Anthropic's names, as
    /// the gateway's own translation of an Anthropic answer does (and LiteLLM-style proxies).
    /// OpenAI's `prompt_tokens_details.cached_tokens` is not read: OpenAI's discount differs by
    /// model, so its cache hits are charged in full (never less than billed).
    public init?(openAI json: JSON?) {
        guard let json, let prompt = json["prompt_tokens"]?.tokenCount, let completion = json["completion_tokens"]?.tokenCount,
              case let read?? = Self.cacheCount(json, "cache_read_input_tokens"),
              case let write?? = Self.cacheCount(json, "cache_creation_input_tokens"), read + write <= prompt else { return nil }
        self.init(promptTokens: prompt, completionTokens: completion)
        cacheReadTokens = read
        cacheWriteTokens = write
    }

    /// Reads an Anthropic `usage` object: the prompt is the input plus the tokens written to and
    /// read from the prompt cache; nil when a count is missing or not plausible.
    public init?(anthropic json: JSON?) {
        guard let json, let input = json["input_tokens"]?.tokenCount, let output = json["output_tokens"]?.tokenCount,
              case let write?? = Self.cacheCount(json, "cache_creation_input_tokens"),
              case let read?? = Self.cacheCount(json, "cache_read_input_tokens") else { return nil }
        self.init(promptTokens: input + write + read, completionTokens: output)
        cacheReadTokens = read
        cacheWriteTokens = write
    }

    /// Reads a Responses `usage` object (`input_tokens`, `output_tokens`, reasoning among the
    /// output); nil when a count is missing or not plausible. Cached input is charged in full, as
    /// for OpenAI's chat answers.
    public init?(responses json: JSON?) {
        guard let json, let input = json["input_tokens"]?.tokenCount, let output = json["output_tokens"]?.tokenCount else { return nil }
        self.init(promptTokens: input, completionTokens: output)
    }

    /// A prompt-cache count: 0 when absent, nil (`.none`) when present but not plausible.
    private static func cacheCount(_ json: JSON, _ field: String) -> Int?? {
        guard let value = json[field], !value.isNull else { return .some(0) }
        return value.tokenCount.map { .some($0) } ?? .none
    }

    /// As an OpenAI `usage` object. Prompt-cache tokens, when there are any, are in it twice: the
    /// reads as OpenAI's `prompt_tokens_details.cached_tokens` (what OpenAI clients read), and
    /// both counts under Anthropic's names, so that what a client, the ledger and a budget are
    /// charged is the same whichever front the answer goes out through.
    public var json: JSON {
        var usage: JSONObject = [
            "prompt_tokens": .int(promptTokens),
            "completion_tokens": .int(completionTokens),
            "total_tokens": .int(totalTokens),
        ]
        if cacheReadTokens > 0 || cacheWriteTokens > 0 {
            usage["prompt_tokens_details"] = .object(["cached_tokens": .int(cacheReadTokens)])
            usage["cache_read_input_tokens"] = .int(cacheReadTokens)
            usage["cache_creation_input_tokens"] = .int(cacheWriteTokens)
        }
        return .object(usage)
    }
}

extension JSON {
    /// The value as a token count: an integer in 0...`TokenUsage.maxTokens`, else nil.
    public var tokenCount: Int? {
        guard let count = intValue, (0...TokenUsage.maxTokens).contains(count) else { return nil }
        return count
    }
}
