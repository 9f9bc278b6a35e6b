import ArgumentParser
import SwitchyardLedger

/// `switchyard keys revoke ID`: the key stops working (a running gateway notices within its
/// key cache's 5 s; the admin API's revoke takes effect at once on the gateway that serves it).
/// The key stays listed: its attempts still name it.
struct KeysRevoke: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "revoke", abstract: "Revoke an API key.")

    @Argument(help: "The key's id (key_…).")
    var id: String

    @OptionGroup var ledger: LedgerOptions

    func run() async throws {
        try await ledger.withLedger { store, _ in
            guard let key = try await store.key(id: id) else { throw fail("no key '\(id)' (see `switchyard keys list`)") }
            if let revoked = key.revokedAt { throw fail("key \(id) (\(key.name)) was already revoked at \(revoked)") }
            let now = UnixTime.now
            guard try await store.revokeKey(id: id, at: now) else { throw fail("key \(id) was revoked meanwhile") }
            print("revoked key \(id) (\(key.name)) at \(now); running gateways refuse it within 5 s")
        }
    }
}
