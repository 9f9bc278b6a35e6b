import SwitchyardDecision
import SwitchyardSignals
import SwitchyardPolicy
import SwitchyardProviders
import SwitchyardTracing
import SwitchyardWire
import Synchronization
import Tracing

#if canImport(Glibc)
import Glibc
#endif

/// One call to one upstream on behalf of one request: what was tried, how it ended, what it used.
/// A request makes several when targets fail over or a cascade escalates; each is accounted alone,
/// so that a failed or discarded attempt leaves a trace (and a cost, if it had one).
public struct Attempt: Sendable {
    public enum Outcome: String, Sendable {
        case inProgress = "in_progress"
        /// Its answer reached the client whole, or its stream ended with the upstream's end marker.
        case served
        /// It failed before answering (unreachable, error status, timeout, malformed, busy).
        case failed
        /// Its stream broke after it had been committed to the client.
        case broken
        /// The client left before it ended.
        case cancelled
        /// The gateway ended it: its graceful shutdown's grace ran out first.
        case interrupted
        /// A cascade's local answer, replaced by its escalation.
        case discarded
    }

    /// `REQUESTID-N`: unique, and the ledger's idempotency key.
    public let id: String
    public let target: ModelTarget
    public var outcome: Outcome = .inProgress
    /// Why it failed, or why a cascade discarded it.
    public var detail: String?
    public var usage: TokenUsage?
    /// True when `usage` was counted by the gateway because the upstream reported none.
    public var usageEstimated = false
    public let startedAt: ContinuousClock.Instant
    /// Wall-clock start, milliseconds since 1970 (for the ledger).
    public let startedAtUnixMilliseconds: Int64
    public var duration: Duration = .zero
    /// What it cost: its usage at its target's price, in nano-dollars (0 for an unpriced target).
    /// Priced once, when it ends; the ledger, metrics and the response's cost header all read this.
    public var costNanodollars: Int64 = 0
    /// True when a budget reservation is held under this attempt's id (settled or released at its end).
    public var reserved = false
    /// Set on a failed attempt whose target is retried: how long the request waits first (its
    /// backoff, or the upstream's Retry-After). The retry is the request's next attempt.
    public var retryAfter: Duration?
    /// Its span (CLIENT), when the gateway traces: ended with the attempt (`AttemptTracker.end`).
    public var span: (any Span)?
    /// The model the upstream says answered (`gen_ai.response.model`), when it is known.
    public var responseModel: String?
    /// How it failed, as a short stable name (`error.type`): set where the failure is known.
    public var errorType: String?

    public var tier: Tier { Tier(target) }

    public var durationMilliseconds: Int {
        Int(duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000)
    }
}

/// Wall-clock milliseconds since 1970 (the ledger's times, budget resets).
func unixMillisecondsNow() -> Int64 {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec / 1_000_000)
}

/// What the accounting of an attempt needs to know of its request.
public struct AttemptRequest: Sendable {
    public var requestID: String
    public var rule: String
    public var requestedModel: String
    public var stream: Bool
    public var caller: Caller
    /// The caller's budgets and the request's worst cases; nil when no budget applies.
    public var budget: RequestBudget?
    /// The request's trace, when the gateway traces: its attempts' spans and its ledger writes' are children of it.
    public var trace: RequestTrace?

    public init(requestID: String, rule: String, requestedModel: String, stream: Bool, caller: Caller = .anonymous,
                budget: RequestBudget? = nil, trace: RequestTrace? = nil) {
        self.trace = trace
        self.requestID = requestID
        self.rule = rule
        self.requestedModel = requestedModel
        self.stream = stream
        self.caller = caller
        self.budget = budget
    }
}

/// The one place every attempt's end goes through, whatever the end: whole answer, stream
/// finished, broken, cancelled, failed over, discarded by a cascade. Metrics, logs, the ledger
/// and budgets read it; nothing else counts on the side.
public protocol AttemptSink: Sendable {
    /// An attempt ended. Returns once it is accounted durably where that matters (the ledger):
    /// a whole answer is sent to its client only after.
    func attemptEnded(_ attempt: Attempt, of request: AttemptRequest) async
    /// A streamed attempt is about to be committed to its client (200 sent): recorded as in
    /// progress first, so that a request that got a 200 is never missing from the ledger.
    func attemptCommitted(_ attempt: Attempt, of request: AttemptRequest) async
}

extension AttemptSink {
    public func attemptCommitted(_ attempt: Attempt, of request: AttemptRequest) async {}
}

/// Begins and ends the attempts of one request, sending each end to the sink exactly once.
public final class AttemptTracker: Sendable {
    public let request: AttemptRequest
    private let sink: any AttemptSink
    private let next = Atomic<Int>(1)
    private let cost = Atomic<Int64>(0)
    private let exhausted = Mutex<String?>(nil)

    /// What the attempts ended so far cost (priced cloud usage, in nano-dollars).
    public var costNanodollars: Int64 { cost.load(ordering: .relaxed) }

    /// The first budget (`key:ID`, `tenant:NAME`) that had no room for an attempt of this
    /// request, whatever path the request then took (a fallback, a cascade keeping its local
    /// answer, a cheaper target): the answer says so.
    public var exhaustedBudget: String? { exhausted.withLock { $0 } }

    public init(request: AttemptRequest, sink: any AttemptSink) {
        self.request = request
        self.sink = sink
    }

    func begin(_ target: ModelTarget) -> Attempt {
        let n = next.wrappingAdd(1, ordering: .relaxed).oldValue
        let id = "\(request.requestID)-\(n)"
        var attempt = Attempt(id: id, target: target, startedAt: .now, startedAtUnixMilliseconds: unixMillisecondsNow())
        attempt.span = request.trace?.attempt(on: target.name, id: id)
        return attempt
    }

    /// Ends an attempt. `usage` nil on a served or discarded attempt means the upstream reported
    /// none: the caller passes an estimate and `estimated: true` instead.
    public func end(_ attempt: Attempt, _ outcome: Attempt.Outcome, usage: TokenUsage? = nil, estimated: Bool = false,
                    detail: String? = nil) async {
        var ended = attempt
        ended.outcome = outcome
        ended.usage = usage
        ended.usageEstimated = estimated
        ended.detail = detail ?? attempt.detail
        ended.duration = .now - attempt.startedAt
        if let usage, let price = attempt.target.remote?.price {
            ended.costNanodollars = Pricing.nanodollars(usage, price)
            cost.wrappingAdd(ended.costNanodollars, ordering: .relaxed)
        }
        ended.endSpan()
        await sink.attemptEnded(ended, of: request)
    }

    public func commit(_ attempt: Attempt) async {
        await sink.attemptCommitted(attempt, of: request)
    }

    /// Reserves a priced attempt's worst case on its target in the caller's budgets; false when
    /// none applies (no budget, a local or unpriced target).
    func reserve(_ attempt: Attempt) async throws(BudgetExhausted) -> Bool {
        guard let budget = request.budget, attempt.target.remote?.price != nil else { return false }
        do {
            return try await budget.budgets.reserve(attemptID: attempt.id,
                                                    worstCase: Pricing.worstCase(budget.bounds.bound(for: attempt.target), on: attempt.target))
        } catch {
            exhausted.withLock { $0 = $0 ?? error.scope }
            throw error
        }
    }
}

/// Token counts the gateway makes itself when an upstream reports none: the prompt as the
/// decision counted it (or four characters a token), and four characters a generated token.
public enum UsageEstimate {
    public static func of(request: RequestSummary, decision: Decision, completionCharacters: Int) -> TokenUsage {
        let prompt = decision.promptTokens ?? EstimatingTokenizer.estimate(request)
        return TokenUsage(promptTokens: prompt, completionTokens: (completionCharacters + 3) / 4)
    }

    /// Characters of generated text (and tool-call arguments, and thinking) in an answer or one
    /// piece of a stream, of either format: an OpenAI completion or chunk, an Anthropic message or
    /// event.
    public static func characters(in body: JSONObject) -> Int {
        var count = 0
        for choice in body["choices"]?.arrayValue ?? [] {
            for part in [choice["message"], choice["delta"]] {
                count += part?["content"]?.stringValue?.count ?? 0
                for call in part?["tool_calls"]?.arrayValue ?? [] { count += call["function"]?["arguments"]?.stringValue?.count ?? 0 }
            }
        }
        // A Responses stream's text and argument deltas; a Responses answer's output parts.
        count += body["delta"]?.stringValue?.count ?? 0
        for item in body["output"]?.arrayValue ?? [] {
            count += item["arguments"]?.stringValue?.count ?? 0
            for part in item["content"]?.arrayValue ?? [] { count += part["text"]?.stringValue?.count ?? 0 }
        }
        for block in (body["content"]?.arrayValue ?? []) + [body["delta"] ?? .null] {
            for field in ["text", "thinking", "partial_json"] { count += block[field]?.stringValue?.count ?? 0 }
            if let input = block["input"], !input.isNull { count += input.text.count }
        }
        return count
    }
}
