import SwitchyardLearning
import SwitchyardPolicy
import SwitchyardSignals

/// Where a request goes and why: the output of the decision, a value, before any upstream is
/// called. Explain renders it (`json(signals:)`); the executor serves its action.
public struct Decision: Sendable, Equatable {
    /// The rule that decided (`model:NAME` when a named model was served without a rule).
    public var rule: String
    public var action: Action
    /// A short machine-readable reason: `rule:long-context prompt_tokens=7100>6553.6`.
    public var reason: String
    /// The signals computed for the decision (only those some rule, constraint or stub needed),
    /// by slot in the policy's `SignalTable`.
    public var signals: SignalValues
    /// The prompt's tokens on the local model when the decision counted them, and whether that
    /// count is an estimate.
    public var promptTokens: Int?
    public var promptTokensEstimated: Bool
    /// Each rule tried, in order, and why it matched or not: built only when asked for (explain,
    /// `policy test`), never on the request path.
    public var trace: [RuleTrace]?
    /// PII classes that made the private-data constraint narrow the targets.
    public var privateData: [String]
    /// Whether the local engine may answer when every target the decision names is unconfigured
    /// (false when a private-data constraint does not allow the local model either).
    public var mayServeLocallyAsLastResort: Bool
    /// A budgeted caller's request that no worst case bounds on some priced targets: the field
    /// that made them go (`budget-unbounded=…` in the reason).
    public var unbounded: String? = nil
    /// The trust in the local model the decision was made with; its cascade is judged by it.
    public var trust: Trust? = nil
    /// For a cascade that learns its threshold (`confidence < auto`): the one in force.
    public var threshold: ThresholdInForce? = nil

    /// Whether the action is a refusal.
    public var isRefusal: Bool { if case .deny = action { true } else { false } }
}

public struct RuleTrace: Sendable, Equatable {
    public enum Outcome: Sendable, Equatable {
        case matched
        case notMatched
        /// Not evaluated, and why (e.g. the request named a model and the rule does not read `model`).
        case skipped(String)
    }

    public var rule: String
    public var condition: String
    public var outcome: Outcome
    public var facts: [String]
}

