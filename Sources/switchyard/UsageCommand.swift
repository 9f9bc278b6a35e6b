import ArgumentParser
import SwitchyardLedger
import SwitchyardServer
import SwitchyardWire

/// `switchyard usage`: what the ledger recorded, grouped one way: requests, tokens, cloud spend,
/// the cloud's share of requests, and the savings (what the locally served answers would have
/// cost at the reference cloud price). Every attempt counts, failed and discarded ones included:
/// they were paid for.
struct UsageCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "usage",
        abstract: "Report usage and spend from the ledger.",
        discussion: "Dates are UTC days; --since is inclusive, --until exclusive (as in the usage API).")

    @Option(name: .long, help: "Group by key, tenant, model, route or day.")
    var groupBy: String = "model"

    @Option(name: .long, help: "Attempts started on or after this day (YYYY-MM-DD, UTC).")
    var since: String?

    @Option(name: .long, help: "Attempts started before this day (YYYY-MM-DD, UTC; exclusive).")
    var until: String?

    @Option(name: .long, help: "Only this key's attempts (its id, key_…).")
    var key: String?

    @Flag(name: .long, help: "Print the report as JSON, as the usage API answers.")
    var json = false

    @OptionGroup var ledger: LedgerOptions

    func run() async throws {
        guard let group = UsageQuery.GroupBy(rawValue: groupBy) else {
            throw fail("--group-by must be one of \(UsageQuery.GroupBy.allCases.map(\.rawValue).joined(separator: ", ")), not '\(groupBy)'")
        }
        var query = UsageQuery(groupBy: group, keyID: key)
        query.since = try since.map { try Self.day($0, option: "--since") }
        query.until = try until.map { try Self.day($0, option: "--until") }
        if let since = query.since, let until = query.until, until <= since {
            throw fail("--until (exclusive) must be after --since")
        }
        try await ledger.withLedger { store, _ in
            if let key, try await store.key(id: key) == nil { throw fail("no key '\(key)' (see `switchyard keys list`)") }
            let rows = try await store.usage(query)
            if json {
                print(LedgerJSON.usage(rows, groupBy: group).prettyText())
                return
            }
            guard !rows.isEmpty else {
                print("no attempts recorded" + (since != nil || until != nil ? " in that range" : ""))
                return
            }
            let names = group == .key ? Dictionary(try await store.keys().map { ($0.id, $0.name) }) { first, _ in first } : [:]
            print(Self.table(rows, group: group, keyNames: names).render())
        }
    }

    static func table(_ rows: [UsageRow], group: UsageQuery.GroupBy, keyNames: [String: String]) -> TextTable {
        let byKey = group == .key
        var header = [group.rawValue.uppercased()]
        if byKey { header.append("NAME") }
        header += ["REQUESTS", "ATTEMPTS", "PROMPT TOKENS", "COMPLETION TOKENS", "SPEND", "CLOUD SHARE", "SAVINGS"]
        let first = byKey ? 2 : 1
        var table = TextTable(header, numeric: Set(first..<header.count))
        func cells(_ requests: String, _ attempts: Int, _ prompt: Int, _ completion: Int, _ spend: Nanodollars,
                   _ share: String, _ savings: Nanodollars) -> [String] {
            [requests, String(attempts), String(prompt), String(completion), spend.dollars, share, savings.dollars]
        }
        var total = (attempts: 0, prompt: 0, completion: 0, spend: Nanodollars.zero, savings: Nanodollars.zero, requests: 0, cloud: 0)
        for row in rows {
            var line = [row.group.isEmpty ? (byKey ? "(no key)" : "(none)") : row.group]
            if byKey { line.append(row.group.isEmpty ? "" : keyNames[row.group] ?? "") }
            table.add(line + cells(String(row.requests), row.attempts, row.promptTokens, row.completionTokens, row.spend,
                                   percent(row.cloudShare), row.savings))
            total.attempts += row.attempts
            total.prompt += row.promptTokens
            total.completion += row.completionTokens
            total.spend += row.spend
            total.savings += row.savings
            total.requests += row.requests
            total.cloud += row.cloudRequests
        }
        guard rows.count > 1 else { return table }
        // Requests are summed only where each request falls in one group: a request's attempts
        // may use several models, or straddle midnight.
        let additive = group == .key || group == .tenant || group == .route
        var line = ["TOTAL"]
        if byKey { line.append("") }
        table.add(line + cells(additive ? String(total.requests) : "", total.attempts, total.prompt, total.completion, total.spend,
                               additive && total.requests > 0 ? percent(Double(total.cloud) / Double(total.requests)) : "", total.savings))
        return table
    }

    static func percent(_ share: Double) -> String {
        let tenths = Int((share * 1000).rounded())
        return "\(tenths / 10).\(tenths % 10)%"
    }

    /// A UTC day, YYYY-MM-DD, as the usage API reads it.
    static func day(_ text: String, option: String) throws -> UnixTime {
        guard let day = UnixTime(utcDay: text) else { throw fail("\(option) must be a date, YYYY-MM-DD, not '\(text)'") }
        return day
    }
}
