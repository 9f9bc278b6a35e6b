/// What a rule condition can look at. Each signal has a type and, where it has one, a range,
/// so that `policy check` can refuse a threshold that can never be crossed.
public enum Signal: Sendable, Hashable, CustomStringConvertible {
    /// The model the client asked for (`auto` or a policy model name).
    case model
    /// The caller's tenant: from its API key when it sent one, else `x-switchyard-tenant` (unverified).
    case tenant
    /// The caller's team: from its API key, else `x-switchyard-team`.
    case team
    /// The name of the caller's API key; empty for an anonymous caller.
    case key
    /// What is left of the caller's tightest cloud budget this period, in USD (infinite without one).
    case budgetRemainingUSD
    /// The share of that budget already spent or reserved, in [0, 1] (0 without one).
    case budgetUsedRatio
    /// Any `x-switchyard-NAME` request header, as `header.NAME`.
    case header(String)
    case messages
    case promptChars
    /// Exact prompt tokens for the local model (its tokenizer on the rendered prompt).
    case promptTokens
    /// `prompt_tokens` over the local model's context per slot.
    case promptRatio
    /// Requested output tokens (`max_completion_tokens` or `max_tokens`; 0 when unset).
    case maxTokens
    case stream
    case tools
    case images
    /// PII classes found in the messages.
    case pii
    /// Estimated difficulty in [0, 1].
    case complexity
    /// Probability that the local answer is right, in [0, 1]; only after generation (cascade `when`).
    case confidence

    public enum Kind: Sendable, Equatable { case number, string, bool, set }

    /// Every signal but `header.NAME`, by the name conditions use.
    public static let named: [String: Signal] = Dictionary(uniqueKeysWithValues: [
        Signal.model, .tenant, .team, .key, .budgetRemainingUSD, .budgetUsedRatio, .messages, .promptChars, .promptTokens,
        .promptRatio, .maxTokens, .stream, .tools, .images, .pii, .complexity, .confidence,
    ].map { ($0.description, $0) })

    public var description: String {
        switch self {
        case .model: "model"
        case .tenant: "tenant"
        case .team: "team"
        case .key: "key"
        case .budgetRemainingUSD: "budget.remaining_usd"
        case .budgetUsedRatio: "budget.used_ratio"
        case .header(let name): "header.\(name)"
        case .messages: "messages"
        case .promptChars: "prompt_chars"
        case .promptTokens: "prompt_tokens"
        case .promptRatio: "prompt_ratio"
        case .maxTokens: "max_tokens"
        case .stream: "stream"
        case .tools: "tools"
        case .images: "images"
        case .pii: "pii"
        case .complexity: "complexity"
        case .confidence: "confidence"
        }
    }

    public var kind: Kind {
        switch self {
        case .model, .tenant, .team, .key, .header: .string
        case .messages, .promptChars, .promptTokens, .promptRatio, .maxTokens, .complexity, .confidence,
             .budgetRemainingUSD, .budgetUsedRatio: .number
        case .stream, .tools, .images: .bool
        case .pii: .set
        }
    }

    /// The values a numeric signal can take.
    public var range: ClosedRange<Double>? {
        switch self {
        case .complexity, .confidence, .budgetUsedRatio: 0...1
        case .messages, .promptChars, .promptTokens, .promptRatio, .maxTokens, .budgetRemainingUSD: 0...Double.greatestFiniteMagnitude
        default: nil
        }
    }

    /// The largest number a stub (a policy test's `signals:`, `--signal`) may give a count or a
    /// ratio: far above any real request, and exact both as a Double and as an Int, so turning a
    /// stubbed count into an `Int` can never trap.
    public static let largestStub: Double = 1_000_000_000_000

    /// Counts are held as `Int`: a stub must be a whole number.
    var isCount: Bool {
        switch self {
        case .messages, .promptChars, .promptTokens, .maxTokens: true
        default: false
        }
    }

    /// Why `value` cannot stand for this signal in a stub, or nil when it can: it must have the
    /// signal's type; a number must be finite and within the signal's range (at most
    /// `largestStub`), and whole for a count; a PII set may only name known classes.
    public func problem(with value: ConditionValue) -> String? {
        switch (kind, value) {
        case (.number, .number(let n)):
            let lower = range?.lowerBound ?? 0, upper = Swift.min(range?.upperBound ?? Self.largestStub, Self.largestStub)
            guard n.isFinite, n >= lower, n <= upper else {
                return "`\(self)` must be \(isCount ? "a whole number" : "a number") from \(lower.clean) to \(upper.clean); got \(n.clean)"
            }
            if isCount, n != n.rounded() { return "`\(self)` must be a whole number; got \(n.clean)" }
            return nil
        case (.set, .set(let classes)):
            let known = PIIClass.allCases.map(\.rawValue)
            guard let unknown = classes.sorted().first(where: { !known.contains($0) }) else { return nil }
            let hint = nearest(unknown, in: known).map { " (did you mean '\($0)'?)" } ?? ""
            return "unknown PII class '\(unknown)'\(hint); classes: \(known.joined(separator: ", "))"
        case (.string, .string), (.bool, .bool):
            return nil
        default:
            let expected = switch kind {
            case .number: "a number"
            case .string: "a string"
            case .bool: "true or false"
            case .set: "a list of PII classes"
            }
            return "`\(self)` must be \(expected)"
        }
    }
}

/// The PII classes the detector reports.
public enum PIIClass: String, Sendable, CaseIterable, Comparable {
    case email, phone, creditCard = "credit_card", iban, nationalID = "national_id", ipAddress = "ip_address", secret

    public static func < (a: PIIClass, b: PIIClass) -> Bool { a.rawValue < b.rawValue }
}

/// Signal values for one request, filled on demand; a signal no rule looks at stays nil.
public struct SignalValues: Sendable, Equatable {
    public var model: String?
    public var tenant: String?
    public var team: String?
    public var key: String?
    public var budgetRemainingUSD: Double?
    public var budgetUsedRatio: Double?
    public var headers: [String: String] = [:]
    public var messages: Int?
    public var promptChars: Int?
    public var promptTokens: Int?
    /// True when `promptTokens` is an estimate (no tokenizer was reachable).
    public var promptTokensEstimated = false
    public var promptRatio: Double?
    public var maxTokens: Int?
    public var stream: Bool?
    public var tools: Bool?
    public var images: Bool?
    public var pii: Set<String>?
    public var complexity: Double?
    public var confidence: Double?

    public init() {}

    public func has(_ signal: Signal) -> Bool { value(of: signal) != nil }

    public func value(of signal: Signal) -> ConditionValue? {
        switch signal {
        case .model: model.map(ConditionValue.string)
        case .tenant: tenant.map(ConditionValue.string)
        case .team: team.map(ConditionValue.string)
        case .key: key.map(ConditionValue.string)
        case .budgetRemainingUSD: budgetRemainingUSD.map(ConditionValue.number)
        case .budgetUsedRatio: budgetUsedRatio.map(ConditionValue.number)
        case .header(let name): .string(headers[name] ?? "")
        case .messages: messages.map { .number(Double($0)) }
        case .promptChars: promptChars.map { .number(Double($0)) }
        case .promptTokens: promptTokens.map { .number(Double($0)) }
        case .promptRatio: promptRatio.map(ConditionValue.number)
        case .maxTokens: maxTokens.map { .number(Double($0)) }
        case .stream: stream.map(ConditionValue.bool)
        case .tools: tools.map(ConditionValue.bool)
        case .images: images.map(ConditionValue.bool)
        case .pii: pii.map(ConditionValue.set)
        case .complexity: complexity.map(ConditionValue.number)
        case .confidence: confidence.map(ConditionValue.number)
        }
    }

    /// Sets a signal from a test stub or an explain request (`prompt_tokens: 7000`, `pii: [email]`).
    /// A value the signal cannot take (`Signal.problem(with:)`) is refused and false returned,
    /// so no stub can trap on its way to an `Int`.
    @discardableResult
    public mutating func stub(_ signal: Signal, _ value: ConditionValue) -> Bool {
        guard signal.problem(with: value) == nil else { return false }
        switch (signal, value) {
        case (.model, .string(let s)): model = s
        case (.tenant, .string(let s)): tenant = s
        case (.team, .string(let s)): team = s
        case (.key, .string(let s)): key = s
        case (.budgetRemainingUSD, .number(let n)): budgetRemainingUSD = n
        case (.budgetUsedRatio, .number(let n)): budgetUsedRatio = n
        case (.header(let name), .string(let s)): headers[name] = s
        case (.messages, .number(let n)): messages = Int(n)
        case (.promptChars, .number(let n)): promptChars = Int(n)
        case (.promptTokens, .number(let n)): promptTokens = Int(n)
        case (.promptRatio, .number(let n)): promptRatio = n
        case (.maxTokens, .number(let n)): maxTokens = Int(n)
        case (.stream, .bool(let b)): stream = b
        case (.tools, .bool(let b)): tools = b
        case (.images, .bool(let b)): images = b
        case (.pii, .set(let s)): pii = s
        case (.complexity, .number(let n)): complexity = n
        case (.confidence, .number(let n)): confidence = n
        default: return false
        }
        return true
    }
}
