import ArgumentParser
import SwitchyardLedger
import SwitchyardServer
import SwitchyardWire

/// `switchyard keys create`: a new key, through the same `KeyIssuer` (and checks) as the admin
/// API. The secret is printed here and never again: the ledger keeps only its hash.
struct KeysCreate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create",
        abstract: "Create an API key; its secret is printed once.")

    @Option(name: .long, help: "A name for the key (who or what uses it).")
    var name: String

    @Option(name: .long, help: "The tenant the key's requests belong to (the `tenant` signal; the policy's tenant budgets).")
    var tenant: String?

    @Option(name: .long, help: "The team the key's requests belong to (the `team` signal).")
    var team: String?

    @Option(name: .long, help: "The key's own cloud budget in USD per period (local answers cost nothing).")
    var budgetUsd: Double?

    @Option(name: .long, help: "The budget's period: day, month or total (UTC calendar periods).")
    var period: String = "month"

    @Option(name: .long, help: "Requests per minute (per gateway process).")
    var rpm: Int?

    @Option(name: .long, help: "Tokens per minute (per gateway process).")
    var tpm: Int?

    @Option(name: .long, help: "Models the key may ask for by name, comma-separated (default: any).")
    var models: String?

    @Flag(name: .long, help: "Print the key (secret included) as JSON, as the admin API answers.")
    var json = false

    @OptionGroup var ledger: LedgerOptions

    func run() async throws {
        var spec = KeySpec(name: name)
        spec.tenant = tenant
        spec.team = team
        spec.budgetUSD = budgetUsd
        guard let period = BudgetPeriod(rawValue: period) else { throw fail("--period must be day, month or total, not '\(period)'") }
        spec.period = period
        spec.rpm = rpm
        spec.tpm = tpm
        spec.models = models.map { $0.split(separator: ",", omittingEmptySubsequences: false).map { String($0).trimmed } }
        do {
            try spec.validate()
        } catch {
            throw fail(Self.option(error))
        }
        try await ledger.withLedger(creating: true) { store, location in
            let (secret, record) = try await KeyIssuer.issue(spec, in: store)
            if json {
                print(LedgerJSON.key(record, secret: secret).prettyText())
                return
            }
            print("created key \(record.id) (\(record.name)) in the ledger: \(location)")
            print("secret: \(secret)")
            print("The secret is shown only this once; the ledger keeps only its hash. Clients send it as `Authorization: Bearer <secret>`.")
        }
    }

    /// A spec problem in the CLI's terms: `--budget-usd` rather than the API's `budget_usd`.
    static func option(_ error: GatewayError) -> String {
        guard let param = error.param else { return error.message }
        return "--\(param.replacing("_", with: "-")): " + error.message.replacing("'\(param)'", with: "the value")
    }
}

extension String {
    var trimmed: String {
        var s = Substring(self)
        while s.first?.isWhitespace == true { s = s.dropFirst() }
        while s.last?.isWhitespace == true { s = s.dropLast() }
        return String(s)
    }
}
