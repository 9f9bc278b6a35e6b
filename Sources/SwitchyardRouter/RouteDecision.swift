import SwitchyardPolicy

/// Where a request goes and why: the explainable output of routing, before any upstream is called.
public struct RouteDecision: Sendable, Equatable {
    /// The rule that decided (`model:NAME` when the client named a policy model).
    public var rule: String
    /// Targets to try in order: the chosen one, then its fallbacks.
    public var candidates: [String]
    /// A short machine-readable reason, e.g. `requested-model` or `rule:default`.
    public var reason: String

    public init(rule: String, candidates: [String], reason: String) {
        self.rule = rule
        self.candidates = candidates
        self.reason = reason
    }
}

/// A target passed over before the one that served, and why.
public struct SkippedTarget: Sendable, Equatable, CustomStringConvertible {
    public enum Why: Sendable, Equatable {
        case unconfigured(String)
        case failed(String)
    }

    public var target: String
    public var why: Why

    public var description: String {
        switch why {
        case .unconfigured(let detail): "\(target):unconfigured(\(detail))"
        case .failed(let detail): "\(target):failed(\(detail))"
        }
    }
}

/// Local or cloud: what `x-switchyard-route` reports.
public enum Tier: String, Sendable {
    case local, cloud

    public init(_ target: ModelTarget) { self = target.isLocal ? .local : .cloud }
}
