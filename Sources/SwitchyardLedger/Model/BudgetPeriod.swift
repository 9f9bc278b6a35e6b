/// How often a budget starts again. Periods are UTC calendar periods, so every replica, whatever
/// its time zone, counts spend in the same period row.
public enum BudgetPeriod: String, Sendable, CaseIterable {
    case day, month, total

    /// The period containing `now`: its key in the ledger ("2026-11-23", "2026-11" or "total")
    /// and when the next one begins (nil for `total`, which never resets).
    public func window(containing now: UnixTime) -> (key: String, resetsAt: UnixTime?) {
        let date = CivilDate(containing: now.milliseconds)
        switch self {
        case .day:
            let next = Int64(date.daysSinceEpoch + 1) * CivilDate.millisecondsPerDay
            return (date.text, UnixTime(milliseconds: next))
        case .month:
            let next = date.month == 12 ? CivilDate(year: date.year + 1, month: 1, day: 1)
                                        : CivilDate(year: date.year, month: date.month + 1, day: 1)
            return (date.monthText, UnixTime(milliseconds: Int64(next.daysSinceEpoch) * CivilDate.millisecondsPerDay))
        case .total:
            return ("total", nil)
        }
    }
}
