import Metrics
import Synchronization
import SwitchyardLedger

/// `switchyard_budget_remaining_usd{scope}`: one gauge per budget scope, made on its first use and
/// kept, so that a request only reads the ledger and records. Refreshed after every reservation,
/// settlement and release, by the request that made it (no task of its own). Reads run
/// concurrently; each takes a ticket before it starts, and one is recorded only if no read that
/// started after it was recorded first: the gauge never goes back to an older state of the ledger.
final class BudgetGauges: Sendable {
    private struct Entry {
        let gauge: Gauge
        var issued = 0
        var recorded = 0
    }

    private let entries = Mutex<[String: Entry]>([:])

    /// Reads each scope's budget in the ledger and records what remains of it.
    func refresh(_ scopes: [BudgetScope], from ledger: any LedgerStore) async {
        for scope in scopes {
            let name = "\(scope.kind.rawValue):\(scope.id)"
            let ticket = entries.withLock { all in
                var entry = all[name] ?? Entry(gauge: Gauge(label: "switchyard_budget_remaining_usd", dimensions: [("scope", name)]))
                entry.issued += 1
                all[name] = entry
                return entry.issued
            }
            guard let state = try? await ledger.budgetState(scope, now: .now) else { continue }
            entries.withLock { all in
                guard var entry = all[name], ticket > entry.recorded else { return }
                entry.recorded = ticket
                entry.gauge.record(state.remaining.usd)
                all[name] = entry
            }
        }
    }
}
