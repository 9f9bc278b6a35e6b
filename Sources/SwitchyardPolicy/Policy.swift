import SwitchyardSignals
import SwitchyardWire

/// A loaded, validated routing policy. Immutable: a reload builds a new one and swaps it whole.
public struct Policy: Sendable {
    public var source: String
    public var version: Int
    public var server: ServerSettings
    /// Targets in file order; names are unique.
    public var models: [ModelTarget]
    /// Ordered; the first whose condition holds decides.
    public var rules: [Rule]
    /// Every signal the policy can read, each at its slot: what conditions, stubs and a request's
    /// values are indexed by.
    public var signals: SignalTable
    /// Limits no rule, fallback or retry may break.
    public var constraints: Constraints
    /// Cases for `switchyard policy test`.
    public var tests: [PolicyTest]
    /// The fitted confidence model (`calibration: FILE`); without it, confidence is the
    /// geometric-mean token probability.
    public var calibration: LogisticModel?
    /// The fitted difficulty model from the same file: the probability that the local answer is
    /// wrong, from the prompt alone. Without it, `complexity` is the hand-set provisional score.
    public var complexityModel: LogisticModel?
    /// What the file says that probably is not what its author meant, though it loads: a serve
    /// or cascade rule that requests naming a model never see. `policy check` prints them.
    public var warnings: [PolicyDiagnostic] = []
    public var auth = AuthSettings()
    public var ledger = LedgerSettings()
    public var budgets = BudgetSettings()
    /// Retries and circuit breakers for cloud targets (`resilience:`).
    public var resilience = ResilienceSettings()
    /// Learning from live traffic (`learning:`); nil when the policy does not learn.
    public var learning: LearningSettings?
    /// OpenTelemetry traces (`tracing:`); nil when the policy traces nothing.
    public var tracing: TracingSettings?

    /// The price that values a locally served answer: what it would have cost in the cloud.
    public var savingsPrice: Price? {
        if let name = budgets.savingsReference { return model(named: name)?.remote?.price }
        return models.lazy.compactMap { $0.remote?.price }.first
    }

    public func model(named name: String) -> ModelTarget? { models.first { $0.name == name } }

    /// The on-box engine targets (usually one).
    public var localModels: [ModelTarget] { models.filter(\.isLocal) }
}

/// The HTTP server's settings, read at start-up (a reload does not change them).
public struct ServerSettings: Sendable, Equatable {
    /// Largest request body accepted; larger ones get 413 before being read whole.
    public var maxBodyBytes: Int = 4 << 20
    /// How long open streams may hold a graceful shutdown.
    public var shutdownGrace: Duration = .seconds(10)
    /// How long a stored Responses answer can be continued, read or deleted (`store: true`).
    public var responseRetention: Duration = .seconds(30 * 86_400)
    /// Client connections open at once; one more is refused, so a flood of idle connections
    /// cannot exhaust file descriptors.
    public var maxConnections: Int = 1024
    /// How long a keep-alive connection may sit idle between requests before it is closed.
    public var idleTimeout: Duration = .seconds(60)
    /// How long a client has to send a complete request head once it starts one (slow-header clients).
    public var headerTimeout: Duration = .seconds(10)
    /// How long a client has to send the whole body after the head (slow-body clients).
    public var bodyTimeout: Duration = .seconds(60)
    /// Host names a request's `Host` may carry besides `localhost`, IP addresses and the listening
    /// address (`*`: any). Others are refused: a DNS-rebinding page reaches the gateway under a
    /// name of its own.
    public var allowedHosts: [String] = []
    /// Browser origins (`https://app.example.com`) that may call the gateway, answered with CORS.
    /// A request with any other `Origin` is refused: it is a page the operator did not choose.
    public var allowedOrigins: [String] = []
    /// Request bodies held at once, in bytes, across every request: past it a request gets 503
    /// before its body is read. The gateway's memory for bodies is bounded by a small multiple
    /// of it (docs/benchmarks.md). The default holds 64 bodies of the default `maxBodyBytes`.
    public var maxInflightBodyBytes: Int = 256 << 20
    /// Calls to the local engine's tokenizer at once (`count_tokens`, the `prompt_tokens` signal),
    /// apart from its generation slots: tokenizing a large prompt takes the engine's time too.
    public var tokenizerConcurrency: Int = 2
    /// Tokenizer calls that may wait for one of those places; past it `count_tokens` gets 503
    /// and the signal its estimate.
    public var tokenizerQueue: Int = 8

    public init() {}
}

/// A place a request can be served: the on-box engine or a remote API.
public struct ModelTarget: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case local(LocalEngineSettings)
        case openai(RemoteSettings)
        case anthropic(RemoteSettings)
    }

    public var name: String
    public var kind: Kind
    /// Tokens the target accepts (prompt plus completion).
    public var contextWindow: Int
    /// How much of the gateway one target may take at once (`limits:`).
    public var limits: TargetLimits
    public var line: Int

    public var isLocal: Bool { if case .local = kind { true } else { false } }
    public var isAnthropic: Bool { if case .anthropic = kind { true } else { false } }
    public var remote: RemoteSettings? {
        switch kind {
        case .local: nil
        case .openai(let r), .anthropic(let r): r
        }
    }
    /// "local", "openai" or "anthropic", as in the policy file.
    public var kindName: String {
        switch kind {
        case .local: "local"
        case .openai: "openai"
        case .anthropic: "anthropic"
        }
    }
}

public struct LocalEngineSettings: Sendable, Equatable {
    /// A GGUF path, or `default` for the model `make setup` installs.
    public var modelFile: String = "default"
    /// The total context llama-server allocates, shared by its slots.
    public var context: Int = 8192
    public var slots: Int = 2
    public var threads: Int = 2
    /// Path to llama-server; nil finds it on PATH or in the set-up environment.
    public var binary: String?
    /// Passed to llama-server as they are, after the gateway's own flags.
    public var extraArgs: [String] = []
    public var timeouts = TimeoutSettings(connect: .seconds(2), firstByte: .seconds(120), stall: .seconds(30), total: .seconds(600))

    public init() {}

    /// Tokens one request may use: llama-server splits its context evenly between slots.
    public var contextPerSlot: Int { context / max(1, slots) }
}

public struct RemoteSettings: Sendable, Equatable {
    public var baseURL: String
    /// The provider's model id sent upstream (the policy name is the gateway's own).
    public var model: String
    /// The environment variable holding the API key; the key itself never sits in a policy.
    public var apiKeyEnv: String?
    public var price: Price?
    public var timeouts = TimeoutSettings(connect: .seconds(5), firstByte: .seconds(60), stall: .seconds(30), total: .seconds(600))
    /// Extra request headers (e.g. an organisation id or `anthropic-version`).
    public var headers: [String: String] = [:]
    /// An OpenAI target that speaks the Responses API (`responses: true`): a Responses request
    /// is passed through to it with its items intact, instead of its chat form.
    public var speaksResponses = false

    public init(baseURL: String, model: String) {
        self.baseURL = baseURL
        self.model = model
    }
}

/// USD per million tokens.
public struct Price: Sendable, Equatable {
    public var inputPerMillion: Double
    public var outputPerMillion: Double
    /// The most input tokens one image can be billed as on this target (`image_tokens`); nil for
    /// its kind's documented worst case (`Pricing.imageTokens`).
    public var imageTokens: Int? = nil
}

public struct TimeoutSettings: Sendable, Equatable {
    public var connect: Duration
    public var firstByte: Duration
    public var stall: Duration
    public var total: Duration
}

public struct Rule: Sendable, Equatable {
    public var name: String
    /// `Condition.always` when the rule has no `when:`.
    public var when: Condition
    public var action: Action
    /// Whether a request that names a model is tried against this rule. A `deny` always is: a
    /// refusal must not be stepped around by asking for a model by name. A serve or cascade
    /// is only when its condition reads `model`, so a client's explicit choice is not
    /// re-routed by rules written for `auto`. Set at load, where the `model` signal's slot is known.
    public var seesNamedModels: Bool
    public var line: Int

    public init(name: String, when: Condition = .always, action: Action, seesNamedModels: Bool, line: Int) {
        self.name = name
        self.when = when
        self.action = action
        self.seesNamedModels = seesNamedModels
        self.line = line
    }
}

public struct Constraints: Sendable, Equatable {
    public var privateData: PrivateDataConstraint?
    public init(privateData: PrivateDataConstraint? = nil) { self.privateData = privateData }
}

/// When any of `classes` is found in a request, only `allowedTargets` may serve it, whatever
/// rule or fallback applies; if none of them can, the request is refused.
public struct PrivateDataConstraint: Sendable, Equatable {
    public var classes: Set<String>
    public var allowedTargets: [String]
}

/// One case of `switchyard policy test`: a request, stubbed signals, and what must happen.
public struct PolicyTest: Sendable, Equatable {
    public struct Expectation: Sendable, Equatable {
        public var target: String?
        public var rule: String?
        /// An HTTP status the decision must end in (403 for deny or a constraint refusal).
        public var status: Int?
    }

    public var name: String
    /// The request's wire format (`format:` in the test; chat completions by default).
    public var format: RequestFormat
    public var request: JSONObject
    public var headers: [String: String]
    /// Stubbed values by slot in the policy's `SignalTable`.
    public var signals: [(slot: Int, value: ConditionValue)]
    public var expect: Expectation
    public var line: Int

    public static func == (a: PolicyTest, b: PolicyTest) -> Bool {
        a.name == b.name && a.format == b.format && a.request == b.request && a.headers == b.headers && a.expect == b.expect && a.line == b.line
            && a.signals.map(\.slot) == b.signals.map(\.slot) && a.signals.map(\.value) == b.signals.map(\.value)
    }
}
