import Foundation
import Logging
import Testing
import SwitchyardLedger

/// The ledger's behaviour, the same on both stores, each against a real database: a fresh SQLite
/// file, or a fresh database in a throwaway PostgreSQL cluster.
@Suite("Ledger store", .postgresCluster, .timeLimit(.minutes(3)))
struct LedgerStoreTests {
    let day = LedgerSamples.day

    func scope(_ kind: BudgetScope.Kind = .key, _ id: String = "key_aaaaaaaaaaaa", limit: Int64, _ period: BudgetPeriod = .day) -> BudgetScope {
        BudgetScope(kind: kind, id: id, limit: Nanodollars(limit), period: period)
    }

    func state(_ store: any LedgerStore, _ scope: BudgetScope, at now: UnixTime? = nil) async throws -> (spent: Int64, reserved: Int64) {
        let state = try await store.budgetState(scope, now: now ?? day)
        return (state.spent.value, state.reserved.value)
    }

    @Test("migrations: idempotent, and safe when several stores migrate the same database at once", arguments: LedgerBackend.allCases)
    func migrations(_ backend: LedgerBackend) async throws {
        let location = try await LedgerLocation.fresh(backend)
        var stores: [any LedgerStore] = []
        for _ in 0..<3 { stores.append(try await location.open()) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for store in stores { group.addTask { try await store.migrate() } }
            try await group.waitForAll()
        }
        for store in stores { try await store.migrate() }
        let generated = APIKeys.generate()
        try await stores[0].createKey(APIKeyRecord(id: generated.id, name: "a", hash: generated.hash, prefix: generated.prefix, createdAt: day))
        #expect(try await stores[2].key(id: generated.id)?.name == "a")
        for store in stores { try await store.close() }
        // Reopened: the schema is there, and migrating again changes nothing.
        try await location.with { store async throws in
            #expect(try await store.keys().count == 1)
        }
    }

    @Test("keys: create, look up by hash and id, list, revoke; a revoked key stays visible", arguments: LedgerBackend.allCases)
    func keyLifecycle(_ backend: LedgerBackend) async throws {
        try await LedgerLocation.fresh(backend).with { store in
            let first = APIKeys.generate(), second = APIKeys.generate()
            let full = APIKeyRecord(id: first.id, name: "ci bot", hash: first.hash, prefix: first.prefix, tenant: "acme", team: "infra",
                                    budget: .usd(12.5), period: .month, rpm: 60, tpm: 100_000, models: ["gpt-4o-mini", "local"],
                                    createdAt: day)
            let bare = APIKeyRecord(id: second.id, name: "bare", hash: second.hash, prefix: second.prefix, period: .day,
                                    models: [], createdAt: day + .seconds(1))
            try await store.createKey(full)
            try await store.createKey(bare)
            #expect(try await store.key(hash: APIKeys.hash(first.secret)) == full)
            #expect(try await store.key(id: second.id) == bare)
            #expect(try await store.key(hash: APIKeys.hash("sy-not-a-key")) == nil)
            #expect(try await store.key(id: "key_000000000000") == nil)
            #expect(try await store.keys() == [full, bare])

            // Same id, or same secret: refused.
            var clash = bare
            clash.hash = APIKeys.generate().hash
            await #expect(throws: LedgerError.duplicateKey(bare.id)) { try await store.createKey(clash) }
            clash = bare
            clash.id = "key_ffffffffffff"
            await #expect(throws: LedgerError.duplicateKey("key_ffffffffffff")) { try await store.createKey(clash) }

            #expect(try await store.revokeKey(id: first.id, at: day + .seconds(60)))
            #expect(try await !store.revokeKey(id: first.id, at: day + .seconds(120)), "already revoked")
            #expect(try await !store.revokeKey(id: "key_000000000000", at: day), "no such key")
            var revoked = full
            revoked.revokedAt = day + .seconds(60)
            #expect(try await store.key(hash: first.hash) == revoked)
            #expect(try await store.keys() == [revoked, bare])
        }
    }

    @Test("reserve, settle, release: limits, idempotency, overruns", arguments: LedgerBackend.allCases)
    func reservations(_ backend: LedgerBackend) async throws {
        try await LedgerLocation.fresh(backend).with { store in
            let budget = scope(limit: 100)
            #expect(try await store.reserve(id: "r1", scopes: [budget], amount: Nanodollars(40), now: day) == .reserved)
            #expect(try await store.reserve(id: "r2", scopes: [budget], amount: Nanodollars(50), now: day) == .reserved)
            #expect(try await state(store, budget) == (0, 90))
            #expect(try await store.reserve(id: "r3", scopes: [budget], amount: Nanodollars(11), now: day)
                    == .exhausted(scope: budget, resetsAt: UnixTime(year: 2026, month: 11, day: 24)))
            #expect(try await state(store, budget) == (0, 90), "a refused reservation changes nothing")
            #expect(try await store.reserve(id: "r1", scopes: [budget], amount: Nanodollars(40), now: day) == .reserved)
            #expect(try await state(store, budget) == (0, 90), "reserving again under the same id counts once")

            try await store.settle(id: "r1", actual: Nanodollars(30))
            #expect(try await state(store, budget) == (30, 50))
            try await store.settle(id: "r1", actual: Nanodollars(30))
            try await store.settle(id: "r1", actual: Nanodollars(99))
            #expect(try await state(store, budget) == (30, 50), "settling again counts once")

            try await store.release(id: "r2")
            try await store.release(id: "r2")
            #expect(try await state(store, budget) == (30, 0), "releasing again counts once")
            try await store.release(id: "r1")
            #expect(try await state(store, budget) == (30, 0), "a settled reservation stays settled")

            // An upstream that overran its reservation: spent passes the limit by the overrun only,
            // and nothing more can be reserved.
            #expect(try await store.reserve(id: "r4", scopes: [budget], amount: Nanodollars(70), now: day) == .reserved)
            try await store.settle(id: "r4", actual: Nanodollars(85))
            let over = try await store.budgetState(budget, now: day)
            #expect((over.spent.value, over.reserved.value, over.remaining, over.usedRatio) == (115, 0, .zero, 1))
            #expect(try await store.reserve(id: "r5", scopes: [budget], amount: Nanodollars(1), now: day) != .reserved)
            #expect(try await store.reserve(id: "r6", scopes: [budget], amount: .zero, now: day) != .reserved)

            // A dropped reservation settled later still counts what was spent.
            let other = scope(.tenant, "acme", limit: 1000, .total)
            #expect(try await store.reserve(id: "r7", scopes: [other], amount: Nanodollars(10), now: day) == .reserved)
            try await store.release(id: "r7")
            try await store.settle(id: "r7", actual: Nanodollars(4))
            #expect(try await state(store, other) == (4, 0))

            // No scopes: nothing to meter.
            #expect(try await store.reserve(id: "r8", scopes: [], amount: Nanodollars(1_000_000), now: day) == .reserved)
            try await store.settle(id: "r8", actual: Nanodollars(5))

            await #expect(throws: LedgerError.unknownReservation("nope")) { try await store.settle(id: "nope", actual: .zero) }
            await #expect(throws: LedgerError.unknownReservation("nope")) { try await store.release(id: "nope") }
            await #expect(throws: LedgerError.negativeAmount(Nanodollars(-1))) {
                try await store.reserve(id: "r9", scopes: [budget], amount: Nanodollars(-1), now: day)
            }
            await #expect(throws: LedgerError.negativeAmount(Nanodollars(-1))) { try await store.settle(id: "r8", actual: Nanodollars(-1)) }
        }
    }

    @Test("a day budget starts again the next UTC day; a month budget the next month", arguments: LedgerBackend.allCases)
    func periods(_ backend: LedgerBackend) async throws {
        try await LedgerLocation.fresh(backend).with { store in
            let daily = scope(limit: 10, .day)
            let lastMillisecond = day + .seconds(86_400) - .milliseconds(1)
            let nextDay = day + .seconds(86_400)
            #expect(try await store.reserve(id: "d1", scopes: [daily], amount: Nanodollars(10), now: lastMillisecond) == .reserved)
            #expect(try await store.reserve(id: "d2", scopes: [daily], amount: Nanodollars(1), now: lastMillisecond)
                    == .exhausted(scope: daily, resetsAt: nextDay))
            #expect(try await store.reserve(id: "d3", scopes: [daily], amount: Nanodollars(10), now: nextDay) == .reserved)
            // Settled after midnight, d1 still counts in the day it was reserved in.
            try await store.settle(id: "d1", actual: Nanodollars(9))
            #expect(try await state(store, daily, at: day) == (9, 0))
            #expect(try await state(store, daily, at: nextDay) == (0, 10))
            let nextState = try await store.budgetState(daily, now: nextDay)
            #expect(nextState.periodKey == "2026-11-24" && nextState.resetsAt == nextDay + .seconds(86_400))

            let monthly = scope(.tenant, "acme", limit: 5, .month)
            let newYearsEve = UnixTime(year: 2026, month: 12, day: 31) + .seconds(86_000)
            #expect(try await store.reserve(id: "m1", scopes: [monthly], amount: Nanodollars(5), now: newYearsEve) == .reserved)
            #expect(try await store.reserve(id: "m2", scopes: [monthly], amount: Nanodollars(5), now: newYearsEve)
                    == .exhausted(scope: monthly, resetsAt: UnixTime(year: 2027, month: 1, day: 1)))
            #expect(try await store.reserve(id: "m3", scopes: [monthly], amount: Nanodollars(5), now: UnixTime(year: 2027, month: 1, day: 1)) == .reserved)
            #expect(try await store.budgetState(monthly, now: UnixTime(year: 2027, month: 1, day: 15)).periodKey == "2027-01")

            let total = scope(.tenant, "acme", limit: 3, .total)
            #expect(try await store.reserve(id: "t1", scopes: [total], amount: Nanodollars(3), now: day) == .reserved)
            #expect(try await store.reserve(id: "t2", scopes: [total], amount: Nanodollars(1), now: UnixTime(year: 2030, month: 1, day: 1))
                    == .exhausted(scope: total, resetsAt: nil))
        }
    }

    @Test("100 concurrent reservations of 1 against a budget of 10: exactly 10 succeed", arguments: LedgerBackend.allCases)
    func concurrentReservations(_ backend: LedgerBackend) async throws {
        try await LedgerLocation.fresh(backend).with { store in
            let budget = scope(limit: 10)
            let reserved = try await withThrowingTaskGroup(of: String?.self) { group in
                for n in 0..<100 {
                    group.addTask {
                        try await store.reserve(id: "c\(n)", scopes: [budget], amount: Nanodollars(1), now: day) == .reserved ? "c\(n)" : nil
                    }
                }
                return try await group.reduce(into: [String]()) { if let id = $1 { $0.append(id) } }
            }
            #expect(reserved.count == 10)
            #expect(try await state(store, budget) == (0, 10))
            try await withThrowingTaskGroup(of: Void.self) { group in
                for id in reserved { group.addTask { try await store.settle(id: id, actual: Nanodollars(1)) } }
                try await group.waitForAll()
            }
            #expect(try await state(store, budget) == (10, 0))
        }
    }

    @Test("writes that fail among many at once fail alone: every other write of their transaction commits, with its own answer",
          arguments: LedgerBackend.allCases)
    func failuresAmongConcurrentWrites(_ backend: LedgerBackend) async throws {
        try await LedgerLocation.fresh(backend).with { store in
            let budget = scope(limit: 1_000)
            let taken = APIKeys.generate()
            let existing = APIKeyRecord(id: taken.id, name: "taken", hash: taken.hash, prefix: taken.prefix, period: .day, models: [], createdAt: day)
            try await store.createKey(existing)
            try await store.record([LedgerSamples.attempt("a-0", request: "a")])
            // Rounds of writes at once, so that the writer batches them: in each, new keys, one key
            // that already exists, reservations, a settlement of a reservation never made, and records.
            enum Outcome: Equatable { case created, duplicate, reserved, unknown, recorded }
            var created: [APIKeyRecord] = []
            for round in 0..<5 {
                let fresh = (0..<8).map { n -> APIKeyRecord in
                    let key = APIKeys.generate()
                    return APIKeyRecord(id: key.id, name: "r\(round)-\(n)", hash: key.hash, prefix: key.prefix, period: .day, models: [], createdAt: day)
                }
                created += fresh
                let outcomes = try await withThrowingTaskGroup(of: Outcome.self) { group in
                    for key in fresh { group.addTask { try await store.createKey(key); return .created } }
                    group.addTask {
                        do { try await store.createKey(existing) } catch LedgerError.duplicateKey { return .duplicate }
                        return .created
                    }
                    for n in 0..<8 {
                        group.addTask {
                            try await store.reserve(id: "r\(round)-\(n)", scopes: [budget], amount: Nanodollars(3), now: day) == .reserved ? .reserved : .unknown
                        }
                        group.addTask {
                            try await store.record([LedgerSamples.attempt("b\(round)-\(n)", request: "b\(round)-\(n)")])
                            return .recorded
                        }
                    }
                    group.addTask {
                        do { try await store.settle(id: "never-\(round)", actual: Nanodollars(1)) } catch LedgerError.unknownReservation { return .unknown }
                        return .reserved
                    }
                    return try await group.reduce(into: [Outcome]()) { $0.append($1) }
                }
                #expect(outcomes.filter { $0 == .created }.count == 8 && outcomes.filter { $0 == .duplicate }.count == 1, "\(outcomes)")
                #expect(outcomes.filter { $0 == .reserved }.count == 8 && outcomes.filter { $0 == .unknown }.count == 1, "\(outcomes)")
                #expect(outcomes.filter { $0 == .recorded }.count == 8)
            }
            // Everything answered as written is there, once.
            for key in created { #expect(try await store.key(id: key.id) == key) }
            #expect(try await store.keys().count == created.count + 1)
            #expect(try await state(store, budget) == (0, 5 * 8 * 3))
            for round in 0..<5 {
                for n in 0..<8 { #expect(try await store.attempts(requestID: "b\(round)-\(n)").count == 1) }
            }
        }
    }

    @Test("a reservation over two scopes, one exhausted, changes neither", arguments: LedgerBackend.allCases)
    func twoScopes(_ backend: LedgerBackend) async throws {
        try await LedgerLocation.fresh(backend).with { store in
            let key = scope(.key, "key_aaaaaaaaaaaa", limit: 100, .day)
            let tenant = scope(.tenant, "acme", limit: 10, .month)
            #expect(try await store.reserve(id: "fill", scopes: [tenant], amount: Nanodollars(8), now: day) == .reserved)
            for (n, scopes) in [[key, tenant], [tenant, key]].enumerated() {
                #expect(try await store.reserve(id: "both\(n)", scopes: scopes, amount: Nanodollars(5), now: day)
                        == .exhausted(scope: tenant, resetsAt: UnixTime(year: 2026, month: 12, day: 1)))
                #expect(try await state(store, key) == (0, 0))
                #expect(try await state(store, tenant) == (0, 8))
            }
            // The id of a refused reservation is not taken.
            try await store.release(id: "fill")
            #expect(try await store.reserve(id: "both0", scopes: [key, tenant], amount: Nanodollars(5), now: day) == .reserved)
            #expect(try await state(store, key) == (0, 5))
            #expect(try await state(store, tenant) == (0, 5))
            try await store.settle(id: "both0", actual: Nanodollars(7))
            #expect(try await state(store, key) == (7, 0))
            #expect(try await state(store, tenant) == (7, 0))
            // Now the key is the tighter one.
            let smallKey = scope(.key, "key_aaaaaaaaaaaa", limit: 8, .day)
            #expect(try await store.reserve(id: "both2", scopes: [tenant, smallKey], amount: Nanodollars(2), now: day)
                    == .exhausted(scope: smallKey, resetsAt: day + .seconds(86_400)))
            #expect(try await state(store, tenant) == (7, 0))
        }
    }

    @Test("record upserts by id: in_progress then served is one row; a late in_progress never hides the end", arguments: LedgerBackend.allCases)
    func recordUpsert(_ backend: LedgerBackend) async throws {
        let location = try await LedgerLocation.fresh(backend)
        try await location.with { store async throws in
            let started = LedgerSamples.attempt("req1-1", request: "req1", outcome: .inProgress)
            try await store.record([started])
            #expect(try await store.attempts(requestID: "req1") == [started])

            var served = started
            served.outcome = .served
            served.promptTokens = 120
            served.completionTokens = 30
            served.cost = .usd(0.0000225)
            served.costEstimated = true
            served.referenceCost = Nanodollars(22_500)
            served.latencyMs = 840
            served.team = "infra"
            served.escalationReason = "confidence=0.41<0.5"
            served.endedAt = started.startedAt + .milliseconds(840)
            try await store.record([served])
            #expect(try await store.attempts(requestID: "req1") == [served])
            try await store.record([started])
            #expect(try await store.attempts(requestID: "req1") == [served], "a late in_progress must not replace the end")

            // Several attempts of one request, in the order they started; one id twice in a call: the last wins.
            let second = LedgerSamples.attempt("req1-2", request: "req1", tier: "local", outcome: .failed, at: day + .seconds(2))
            var secondEnd = second
            secondEnd.outcome = .discarded
            try await store.record([second, LedgerSamples.attempt("req2-1", request: "req2"), secondEnd])
            #expect(try await store.attempts(requestID: "req1") == [served, secondEnd])
            #expect(try await store.attempts(requestID: "req2").count == 1)
            #expect(try await store.attempts(requestID: "none").isEmpty)

            // Concurrent callers share transactions; each sees its own rows committed.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for n in 0..<50 {
                    group.addTask {
                        try await store.record([LedgerSamples.attempt("req3-\(n)", request: "req3")])
                        #expect(try await store.attempts(requestID: "req3").contains { $0.id == "req3-\(n)" })
                    }
                }
                try await group.waitForAll()
            }
            #expect(try await store.attempts(requestID: "req3").count == 50)

            // A NUL from an upstream's error text does not lose the record.
            var odd = LedgerSamples.attempt("req4-1", request: "req4", outcome: .failed)
            odd.escalationReason = "bad\u{0}byte"
            try await store.record([odd])
            #expect(try await store.attempts(requestID: "req4").first?.escalationReason?.hasPrefix("bad") == true)
        }
        // Committed means readable by a fresh store (a restarted gateway, another replica).
        try await location.with { store async throws in
            #expect(try await store.attempts(requestID: "req1").count == 2)
            #expect(try await store.attempts(requestID: "req3").count == 50)
        }
    }

    /// Four requests, their attempts spread over two days, two keys plus an anonymous caller,
    /// two tenants, three targets, both tiers.
    static let usageAttempts: [AttemptRecord] = {
        let d1 = LedgerSamples.day, d2 = LedgerSamples.day + .seconds(86_400 + 3600)
        return [
            LedgerSamples.attempt("A-1", request: "A", key: "key_1", tenant: "t1", rule: "small", target: "local", tier: "local",
                                  prompt: 10, completion: 5, reference: 100, at: d1),
            LedgerSamples.attempt("B-1", request: "B", key: "key_1", tenant: "t1", rule: "big", target: "gpt", tier: "cloud",
                                  prompt: 20, cost: 50, reference: 50, outcome: .failed, at: d1 + .seconds(1)),
            LedgerSamples.attempt("B-2", request: "B", key: "key_1", tenant: "t1", rule: "big", target: "claude", tier: "cloud",
                                  prompt: 20, completion: 10, cost: 300, reference: 300, at: d1 + .seconds(2)),
            LedgerSamples.attempt("C-1", request: "C", key: "key_2", tenant: "t2", rule: "small", target: "local", tier: "local",
                                  prompt: 30, completion: 3, reference: 40, outcome: .discarded, at: d2),
            LedgerSamples.attempt("C-2", request: "C", key: "key_2", tenant: "t2", rule: "small", target: "gpt", tier: "cloud",
                                  prompt: 30, completion: 7, cost: 200, reference: 200, at: d2 + .seconds(1)),
            LedgerSamples.attempt("E-1", request: "E", key: nil, tenant: nil, rule: "small", target: "local", tier: "local",
                                  prompt: 5, completion: 5, reference: 20, at: d2 + .seconds(2)),
        ]
    }()

    /// The report worked out in Swift, independently of either store's SQL.
    static func expectedUsage(_ query: UsageQuery) -> [UsageRow] {
        let selected = usageAttempts.filter { a in
            (query.keyID.map { a.keyID == $0 } ?? true) && (query.since.map { a.startedAt >= $0 } ?? true)
                && (query.until.map { a.startedAt < $0 } ?? true)
        }
        let groups = Dictionary(grouping: selected) { a -> String in
            switch query.groupBy {
            case .key: a.keyID ?? ""
            case .tenant: a.tenant ?? ""
            case .model: a.target
            case .route: a.tier
            case .day: BudgetPeriod.day.window(containing: a.startedAt).key
            }
        }
        return groups.map { group, rows in
            UsageRow(group: group, requests: Set(rows.map(\.requestID)).count, attempts: rows.count,
                     promptTokens: rows.map(\.promptTokens).reduce(0, +), completionTokens: rows.map(\.completionTokens).reduce(0, +),
                     spend: rows.map(\.cost).reduce(.zero, +),
                     cloudRequests: Set(rows.filter { $0.tier == "cloud" }.map(\.requestID)).count,
                     savings: rows.filter { $0.tier == "local" && $0.outcome == .served }.map(\.referenceCost).reduce(.zero, +))
        }.sorted { $0.group < $1.group }
    }

    @Test("usage: grouped by key, tenant, model, route and day, with exact sums", arguments: LedgerBackend.allCases)
    func usage(_ backend: LedgerBackend) async throws {
        try await LedgerLocation.fresh(backend).with { store in
            try await store.record(Self.usageAttempts)
            // Worked out by hand, to check the reference too.
            #expect(try await store.usage(UsageQuery(groupBy: .key)) == [
                UsageRow(group: "", requests: 1, attempts: 1, promptTokens: 5, completionTokens: 5, spend: .zero, cloudRequests: 0, savings: Nanodollars(20)),
                UsageRow(group: "key_1", requests: 2, attempts: 3, promptTokens: 50, completionTokens: 15, spend: Nanodollars(350), cloudRequests: 1, savings: Nanodollars(100)),
                UsageRow(group: "key_2", requests: 1, attempts: 2, promptTokens: 60, completionTokens: 10, spend: Nanodollars(200), cloudRequests: 1, savings: .zero),
            ])
            let byKey = try await store.usage(UsageQuery(groupBy: .key))
            #expect(byKey.map(\.cloudShare) == [0, 0.5, 1])
            #expect(try await store.usage(UsageQuery(groupBy: .day)).map(\.group) == ["2026-11-23", "2026-11-24"])
            #expect(try await store.usage(UsageQuery(groupBy: .route)) == [
                UsageRow(group: "cloud", requests: 2, attempts: 3, promptTokens: 70, completionTokens: 17, spend: Nanodollars(550), cloudRequests: 2, savings: .zero),
                UsageRow(group: "local", requests: 3, attempts: 3, promptTokens: 45, completionTokens: 13, spend: .zero, cloudRequests: 0, savings: Nanodollars(120)),
            ])

            let d2 = LedgerSamples.day + .seconds(86_400)
            var queries = UsageQuery.GroupBy.allCases.map { UsageQuery(groupBy: $0) }
            queries += UsageQuery.GroupBy.allCases.map { UsageQuery(groupBy: $0, keyID: "key_1") }
            queries += [
                UsageQuery(groupBy: .model, since: d2), UsageQuery(groupBy: .tenant, until: d2),
                UsageQuery(groupBy: .route, since: LedgerSamples.day + .seconds(1), until: d2 + .seconds(3602)),
                UsageQuery(groupBy: .key, keyID: "key_9"),
            ]
            for query in queries {
                #expect(try await store.usage(query) == Self.expectedUsage(query), "\(query)")
            }
        }
    }

    @Test("recover: old in_progress attempts become interrupted, old held reservations are released", arguments: LedgerBackend.allCases)
    func recover(_ backend: LedgerBackend) async throws {
        try await LedgerLocation.fresh(backend).with { store in
            let now = day + .seconds(3600)
            let cutoff = now - .seconds(300)
            let budget = scope(limit: 1000)
            try await store.record([
                LedgerSamples.attempt("old-1", request: "old", outcome: .inProgress, at: now - .seconds(600)),
                LedgerSamples.attempt("new-1", request: "new", outcome: .inProgress, at: now),
                LedgerSamples.attempt("done-1", request: "done", outcome: .served, at: now - .seconds(600)),
            ])
            #expect(try await store.reserve(id: "old-1", scopes: [budget], amount: Nanodollars(100), now: now - .seconds(600)) == .reserved)
            #expect(try await store.reserve(id: "settled", scopes: [budget], amount: Nanodollars(50), now: now - .seconds(600)) == .reserved)
            try await store.settle(id: "settled", actual: Nanodollars(40))
            #expect(try await store.reserve(id: "new-1", scopes: [budget], amount: Nanodollars(7), now: now) == .reserved)
            #expect(try await state(store, budget, at: now) == (40, 107))

            let counts = try await store.recover(olderThan: cutoff)
            #expect(counts == (interrupted: 1, released: 1))
            #expect(try await store.attempts(requestID: "old").map(\.outcome) == [.interrupted])
            #expect(try await store.attempts(requestID: "new").map(\.outcome) == [.inProgress])
            #expect(try await store.attempts(requestID: "done").map(\.outcome) == [.served])
            #expect(try await state(store, budget, at: now) == (40, 7))
            #expect(try await store.recover(olderThan: cutoff) == (interrupted: 0, released: 0))

            // The replica was not dead after all: its late end replaces `interrupted`, and its
            // settlement still counts the money.
            try await store.record([LedgerSamples.attempt("old-1", request: "old", cost: 90, outcome: .served, at: now - .seconds(600))])
            #expect(try await store.attempts(requestID: "old").map(\.outcome) == [.served])
            try await store.settle(id: "old-1", actual: Nanodollars(90))
            #expect(try await state(store, budget, at: now) == (130, 7))
        }
    }

    @Test("a closed store refuses calls; closing twice is harmless", arguments: LedgerBackend.allCases)
    func closed(_ backend: LedgerBackend) async throws {
        let location = try await LedgerLocation.fresh(backend)
        let store = try await location.with { store in
            _ = try await store.keys()
            return store
        }
        try await store.close()
        await #expect(throws: LedgerError.closed) { try await store.record([LedgerSamples.attempt("x-1", request: "x")]) }
        await #expect(throws: LedgerError.closed) { try await store.keys() }
        await #expect(throws: LedgerError.closed) { try await store.reserve(id: "r", scopes: [], amount: .zero, now: day) }
    }

    @Test("closed from a cancelled task (a shutdown on a signal), every SQLite file handle is released",
          .enabled(if: FileManager.default.fileExists(atPath: "/proc/self/fd"), "counts descriptors in Linux's /proc"))
    func closedWhenCancelled() async throws {
        let location = try await LedgerLocation.fresh(.sqlite)
        let store = try await location.open()
        /// This process's descriptors open on the ledger's files.
        func openFiles() -> Int {
            let descriptors = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
            return descriptors.filter { (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/" + $0))?.hasPrefix(location.name) == true }.count
        }
        #expect(openFiles() > 0)
        let closing = Task {
            while !Task.isCancelled { await Task.yield() }
            try await store.close()
        }
        closing.cancel()
        try await closing.value
        #expect(openFiles() == 0, "SQLite's files are still open after close()")
    }

    @Test("PostgreSQL: a wrong database or an unreachable server fails the open at once, with the reason")
    func unreachable() async throws {
        let cluster = try PostgresCluster.require()
        let logger = Logger(label: "ledger-under-test")
        let started = ContinuousClock.now
        let missing = await #expect(throws: LedgerError.self) {
            try await Ledger.postgres(host: "127.0.0.1", port: cluster.port, username: PostgresCluster.user,
                                      database: "no_such_database", sslMode: .disable, logger: logger)
        }
        #expect(missing.map { "\($0)" }?.contains("3D000") == true, "\(String(describing: missing))")
        let refused = await #expect(throws: LedgerError.self) {
            try await Ledger.postgres(url: "postgres://postgres@127.0.0.1:1/ledger?sslmode=disable", logger: logger)
        }
        #expect(refused.map { "\($0)" }?.contains("connect") == true, "\(String(describing: refused))")
        #expect(ContinuousClock.now - started < .seconds(5))
    }

    @Test("PostgreSQL: when the database goes away, calls fail within the timeout instead of waiting on the pool")
    func databaseGone() async throws {
        let cluster = try PostgresCluster.require()
        let name = try await cluster.createDatabase()
        var logger = Logger(label: "ledger-under-test")
        logger.logLevel = .critical
        let store = try await Ledger.postgres(host: "127.0.0.1", port: cluster.port, username: PostgresCluster.user, database: name,
                                              sslMode: .disable, timeout: .seconds(1), logger: logger)
        try await store.migrate()
        try await cluster.dropDatabase(name)
        for _ in 0..<2 {
            let started = ContinuousClock.now
            await #expect(throws: LedgerError.self) {
                try await store.reserve(id: "r", scopes: [scope(limit: 10)], amount: Nanodollars(1), now: day)
            }
            await #expect(throws: LedgerError.self) { try await store.record([LedgerSamples.attempt("x-1", request: "x")]) }
            #expect(ContinuousClock.now - started < .seconds(5))
        }
        try await store.close()
    }
}
