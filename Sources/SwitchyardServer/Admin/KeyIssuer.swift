import SwitchyardLedger
import SwitchyardWire

/// What a new API key may carry; the one definition the CLI and the admin API share.
public struct KeySpec: Sendable {
    public var name: String
    public var tenant: String?
    public var team: String?
    public var budgetUSD: Double?
    public var period: BudgetPeriod = .month
    public var rpm: Int?
    public var tpm: Int?
    public var models: [String]?

    public init(name: String) { self.name = name }

    /// What `budget_usd` may be.
    public static let budgetRange = 0.0...1_000_000_000
    /// What `rpm` and `tpm` may be.
    public static let rateRange = 1...100_000_000

    /// Checks a spec before a key is made from it; the message names the bad field.
    public func validate() throws(GatewayError) {
        guard !name.isEmpty, name.count <= 200 else { throw .invalidRequest("'name' must be 1 to 200 characters.", param: "name") }
        if let budgetUSD, !Self.budgetRange.contains(budgetUSD) {
            throw .invalidRequest("'budget_usd' must be between 0 and 1e9.", param: "budget_usd")
        }
        for (field, value) in [("rpm", rpm), ("tpm", tpm)] {
            if let value, !Self.rateRange.contains(value) { throw .invalidRequest("'\(field)' must be between 1 and 1e8.", param: field) }
        }
        if let models, models.isEmpty || models.contains(where: \.isEmpty) {
            throw .invalidRequest("'models' must be a non-empty list of model names.", param: "models")
        }
    }
}

public enum KeyIssuer {
    /// Makes a key, stores its hash, and returns the secret (shown once, never stored).
    public static func issue(_ spec: KeySpec, in ledger: any LedgerStore) async throws -> (secret: String, record: APIKeyRecord) {
        try spec.validate()
        let made = APIKeys.generate()
        let record = APIKeyRecord(id: made.id, name: spec.name, hash: made.hash, prefix: made.prefix, tenant: spec.tenant, team: spec.team,
                                  budget: spec.budgetUSD.map(Nanodollars.usd), period: spec.period, rpm: spec.rpm, tpm: spec.tpm,
                                  models: spec.models, createdAt: .now)
        try await ledger.createKey(record)
        return (made.secret, record)
    }
}

/// JSON views of ledger records for the admin and usage APIs, and the CLI's `--json` output, so
/// that both show the same fields (never a key's hash).
public enum LedgerJSON {
    public static func key(_ record: APIKeyRecord, secret: String? = nil) -> JSON {
        var object: JSONObject = [
            "id": .string(record.id), "object": .string("api_key"), "name": .string(record.name), "prefix": .string(record.prefix),
            "tenant": record.tenant.map(JSON.string) ?? .null, "team": record.team.map(JSON.string) ?? .null,
            "budget_usd": record.budget.map { .double($0.usd) } ?? .null, "period": .string(record.period.rawValue),
            "rpm": record.rpm.map(JSON.int) ?? .null, "tpm": record.tpm.map(JSON.int) ?? .null,
            "models": record.models.map { .array($0.map(JSON.string)) } ?? .null,
            "created_at": .string(record.createdAt.description),
            "revoked_at": record.revokedAt.map { .string($0.description) } ?? .null,
        ]
        if let secret { object["secret"] = .string(secret) }
        return .object(object)
    }

    public static func usage(_ rows: [UsageRow], groupBy: UsageQuery.GroupBy) -> JSON {
        .object([
            "object": .string("list"),
            "group_by": .string(groupBy.rawValue),
            "data": .array(rows.map { row in
                .object([
                    "group": .string(row.group), "requests": .int(row.requests), "attempts": .int(row.attempts),
                    "prompt_tokens": .int(row.promptTokens), "completion_tokens": .int(row.completionTokens),
                    "spend_usd": .double(row.spend.usd), "cloud_requests": .int(row.cloudRequests),
                    "cloud_share": .double(row.cloudShare), "savings_usd": .double(row.savings.usd),
                ])
            }),
        ])
    }
}
