/// What a rule does with the requests it matches: the one action type the loader builds, the
/// decision restricts and the executor serves. A new action is a case here, its reading in
/// `PolicyLoader`, its serving in the executor and its explain rendering: the compiler finds
/// every switch that must learn it.
public enum Action: Sendable, Equatable {
    /// Targets to try in order: the chosen one, then its fallbacks.
    case serve(Serve)
    /// Generate on the local model, score the answer, escalate when the cascade's condition holds.
    case cascade(Cascade)
    /// Refuse with 403.
    case deny(Deny)

    /// Every target the action may send a request to, in the order it would try them.
    public var targets: [String] {
        switch self {
        case .serve(let serve): serve.targets
        case .cascade(let cascade): [cascade.first, cascade.escalateTo] + cascade.fallbacks
        case .deny: []
        }
    }

    /// The target that would answer first: what a policy test expects.
    public var firstTarget: String? {
        switch self {
        case .serve(let serve): serve.targets.first
        case .cascade(let cascade): cascade.first
        case .deny: nil
        }
    }

    /// This action with only `allowed` targets left: a cascade whose two steps are allowed keeps
    /// its allowed fallbacks; one that cannot escalate serves what it may; nothing left is `refusal`.
    public func restricted(to allowed: [String], otherwise refusal: Action) -> Action {
        switch self {
        case .serve(let serve):
            let kept = serve.targets.filter(allowed.contains)
            return kept.isEmpty ? refusal : .serve(Serve(targets: kept))
        case .cascade(let cascade):
            if allowed.contains(cascade.escalateTo), allowed.contains(cascade.first) {
                var kept = cascade
                kept.fallbacks = cascade.fallbacks.filter(allowed.contains)
                return .cascade(kept)
            }
            let kept = ([cascade.first] + cascade.fallbacks).filter(allowed.contains)
            return kept.isEmpty ? refusal : .serve(Serve(targets: kept))
        case .deny:
            return self
        }
    }
}

/// Serve on the first target, trying the others in order if it fails before answering.
public struct Serve: Sendable, Equatable {
    public var targets: [String]
    public init(targets: [String]) { self.targets = targets }
}

/// Refuse with 403 and this message.
public struct Deny: Sendable, Equatable {
    public var message: String
    public init(message: String) { self.message = message }
}

/// Generate on `first`, then escalate to `escalateTo` when `when` holds of the answer.
public struct Cascade: Sendable, Equatable {
    public var first: String
    public var escalateTo: String
    /// Evaluated after `first` answered; may read `confidence`.
    public var when: Condition
    /// Tried in order if `escalateTo` fails before answering.
    public var fallbacks: [String]
    /// Streaming: how many local tokens are held back and scored before the client sees any.
    public var holdTokens: Int = 16
    /// Streaming: decide at the first token after this long, even with fewer tokens held.
    public var holdTime: Duration = .seconds(2)
    /// With `when: confidence < auto`: the share of wrong answers the box may serve, bounded
    /// (docs/routing.md). The threshold is then learned from labels.
    public var risk: Double?
    /// With `confidence < auto`: the threshold used until there are enough labels.
    public var threshold: Double?
    /// Whether requests this cascade keeps on the box may be shadowed (`learning.shadow_rate`).
    public var shadow: Bool = true

    public init(first: String, escalateTo: String, when: Condition, fallbacks: [String] = []) {
        self.first = first
        self.escalateTo = escalateTo
        self.when = when
        self.fallbacks = fallbacks
    }
}
