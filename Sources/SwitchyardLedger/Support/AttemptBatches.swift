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
