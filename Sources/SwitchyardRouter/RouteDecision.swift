import SwitchyardPolicy

/// Where a request goes and why: the explainable output of routing, before any upstream is called.
public struct RouteDecision: Sendable, Equatable {
    public enum Action: Sendable, Equatable {
        /// Targets to try in order: the chosen one, then its fallbacks.
        case serve([String])
        /// Generate on the local model, score the answer, escalate when the cascade's condition holds.
        case cascade(Cascade)
        /// Refuse with 403 and this message.
        case deny(String)
    }

    /// The rule that decided (`model:NAME` when a named model was served without a rule).
    public var rule: String
    public var action: Action
    /// A short machine-readable reason: `rule:long-context prompt_tokens=7100>6553.6`.
    public var reason: String
    /// The signals computed for the decision (only those some rule needed).
    public var signals: SignalValues
    /// Each rule tried, in order, and why it matched or not.
    public var trace: [RuleTrace]
    /// PII classes that made the private-data constraint narrow the targets.
    public var privateData: [String]

    /// Whether the local engine may answer when every target the decision names is unconfigured
    /// (false when a private-data constraint does not allow the local model either).
    public var mayServeLocallyAsLastResort: Bool
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

/// A target passed over before the one that served, and why.
public struct SkippedTarget: Sendable, Equatable, CustomStringConvertible {
    public enum Why: Sendable, Equatable {
        case unconfigured(String)
        case failed(String)
        /// The private-data constraint does not allow it.
        case privateData
        /// The caller's budget (`key:NAME`, `tenant:NAME`) had no room for its worst case.
        case budget(String)
        /// Its circuit breaker is open after consecutive failures; probes go through in this many seconds.
        case circuitOpen(retryInSeconds: Int)
    }

    public var target: String
    public var why: Why

    public var description: String {
        switch why {
        case .unconfigured(let detail): "\(target):unconfigured(\(detail))"
        case .failed(let detail): "\(target):failed(\(detail))"
        case .privateData: "\(target):private-data"
        case .budget(let scope): "\(target):budget-exhausted(\(scope))"
        case .circuitOpen(let seconds): "\(target):circuit-open(retry in \(seconds)s)"
        }
    }
}

/// Local or cloud: what `x-switchyard-route` reports.
public enum Tier: String, Sendable {
    case local, cloud

    public init(_ target: ModelTarget) { self = target.isLocal ? .local : .cloud }
}
