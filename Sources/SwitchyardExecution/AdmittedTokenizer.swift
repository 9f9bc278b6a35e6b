import SwitchyardDecision
import SwitchyardSignals
import SwitchyardPolicy
import SwitchyardProviders
import SwitchyardWire

/// The local engine's tokenizer behind an admission gate of its own, apart from the engine's
/// generation slots: at most `concurrency` tokenizer calls at once, `queue` more waiting.
///
/// Tokenizing a prompt of megabytes takes the engine seconds, and nothing bounded how many ran at
/// once: 8 clients posting large `count_tokens` bodies raised a 4-token chat's latency from 0.1 s
/// to 5–13 s. Past the gate, `count_tokens` is refused with 503 and `Retry-After`
/// (`countTokens`), and the `prompt_tokens` signal takes its estimate and says so
/// (`promptTokens`): a decision never waits long behind someone else's count. A count the
/// tokenizer knows already (it caches them) needs no place at all.
public struct AdmittedTokenizer: PromptTokenizer {
    private let tokenizer: any PromptTokenizer
    private let gate: TargetGate

    /// How long `count_tokens` may wait for a place in the queue.
    static let queueTimeout: Duration = .seconds(5)
    /// How long a routing decision may wait for one: a short prompt is tokenized in milliseconds,
    /// so a queue that does not move within this is busy with long ones.
    static let signalWait: Duration = .milliseconds(250)

    public init(_ tokenizer: any PromptTokenizer, concurrency: Int, queue: Int) {
        self.tokenizer = tokenizer
        gate = TargetGate(limits: TargetLimits(maxConcurrency: concurrency, queueDepth: queue, queueTimeout: Self.queueTimeout,
                                               maxResponseBytes: 0))
    }

    public func knownPromptTokens(_ request: RequestSummary) -> Int? { tokenizer.knownPromptTokens(request) }

    /// The `prompt_tokens` signal: the engine's count when a place frees up within `signalWait`,
    /// else the estimate, marked as one.
    public func promptTokens(_ request: RequestSummary) async -> (count: Int, estimated: Bool) {
        if let known = knownPromptTokens(request) { return (known, false) }
        guard let permit = try? await gate.admit(waitingAtMost: Self.signalWait) else {
            return (EstimatingTokenizer.estimate(request), true)
        }
        defer { withExtendedLifetime(permit) {} }
        return await tokenizer.promptTokens(request)
    }

    /// `count_tokens`: waits its turn in the bounded queue; refused with 503 past it.
    public func countTokens(_ request: RequestSummary) async throws(GatewayError) -> (count: Int, estimated: Bool) {
        if let known = knownPromptTokens(request) { return (known, false) }
        let permit: Permit
        do {
            permit = try await gate.admit()
        } catch {
            throw GatewayError(status: 503, code: "tokenizer_busy",
                               message: "The local model's tokenizer is busy counting other prompts (server.tokenizer_concurrency); retry shortly.",
                               retryAfterSeconds: 1)
        }
        defer { withExtendedLifetime(permit) {} }
        return await tokenizer.promptTokens(request)
    }

    /// Tokenizer calls running and waiting now (for tests).
    var load: (running: Int, queued: Int) { gate.load }
}
