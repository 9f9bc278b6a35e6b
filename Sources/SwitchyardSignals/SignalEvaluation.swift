import SwitchyardWire

/// What the signals of one request are computed from, and the costly parts computed once
/// (the tokenizer's count, the PII scan, the caller's budget), whichever signals ask for them.
public struct SignalEvaluation: Sendable {
    public let request: RequestSummary
    public let caller: Caller
    /// The request's `x-switchyard-NAME` headers by NAME, lower-cased.
    public let headers: [String: String]
    public let budgets: (any BudgetSignals)?
    public let tokenizer: any PromptTokenizer
    public let box: (any BoxState)?
    /// Tokens one request may use on the local model, for `prompt_ratio`.
    public let localContext: Int?
    /// The fitted difficulty model, if the policy has one.
    public let complexityModel: LogisticModel?

    public private(set) var promptTokens: (count: Int, estimated: Bool)?
    private var piiClasses: Set<String>?
    private var budget: (remainingUSD: Double, usedRatio: Double)??

    public init(request: RequestSummary, caller: Caller = .anonymous, headers: [String: String] = [:], budgets: (any BudgetSignals)? = nil,
                tokenizer: any PromptTokenizer = EstimatingTokenizer(), box: (any BoxState)? = nil, localContext: Int? = nil,
                complexityModel: LogisticModel? = nil) {
        self.request = request
        self.caller = caller
        self.headers = headers
        self.budgets = budgets
        self.tokenizer = tokenizer
        self.box = box
        self.localContext = localContext
        self.complexityModel = complexityModel
    }

    /// The prompt's tokens on the local model, counted once per request.
    public mutating func tokens() async -> Int {
        if let promptTokens { return promptTokens.count }
        let counted = await tokenizer.promptTokens(request)
        promptTokens = counted
        return counted.count
    }

    /// A count given instead of asking the tokenizer (a stub): later readers see it.
    public mutating func setTokens(_ count: Int) {
        promptTokens = (count, false)
    }

    /// Every PII class in every string the request would carry upstream, scanned once.
    public mutating func pii() -> Set<String> {
        if let piiClasses { return piiClasses }
        let found = PIIDetector.classes(inRequestBody: request.body)
        piiClasses = found
        return found
    }

    /// The tightest of the caller's budgets, asked once; nil without a budget.
    public mutating func callerBudget() async -> (remainingUSD: Double, usedRatio: Double)? {
        if let budget { return budget }
        let read = await budgets?.budget(for: caller)
        budget = .some(read)
        return read
    }
}
