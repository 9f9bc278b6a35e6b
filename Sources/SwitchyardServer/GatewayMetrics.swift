import Metrics
import SwitchyardRouter
import SwitchyardPolicy
import SwitchyardWire

/// Metric handles, created once per target at start-up so that a request only increments.
/// They report to whatever metrics backend the process bootstrapped (Prometheus in `serve`).
struct GatewayMetrics: Sendable {
    struct PerTarget: Sendable {
        /// Attempts by how they ended (`Attempt.Outcome`).
        let attempts: [Attempt.Outcome: Counter]
        let promptTokens: Counter
        let completionTokens: Counter
        let costUSD: FloatingPointCounter
        let latency: Timer
        let price: Price?
    }

    private let targets: [String: PerTarget]
    let rejected: Counter
    let fallbacks: Counter
    /// Cascades that sent a request on to the cloud after scoring the local answer, and those
    /// that wanted to but kept the local answer (no cloud target could take it).
    let escalated: Counter
    let escalationsKeptLocal: Counter
    /// Requests the private-data constraint narrowed, by PII class and outcome (`kept_local`, `refused`).
    private let privateData: [String: (keptLocal: Counter, refused: Counter)]

    init(policy: Policy) {
        var targets: [String: PerTarget] = [:]
        for model in policy.models {
            let tier = model.isLocal ? "local" : "cloud"
            let dims = [("model", model.name), ("tier", tier)]
            var attempts: [Attempt.Outcome: Counter] = [:]
            for outcome in [Attempt.Outcome.served, .failed, .broken, .cancelled, .discarded] {
                attempts[outcome] = Counter(label: "switchyard_attempts_total", dimensions: dims + [("outcome", outcome.rawValue)])
            }
            targets[model.name] = PerTarget(
                attempts: attempts,
                promptTokens: Counter(label: "switchyard_tokens_total", dimensions: dims + [("kind", "prompt")]),
                completionTokens: Counter(label: "switchyard_tokens_total", dimensions: dims + [("kind", "completion")]),
                costUSD: FloatingPointCounter(label: "switchyard_cost_usd_total", dimensions: dims),
                latency: Timer(label: "switchyard_request_duration_seconds", dimensions: dims, preferredDisplayUnit: .seconds),
                price: model.remote?.price
            )
        }
        self.targets = targets
        rejected = Counter(label: "switchyard_requests_rejected_total")
        fallbacks = Counter(label: "switchyard_fallbacks_total")
        escalated = Counter(label: "switchyard_cascade_escalations_total", dimensions: [("outcome", "escalated")])
        escalationsKeptLocal = Counter(label: "switchyard_cascade_escalations_total", dimensions: [("outcome", "kept-local")])
        var privateData: [String: (keptLocal: Counter, refused: Counter)] = [:]
        for kind in PIIClass.allCases.map(\.rawValue) {
            privateData[kind] = (Counter(label: "switchyard_private_data_total", dimensions: [("class", kind), ("outcome", "kept_local")]),
                                 Counter(label: "switchyard_private_data_total", dimensions: [("class", kind), ("outcome", "refused")]))
        }
        self.privateData = privateData
    }

    /// One count per class found in a request the constraint kept on the box or refused.
    func privateData(_ classes: [String], refused: Bool) {
        for kind in classes {
            guard let counters = privateData[kind] else { continue }
            (refused ? counters.refused : counters.keptLocal).increment()
        }
    }

    /// An attempt's end: counted by outcome; its tokens, cost and duration recorded when it used any.
    func attemptEnded(_ attempt: Attempt) {
        guard let m = targets[attempt.target.name] else { return }
        m.attempts[attempt.outcome]?.increment()
        if attempt.outcome == .served { m.latency.recordNanoseconds(Int64(attempt.duration.nanosecondsClamped)) }
        guard let usage = attempt.usage else { return }
        m.promptTokens.increment(by: usage.promptTokens)
        m.completionTokens.increment(by: usage.completionTokens)
        if let price = m.price {
            m.costUSD.increment(by: (Double(usage.promptTokens) * price.inputPerMillion + Double(usage.completionTokens) * price.outputPerMillion) / 1_000_000)
        }
    }
}

extension Duration {
    var nanosecondsClamped: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
