import SwitchyardPolicy
import SwitchyardWire

/// Room in the caller's cloud budgets, asked before every priced attempt. The attempt's worst
/// case is reserved atomically (across replicas, by the ledger) and settled at its real cost when
/// it ends, through the accounting hook; a failed attempt's reservation is released there too.
public protocol AttemptBudget: Sendable {
    /// Reserves `worstCase` nano-dollars under `attemptID`; false when no budget applies to this
    /// caller (nothing reserved). Throws when a budget has no room.
    func reserve(attemptID: String, target: ModelTarget, worstCase: Int64) async throws(BudgetExhausted) -> Bool
}

/// A budget with no room for an attempt's worst case.
public struct BudgetExhausted: Error, Sendable, Equatable, CustomStringConvertible {
    /// `key:NAME` or `tenant:NAME`.
    public var scope: String
    /// When the period ends (milliseconds since 1970); nil for a `total` budget.
    public var resetsAtUnixMilliseconds: Int64?

    public init(scope: String, resetsAtUnixMilliseconds: Int64?) {
        self.scope = scope
        self.resetsAtUnixMilliseconds = resetsAtUnixMilliseconds
    }

    public var description: String { "budget \(scope) exhausted" }
}

/// Prices in the ledger's unit: nano-dollars (1e-9 USD), exact to sum.
public enum Pricing {
    /// Prompt-cache reads and writes against the input price: Anthropic's rates (a read 0.1×, a
    /// five-minute write 1.25×), the only upstream that reports them apart.
    static let cacheReadFactor = 0.1
    static let cacheWriteFactor = 1.25

    /// What `usage` costs at `price` (USD per million tokens).
    public static func nanodollars(_ usage: TokenUsage, _ price: Price) -> Int64 {
        let uncached = max(0, usage.promptTokens - usage.cacheReadTokens - usage.cacheWriteTokens)
        let input = Double(uncached) + Double(usage.cacheReadTokens) * cacheReadFactor + Double(usage.cacheWriteTokens) * cacheWriteFactor
        let value = (input * price.inputPerMillion + Double(usage.completionTokens) * price.outputPerMillion) * 1000
        return value.isFinite ? Int64(min(value.rounded(), 9e18)) : 0
    }

    /// The most an attempt can cost: a token per byte of the request (no tokenizer makes more),
    /// and the output tokens the request allows. At the plain input rate: a prompt written to a
    /// cache (1.25×) stays within it while it has under 0.8 tokens a byte, and text has about 0.25.
    public static func worstCase(_ request: AttemptRequest, _ price: Price) -> Int64 {
        nanodollars(TokenUsage(promptTokens: min(request.promptBytes, TokenUsage.maxTokens),
                               completionTokens: min(request.maxOutputTokens, TokenUsage.maxTokens)), price)
    }

    /// Output tokens a budgeted request may generate when it does not say: the gateway asks the
    /// upstream for no more, so that the reservation bounds the spend.
    public static let defaultMaxOutputTokens = 4096
}

extension GatewayError {
    static func budgetExceeded(_ exhausted: BudgetExhausted) -> GatewayError {
        let resetsIn = exhausted.resetsAtUnixMilliseconds.map { Int(max(0, ($0 - unixMillisecondsNow()) / 1000)) }
        return .budgetExceeded(scope: exhausted.scope, resetsInSeconds: resetsIn)
    }
}
