extension UsageRow {
    /// A group's name as reported: the `day` group arrives as a day number from the database
    /// (the same integer arithmetic in both stores) and becomes a date here.
    static func groupName(_ raw: String, groupBy: UsageQuery.GroupBy) throws -> String {
        guard groupBy == .day else { return raw }
        guard let day = Int(raw) else { throw LedgerError.unreadable("usage day") }
        return CivilDate(daysSinceEpoch: day).text
    }

    static func sorted(_ rows: [UsageRow]) -> [UsageRow] {
        rows.sorted { $0.group.utf8.lexicographicallyPrecedes($1.group.utf8) }
    }
}
