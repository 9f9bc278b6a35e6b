import PostgresNIO

/// PostgreSQL rows back to records (binds are in `PostgresSQL`).
enum PostgresValues {
    static func key(_ row: PostgresRow) throws -> APIKeyRecord {
        let r = row.makeRandomAccess()
        let periodName = try r["period"].decode(String.self)
        guard let period = BudgetPeriod(rawValue: periodName) else { throw LedgerError.unreadable("api_keys.period") }
        return APIKeyRecord(
            id: try r["id"].decode(String.self), name: try r["name"].decode(String.self),
            hash: try r["hash"].decode(String.self), prefix: try r["prefix"].decode(String.self),
            tenant: try r["tenant"].decode(String?.self), team: try r["team"].decode(String?.self),
            budget: try r["budget"].decode(Int64?.self).map(Nanodollars.init), period: period,
            rpm: try r["rpm"].decode(Int64?.self).map { Int($0) }, tpm: try r["tpm"].decode(Int64?.self).map { Int($0) },
            models: try r["models"].decode([String]?.self),
            createdAt: UnixTime(milliseconds: try r["created_at"].decode(Int64.self)),
            revokedAt: try r["revoked_at"].decode(Int64?.self).map(UnixTime.init(milliseconds:)))
    }

    static func attempt(_ row: PostgresRow) throws -> AttemptRecord {
        let r = row.makeRandomAccess()
        guard let outcome = AttemptOutcome(rawValue: try r["outcome"].decode(String.self)) else {
            throw LedgerError.unreadable("attempts.outcome")
        }
        return AttemptRecord(
            id: try r["id"].decode(String.self), requestID: try r["request_id"].decode(String.self),
            keyID: try r["key_id"].decode(String?.self), tenant: try r["tenant"].decode(String?.self),
            team: try r["team"].decode(String?.self), rule: try r["rule"].decode(String.self),
            target: try r["target"].decode(String.self), tier: try r["tier"].decode(String.self),
            promptTokens: Int(try r["prompt_tokens"].decode(Int64.self)),
            completionTokens: Int(try r["completion_tokens"].decode(Int64.self)),
            cost: Nanodollars(try r["cost"].decode(Int64.self)), costEstimated: try r["cost_estimated"].decode(Bool.self),
            referenceCost: Nanodollars(try r["reference_cost"].decode(Int64.self)),
            latencyMs: Int(try r["latency_ms"].decode(Int64.self)), outcome: outcome,
            escalationReason: try r["escalation_reason"].decode(String?.self),
            startedAt: UnixTime(milliseconds: try r["started_at"].decode(Int64.self)),
            endedAt: try r["ended_at"].decode(Int64?.self).map(UnixTime.init(milliseconds:)))
    }

    static func budgetRow(_ row: PostgresRow) throws -> BudgetRow {
        let r = row.makeRandomAccess()
        return BudgetRow(kind: try r["scope_kind"].decode(String.self), id: try r["scope_id"].decode(String.self),
                         periodKey: try r["period_key"].decode(String.self))
    }

    static func usage(_ row: PostgresRow, groupBy: UsageQuery.GroupBy) throws -> UsageRow {
        let r = row.makeRandomAccess()
        return UsageRow(group: try UsageRow.groupName(try r["grp"].decode(String.self), groupBy: groupBy),
                        requests: Int(try r["requests"].decode(Int64.self)), attempts: Int(try r["attempts"].decode(Int64.self)),
                        promptTokens: Int(try r["prompt_tokens"].decode(Int64.self)),
                        completionTokens: Int(try r["completion_tokens"].decode(Int64.self)),
                        spend: Nanodollars(try r["spend"].decode(Int64.self)),
                        cloudRequests: Int(try r["cloud_requests"].decode(Int64.self)),
                        savings: Nanodollars(try r["savings"].decode(Int64.self)))
    }
}
