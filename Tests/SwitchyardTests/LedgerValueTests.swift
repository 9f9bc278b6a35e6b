import Testing
@testable import SwitchyardLedger

/// The ledger's value types, without a database: money, UTC periods, key secrets, URLs.
@Suite("Ledger values")
struct LedgerValueTests {
    @Test("nano-dollars: exact sums, rounding and clamping from dollars, saturation instead of traps")
    func nanodollars() {
        #expect(Nanodollars.usd(0.15 / 1_000_000) == Nanodollars(150))
        #expect(Nanodollars.usd(1.5) == Nanodollars(1_500_000_000))
        #expect(Nanodollars.usd(0.0000000014) == Nanodollars(1))
        #expect(Nanodollars.usd(-3) == .zero)
        #expect(Nanodollars.usd(.nan) == .zero)
        #expect(Nanodollars.usd(.infinity) == Nanodollars(.max))
        #expect(Nanodollars(1_500_000_000).usd == 1.5)
        // A million additions of 150 stay exact (a Double of dollars would drift).
        var total = Nanodollars.zero
        for _ in 0..<1_000_000 { total += Nanodollars(150) }
        #expect(total == Nanodollars(150_000_000))
        #expect(Nanodollars(.max) + Nanodollars(1) == Nanodollars(.max))
        #expect(Nanodollars(.min) - Nanodollars(1) == Nanodollars(.min))
        #expect(Nanodollars(5) - Nanodollars(7) == Nanodollars(-2))
        #expect(Nanodollars(150).description == "$0.000000150")
        #expect(Nanodollars(-2_500_000_000).description == "-$2.500000000")
    }

    @Test("periods are UTC calendar windows with their reset time", arguments: [
        (BudgetPeriod.day, UnixTime(year: 2026, month: 11, day: 23) + .seconds(3600 * 23 + 59 * 60 + 59), "2026-11-23", UnixTime(year: 2026, month: 11, day: 24)),
        (.day, UnixTime(year: 2026, month: 11, day: 24), "2026-11-24", UnixTime(year: 2026, month: 11, day: 25)),
        (.day, UnixTime(year: 2028, month: 2, day: 28) + .seconds(5), "2028-02-28", UnixTime(year: 2028, month: 2, day: 29)),
        (.day, UnixTime(year: 2026, month: 12, day: 31) + .seconds(86_399), "2026-12-31", UnixTime(year: 2027, month: 1, day: 1)),
        (.month, UnixTime(year: 2026, month: 12, day: 31) + .seconds(86_399), "2026-12", UnixTime(year: 2027, month: 1, day: 1)),
        (.month, UnixTime(year: 2026, month: 2, day: 1), "2026-02", UnixTime(year: 2026, month: 3, day: 1)),
        (.month, UnixTime(milliseconds: 0), "1970-01", UnixTime(year: 1970, month: 2, day: 1)),
    ] as [(BudgetPeriod, UnixTime, String, UnixTime)])
    func periods(_ period: BudgetPeriod, _ now: UnixTime, _ key: String, _ resetsAt: UnixTime) {
        let window = period.window(containing: now)
        #expect(window.key == key)
        #expect(window.resetsAt == resetsAt)
        #expect(BudgetPeriod.total.window(containing: now) == ("total", nil))
    }

    @Test("calendar arithmetic agrees with known dates, round trip over 400 years of days")
    func civilDates() {
        #expect(UnixTime(year: 2026, month: 11, day: 23).milliseconds == 1_795_392_000_000)
        #expect(UnixTime(year: 2000, month: 3, day: 1).milliseconds == 951_868_800_000)
        #expect(CivilDate(containing: -1).text == "1969-12-31")
        #expect(UnixTime(milliseconds: 1_795_443_909_120).description == "2026-11-23T14:25:09.120Z")
        for day in stride(from: -146_097, through: 146_097, by: 37) {
            #expect(CivilDate(daysSinceEpoch: CivilDate(daysSinceEpoch: day).daysSinceEpoch).daysSinceEpoch == day)
        }
    }

    @Test("budget state: remaining never below zero, used ratio in [0, 1]")
    func budgetState() {
        let scope = BudgetScope(kind: .key, id: "k", limit: Nanodollars(100), period: .day)
        var state = BudgetState(scope: scope, periodKey: "x", spent: Nanodollars(30), reserved: Nanodollars(20), resetsAt: nil)
        #expect(state.remaining == Nanodollars(50))
        #expect(state.usedRatio == 0.5)
        state.spent = Nanodollars(130)
        #expect(state.remaining == .zero)
        #expect(state.usedRatio == 1)
        state.scope.limit = .zero
        #expect(state.usedRatio == 1)
    }

    @Test("key secrets: sy- and 43 URL-safe characters, hashed with SHA-256, a public id apart")
    func keySecrets() {
        let a = APIKeys.generate(), b = APIKeys.generate()
        #expect(a.secret != b.secret && a.id != b.id)
        for key in [a, b] {
            #expect(key.secret.hasPrefix("sy-") && key.secret.count == 46)
            #expect(key.secret.dropFirst(3).allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") })
            #expect(key.id.hasPrefix("key_") && key.id.count == 16 && key.id.dropFirst(4).allSatisfy(\.isHexDigit))
            #expect(key.hash == APIKeys.hash(key.secret) && key.hash.count == 64)
            #expect(key.prefix == String(key.secret.prefix(8)))
            #expect(!key.secret.contains(key.id.dropFirst(4)))
        }
        // The SHA-256 test vector for "abc".
        #expect(APIKeys.hash("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(APIKeys.base64URL([0xfb, 0xff]) == "-_8")
    }

    @Test("PostgreSQL URLs in libpq's form")
    func urls() throws {
        let full = try PostgresEndpoint(url: "postgres://gate%40way:p%2Fss@db.internal:6543/ledger?sslmode=verify-full")
        #expect(full == PostgresEndpoint(host: "db.internal", port: 6543, username: "gate@way", password: "p/ss", database: "ledger", sslMode: .verifyFull))
        let short = try PostgresEndpoint(url: "postgresql://switchyard@127.0.0.1")
        #expect(short == PostgresEndpoint(host: "127.0.0.1", port: 5432, username: "switchyard", password: nil, database: "switchyard", sslMode: .prefer))
        for bad in ["mysql://u@h/db", "postgres://h/db", "postgres://u@h/db?sslmode=sometimes", "postgres://u@h/db?application_name=x", "::"] {
            #expect(throws: LedgerError.self, "\(bad)") { try PostgresEndpoint(url: bad) }
        }
    }

    @Test("scopes are locked in one byte order, a scope listed twice counting once with the tighter limit")
    func lockOrder() {
        let now = UnixTime(year: 2026, month: 11, day: 23)
        let scopes = [
            BudgetScope(kind: .tenant, id: "acme", limit: Nanodollars(50), period: .month),
            BudgetScope(kind: .key, id: "key_b", limit: Nanodollars(10), period: .day),
            BudgetScope(kind: .key, id: "key_a", limit: Nanodollars(10), period: .month),
            BudgetScope(kind: .key, id: "key_a", limit: Nanodollars(9), period: .month),
            BudgetScope(kind: .key, id: "key_a", limit: Nanodollars(20), period: .day),
        ]
        let ordered = ScopeWindow.lockOrder(scopes, now: now)
        #expect(ordered.map(\.row) == [
            BudgetRow(kind: "key", id: "key_a", periodKey: "2026-11"),
            BudgetRow(kind: "key", id: "key_a", periodKey: "2026-11-23"),
            BudgetRow(kind: "key", id: "key_b", periodKey: "2026-11-23"),
            BudgetRow(kind: "tenant", id: "acme", periodKey: "2026-11"),
        ])
        #expect(ordered[0].scope.limit == Nanodollars(9))
        #expect(ScopeWindow.lockOrder(scopes.reversed(), now: now).map(\.row) == ordered.map(\.row))
    }
}

@Suite("UTC days as the usage API and CLI read them")
struct UTCDayTests {
    @Test("a real day is its midnight; anything else, or a day past its month's end, is refused", arguments: [
        ("2026-11-23", true), ("2024-02-29", true), ("2026-02-29", false), ("2026-02-31", false), ("2026-13-01", false),
        ("2026-1-05", false), ("26-11-23", false), ("2026-11-23x", false), ("", false),
    ])
    func parse(_ text: String, _ valid: Bool) {
        let day = UnixTime(utcDay: text)
        #expect((day != nil) == valid)
        if let day { #expect(day.description.hasPrefix(text + "T00:00:00.000Z")) }
    }
}
