/// What a rule condition can look at. Each signal has a type and, where it has one, a range,
/// so that `policy check` can refuse a threshold that can never be crossed.
public enum Signal: Sendable, Hashable, CustomStringConvertible {
    /// The model the client asked for (`auto` or a policy model name).
    case model
    /// `x-switchyard-tenant` (until API keys carry it).
    case tenant
    /// `x-switchyard-team`.
    case team
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
        Signal.model, .tenant, .team, .messages, .promptChars, .promptTokens, .promptRatio, .maxTokens, .stream,
        .tools, .images, .pii, .complexity, .confidence,
    ].map { ($0.description, $0) })

    public var description: String {
        switch self {
        case .model: "model"
        case .tenant: "tenant"
        case .team: "team"
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
        case .model, .tenant, .team, .header: .string
        case .messages, .promptChars, .promptTokens, .promptRatio, .maxTokens, .complexity, .confidence: .number
        case .stream, .tools, .images: .bool
        case .pii: .set
        }
    }

    /// The values a numeric signal can take.
    public var range: ClosedRange<Double>? {
        switch self {
        case .complexity, .confidence: 0...1
        case .messages, .promptChars, .promptTokens, .promptRatio, .maxTokens: 0...Double.greatestFiniteMagnitude
        default: nil
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
    public mutating func stub(_ signal: Signal, _ value: ConditionValue) {
        switch (signal, value) {
        case (.model, .string(let s)): model = s
        case (.tenant, .string(let s)): tenant = s
        case (.team, .string(let s)): team = s
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
        default: break
        }
    }
}
