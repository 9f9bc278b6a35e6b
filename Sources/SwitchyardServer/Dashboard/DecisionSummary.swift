import SwitchyardLedger
import SwitchyardWire

/// One request as the dashboard lists it, folded from its attempts in the ledger: when it
/// started, the rule that routed it, where it ended (the served attempt, else the last one),
/// why it went there when it was not the first candidate, and what all its attempts cost. The
/// ledger holds no prompt text, so neither does this.
struct DecisionSummary: Sendable, Equatable {
    var requestID: String
    var time: UnixTime
    var rule: String
    /// `local` or `cloud`: where the answer came from.
    var route: String
    var target: String
    var outcome: String
    /// Empty when the first candidate served it; else the cascade's escalation reason, or the
    /// targets that failed before.
    var reason: String
    var cost: Nanodollars
    /// From the first attempt's start to the last one's end.
    var latencyMs: Int
    var attempts: Int

    /// Attempts in the ledger's report order (newest request first, each request's attempts in
    /// order) to one summary per request, in the same order.
    static func fold(_ attempts: [AttemptRecord]) -> [DecisionSummary] {
        var order: [String] = []
        var byRequest: [String: [AttemptRecord]] = [:]
        for attempt in attempts {
            if byRequest[attempt.requestID] == nil { order.append(attempt.requestID) }
            byRequest[attempt.requestID, default: []].append(attempt)
        }
        return order.compactMap { id in byRequest[id].flatMap(summary) }
    }

    private static func summary(_ attempts: [AttemptRecord]) -> DecisionSummary? {
        guard let first = attempts.first, let last = attempts.last else { return nil }
        let final = attempts.last { $0.outcome == .served } ?? last
        var reason = ""
        if let escalation = attempts.first(where: { $0.outcome == .discarded })?.escalationReason {
            reason = "escalated: " + escalation
        } else {
            // A target retried shows once, with its count: `after flaky (3×) failed`.
            var failed: [(target: String, times: Int)] = []
            for attempt in attempts where attempt.outcome == .failed && attempt.id != final.id {
                if let i = failed.firstIndex(where: { $0.target == attempt.target }) { failed[i].times += 1 } else { failed.append((attempt.target, 1)) }
            }
            if !failed.isEmpty { reason = "after " + failed.map { $0.times > 1 ? "\($0.target) (\($0.times)×)" : $0.target }.joined(separator: ", ") + " failed" }
        }
        let ended = attempts.compactMap(\.endedAt).max() ?? first.startedAt
        return DecisionSummary(requestID: first.requestID, time: first.startedAt, rule: first.rule, route: final.tier, target: final.target,
                               outcome: final.outcome.rawValue, reason: reason, cost: attempts.map(\.cost).reduce(.zero, +),
                               latencyMs: Int(max(0, ended.milliseconds - first.startedAt.milliseconds)), attempts: attempts.count)
    }

    var json: JSON {
        .object([
            "request_id": .string(requestID), "time": .string(time.description), "rule": .string(rule), "route": .string(route),
            "target": .string(target), "outcome": .string(outcome), "reason": .string(reason), "cost_usd": .double(cost.usd),
            "latency_ms": .int(latencyMs), "attempts": .int(attempts),
        ])
    }
}
