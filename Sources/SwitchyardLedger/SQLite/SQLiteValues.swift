import SQLiteNIO
import Synchronization
import SwitchyardWire

/// Records to SQLite values and back. Keys' model lists are a JSON array in a TEXT column
/// (SQLite has no arrays), written and read with SwitchyardWire's JSON.
enum SQLiteValues {
    static func binds(_ key: APIKeyRecord) -> [SQLiteData] {
        [
            .text(key.id), .text(key.name), .text(key.hash), .text(key.prefix), text(key.tenant), text(key.team),
            integer(key.budget?.value), .text(key.period.rawValue), integer(key.rpm.map(Int64.init)), integer(key.tpm.map(Int64.init)),
            text(key.models.map { JSON.array($0.map(JSON.string)).text }),
            .integer(Int(key.createdAt.milliseconds)), integer(key.revokedAt?.milliseconds),
        ]
    }

    static func key(_ row: SQLiteRow) throws -> APIKeyRecord {
        let r = Reader(row: row)
        let models: [String]? = try r.optionalText("models").map { text in
            guard let array = (try? JSON.parse(text))?.arrayValue else { throw LedgerError.unreadable("api_keys.models") }
            return try array.map { element in
                guard let name = element.stringValue else { throw LedgerError.unreadable("api_keys.models") }
                return name
            }
        }
        guard let period = BudgetPeriod(rawValue: try r.text("period")) else { throw LedgerError.unreadable("api_keys.period") }
        return APIKeyRecord(
            id: try r.text("id"), name: try r.text("name"), hash: try r.text("hash"), prefix: try r.text("prefix"),
            tenant: try r.optionalText("tenant"), team: try r.optionalText("team"),
            budget: try r.optionalInteger("budget").map(Nanodollars.init), period: period,
            rpm: try r.optionalInteger("rpm").map { Int($0) }, tpm: try r.optionalInteger("tpm").map { Int($0) },
            models: models, createdAt: UnixTime(milliseconds: try r.integer("created_at")),
            revokedAt: try r.optionalInteger("revoked_at").map(UnixTime.init(milliseconds:)))
    }

    /// In `AttemptTable.columns` order.
    static func binds(_ a: AttemptRecord) -> [SQLiteData] {
        [
            .text(a.id), .text(a.requestID), text(a.keyID), text(a.tenant), text(a.team), .text(a.rule), .text(a.target),
            .text(a.tier), .integer(a.promptTokens), .integer(a.completionTokens), .integer(Int(a.cost.value)),
            .integer(a.costEstimated ? 1 : 0), .integer(Int(a.referenceCost.value)), .integer(a.latencyMs),
            .text(a.outcome.rawValue), text(a.escalationReason), .integer(Int(a.startedAt.milliseconds)),
            integer(a.endedAt?.milliseconds),
        ]
    }

    static func attempt(_ row: SQLiteRow) throws -> AttemptRecord {
        let r = Reader(row: row)
        guard let outcome = AttemptOutcome(rawValue: try r.text("outcome")) else { throw LedgerError.unreadable("attempts.outcome") }
        return AttemptRecord(
            id: try r.text("id"), requestID: try r.text("request_id"), keyID: try r.optionalText("key_id"),
            tenant: try r.optionalText("tenant"), team: try r.optionalText("team"), rule: try r.text("rule"),
            target: try r.text("target"), tier: try r.text("tier"),
            promptTokens: Int(try r.integer("prompt_tokens")), completionTokens: Int(try r.integer("completion_tokens")),
            cost: Nanodollars(try r.integer("cost")), costEstimated: try r.integer("cost_estimated") != 0,
            referenceCost: Nanodollars(try r.integer("reference_cost")), latencyMs: Int(try r.integer("latency_ms")),
            outcome: outcome, escalationReason: try r.optionalText("escalation_reason"),
            startedAt: UnixTime(milliseconds: try r.integer("started_at")),
            endedAt: try r.optionalInteger("ended_at").map(UnixTime.init(milliseconds:)))
    }

    static func usage(_ row: SQLiteRow, groupBy: UsageQuery.GroupBy) throws -> UsageRow {
        let r = Reader(row: row)
        return UsageRow(group: try UsageRow.groupName(try r.text("grp"), groupBy: groupBy),
                        requests: Int(try r.integer("requests")), attempts: Int(try r.integer("attempts")),
                        promptTokens: Int(try r.integer("prompt_tokens")), completionTokens: Int(try r.integer("completion_tokens")),
                        spend: Nanodollars(try r.integer("spend")), cloudRequests: Int(try r.integer("cloud_requests")),
                        savings: Nanodollars(try r.integer("savings")))
    }

    static func text(_ value: String?) -> SQLiteData { value.map(SQLiteData.text) ?? .null }
    static func integer(_ value: Int64?) -> SQLiteData { value.map { .integer(Int($0)) } ?? .null }

    /// Typed reads of a row's columns by name; a missing column or a value of another type is
    /// `LedgerError.unreadable` rather than a silent default.
    struct Reader<Row: SQLiteColumns> {
        let row: Row

        func integer(_ column: String) throws -> Int64 {
            guard let value = try optionalInteger(column) else { throw LedgerError.unreadable(column) }
            return value
        }

        func optionalInteger(_ column: String) throws -> Int64? {
            switch row.column(column) {
            case .integer(let value): Int64(value)
            case .null: nil
            default: throw LedgerError.unreadable(column)
            }
        }

        func real(_ column: String) throws -> Double {
            guard let value = try optionalReal(column) else { throw LedgerError.unreadable(column) }
            return value
        }

        func optionalReal(_ column: String) throws -> Double? {
            switch row.column(column) {
            case .float(let value): value
            case .integer(let value): Double(value)
            case .null: nil
            default: throw LedgerError.unreadable(column)
            }
        }

        func text(_ column: String) throws -> String {
            guard let value = try optionalText(column) else { throw LedgerError.unreadable(column) }
            return value
        }

        func optionalText(_ column: String) throws -> String? {
            switch row.column(column) {
            case .text(let value): value
            case .null: nil
            default: throw LedgerError.unreadable(column)
            }
        }
    }
}

extension SQLiteConnection {
    /// Every row of a statement. (sqlite-nio hands rows to a callback on its thread pool.)
    func rows(_ sql: String, _ binds: [SQLiteData] = []) async throws -> [SQLiteRow] {
        let collected = RowCollector()
        try await query(sql, binds) { row in collected.rows.withLock { $0.append(row) } }
        return collected.rows.withLock { $0 }
    }

    func run(_ sql: String, _ binds: [SQLiteData] = []) async throws {
        try await query(sql, binds) { _ in }
    }
}

/// Rows arriving on sqlite-nio's thread, gathered for the awaiting caller.
private final class RowCollector: Sendable {
    let rows = Mutex<[SQLiteRow]>([])
}
