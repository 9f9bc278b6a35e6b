import SwitchyardLearning
import SwitchyardPolicy
import SwitchyardSignals
import SwitchyardWire

/// The decision: policy + request summary + signals → `Decision`. Pure: no provider, engine or
/// HTTP; the tokenizer, the box's state and the caller's budgets reach it through protocols.
/// Built once per policy load (every name resolved to a slot then); `decide` computes only the
/// signals the rules it tries need, cheapest first as the rules are written.
public struct Decider: Sendable {
    public let policy: Policy
    private let tokenizer: any PromptTokenizer
    private let box: (any BoxState)?
    /// Names clients may ask for: `auto` plus every policy model.
    public let modelNames: [String]
    /// Signals every request needs whatever the rules say: the requested model, and PII when a constraint exists.
    private let alwaysNeeded: [Int]
    private let modelSlot: Int?
    private let piiSlot: Int?
    private let confidenceSlot: Int?
    private let thresholdSlot: Int?
    private let localContext: Int?
    /// Whether the cascade's local answer needs the top-k alternatives: a fitted model reads them,
    /// and so does a policy that learns (its labels' features must be those a later fit will be
    /// applied to, from the first label on: llama-server's own default gives more alternatives).
    public func needsTopLogprobs(_ trust: Trust?) -> Bool {
        policy.learning != nil || (trust?.calibration.model ?? policy.calibration) != nil
    }

    public static let autoModel = "auto"

    public init(policy: Policy, tokenizer: any PromptTokenizer = EstimatingTokenizer(), box: (any BoxState)? = nil) {
        self.policy = policy
        self.tokenizer = tokenizer
        self.box = box
        modelNames = [Self.autoModel] + policy.models.map(\.name)
        let table = policy.signals
        (modelSlot, piiSlot, confidenceSlot) = (table.slot(named: "model"), table.slot(named: "pii"), table.slot(named: "confidence"))
        thresholdSlot = table.slot(named: "confidence.threshold")
        alwaysNeeded = [modelSlot, policy.constraints.privateData == nil ? nil : piiSlot].compactMap { $0 }
        localContext = policy.localModels.first?.contextWindow
    }

    /// What a decision reads besides the request.
    public struct Inputs: Sendable {
        /// The request's `x-switchyard-NAME` headers by NAME, lower-cased (`SwitchyardHeaders`).
        public var headers: [String: String]
        /// Who is asking (its key's identity replaces client-sent tenant headers).
        public var caller: Caller
        /// The caller's budgets, for the `budget.*` signals (read only if a rule does).
        public var budgets: (any BudgetSignals)?
        /// A budgeted request's worst case on each kind of target (nil: no budget applies).
        public var billing: BillingBounds?
        /// Values to use instead of computing them (`policy test`, explain's `--signal`).
        public var stubs: [(slot: Int, value: ConditionValue)]
        /// Build the trace of every rule tried (explain, `policy test`).
        public var explain: Bool
        /// How far to trust the local model now (the learning loop's); nil: the policy's calibration and thresholds.
        public var trust: Trust?

        public init(headers: [String: String] = [:], caller: Caller = .anonymous, budgets: (any BudgetSignals)? = nil,
                    billing: BillingBounds? = nil, stubs: [(slot: Int, value: ConditionValue)] = [], explain: Bool = false,
                    trust: Trust? = nil) {
            self.trust = trust
            self.headers = headers
            self.caller = caller
            self.budgets = budgets
            self.billing = billing
            self.stubs = stubs
            self.explain = explain
        }
    }

    public func decide(_ request: RequestSummary, _ inputs: Inputs = Inputs()) async throws(GatewayError) -> Decision {
        try check(model: request.model)
        let named = request.model != Self.autoModel
        var evaluation = SignalEvaluation(request: request, caller: inputs.caller, headers: inputs.headers, budgets: inputs.budgets,
                                          tokenizer: tokenizer, box: box, localContext: localContext,
                                          complexityModel: policy.complexityModel)
        var values = SignalValues(count: policy.signals.count)
        for (slot, value) in inputs.stubs where slot < values.values.count {
            values[slot] = value
            policy.signals.definition(at: slot).stubbed?(&evaluation, value)
        }
        await ensure(alwaysNeeded, &values, &evaluation)

        var trace: [RuleTrace]? = inputs.explain ? [] : nil
        var decision: Decision?
        for rule in policy.rules {
            // A request naming a model skips the serve and cascade rules written for `auto`, but
            // never a `deny` (Rule.seesNamedModels).
            if named, !rule.seesNamedModels {
                trace?.append(RuleTrace(rule: rule.name, condition: rule.when.source,
                                        outcome: .skipped("the request named a model and this rule does not read `model`"), facts: []))
                continue
            }
            await ensure(rule.when.signals, &values, &evaluation)
            let (matched, facts) = rule.when.evaluate(values)
            trace?.append(RuleTrace(rule: rule.name, condition: rule.when.source, outcome: matched ? .matched : .notMatched, facts: facts))
            guard matched else { continue }
            if case .cascade(let cascade) = rule.action {
                // The escalation condition may read signals the rule's own did not (all but confidence).
                await ensure(cascade.when.signals.filter { $0 != confidenceSlot }, &values, &evaluation)
            }
            decision = Decision(rule: rule.name, action: rule.action, reason: Self.reason("rule:\(rule.name)", facts), signals: values,
                                promptTokens: nil, promptTokensEstimated: false, trace: trace, privateData: [],
                                mayServeLocallyAsLastResort: true)
            break
        }
        if decision == nil {
            guard named else {
                throw GatewayError(status: 400, code: "no_route", message: "No rule of the policy matches this request, and it named no model.")
            }
            decision = Decision(rule: "model:\(request.model)", action: .serve(Serve(targets: [request.model])), reason: "requested-model",
                                signals: values, promptTokens: nil, promptTokensEstimated: false, trace: trace, privateData: [],
                                mayServeLocallyAsLastResort: true)
        }
        var result = applyCallerLimits(applyConstraints(decision!), inputs.caller)
        if let billing = inputs.billing { result = try bounded(result, by: billing) }
        result.promptTokens = evaluation.promptTokens?.count
        result.promptTokensEstimated = evaluation.promptTokens?.estimated ?? false
        result.trust = inputs.trust
        if case .cascade(let cascade) = result.action, cascade.risk != nil {
            result.threshold = threshold(cascade, rule: result.rule, trust: inputs.trust)
        }
        return result
    }

    /// Computes the signals at `slots` not yet known (stubbed ones are kept).
    private func ensure(_ slots: some Sequence<Int>, _ values: inout SignalValues, _ evaluation: inout SignalEvaluation) async {
        for slot in slots where !values.has(slot) {
            let entry = policy.signals.entries[slot]
            values[slot] = await policy.signals.definition(at: slot).compute(&evaluation, entry.parameter)
        }
    }

    /// A model a client may name: `auto` or one of the policy's; 404 otherwise.
    public func check(model: String) throws(GatewayError) {
        if model != Self.autoModel, policy.model(named: model) == nil { throw .modelNotFound(model, available: modelNames) }
    }

    /// The prompt's tokens on the local model (`count_tokens`): the engine's own count when it
    /// can be asked, else an estimate, and says which; 503 when its tokenizer is too busy.
    public func countTokens(_ request: RequestSummary) async throws(GatewayError) -> (count: Int, estimated: Bool) {
        try await tokenizer.countTokens(request)
    }

    /// A cascade's second step, decided: the local answer's confidence (from its tokens'
    /// log-probabilities and the prompt, scored by the calibration the decision was made with),
    /// and whether the cascade's condition escalates it, at the threshold in force.
    public func escalation(_ cascade: Cascade, after decision: Decision, request: RequestSummary,
                           tokens: (logprobs: [Double], top: [[Double]])) async -> CascadeVerdict {
        let promptTokens: Int
        if let counted = decision.promptTokens { promptTokens = counted } else { promptTokens = await tokenizer.promptTokens(request).count }
        let features = ConfidenceFeatures.of(logprobs: tokens.logprobs, top: tokens.top) + PromptFeatures.of(request, promptTokens: promptTokens)
        let calibration = decision.trust?.calibration ?? Calibration(version: 0, model: policy.calibration)
        // No token to score: the confidence is unknown, and a comparison on it is false.
        let confidence = tokens.logprobs.isEmpty ? nil : calibration.confidence(features)
        let threshold = cascade.risk == nil ? nil : decision.threshold ?? self.threshold(cascade, rule: decision.rule, trust: decision.trust)
        let (escalate, facts) = escalates(cascade, after: decision, confidence: confidence, threshold: threshold?.value)
        return CascadeVerdict(confidence: confidence, escalate: escalate, facts: facts, features: features,
                              calibrationVersion: calibration.version, threshold: threshold)
    }

    /// Whether the cascade's condition escalates an answer of this confidence (nil: unknown),
    /// at `threshold` for `confidence < auto`.
    public func escalates(_ cascade: Cascade, after decision: Decision, confidence: Double?,
                          threshold: Double? = nil) -> (escalate: Bool, facts: [String]) {
        var values = decision.signals
        if let confidenceSlot { values[confidenceSlot] = confidence.map(ConditionValue.number) }
        if let thresholdSlot { values[thresholdSlot] = (threshold ?? cascade.threshold ?? policy.learning?.defaultThreshold).map(ConditionValue.number) }
        let (escalate, facts) = cascade.when.evaluate(values)
        return (escalate, facts)
    }

    /// The threshold a `confidence < auto` cascade uses now: the learning loop's for this rule,
    /// else the rule's own starting point, else the policy's default.
    public func threshold(_ cascade: Cascade, rule: String, trust: Trust?) -> ThresholdInForce {
        if let learned = trust?.thresholds[rule] { return learned }
        let version = trust?.calibration.version ?? 0
        if let own = cascade.threshold { return ThresholdInForce(value: own, source: .rule, calibrationVersion: version, labels: 0) }
        return ThresholdInForce(value: policy.learning?.defaultThreshold ?? 0.5, source: .policyDefault, calibrationVersion: version, labels: 0)
    }

    /// Private data never leaves the allowed targets, whatever the rule, its fallbacks or a
    /// retry would do; when none of them is left, the request is refused.
    private func applyConstraints(_ decision: Decision) -> Decision {
        guard let constraint = policy.constraints.privateData, let piiSlot, case .set(let pii)? = decision.signals[piiSlot] else {
            return decision
        }
        let found = pii.intersection(constraint.classes).sorted()
        guard !found.isEmpty else { return decision }
        var result = decision
        result.privateData = found
        result.mayServeLocallyAsLastResort = policy.localModels.contains { constraint.allowedTargets.contains($0.name) }
        result.reason += " private_data=\(found.joined(separator: ","))"
        let refusal = Action.deny(Deny(message:
            "This request contains private data (\(found.joined(separator: ", "))), which may only be served by \(constraint.allowedTargets.joined(separator: ", ")); rule '\(decision.rule)' would send it elsewhere."))
        result.action = decision.action.restricted(to: constraint.allowedTargets, otherwise: refusal)
        return result
    }

    /// A key limited to some models: a request it makes is served only by them, or refused.
    private func applyCallerLimits(_ decision: Decision, _ caller: Caller) -> Decision {
        guard let models = caller.models else { return decision }
        var result = decision
        let refusal = Action.deny(Deny(message:
            "The API key '\(caller.keyName ?? "")' may use only \(models.joined(separator: ", ")); this request would be served by another model."))
        result.action = decision.action.restricted(to: models, otherwise: refusal)
        result.mayServeLocallyAsLastResort = decision.mayServeLocallyAsLastResort && policy.localModels.contains { models.contains($0.name) }
        return result
    }

    /// A budgeted caller's decision without the priced targets its request has no worst case on:
    /// a budget cannot reserve for them, and they could bill without limit. The box and unpriced
    /// targets stay (no budget ever blocks the local model). Nothing left is a 400 that names
    /// what cannot be bounded.
    private func bounded(_ decision: Decision, by bounds: BillingBounds) throws(GatewayError) -> Decision {
        let named = decision.action.targets
        var unbounded: (what: String, param: String?)?
        let allowed = policy.models.filter { target in
            guard target.remote?.price != nil, case .unbounded(let what, let param) = bounds.bound(for: target) else { return true }
            if unbounded == nil, named.contains(target.name) { unbounded = (what, param) }
            return false
        }.map(\.name)
        guard let unbounded, !decision.isRefusal else { return decision }
        let kept = decision.action.restricted(to: allowed, otherwise: .deny(Deny(message: "")))
        if case .deny = kept {
            throw GatewayError(status: 400, code: "budget_unbounded",
                               message: "This request's \(unbounded.what) is billed in a way no budget reservation can bound before it is sent, "
                                   + "and the caller has a budget: it is not sent to a priced target (docs/cost.md). "
                                   + "Send it without that, or with a key that has no budget.",
                               param: unbounded.param)
        }
        var result = decision
        result.action = kept
        result.unbounded = unbounded.param ?? "request"
        result.reason += " budget-unbounded=\(unbounded.param ?? "request")"
        return result
    }

    static func reason(_ head: String, _ facts: [String]) -> String {
        let text = facts.isEmpty ? head : head + " " + facts.joined(separator: " ")
        // Header-safe: facts may quote client-sent header values. The common reason already is,
        // and is returned as it is; rebuilding it scalar by scalar was 1.7% of the request tasks' CPU.
        return HeaderSyntax.printableASCII(text, limit: Self.reasonLimit)
    }

    static let reasonLimit = 300
}
