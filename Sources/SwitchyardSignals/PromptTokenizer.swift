import SwitchyardWire

/// Counts the tokens a request's prompt takes on the local model: the engine's tokenizer behind
/// the `prompt_tokens` signal, reached through this protocol so the decision needs no engine.
public protocol PromptTokenizer: Sendable {
    /// The count, and whether it is an estimate rather than the model's own tokenizer.
    func promptTokens(_ request: RequestSummary) async -> (count: Int, estimated: Bool)
    /// For `count_tokens`: as `promptTokens`, or refused (503) when the tokenizer is too busy.
    func countTokens(_ request: RequestSummary) async throws(GatewayError) -> (count: Int, estimated: Bool)
    /// The model's own count when it is known without asking the engine (counted before).
    func knownPromptTokens(_ request: RequestSummary) -> Int?
}

extension PromptTokenizer {
    public func countTokens(_ request: RequestSummary) async throws(GatewayError) -> (count: Int, estimated: Bool) {
        await promptTokens(request)
    }

    public func knownPromptTokens(_ request: RequestSummary) -> Int? { nil }
}

/// Four characters a token: what `policy explain` uses without a running engine, and the
/// gateway when its engine cannot be asked. Every decision made on it says so.
public struct EstimatingTokenizer: PromptTokenizer {
    public init() {}

    public func promptTokens(_ request: RequestSummary) async -> (count: Int, estimated: Bool) {
        (Self.estimate(request), true)
    }

    public static func estimate(_ request: RequestSummary) -> Int {
        request.turns.reduce(0) { $0 + $1.text.utf8.count / 4 + 4 }
    }
}
