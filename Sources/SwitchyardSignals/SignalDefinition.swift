import SwitchyardWire

/// One signal, whole: the name conditions use, its type and range, what computing it costs, how
/// it is computed and how explain shows it. The policy loader, `policy check`, the condition
/// type-checker, explain and the policy tests' stubs all read these, so a new signal is one
/// definition (`SignalRegistry.standard`, or `adding(_:)`) and nothing else.
public struct SignalDefinition: Sendable {
    public enum Kind: Sendable, Equatable {
        case number, string, bool, set
    }

    /// What computing the signal costs a request, cheapest first.
    public enum Cost: String, Sendable, CaseIterable, Comparable {
        /// Read from the request or the caller.
        case free
        /// A pass over the request's text (the PII scan, complexity features).
        case localScan = "local-scan"
        /// A call to the local engine (its tokenizer).
        case engineCall = "engine-call"
        /// Known only once the local model has answered (a cascade's `when`).
        case afterGeneration = "after-generation"

        public static func < (a: Cost, b: Cost) -> Bool {
            allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
        }
    }

    /// How conditions name the signal.
    public enum Naming: Sendable, Equatable {
        /// One name: `prompt_tokens`.
        case exactly(String)
        /// `header.NAME` for any `x-switchyard-NAME` request header; NAME is case-insensitive.
        case header
        /// `TARGET.SUFFIX` for every local target of the policy: `local.queue`.
        case localTarget(suffix: String)
    }

    public var naming: Naming
    public var kind: Kind
    /// The values a number can take; a threshold outside it is refused at load.
    public var range: ClosedRange<Double>?
    /// Held as a whole number: a stub must be one.
    public var isCount: Bool
    /// For a set: the values it may hold; `in [...]` lists and stubs are checked against them.
    public var members: [String]?
    public var cost: Cost
    /// One line for `policy check --signals` and docs/policy.md.
    public var summary: String
    /// The value for one request. `parameter` is the header's or the target's name (empty for
    /// a signal with one name); nil means unknown, which makes every comparison on it false.
    public var compute: @Sendable (inout SignalEvaluation, _ parameter: String) async -> ConditionValue?
    /// How explain shows a value.
    public var explain: @Sendable (ConditionValue) -> JSON
    /// What a stubbed value (a policy test, explain's `--signal`) also stands for, for the signals
    /// computed from this one: a stubbed `prompt_tokens` is what `prompt_ratio` divides.
    public var stubbed: (@Sendable (inout SignalEvaluation, ConditionValue) -> Void)?

    public init(naming: Naming, kind: Kind, range: ClosedRange<Double>? = nil, isCount: Bool = false, members: [String]? = nil,
                cost: Cost, summary: String,
                compute: @escaping @Sendable (inout SignalEvaluation, _ parameter: String) async -> ConditionValue?,
                explain: @escaping @Sendable (ConditionValue) -> JSON = SignalDefinition.plain,
                stubbed: (@Sendable (inout SignalEvaluation, ConditionValue) -> Void)? = nil) {
        self.naming = naming
        self.kind = kind
        self.range = range
        self.isCount = isCount
        self.members = members
        self.cost = cost
        self.summary = summary
        self.compute = compute
        self.explain = explain
        self.stubbed = stubbed
    }

    /// A value as JSON: numbers as numbers (whole ones as integers), sets as sorted lists.
    public static let plain: @Sendable (ConditionValue) -> JSON = { value in
        switch value {
        case .number(let n): n == n.rounded() && abs(n) < 1e15 ? .int(Int(n)) : .double(n)
        case .string(let s): .string(s)
        case .bool(let b): .bool(b)
        case .set(let s): .array(s.sorted().map(JSON.string))
        }
    }

    /// The largest number a stub (a policy test's `signals:`, `--signal`) may give: far above any
    /// real request, and exact both as a Double and as an Int, so a stubbed count can never trap.
    public static let largestStub: Double = 1_000_000_000_000

    /// Why `value` cannot stand for the signal `name` in a stub, or nil when it can: it must have
    /// the signal's type; a number must be finite and within the signal's range (at most
    /// `largestStub`), and whole for a count; a set may only name the signal's members.
    public func problem(with value: ConditionValue, name: String) -> String? {
        switch (kind, value) {
        case (.number, .number(let n)):
            let lower = range?.lowerBound ?? 0, upper = Swift.min(range?.upperBound ?? Self.largestStub, Self.largestStub)
            guard n.isFinite, n >= lower, n <= upper else {
                return "`\(name)` must be \(isCount ? "a whole number" : "a number") from \(lower.clean) to \(upper.clean); got \(n.clean)"
            }
            if isCount, n != n.rounded() { return "`\(name)` must be a whole number; got \(n.clean)" }
            return nil
        case (.set, .set(let values)):
            return members.flatMap { unknownMember(in: values, of: $0) }
        case (.string, .string), (.bool, .bool):
            return nil
        default:
            let expected = switch kind {
            case .number: "a number"
            case .string: "a string"
            case .bool: "true or false"
            case .set: "a list"
            }
            return "`\(name)` must be \(expected)"
        }
    }

    /// The first of `values` that is not a member, as a message with a hint.
    public func unknownMember(in values: Set<String>, of members: [String]) -> String? {
        guard let unknown = values.sorted().first(where: { !members.contains($0) }) else { return nil }
        let hint = nearest(unknown, in: members).map { " (did you mean '\($0)'?)" } ?? ""
        return "unknown value '\(unknown)'\(hint); the values: \(members.joined(separator: ", "))"
    }
}
