import Logging
import Metrics
import SwitchyardLedger
import SwitchyardPolicy
import SwitchyardDecision
import SwitchyardExecution
import SwitchyardSignals
import SwitchyardTracing
import SwitchyardWire
import Tracing

/// The accounting hook with a ledger: every attempt's end is written as one durable record
/// (awaited: a whole answer is sent only once its record is durable, in SQLite's journal of
/// records or committed to PostgreSQL), its budget reservation settled at the real cost or
/// released, and then counted in metrics and the log like any other. A stream's attempt is
/// recorded as in progress before its 200 is sent, so that no request that got a 200 is missing
/// after a crash (recovery marks it interrupted).
struct LedgerAccounting: AttemptSink {
    let base: GatewayAccounting
    let ledger: any LedgerStore
    /// The cloud price that values a locally served answer (savings).
    let savingsPrice: Price?
    let logger: Logger
    let writeFailures = Counter(label: "switchyard_ledger_write_failures_total")

    func attemptCommitted(_ attempt: Attempt, of request: AttemptRequest) async {
        await write(record(attempt, of: request, outcome: .inProgress), span: request.trace?.child(SpanName.ledgerWrite))
    }

    func attemptEnded(_ attempt: Attempt, of request: AttemptRequest) async {
        let entry = record(attempt, of: request, outcome: AttemptOutcome(attempt.outcome))
        // One span, when traced, for the budget's settlement and the record.
        let span = request.trace?.child(SpanName.ledgerWrite)
        // The budget first, then the record: a crash between the two leaves the money counted
        // (the upstream billed it) and at worst a record in progress, never a spend the budget
        // forgot. Either way the client's answer is sent only after both.
        if attempt.reserved, let budget = request.budget {
            do {
                // Whatever the attempt cost is spent, even a failed one; one that cost nothing frees its reservation.
                try await budget.budgets.settle(attemptID: attempt.id, cost: entry.cost.value)
            } catch {
                writeFailures.increment()
                span?.setStatus(SpanStatus(code: .error))
                span?.attributes[TraceAttribute.errorType] = "budget_settlement_failed"
                logger.error("budget settlement failed; the reservation is released at the next recovery",
                             metadata: ["attempt": "\(attempt.id)", "error": "\(error)"])
            }
        }
        await write(entry, span: span)
        await base.attemptEnded(attempt, of: request)
    }

    /// A ledger that cannot be written does not stop serving (availability first); it is logged
    /// and counted, and an operator alerts on the counter.
    private func write(_ entry: AttemptRecord, span: (any Span)?) async {
        defer { span?.end() }
        span?.updateAttributes { attributes in
            attributes[TraceAttribute.attemptID] = entry.id
            attributes[TraceAttribute.ledgerOutcome] = entry.outcome.rawValue
        }
        do {
            try await ledger.record([entry])
        } catch {
            writeFailures.increment()
            span?.setStatus(SpanStatus(code: .error))
            span?.attributes[TraceAttribute.errorType] = "ledger_write_failed"
            logger.error("ledger write failed", metadata: ["attempt": "\(entry.id)", "error": "\(error)"])
        }
    }

    func record(_ attempt: Attempt, of request: AttemptRequest, outcome: AttemptOutcome) -> AttemptRecord {
        let usage = attempt.usage ?? TokenUsage(promptTokens: 0, completionTokens: 0)
        let cost = Nanodollars(attempt.costNanodollars)
        let reference = attempt.target.isLocal && outcome == .served
            ? savingsPrice.map { Nanodollars(Pricing.nanodollars(usage, $0)) } ?? .zero : .zero
        let started = UnixTime(milliseconds: attempt.startedAtUnixMilliseconds)
        let latency = attempt.durationMilliseconds
        return AttemptRecord(
            id: attempt.id, requestID: request.requestID, keyID: request.caller.keyID, tenant: request.caller.tenant,
            team: request.caller.team, rule: request.rule, target: attempt.target.name, tier: attempt.tier.rawValue,
            promptTokens: usage.promptTokens, completionTokens: usage.completionTokens, cost: cost,
            costEstimated: attempt.usageEstimated, referenceCost: reference, latencyMs: outcome == .inProgress ? 0 : latency,
            outcome: outcome, escalationReason: attempt.outcome == .discarded ? attempt.detail : nil, startedAt: started,
            endedAt: outcome == .inProgress ? nil : UnixTime(milliseconds: attempt.startedAtUnixMilliseconds + Int64(latency)))
    }
}

extension AttemptOutcome {
    init(_ outcome: Attempt.Outcome) {
        switch outcome {
        case .inProgress: self = .inProgress
        case .served: self = .served
        case .failed: self = .failed
        case .broken: self = .broken
        case .cancelled: self = .cancelled
        case .interrupted: self = .interrupted
        case .discarded: self = .discarded
        }
    }
}
