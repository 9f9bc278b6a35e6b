import SwitchyardPolicy
import SwitchyardProviders
import SwitchyardWire

/// Fills a request's signal values on demand: a rule that does not look at tokens costs no
/// tokenizer call, one that does not look at PII costs no scan. Values already present
/// (stubbed by `policy test` or an explain request) are kept.
struct SignalComputer {
    let request: RequestSummary
    let tokenizer: any PromptTokenizer
    /// Tokens one request may use on the local model, for `prompt_ratio`.
    let localContext: Int?
    /// The fitted difficulty model, if the policy has one.
    let complexityModel: LogisticModel?
    let caller: Caller
    let budgets: (any BudgetSignals)?
    var values: SignalValues

    mutating func ensure(_ signals: Set<Signal>) async {
        // Order does not matter: the signals that depend on others (prompt_ratio, a fitted
        // complexity) compute what they need themselves, once.
        for signal in signals where !values.has(signal) {
            switch signal {
            case .model: values.model = request.model
            // A key's identity wins; only an anonymous caller's headers are taken (unverified).
            case .tenant: values.tenant = caller.isAnonymous ? values.headers["tenant"] ?? "" : caller.tenant ?? ""
            case .team: values.team = caller.isAnonymous ? values.headers["team"] ?? "" : caller.team ?? ""
            case .key: values.key = caller.keyName ?? ""
            case .budgetRemainingUSD, .budgetUsedRatio:
                let budget = await budgets?.budget(for: caller)
                values.budgetRemainingUSD = budget?.remainingUSD ?? .infinity
                values.budgetUsedRatio = budget?.usedRatio ?? 0
            case .header: break  // headers are all present from the start
            case .messages: values.messages = request.turns.count
            case .promptChars: values.promptChars = request.turns.reduce(0) { $0 + $1.text.count }
            case .promptTokens: await tokens()
            case .promptRatio:
                await tokens()
                values.promptRatio = localContext.map { Double(values.promptTokens ?? 0) / Double(max(1, $0)) } ?? 0
            case .maxTokens: values.maxTokens = request.maxTokens ?? 0
            case .stream: values.stream = request.stream
            case .tools: values.tools = request.hasTools
            case .images: values.images = request.hasImages
            case .pii:
                // Every string the request would carry upstream, not only the messages' text.
                values.pii = PIIDetector.classes(inRequestBody: request.body)
            case .complexity:
                if let complexityModel {
                    await tokens()
                    values.complexity = complexityModel.probability(PromptFeatures.of(request, promptTokens: values.promptTokens ?? 0))
                } else {
                    values.complexity = ComplexityScorer.score(request)
                }
            case .confidence: break  // known only after generation
            }
        }
    }

    private mutating func tokens() async {
        guard values.promptTokens == nil else { return }
        let (count, estimated) = await tokenizer.promptTokens(request)
        values.promptTokens = count
        values.promptTokensEstimated = estimated
    }
}
