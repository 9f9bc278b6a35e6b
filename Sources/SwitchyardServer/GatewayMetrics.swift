import Metrics
import Synchronization
import SwitchyardDecision
import SwitchyardExecution
import SwitchyardSignals
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
    }

    private let targets: [String: PerTarget]
    /// Model requests by the front they came through (`openai`, `anthropic`).
    private let requestsByFront: [FrontEnd: Counter]
    let rejected: Counter
    let fallbacks: Counter
    /// Cascades that sent a request on to the cloud after scoring the local answer, and those
    /// that wanted to but kept the local answer (no cloud target could take it).
    let escalated: Counter
    let escalationsKeptLocal: Counter
    /// Spend and tokens by target and tenant, created on first use (tenants are not known at load).
    private let byTenant = TenantCounters()
    /// What remains of each budget, by scope, created on first use (keys are not known at load).
    let budgetRemaining = BudgetGauges()
    /// Requests the private-data constraint narrowed, by PII class and outcome (`kept_local`, `refused`).
    private let privateData: [String: (keptLocal: Counter, refused: Counter)]

    func requests(_ front: FrontEnd) -> Counter { requestsByFront[front]! }

    init(policy: Policy) {
        var targets: [String: PerTarget] = [:]
        for model in policy.models {
            let tier = model.isLocal ? "local" : "cloud"
            let dims = [("model", model.name), ("tier", tier)]
            var attempts: [Attempt.Outcome: Counter] = [:]
            for outcome in [Attempt.Outcome.served, .failed, .broken, .cancelled, .interrupted, .discarded] {
                attempts[outcome] = Counter(label: "switchyard_attempts_total", dimensions: dims + [("outcome", outcome.rawValue)])
            }
            targets[model.name] = PerTarget(
                attempts: attempts,
                promptTokens: Counter(label: "switchyard_tokens_total", dimensions: dims + [("kind", "prompt")]),
                completionTokens: Counter(label: "switchyard_tokens_total", dimensions: dims + [("kind", "completion")]),
                costUSD: FloatingPointCounter(label: "switchyard_cost_usd_total", dimensions: dims),
                latency: Timer(label: "switchyard_request_duration_seconds", dimensions: dims, preferredDisplayUnit: .seconds)
            )
        }
        self.targets = targets
        requestsByFront = Dictionary(uniqueKeysWithValues: FrontEnd.allCases.map {
            ($0, Counter(label: "switchyard_requests_total", dimensions: [("front", $0.rawValue)]))
        })
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
    func attemptEnded(_ attempt: Attempt, tenant: String?) {
        let spendUSD = Double(attempt.costNanodollars) / 1e9
        if let usage = attempt.usage, let tenant {
            byTenant.add(target: attempt.target.name, tenant: tenant, tokens: usage.totalTokens, spendUSD: spendUSD)
        }
        guard let m = targets[attempt.target.name] else { return }
        m.attempts[attempt.outcome]?.increment()
        if attempt.outcome == .served { m.latency.recordNanoseconds(Int64(attempt.duration.nanosecondsClamped)) }
        guard let usage = attempt.usage else { return }
        m.promptTokens.increment(by: usage.promptTokens)
        m.completionTokens.increment(by: usage.completionTokens)
        if spendUSD > 0 { m.costUSD.increment(by: spendUSD) }
    }
}

extension Duration {
    var nanosecondsClamped: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}

/// `switchyard_tenant_tokens_total` and `switchyard_tenant_spend_usd_total` by model and tenant.
/// Bounded: past 1,000 tenants the rest are counted as `other`.
final class TenantCounters: Sendable {
    private struct Pair { let tokens: Counter; let spend: FloatingPointCounter }
    private let counters = Mutex<[String: Pair]>([:])

    func add(target: String, tenant: String, tokens: Int, spendUSD: Double) {
        let pair = counters.withLock { all -> Pair in
            let name = all.count < 1000 || all["\(target)\u{0}\(tenant)"] != nil ? tenant : "other"
            let key = "\(target)\u{0}\(name)"
            if let pair = all[key] { return pair }
            let dims = [("model", target), ("tenant", name)]
            let pair = Pair(tokens: Counter(label: "switchyard_tenant_tokens_total", dimensions: dims),
                            spend: FloatingPointCounter(label: "switchyard_tenant_spend_usd_total", dimensions: dims))
            all[key] = pair
            return pair
        }
        pair.tokens.increment(by: tokens)
        if spendUSD > 0 { pair.spend.increment(by: spendUSD) }
    }
}
