import Hummingbird
import HummingbirdCore
import SwitchyardLedger
import SwitchyardWire

/// The dashboard's question, read strictly from `GET /v1/switchyard/dashboard`'s query string:
/// `window` (whole UTC days ending tonight, so that the usage report's `since` and `until` days
/// cover exactly the same attempts) and `decisions` (how many recent requests to list). Any
/// other parameter, or one given twice, is a 400 naming it: a misspelt parameter silently
/// ignored would show a report of something else.
struct DashboardQuery: Sendable, Equatable {
    /// A window the page offers: its length in days and the width of its timeline's buckets.
    struct Window: Sendable, Equatable {
        var name: String
        var days: Int64
        var bucket: Duration
    }

    static let windows = [
        Window(name: "1d", days: 1, bucket: .seconds(3600)),
        Window(name: "7d", days: 7, bucket: .seconds(6 * 3600)),
        Window(name: "30d", days: 30, bucket: .seconds(86_400)),
        Window(name: "90d", days: 90, bucket: .seconds(86_400)),
    ]
    static let decisionRange = 0...ActivityQuery.maxRecentRequests

    var window = DashboardQuery.windows[0]
    var decisions = 25

    init() {}

    init(_ parameters: FlatDictionary<Substring, Substring>) throws(GatewayError) {
        var seen = Set<Substring>()
        for (name, value) in parameters {
            guard seen.insert(name).inserted else { throw .invalidRequest("'\(Self.printable(name))' is given twice.", param: Self.printable(name)) }
            switch name {
            case "window":
                guard let window = Self.windows.first(where: { $0.name == value }) else {
                    throw .invalidRequest("'window' must be one of \(Self.windows.map(\.name).joined(separator: ", ")).", param: "window")
                }
                self.window = window
            case "decisions":
                guard (1...3).contains(value.utf8.count), value.utf8.allSatisfy({ (48...57).contains($0) }), let count = Int(value),
                      Self.decisionRange.contains(count) else {
                    throw .invalidRequest("'decisions' must be a whole number from 0 to \(Self.decisionRange.upperBound).", param: "decisions")
                }
                decisions = count
            default:
                throw .invalidRequest("'\(Self.printable(name))' is not a parameter of the dashboard (window, decisions).", param: Self.printable(name))
            }
        }
    }

    /// The ledger's question at `now`: from midnight UTC `days − 1` days ago to tonight's midnight.
    func activity(now: UnixTime, keyID: String?) -> ActivityQuery {
        let day: Int64 = 86_400_000
        let tonight = (now.milliseconds / day + 1) * day
        return ActivityQuery(since: UnixTime(milliseconds: tonight - window.days * day), until: UnixTime(milliseconds: tonight),
                             bucket: window.bucket, keyID: keyID, recentRequests: decisions)
    }

    /// A parameter's name as an error message may quote it: short, printable ASCII.
    private static func printable(_ name: Substring) -> String {
        HeaderSyntax.printableASCII(name, limit: 64)
    }
}
