/// A proleptic Gregorian calendar day in UTC. Budget periods and the usage report's `day`
/// group need only this, and doing it in integers keeps the module free of time-zone and
/// calendar machinery (the algorithms are Howard Hinnant's `days_from_civil` and `civil_from_days`).
struct CivilDate: Sendable, Hashable {
    static let millisecondsPerDay: Int64 = 86_400_000

    var year: Int
    var month: Int  // 1...12
    var day: Int    // 1...31

    init(year: Int, month: Int, day: Int) {
        self.year = year
        self.month = month
        self.day = day
    }

    /// The day containing a Unix time in milliseconds (negative times included: floor division).
    init(containing milliseconds: Int64) {
        let days = milliseconds >= 0 ? milliseconds / Self.millisecondsPerDay
                                     : -((-milliseconds - 1) / Self.millisecondsPerDay) - 1
        self.init(daysSinceEpoch: Int(days))
    }

    init(daysSinceEpoch: Int) {
        let z = daysSinceEpoch + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        day = dayOfYear - (153 * mp + 2) / 5 + 1
        month = mp < 10 ? mp + 3 : mp - 9
        year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
    }

    var daysSinceEpoch: Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// "2026-11-23".
    var text: String { "\(monthText)-\(Self.pad(day))" }

    /// "2026-11".
    var monthText: String { "\(Self.padYear(year))-\(Self.pad(month))" }

    private static func pad(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }

    private static func padYear(_ n: Int) -> String {
        let s = String(n.magnitude)
        return (n < 0 ? "-" : "") + String(repeating: "0", count: max(0, 4 - s.count)) + s
    }
}
