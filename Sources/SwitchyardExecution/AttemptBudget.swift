import SwitchyardDecision
import SwitchyardSignals
import SwitchyardPolicy
import SwitchyardWire

/// Room in the caller's cloud budgets, asked before every priced attempt. The attempt's worst
/// case is reserved atomically (across replicas, by the ledger) and settled at its real cost when
/// it ends, through the accounting hook; a failed attempt's reservation is released there too.
public protocol AttemptBudget: Sendable {
    /// Reserves `worstCase` nano-dollars under `attemptID`; false when no budget applies to this
    /// caller (nothing reserved). Throws when a budget has no room.
    func reserve(attemptID: String, worstCase: Int64) async throws(BudgetExhausted) -> Bool
    /// Ends the reservation held under `attemptID`: spent at `cost` nano-dollars, or released when
    /// the attempt cost nothing.
    func settle(attemptID: String, cost: Int64) async throws
}

/// The caller's budgets, and what the request can cost on each kind of target: what a priced
/// attempt reserves (`AttemptTracker.reserve`).
public struct RequestBudget: Sendable {
    public var budgets: any AttemptBudget
    public var bounds: BillingBounds

    public init(budgets: any AttemptBudget, bounds: BillingBounds) {
        self.budgets = budgets
        self.bounds = bounds
    }
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

    /// The most an attempt on `target` can cost (docs/cost.md, "The reservation rule"): its
    /// request's billable tokens there, images at the target's per-image worst case, the prompt at
    /// its dearest cache-write rate. A request with no bound costs more than any budget holds.
    public static func worstCase(_ bound: BillingBound, on target: ModelTarget) -> Int64 {
        guard let price = target.remote?.price else { return 0 }
        guard case .bounded(let tokens) = bound else { return unboundedWorstCase }
        let input = (Double(tokens.promptTokens) + Double(tokens.images) * Double(imageTokens(target))) * tokens.inputFactor
        let value = (input * price.inputPerMillion + Double(tokens.outputTokens) * price.outputPerMillion) * 1000
        return Int64(min(value.rounded(), Double(unboundedWorstCase)))
    }

    /// Twice the largest budget a policy or key may hold ($1e9), and far from what overflows a
    /// ledger's sums of spent, reserved and asked.
    static let unboundedWorstCase: Int64 = 2_000_000_000_000_000_000

    /// The most input tokens one image can be billed as on `target`: its `price.image_tokens`, or
    /// the most its kind documents. Anthropic scales larger images down to about 1,600 tokens.
    /// OpenAI counts a high-detail image in 512-pixel tiles of an image fitted to 2048×2048 and
    /// then to 768 pixels on its short side (at most 2×4 tiles); gpt-4o-mini counts each tile as
    /// 5,667 tokens on a base of 2,833 (gpt-4o: 170 on 85), so 48,169 covers every OpenAI model.
    public static func imageTokens(_ target: ModelTarget) -> Int {
        target.remote?.price?.imageTokens ?? (target.isAnthropic ? 1600 : 2833 + 8 * 5667)
    }
}

extension GatewayError {
    static func budgetExceeded(_ exhausted: BudgetExhausted) -> GatewayError {
        let resetsIn = exhausted.resetsAtUnixMilliseconds.map { Int(max(0, ($0 - unixMillisecondsNow()) / 1000)) }
        return .budgetExceeded(scope: exhausted.scope, resetsInSeconds: resetsIn)
    }
}
