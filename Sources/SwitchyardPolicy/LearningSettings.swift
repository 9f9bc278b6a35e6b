import SwitchyardLearning

/// How the gateway learns, from its own traffic, how far to trust the local model
/// (docs/routing.md, "Learning from live traffic"): what judges a local answer, how much traffic
/// is shadowed, when the confidence model is refitted and how the risk bound is set. Present in a
/// policy as `learning:`; a cascade with `when: confidence < auto` needs it.
public struct LearningSettings: Sendable, Equatable {
    /// What decides whether a local answer was right, against the cloud's.
    public enum Judge: Sendable, Equatable {
        /// A policy target asked with a fixed grading prompt; its one-word verdict is validated.
        case target(String)
        /// A deterministic comparison, for short answers: `number`, `exact-word` or `contains`.
        case match(Judgement.Matcher)
    }

    public var judge: Judge
    /// The share of requests a cascade kept on the box that are also sent, afterwards, to its
    /// escalation target and judged (0 to 1).
    public var shadowRate: Double = 0
    /// What shadow requests and judge calls may spend, apart from every caller's budget.
    public var shadowBudget: BudgetSettings.Limit?
    /// Refit after this many new labels…
    public var refitEveryLabels: Int = 50
    /// …or after this long, if any label arrived.
    public var refitEvery: Duration = .seconds(3600)
    /// Labels (held out from the fit) a risk-bounded threshold needs; below it the rule's
    /// `threshold:` or `default_threshold` is used.
    public var minimumLabels: Int = 30
    /// The newest labels a refit and the bound read.
    public var window: Int = 5000
    /// The confidence of the risk bound (0.95: the bound holds with probability 95%).
    public var confidenceLevel: Double = 0.95
    /// The threshold of a `confidence < auto` cascade without its own `threshold:`, until there
    /// are labels: 1, so every answer escalates (and labels itself) until the bound can be set.
    public var defaultThreshold: Double = 1
    /// The newest labels checked for drift.
    public var driftWindow: Int = 200
    /// How long after an answer its caller may rate it (`POST /v1/switchyard/feedback`).
    public var feedbackWindow: Duration = .seconds(7 * 86_400)

    public init(judge: Judge) { self.judge = judge }

    /// The bound's δ: the probability it is allowed to fail.
    public var delta: Double { 1 - confidenceLevel }
}
