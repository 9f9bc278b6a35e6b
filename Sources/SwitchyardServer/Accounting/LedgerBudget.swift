import SwitchyardLedger
import SwitchyardPolicy
import SwitchyardDecision
import SwitchyardExecution
import SwitchyardSignals

/// A caller's cloud budgets: its key's own, and its tenant's from the policy. Only callers
/// identified by a key are budgeted (a tenant header an anonymous client sends is unverified).
struct CallerBudgets: AttemptBudget, BudgetSignals {
    let ledger: any LedgerStore
    let scopes: [BudgetScope]
    /// `switchyard_budget_remaining_usd`, refreshed after each reservation and each settlement.
    let gauges: BudgetGauges

    init?(ledger: any LedgerStore, key: AuthenticatedKey?, policy: Policy, gauges: BudgetGauges) {
        guard let key else { return nil }
        var scopes: [BudgetScope] = []
        if let scope = key.budget { scopes.append(scope) }
        if let tenant = key.caller.tenant, let limit = policy.budgets.tenants[tenant], let period = BudgetPeriod(rawValue: limit.period) {
            scopes.append(BudgetScope(kind: .tenant, id: tenant, limit: .usd(limit.usd), period: period))
        }
        guard !scopes.isEmpty else { return nil }
        self.ledger = ledger
        self.scopes = scopes
        self.gauges = gauges
    }

    func reserve(attemptID: String, worstCase: Int64) async throws(BudgetExhausted) -> Bool {
        let outcome: ReservationOutcome
        do {
            outcome = try await ledger.reserve(id: attemptID, scopes: scopes, amount: Nanodollars(worstCase), now: .now)
        } catch {
            // A budget that cannot be checked is not spent against: the cloud is refused, the box is not.
            throw BudgetExhausted(scope: "ledger unavailable", resetsAtUnixMilliseconds: nil)
        }
        await gauges.refresh(scopes, from: ledger)
        switch outcome {
        case .reserved:
            return true
        case .exhausted(let scope, let resetsAt):
            throw BudgetExhausted(scope: "\(scope.kind.rawValue):\(scope.id)", resetsAtUnixMilliseconds: resetsAt?.milliseconds)
        }
    }

    func settle(attemptID: String, cost: Int64) async throws {
        var failure: (any Error)?
        do {
            if cost > 0 { try await ledger.settle(id: attemptID, actual: Nanodollars(cost)) } else { try await ledger.release(id: attemptID) }
        } catch {
            failure = error
        }
        await gauges.refresh(scopes, from: ledger)
        if let failure { throw failure }
    }

    /// The tightest budget: least remaining, and its used share.
    func budget(for caller: Caller) async -> (remainingUSD: Double, usedRatio: Double)? {
        var tightest: BudgetState?
        for scope in scopes {
            guard let state = try? await ledger.budgetState(scope, now: .now) else { continue }
            if tightest == nil || state.remaining < tightest!.remaining { tightest = state }
        }
        return tightest.map { ($0.remaining.usd, $0.usedRatio) }
    }
}
