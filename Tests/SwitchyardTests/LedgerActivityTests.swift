import Testing
import SwitchyardLedger

/// The dashboard's queries (`activity`, `budgetStates`) on both stores, against answers worked
/// out in Swift from the same records, independently of either store's SQL.
@Suite("Ledger activity", .postgresCluster, .timeLimit(.minutes(3)))
struct LedgerActivityTests {
    static let day = LedgerSamples.day

    static func attempt(_ id: String, _ request: String, key: String? = "key_1", target: String, tier: String, latency: Int,
                        cost: Int64 = 0, reference: Int64 = 0, outcome: AttemptOutcome = .served, reason: String? = nil,
                        at seconds: Int64) -> AttemptRecord {
        let start = day + .seconds(seconds)
        return AttemptRecord(id: id, requestID: request, keyID: key, tenant: "t", rule: "rule-\(request.prefix(1))", target: target, tier: tier,
                             promptTokens: 3, completionTokens: 2, cost: Nanodollars(cost), referenceCost: Nanodollars(reference),
                             latencyMs: latency, outcome: outcome, escalationReason: reason, startedAt: start,
                             endedAt: outcome == .inProgress ? nil : start + .milliseconds(Int64(latency)))
    }

    /// Twenty local answers over the first hours (latencies 1…20 ms, out of order), cloud answers
    /// whose latencies sort differently from their order, failures, cascades that escalated for
    /// several reasons (odd ones included: empty, a bare flag, non-ASCII), another key's
    /// attempts, and attempts outside the window on both sides.
    static let records: [AttemptRecord] = {
        var records: [AttemptRecord] = []
        for n in 1...20 {
            let latency = (n * 7) % 20 + 1
            records.append(attempt("L\(n)-1", "L\(n)", key: n % 4 == 0 ? "key_2" : "key_1", target: "local", tier: "local",
                                   latency: latency, reference: Int64(100 * n), at: Int64(n * 1000)))
        }
        records += [
            attempt("C1-1", "C1", target: "gpt", tier: "cloud", latency: 300, cost: 5000, at: 3600),
            attempt("C2-1", "C2", target: "gpt", tier: "cloud", latency: 100, cost: 7000, at: 3700),
            attempt("C3-1", "C3", key: "key_2", target: "gpt", tier: "cloud", latency: 200, cost: 1000, at: 7300),
            // Failed over: a failed cloud attempt, then the box.
            attempt("F1-1", "F1", target: "gpt", tier: "cloud", latency: 40, cost: 10, outcome: .failed, at: 7400),
            attempt("F1-2", "F1", target: "local", tier: "local", latency: 5, reference: 77, at: 7401),
        ]
        let reasons = ["confidence=0.41<0.6", "confidence=0.2<0.6 (kept)", "complexity=0.9>0.8 confidence=0.3<0.5", "tools",
                       "", "naïve=1 x", "confidence=unknown(tools)"]
        for (n, reason) in reasons.enumerated() {
            records.append(attempt("E\(n)-1", "E\(n)", target: "local", tier: "local", latency: 50 + n, reference: 999,
                                   outcome: .discarded, reason: reason, at: Int64(10_000 + n * 10)))
            records.append(attempt("E\(n)-2", "E\(n)", target: "claude", tier: "cloud", latency: 400 - n, cost: 3000, at: Int64(10_001 + n * 10)))
        }
        // Under way, and outside the window: counted nowhere but where they belong.
        records.append(attempt("P1-1", "P1", target: "gpt", tier: "cloud", latency: 0, outcome: .inProgress, at: 20_000))
        records.append(attempt("B1-1", "B1", target: "gpt", tier: "cloud", latency: 9, cost: 123, at: -10))
        records.append(attempt("A1-1", "A1", target: "gpt", tier: "cloud", latency: 9, cost: 456, at: 86_400))
        return records
    }()

    /// The report worked out in Swift.
    static func expected(_ query: ActivityQuery) -> ActivityReport {
        let selected = records.filter { a in
            a.startedAt >= query.since && a.startedAt < query.until && (query.keyID.map { a.keyID == $0 } ?? true)
        }
        let width = query.bucket.components.seconds * 1000
        let byBucket = Dictionary(grouping: selected) { ($0.startedAt.milliseconds - query.since.milliseconds) / width }
        let buckets = byBucket.keys.sorted().map { n in
            let rows = byBucket[n]!
            return ActivityBucket(start: UnixTime(milliseconds: query.since.milliseconds + n * width), requests: Set(rows.map(\.requestID)).count,
                                  cloudRequests: Set(rows.filter { $0.tier == "cloud" }.map(\.requestID)).count,
                                  spend: rows.map(\.cost).reduce(.zero, +),
                                  savings: rows.filter { $0.tier == "local" && $0.outcome == .served }.map(\.referenceCost).reduce(.zero, +))
        }
        var reasons: [String: Int] = [:]
        for a in selected where a.outcome == .discarded {
            guard let reason = a.escalationReason else { continue }
            let word = reason.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            reasons[String(word.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""), default: 0] += 1
        }
        let escalations = reasons.map { EscalationCount(reason: $0.key, count: $0.value) }
            .sorted { $0.count != $1.count ? $0.count > $1.count : Array($0.reason.utf8).lexicographicallyPrecedes(Array($1.reason.utf8)) }
        let completed = Dictionary(grouping: selected.filter { $0.outcome == .served || $0.outcome == .discarded }, by: \.target)
        let latencies = completed.keys.sorted().map { target in
            let sorted = completed[target]!.map(\.latencyMs).sorted()
            func nearestRank(_ p: Double) -> Int { sorted[Int((p * Double(sorted.count)).rounded(.up)) - 1] }
            return LatencyQuantiles(target: target, tier: completed[target]![0].tier, attempts: sorted.count,
                                    p50Ms: nearestRank(0.5), p95Ms: nearestRank(0.95))
        }
        let byRequest = Dictionary(grouping: selected, by: \.requestID)
        let newest = byRequest.keys.sorted { a, b in
            let (la, lb) = (byRequest[a]!.map(\.startedAt).max()!, byRequest[b]!.map(\.startedAt).max()!)
            return la != lb ? la > lb : a > b
        }.prefix(query.recentRequests)
        let recent = newest.flatMap { byRequest[$0]!.sorted { $0.startedAt < $1.startedAt } }
        return ActivityReport(buckets: buckets, escalations: escalations, latencies: latencies, recent: recent)
    }

    @Test("timeline, escalations by reason, latency quantiles and recent requests: as worked out from the records", arguments: LedgerBackend.allCases)
    func activity(_ backend: LedgerBackend) async throws {
        try await LedgerLocation.fresh(backend).with { store in
            try await store.record(Self.records)
            let whole = ActivityQuery(since: Self.day, until: Self.day + .seconds(86_400), bucket: .seconds(3600), recentRequests: 10)
            let report = try await store.activity(whole)
            // A few figures by hand, so that the worked-out answer is checked too.
            #expect(report.latencies.first { $0.target == "local" }.map { ($0.attempts, $0.p50Ms, $0.p95Ms) }! == (28, 13, 55))
            #expect(report.latencies.first { $0.target == "gpt" }.map { ($0.attempts, $0.p50Ms, $0.p95Ms) }! == (3, 200, 300))
            #expect(report.escalations.first == EscalationCount(reason: "confidence", count: 3))
            #expect(report.escalations.contains(EscalationCount(reason: "naïve", count: 1)))
            #expect(report.buckets.first?.requests == 3 && report.buckets.first?.start == Self.day)
            #expect(report.recent.first?.requestID == "P1")
            let queries = [
                whole,
                ActivityQuery(since: Self.day, until: Self.day + .seconds(86_400), bucket: .seconds(3600), keyID: "key_2", recentRequests: 3),
                ActivityQuery(since: Self.day + .seconds(3600), until: Self.day + .seconds(7400), bucket: .seconds(60), recentRequests: 200),
                ActivityQuery(since: Self.day - .seconds(86_400), until: Self.day + .seconds(2 * 86_400), bucket: .seconds(86_400), recentRequests: 0),
                ActivityQuery(since: Self.day, until: Self.day + .seconds(86_400), bucket: .seconds(3600), keyID: "key_9"),
            ]
            for query in queries {
                #expect(try await store.activity(query) == Self.expected(query), "\(query)")
            }
        }
    }

    @Test("a key's report holds none of another key's attempts, even of a request it shares an id with", arguments: LedgerBackend.allCases)
    func keyScope(_ backend: LedgerBackend) async throws {
        try await LedgerLocation.fresh(backend).with { store in
            // Two keys' attempts under one request id (no gateway makes that; a report must not leak across it anyway).
            try await store.record([
                Self.attempt("X-1", "X", key: "key_1", target: "local", tier: "local", latency: 5, reference: 10, at: 60),
                Self.attempt("X-2", "X", key: "key_2", target: "gpt", tier: "cloud", latency: 9, cost: 99, at: 61),
            ])
            let report = try await store.activity(ActivityQuery(since: Self.day, until: Self.day + .seconds(86_400), bucket: .seconds(3600),
                                                                keyID: "key_1", recentRequests: 5))
            #expect(report.recent.map(\.id) == ["X-1"])
            #expect(report.latencies.map(\.target) == ["local"])
            #expect(report.buckets.map(\.spend) == [.zero])
        }
    }

    @Test("questions without a bounded answer are refused before any SQL", arguments: LedgerBackend.allCases)
    func bounds(_ backend: LedgerBackend) async throws {
        try await LedgerLocation.fresh(backend).with { store in
            let refused = [
                ActivityQuery(since: Self.day, until: Self.day, bucket: .seconds(60)),
                ActivityQuery(since: Self.day + .seconds(1), until: Self.day, bucket: .seconds(60)),
                ActivityQuery(since: Self.day, until: Self.day + .seconds(91 * 86_400), bucket: .seconds(86_400)),
                ActivityQuery(since: Self.day, until: Self.day + .seconds(86_400), bucket: .seconds(60)),
                ActivityQuery(since: Self.day, until: Self.day + .seconds(86_400), bucket: .zero),
                ActivityQuery(since: Self.day, until: Self.day + .seconds(86_400), bucket: .seconds(3600), recentRequests: 201),
                ActivityQuery(since: Self.day, until: Self.day + .seconds(86_400), bucket: .seconds(3600), recentRequests: -1),
            ]
            for query in refused {
                await #expect(throws: LedgerError.self, "\(query)") { try await store.activity(query) }
            }
        }
    }

    @Test("budget states for many scopes at once: the same as one at a time, in the order asked, zeros for rows not there", arguments: LedgerBackend.allCases)
    func budgetStates(_ backend: LedgerBackend) async throws {
        try await LedgerLocation.fresh(backend).with { store in
            var scopes: [BudgetScope] = []
            for n in 0..<700 {
                let period: BudgetPeriod = [.day, .month, .total][n % 3]
                scopes.append(BudgetScope(kind: n % 2 == 0 ? .key : .tenant, id: "s\(n)", limit: Nanodollars(1000), period: period))
            }
            // The same scope twice (a tenant and a key can share nothing, but a caller may list one twice).
            scopes.append(scopes[4])
            for (n, scope) in scopes.enumerated() where n % 5 == 0 && n < 700 {
                #expect(try await store.reserve(id: "r\(n)", scopes: [scope], amount: Nanodollars(Int64(n % 90 + 1)), now: Self.day) == .reserved)
                if n % 10 == 0 { try await store.settle(id: "r\(n)", actual: Nanodollars(Int64(n % 7))) }
            }
            let many = try await store.budgetStates(scopes, now: Self.day)
            var one: [BudgetState] = []
            for scope in scopes { one.append(try await store.budgetState(scope, now: Self.day)) }
            #expect(many == one)
            #expect(many.contains { $0.reserved > .zero } && many.contains { $0.spent > .zero })
            #expect(try await store.budgetStates([], now: Self.day).isEmpty)
        }
    }
}
