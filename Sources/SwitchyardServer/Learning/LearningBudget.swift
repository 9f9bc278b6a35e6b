import SwitchyardExecution
import SwitchyardLedger
import SwitchyardPolicy

/// What the learning loop may spend on shadow requests and judge calls: one budget of its own
/// (`learning.shadow_budget`, 1 USD a day when unset), in the ledger like a caller's, so
/// replicas share it. No caller's budget or rate limit is ever charged for it.
struct LearningBudget: AttemptBudget {
    let ledger: any LedgerStore
    let scope: BudgetScope

    /// When the policy sets none and shadows something: a cap, so a shadow rate alone can never
    /// spend without limit.
    static let defaultLimit = BudgetSettings.Limit(usd: 1, period: "day")

    init(ledger: any LedgerStore, settings: LearningSettings) {
        self.ledger = ledger
        let limit = settings.shadowBudget ?? Self.defaultLimit
        scope = BudgetScope(kind: .learning, id: "shadow", limit: .usd(limit.usd), period: BudgetPeriod(rawValue: limit.period) ?? .day)
    }

    func reserve(attemptID: String, worstCase: Int64) async throws(BudgetExhausted) -> Bool {
        let outcome: ReservationOutcome
        do {
            outcome = try await ledger.reserve(id: attemptID, scopes: [scope], amount: Nanodollars(worstCase), now: .now)
        } catch {
            throw BudgetExhausted(scope: "learning: ledger unavailable", resetsAtUnixMilliseconds: nil)
        }
        switch outcome {
        case .reserved: return true
        case .exhausted(_, let resetsAt): throw BudgetExhausted(scope: "learning:shadow", resetsAtUnixMilliseconds: resetsAt?.milliseconds)
        }
    }

    func settle(attemptID: String, cost: Int64) async throws {
        if cost > 0 { try await ledger.settle(id: attemptID, actual: Nanodollars(cost)) } else { try await ledger.release(id: attemptID) }
    }

    /// Spent so far this period, in USD.
    func spentUSD() async -> Double? {
        guard let state = try? await ledger.budgetState(scope, now: .now) else { return nil }
        return state.spent.usd
    }
}
