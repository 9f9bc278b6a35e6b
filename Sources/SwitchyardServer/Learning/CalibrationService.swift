import Logging
import Metrics
import ServiceLifecycle
import SwitchyardLearning
import SwitchyardLedger
import SwitchyardPolicy
import SwitchyardSignals
import SwitchyardWire

/// Keeps this replica's trust in the local model current, beside the server: runs the
/// learner's queued work, and looks at the ledger when this replica stored a label or every
/// `poll` (another replica may have): adopts the newest calibration version, refits when due
/// (`learning.refit_every_labels`, `refit_every`), recomputes every `confidence < auto`
/// threshold, reports drift, and swaps the result in whole.
///
/// Replicas share one ledger: each refits on its own schedule, and the ledger stores only the
/// next version (compare-and-set), so two replicas that refit at once agree on one and the
/// other's is dropped; each then reads the stored one.
final class CalibrationService: Service {
    let live: LivePolicy
    let ledger: any LedgerStore
    let learner: Learner
    private let logger: Logger
    /// How often the ledger is read when this replica stored no label: how soon it sees another replica's.
    let poll: Duration
    private let metrics = CalibrationMetrics()

    init(live: LivePolicy, ledger: any LedgerStore, learner: Learner, logger: Logger, poll: Duration = .seconds(2)) {
        self.live = live
        self.ledger = ledger
        self.learner = learner
        self.logger = logger
        self.poll = poll
    }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await self.learner.run() }
                group.addTask { await self.watch() }
                await group.next()
                group.cancelAll()
            }
        }
        learner.finish()
    }

    /// Reads the ledger at once, then whenever a label was stored here (checked 4 times a second) or `poll` passed.
    private func watch() async {
        var loop = Loop()
        var seen = -1
        var lastRead = ContinuousClock.now
        while !Task.isCancelled {
            let recorded = learner.labelsRecorded.load(ordering: .relaxed)
            if recorded != seen || ContinuousClock.now - lastRead >= poll {
                seen = recorded
                lastRead = .now
                await refresh(&loop)
            }
            try? await Task.sleep(for: .milliseconds(250))
        }
    }

    /// What the loop remembers between looks.
    struct Loop {
        var schedule: RefitSchedule?
        /// Rules whose threshold drift raised, as of the last look: a new one is logged and counted once.
        var drifting: Set<String> = []
        var lastForget: Int64 = 0
        /// What the installed state was computed from: while none of it changed, a look reads
        /// two rows, not the label window.
        var installed: (inputs: Inputs, version: Int, newest: Int64)?
    }

    /// The parts of a policy the learned state depends on.
    struct Inputs: Equatable {
        var target: String
        var learning: LearningSettings
        var prior: LogisticModel?
        var cascades: [String: Cascade]

        init?(_ policy: Policy) {
            guard let learning = policy.learning, let target = policy.localModels.first?.name else { return nil }
            self.target = target
            self.learning = learning
            prior = policy.calibration
            cascades = [:]
            for rule in policy.rules { if case .cascade(let cascade) = rule.action, cascade.risk != nil { cascades[rule.name] = cascade } }
        }
    }

    /// One look: the ledger's newest calibration and labels, a refit if due, the thresholds, installed.
    func refresh(_ loop: inout Loop) async {
        let policy = live.snapshot.policy
        guard let settings = policy.learning else {
            learner.trust.install(nil)
            return
        }
        do {
            let now = UnixTime.now.milliseconds
            let inputs = Inputs(policy)
            if let inputs, let installed = loop.installed, installed.inputs == inputs,
               try await ledger.latestCalibration(target: inputs.target)?.version ?? 0 == installed.version,
               try await ledger.labels(target: inputs.target, after: installed.newest, newest: 1).isEmpty {
                try await forgetOldAnswers(settings, now: now, &loop)
                return
            }
            guard var state = try await CalibrationState.load(policy: policy, ledger: ledger) else { return learner.trust.install(nil) }
            var schedule = loop.schedule ?? RefitSchedule(everyLabels: settings.refitEveryLabels,
                                                          everyMilliseconds: settings.refitEvery.wholeMilliseconds, startedAt: now)
            schedule.everyLabels = settings.refitEveryLabels
            schedule.everyMilliseconds = settings.refitEvery.wholeMilliseconds
            let newest = Int(state.labels.last?.sequence ?? 0)
            if schedule.isDue(labels: newest, now: now) {
                schedule.ran(labels: newest, now: now)
                if try await refit(state, prior: policy.calibration, now: now),
                   let reread = try await CalibrationState.load(policy: policy, ledger: ledger) {
                    state = reread
                }
            }
            loop.schedule = schedule
            reportDrift(state, &loop)
            metrics.installed(state)
            learner.trust.install(state)
            loop.installed = inputs.map { ($0, state.record?.version ?? 0, state.labels.last?.sequence ?? 0) }
            try await forgetOldAnswers(settings, now: now, &loop)
        } catch {
            metrics.refit(.ledgerError)
            logger.warning("the calibration could not be read or stored; the one in force stays", metadata: ["error": "\(error)"])
        }
    }

    /// Answers past the feedback window can no longer be rated: forgotten, once a minute.
    private func forgetOldAnswers(_ settings: LearningSettings, now: Int64, _ loop: inout Loop) async throws {
        guard now - loop.lastForget >= 60_000 else { return }
        loop.lastForget = now
        _ = try await ledger.forgetAnswers(before: UnixTime(milliseconds: now - settings.feedbackWindow.wholeMilliseconds))
    }

    /// Fits a candidate on the older labels and stores it as the next version if it beats the
    /// calibration in force on the newest ones. True when a version was stored (by this replica or, first, another).
    private func refit(_ state: CalibrationState, prior: LogisticModel?, now: Int64) async throws -> Bool {
        let current = state.trust.calibration
        switch Refit().run(state.labels, current: current, prior: prior, now: now) {
        case .tooFewLabels(let why):
            metrics.refit(.tooFewLabels)
            logger.debug("no refit yet", metadata: ["why": "\(why)"])
            return false
        case .rejected(let candidate, let inForce):
            metrics.refit(.rejected)
            logger.info("refit not adopted: not better on the newest labels", metadata: [
                "candidate_log_loss": "\(candidate.logLoss)", "current_log_loss": "\(inForce.logLoss)",
                "held_out": "\(candidate.labels)", "version": "\(current.version)",
            ])
            return false
        case .adopted(let calibration, let candidate, let inForce):
            let report: JSON = .object([
                "held_out_labels": .int(candidate.labels),
                "candidate_log_loss": .double(candidate.logLoss), "previous_log_loss": .double(inForce.logLoss),
                "candidate_auroc": candidate.auroc.map(JSON.double) ?? .null, "previous_auroc": inForce.auroc.map(JSON.double) ?? .null,
                "previous_version": .int(current.version),
            ])
            let record = CalibrationRecord(target: state.target, version: calibration.version,
                                           model: calibration.model.map { JSON.object(["confidence": .object($0.json())]).text },
                                           fittedThrough: calibration.fittedThrough, labelsUsed: calibration.labelsUsed,
                                           adoptedAt: UnixTime(milliseconds: now), report: report.text)
            if try await ledger.saveCalibration(record) {
                metrics.refit(.adopted)
                logger.notice("calibration adopted", metadata: [
                    "version": "\(calibration.version)", "labels_used": "\(calibration.labelsUsed)",
                    "log_loss": "\(candidate.logLoss)", "previous_log_loss": "\(inForce.logLoss)",
                ])
            } else {
                metrics.refit(.lostToReplica)
                logger.info("another replica stored calibration version \(calibration.version) first; reading it")
            }
            return true
        }
    }

    private func reportDrift(_ state: CalibrationState, _ loop: inout Loop) {
        let drifting = Set(state.trust.thresholds.filter(\.value.drift).keys)
        for rule in drifting.subtracting(loop.drifting) {
            guard let threshold = state.trust.thresholds[rule] else { continue }
            metrics.drift(rule)
            logger.warning("recent labels show more wrong answers than the risk bound allows: threshold raised until a refit",
                           metadata: ["rule": "\(rule)", "threshold": "\(threshold.summary)"])
        }
        loop.drifting = drifting
    }
}
