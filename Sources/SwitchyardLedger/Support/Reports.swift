extension AttemptRecord {
    /// One record per id, the last given winning: a batch may hold an attempt's start and its
    /// end, and one statement must not touch a row twice (PostgreSQL refuses it).
    static func lastOfEachID(_ attempts: [AttemptRecord]) -> [AttemptRecord] {
        var index: [String: Int] = [:]
        var unique: [AttemptRecord] = []
        for attempt in attempts {
            if let at = index[attempt.id] {
                unique[at] = attempt
            } else {
                index[attempt.id] = unique.count
                unique.append(attempt)
            }
        }
        return unique
    }
}

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
