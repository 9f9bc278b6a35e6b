import ArgumentParser
import SwitchyardLedger
import SwitchyardServer
import SwitchyardWire

/// `switchyard keys list`: every key, revoked ones included (their attempts still name them),
/// oldest first. Public fields only: the ledger has no secret, and the hash is never shown.
struct KeysList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List API keys (never a secret or a hash).")

    @Flag(name: .long, help: "Print the keys as JSON, as the admin API answers.")
    var json = false

    @OptionGroup var ledger: LedgerOptions

    func run() async throws {
        try await ledger.withLedger { store, _ in
            let keys = try await store.keys()
            if json {
                print(JSON.object(["object": .string("list"), "data": .array(keys.map { LedgerJSON.key($0) })]).prettyText())
                return
            }
            guard !keys.isEmpty else {
                print("no keys (create one with `switchyard keys create --name NAME`)")
                return
            }
            var table = TextTable(["ID", "NAME", "PREFIX", "TENANT", "TEAM", "BUDGET", "RPM", "TPM", "MODELS", "CREATED", "STATUS"],
                                  numeric: [6, 7])
            for key in keys {
                table.add([key.id, key.name, key.prefix, key.tenant ?? "-", key.team ?? "-", KeyText.budget(key),
                           key.rpm.map(String.init) ?? "-", key.tpm.map(String.init) ?? "-", KeyText.models(key),
                           key.createdAt.description, KeyText.status(key)])
            }
            print(table.render())
        }
    }
}
