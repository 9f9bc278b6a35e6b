#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Wall-clock time in milliseconds since 1970-01-01 UTC: what the ledger stores (an integer,
/// the same in SQLite and PostgreSQL) and what budget periods are computed from. Callers pass it
/// explicitly to the store, so tests can move across day and month boundaries.
public struct UnixTime: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var milliseconds: Int64

    public init(milliseconds: Int64) { self.milliseconds = milliseconds }

    /// The system's real-time clock now.
    public static var now: UnixTime {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return UnixTime(milliseconds: Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000)
    }

    /// Midnight UTC of a calendar day.
    public init(year: Int, month: Int, day: Int) {
        self.init(milliseconds: Int64(CivilDate(year: year, month: month, day: day).daysSinceEpoch) * CivilDate.millisecondsPerDay)
    }

    public static func < (lhs: UnixTime, rhs: UnixTime) -> Bool { lhs.milliseconds < rhs.milliseconds }

    public static func + (lhs: UnixTime, rhs: Duration) -> UnixTime {
        UnixTime(milliseconds: lhs.milliseconds + rhs.wholeMilliseconds)
    }

    public static func - (lhs: UnixTime, rhs: Duration) -> UnixTime {
        UnixTime(milliseconds: lhs.milliseconds - rhs.wholeMilliseconds)
    }

    /// "2026-11-23T14:05:09.120Z".
    public var description: String {
        let date = CivilDate(containing: milliseconds)
        let inDay = milliseconds - Int64(date.daysSinceEpoch) * CivilDate.millisecondsPerDay
        func pad(_ n: Int64, _ width: Int) -> String {
            let s = String(n)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        return "\(date.text)T\(pad(inDay / 3_600_000, 2)):\(pad(inDay / 60_000 % 60, 2)):\(pad(inDay / 1000 % 60, 2)).\(pad(inDay % 1000, 3))Z"
    }
}

extension Duration {
    /// Milliseconds, truncated.
    var wholeMilliseconds: Int64 {
        components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000
    }
}

extension UnixTime {
    /// The start of a UTC day written `YYYY-MM-DD` (the usage API's and CLI's dates); nil for
    /// anything else, including days that do not exist (`2026-02-30`).
    public init?(utcDay text: String) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
              let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2]),
              (1970...9999).contains(year), (1...12).contains(month), (1...31).contains(day) else { return nil }
        self.init(year: year, month: month, day: day)
        // A day past the month's end rolls into the next month: refuse it.
        guard CivilDate(containing: milliseconds).text == text else { return nil }
    }
}
