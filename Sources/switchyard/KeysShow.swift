import ArgumentParser
import SwitchyardLedger
import SwitchyardServer
import SwitchyardWire

/// `switchyard keys show ID`: one key, and its budget in the period under way (spent and held
/// by attempts in flight, summed over every gateway sharing the ledger).
struct KeysShow: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "Show an API key and its budget's state.")

    @Argument(help: "The key's id (key_…).")
    var id: String

    @Flag(name: .long, help: "Print the key as JSON: the admin API's fields and `budget_state`.")
    var json = false

    @OptionGroup var ledger: LedgerOptions

    func run() async throws {
        try await ledger.withLedger { store, _ in
            guard let key = try await store.key(id: id) else { throw fail("no key '\(id)' (see `switchyard keys list`)") }
            var state: BudgetState?
            if let scope = key.budgetScope { state = try await store.budgetState(scope, now: .now) }
            if json {
                guard case .object(var object) = LedgerJSON.key(key) else { return }
                object["budget_state"] = state.map { state in
                    .object(["period": .string(state.periodKey), "spent_usd": .double(state.spent.usd),
                             "reserved_usd": .double(state.reserved.usd), "remaining_usd": .double(state.remaining.usd),
                             "resets_at": state.resetsAt.map { .string($0.description) } ?? .null])
                } ?? .null
                print(JSON.object(object).prettyText())
                return
            }
            var lines: [(String, String)] = [
                ("id", key.id), ("name", key.name), ("prefix", key.prefix), ("tenant", key.tenant ?? "-"), ("team", key.team ?? "-"),
                ("budget", KeyText.budget(key)),
            ]
            if let state { lines.append(("this period", KeyText.period(state))) }
            lines += [("rate limits", KeyText.limits(key)), ("models", KeyText.models(key)), ("created", key.createdAt.description),
                      ("status", KeyText.status(key))]
            for (label, value) in lines { print((label + ":").padding(13) + value) }
        }
    }
}
