import SwitchyardLedger

/// How a key reads in the CLI's tables and details. Nothing here can show a hash or a secret:
/// it is given the record's public fields only.
enum KeyText {
    static func budget(_ record: APIKeyRecord) -> String {
        guard let budget = record.budget else { return "-" }
        return "\(budget.dollars)/\(record.period.rawValue)"
    }

    static func limits(_ record: APIKeyRecord) -> String {
        let rpm = record.rpm.map { "\($0) requests/min" } ?? "unlimited requests"
        let tpm = record.tpm.map { "\($0) tokens/min" } ?? "unlimited tokens"
        return "\(rpm), \(tpm)"
    }

    static func models(_ record: APIKeyRecord) -> String {
        record.models?.joined(separator: ",") ?? "any"
    }

    static func status(_ record: APIKeyRecord) -> String {
        record.revokedAt.map { "revoked \($0)" } ?? "active"
    }

    /// The budget's state in the period under way: what the gateways have spent and reserved.
    static func period(_ state: BudgetState) -> String {
        let resets = state.resetsAt.map { ", resets \($0)" } ?? ", never resets"
        return "\(state.periodKey): spent \(state.spent.dollars), reserved \(state.reserved.dollars), "
            + "remaining \(state.remaining.dollars)\(resets)"
    }
}
