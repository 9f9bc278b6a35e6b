import SwitchyardDecision
import SwitchyardPolicy
import SwitchyardProviders
import SwitchyardSignals
import SwitchyardWire

/// The outcome of serving a decision: the answer, the target that gave it, and what was tried first.
public struct Served<Answer: Sendable>: Sendable {
    public var answer: Answer
    public var target: ModelTarget
    public var skipped: [SkippedTarget]
    /// The attempt that produced the answer, still open: the caller ends it once the answer is
    /// delivered (a whole answer at once, a stream when it ends, breaks or is abandoned).
    public var attempt: Attempt
    /// Set when a cascade escalated (or wanted to) after scoring the local answer.
    public var escalation: Escalation? = nil
    /// A cascade's verdict on its local answer, whether it escalated or not.
    public var verdict: CascadeVerdict? = nil
    /// The local answer's text when a cascade judged a whole answer (a stream's is only its
    /// held-back start): what the learning loop compares with the cloud's.
    public var localText: String? = nil
}

public struct Escalation: Sendable, Equatable {
    /// `confidence=0.41<0.6`, or why the cascade did not escalate when it could not.
    public var reason: String
    public var confidence: Double?
    /// False when escalation was wanted but no target could take it: the local answer was kept.
    public var escalated: Bool
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
        /// Its circuit breaker is open: it failed repeatedly and is left alone for a while.
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

/// An answer that keeps its target's slot for as long as it is being delivered.
protocol HoldsPermit {
    func holding(_ permit: Permit) -> Self
}

extension Completion: HoldsPermit {
    /// A whole completion is already delivered by the upstream: its slot is freed with it.
    func holding(_ permit: Permit) -> Completion { self }
}

extension CompletionStream: HoldsPermit {
    func holding(_ permit: Permit) -> CompletionStream {
        var stream = self
        stream.retained.append(permit)
        return stream
    }
}
