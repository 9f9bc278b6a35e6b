import Logging
import Metrics
import SwitchyardDecision
import SwitchyardExecution
import SwitchyardLearning
import SwitchyardLedger
import SwitchyardPolicy
import SwitchyardProviders
import SwitchyardSignals
import SwitchyardWire
import Synchronization

/// Turns what cascades did into labels, off every client's path (docs/routing.md, "Learning from
/// live traffic"):
/// - an escalation labels itself: its discarded local answer is judged against the cloud's;
/// - a request the cascade kept on the box is shadowed with probability `shadow_rate`: sent,
///   afterwards, to the cascade's escalation targets, and its local answer judged against that;
/// - a kept answer's features are remembered, so its caller may rate it (`feedback`).
/// A label keeps the confidence model's inputs, the verdict, where it came from and the
/// probability that it was taken; never the prompt or an answer.
///
/// Private data never leaves through here: a shadow goes only to the cascade's own escalation
/// targets, which the private-data constraint has already narrowed, and a judge target that the
/// constraint does not allow never sees a request that carried private data (the matcher, which
/// runs here, may). Work waits in a bounded queue; when it is full, the work is dropped and counted.
final class Learner: Sendable {
    /// One cascade's outcome, as the request path saw it once its client had the answer.
    struct Observation: Sendable {
        var snapshot: LivePolicy.Snapshot
        var request: GatewayRequest
        var decision: Decision
        var requestID: String
        var caller: Caller
        var verdict: CascadeVerdict
        var localTarget: String
        /// The local answer's text (nil when only a prefix of it existed: an escalated stream).
        var localText: String?
        var escalated: Bool
        /// The answer the escalation served.
        var replacementText: String?
        var streamed: Bool
        /// The caller asked that its request not be shadowed (`x-switchyard-shadow: off`).
        var optedOut: Bool
    }

    private enum Job: Sendable {
        case label(Observation, reference: String, source: Label.Source, propensity: Double)
        case shadow(Observation, propensity: Double)
        case remember(AnswerFeatures)
    }

    let ledger: any LedgerStore
    /// The trust requests are decided with; swapped by the calibration service.
    let trust: LiveTrust
    private let logger: Logger
    private let jobs: AsyncStream<Job>
    private let enqueue: AsyncStream<Job>.Continuation
    /// Labels this replica stored: the calibration service looks again when it grows.
    let labelsRecorded = Atomic<Int>(0)
    private let metrics = LearningMetrics()
    /// Shadow and judge calls run at once; more wait in the queue.
    static let concurrency = 2
    static let queueDepth = 256

    init(ledger: any LedgerStore, trust: LiveTrust, logger: Logger) {
        self.ledger = ledger
        self.trust = trust
        self.logger = logger
        (jobs, enqueue) = AsyncStream.makeStream(of: Job.self, bufferingPolicy: .bufferingOldest(Self.queueDepth))
    }

    /// Called by the request path once the client has its answer: never waits.
    func observe(_ observation: Observation) {
        guard let settings = observation.snapshot.policy.learning,
              case .cascade(let cascade) = observation.decision.action, observation.verdict.confidence != nil else { return }
        if observation.escalated {
            // A stream's escalation held back only a prefix of the local answer: a verdict on a
            // prefix would label the wrong thing, so it is left out (docs/routing.md).
            guard observation.localText != nil, let reference = observation.replacementText else {
                metrics.skipped(.partialLocalAnswer)
                return
            }
            submit(.label(observation, reference: reference, source: .escalation, propensity: 1))
            return
        }
        remember(observation, settings: settings)
        let rate = settings.shadowRate
        guard rate > 0, cascade.shadow, !observation.optedOut, Double.random(in: 0..<1) < rate else { return }
        submit(.shadow(observation, propensity: rate))
    }

    private func submit(_ job: Job) {
        if case .dropped = enqueue.yield(job) { metrics.skipped(.queueFull) }
    }

    /// A kept answer its caller may rate later: its features, by request id.
    private func remember(_ observation: Observation, settings: LearningSettings) {
        let answer = AnswerFeatures(requestID: observation.requestID, keyID: observation.caller.keyID, target: observation.localTarget,
                                    features: observation.verdict.features, calibrationVersion: observation.verdict.calibrationVersion,
                                    streamed: observation.streamed, createdAt: .now)
        submit(.remember(answer))
    }

    /// Runs the queued work, `concurrency` at a time, until the queue ends.
    func run() async {
        await withTaskGroup(of: Void.self) { group in
            var running = 0
            for await job in jobs {
                if running >= Self.concurrency {
                    await group.next()
                    running -= 1
                }
                running += 1
                group.addTask { await self.process(job) }
            }
        }
    }

    func finish() { enqueue.finish() }

    private func process(_ job: Job) async {
        switch job {
        case .label(let observation, let reference, let source, let propensity):
            await judgeAndRecord(observation, reference: reference, source: source, propensity: propensity)
        case .shadow(let observation, let propensity):
            guard let reference = await shadow(observation) else { return }
            await judgeAndRecord(observation, reference: reference, source: .shadow, propensity: propensity)
        case .remember(let answer):
            do {
                try await ledger.rememberAnswer(answer)
            } catch {
                logger.warning("an answer could not be remembered for feedback", metadata: ["request_id": "\(answer.requestID)", "error": "\(error)"])
            }
        }
    }

    /// The request sent again, now, to the cascade's escalation targets; their answer's text.
    private func shadow(_ observation: Observation) async -> String? {
        guard case .cascade(let cascade) = observation.decision.action, let settings = observation.snapshot.policy.learning else { return nil }
        let tracker = tracker(observation, kind: "shadow", settings: settings)
        do {
            let served = try await observation.snapshot.executor.serveAside(observation.request, on: [cascade.escalateTo] + cascade.fallbacks,
                                                                            context: ProviderContext(requestID: observation.requestID + ".shadow"),
                                                                            tracker: tracker)
            await tracker.end(served.attempt, .served, usage: served.answer.usage)
            metrics.shadow(.served)
            return AnswerText.of(served.answer.body)
        } catch {
            metrics.shadow(error.code == "budget_exceeded" ? .budgetExhausted : .failed)
            return nil
        }
    }

    private func judgeAndRecord(_ observation: Observation, reference: String, source: Label.Source, propensity: Double) async {
        guard let settings = observation.snapshot.policy.learning, let local = observation.localText else { return }
        let verdict: Bool?
        switch settings.judge {
        case .match(let matcher):
            verdict = matcher.agrees(candidate: local, reference: reference)
        case .target(let judge):
            // The judge reads the prompt and both answers: a request that carried private data is
            // judged only by a target the constraint allows.
            if !observation.decision.privateData.isEmpty,
               let allowed = observation.snapshot.policy.constraints.privateData?.allowedTargets, !allowed.contains(judge) {
                metrics.judge(.withheldPrivateData)
                return
            }
            verdict = await ask(judge, observation, reference: reference, settings: settings)
        }
        guard let verdict else {
            metrics.judge(.noVerdict)
            return
        }
        metrics.judge(verdict ? .correct : .incorrect)
        let label = LabelRecord(requestID: observation.requestID, source: source.rawValue, target: observation.localTarget,
                                features: observation.verdict.features, score: verdict ? 1 : 0, propensity: propensity,
                                calibrationVersion: observation.verdict.calibrationVersion, streamed: observation.streamed, recordedAt: .now)
        do {
            _ = try await record(label)
        } catch {
            logger.warning("a label could not be stored", metadata: ["request_id": "\(observation.requestID)", "error": "\(error)"])
        }
    }

    /// A judge target's verdict on the local answer, from its one-word reply to the fixed grading prompt.
    private func ask(_ judge: String, _ observation: Observation, reference: String, settings: LearningSettings) async -> Bool? {
        let question = observation.request.summary.turns.last { $0.role == .user }?.text ?? ""
        let prompt = Judgement.prompt(question: question, reference: reference, candidate: observation.localText ?? "")
        let body: JSONObject = [
            "model": .string(judge), "max_tokens": .int(8), "temperature": .int(0),
            "messages": .array([.object(["role": .string("system"), "content": .string(Judgement.instruction)]),
                                .object(["role": .string("user"), "content": .string(prompt)])]),
        ]
        guard let chat = try? ChatRequest(body: body) else { return nil }
        let tracker = tracker(observation, kind: "judge", settings: settings)
        do {
            let served = try await observation.snapshot.executor.serveAside(GatewayRequest(chat), on: [judge],
                                                                            context: ProviderContext(requestID: observation.requestID + ".judge"),
                                                                            tracker: tracker)
            await tracker.end(served.attempt, .served, usage: served.answer.usage)
            return Judgement.verdict(AnswerText.of(served.answer.body))
        } catch {
            metrics.judge(.failed)
            return nil
        }
    }

    /// Attempts of the learning loop: their own request id and rule, no caller (so no caller's
    /// budget, rate limit or usage), metered against the learning budget.
    private func tracker(_ observation: Observation, kind: String, settings: LearningSettings) -> AttemptTracker {
        let budget = RequestBudget(budgets: LearningBudget(ledger: ledger, settings: settings), bounds: BillingBounds(observation.request))
        return AttemptTracker(request: AttemptRequest(requestID: "\(observation.requestID).\(kind)", rule: "\(kind):\(observation.decision.rule)",
                                                      requestedModel: observation.request.summary.model, stream: false, budget: budget),
                              sink: observation.snapshot.accounting)
    }

    /// Stores a label (the calibration service sees the count grow); false when the request
    /// already has a label from that source.
    func record(_ label: LabelRecord) async throws -> Bool {
        guard try await ledger.recordLabel(label) != nil else { return false }
        metrics.label(label.source)
        labelsRecorded.add(1, ordering: .relaxed)
        return true
    }
}
