import ArgumentParser

/// `switchyard keys`: API keys in the ledger the gateway reads. The same operations as the admin
/// API (`/v1/switchyard/keys`), for an operator on the box: no admin key needed, and they work
/// while the gateway is stopped (making the first keys before the first start).
struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Create, list, show and revoke API keys.",
        discussion: """
            Keys live in the ledger the policy names (SQLite in the state directory, or PostgreSQL \
            from `ledger.postgres_url_env`). Only a key's hash is stored: its secret is printed once, \
            by `keys create`. A running gateway refuses a revoked key within 5 s (its key cache).
            """,
        subcommands: [KeysCreate.self, KeysList.self, KeysShow.self, KeysRevoke.self]
    )
}
