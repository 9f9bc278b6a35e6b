import Testing
import SwitchyardLedger

/// Bounded measurements of each store, printed (no timing is asserted: 2 shared cores make
/// timings noise). What is asserted is that every write measured landed.
@Suite("Ledger measurements", .postgresCluster, .serialized, .timeLimit(.minutes(3)))
struct LedgerMeasurementTests {
    static func percentile(_ samples: [Duration], _ p: Double) -> String {
        let sorted = samples.sorted()
        let value = sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
        let micros = value.components.seconds * 1_000_000 + value.components.attoseconds / 1_000_000_000_000
        let hundredths = micros % 1000 / 10
        return "\(micros / 1000).\(hundredths < 10 ? "0" : "")\(hundredths) ms"
    }

    static func perSecond(_ count: Int, _ elapsed: Duration) -> Int {
        Int(Double(count) / (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18))
    }

    @Test("latency of one record and one reserve; throughput of concurrent records and reservations", arguments: LedgerBackend.allCases)
    func measure(_ backend: LedgerBackend) async throws {
        try await LedgerLocation.fresh(backend).with { store in
            let day = LedgerSamples.day
            let budget = BudgetScope(kind: .tenant, id: "acme", limit: .usd(1_000_000), period: .month)
            for n in 0..<20 { try await store.record([LedgerSamples.attempt("warm-\(n)", request: "warm")]) }

            // One caller at a time: the latency of a lone call (a commit each).
            var recordLatency: [Duration] = [], reserveLatency: [Duration] = [], settleLatency: [Duration] = [], stateLatency: [Duration] = []
            let clock = ContinuousClock()
            for n in 0..<200 {
                let attempt = LedgerSamples.attempt("seq-\(n)", request: "seq-\(n)")
                recordLatency.append(try await clock.measure { try await store.record([attempt]) })
                var outcome: ReservationOutcome?
                reserveLatency.append(try await clock.measure {
                    outcome = try await store.reserve(id: "seq-\(n)", scopes: [budget], amount: Nanodollars(150), now: day)
                })
                #expect(outcome == .reserved)
                settleLatency.append(try await clock.measure { try await store.settle(id: "seq-\(n)", actual: Nanodollars(100)) })
                // The read a budgeted request makes after each reservation and settlement (the remaining-budget gauge).
                stateLatency.append(try await clock.measure { _ = try await store.budgetState(budget, now: day) })
            }

            // 64 concurrent callers, one attempt per call: group commit shares transactions.
            let writers = 64, perWriter = 50
            let recordElapsed = try await clock.measure {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for w in 0..<writers {
                        group.addTask {
                            for n in 0..<perWriter {
                                try await store.record([LedgerSamples.attempt("c-\(w)-\(n)", request: "c-\(w)-\(n)", target: "load")])
                            }
                        }
                    }
                    try await group.waitForAll()
                }
            }
            let reservers = 64, perReserver = 20
            let reserveElapsed = try await clock.measure {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for w in 0..<reservers {
                        group.addTask {
                            for n in 0..<perReserver {
                                let outcome = try await store.reserve(id: "c-\(w)-\(n)", scopes: [budget], amount: Nanodollars(1), now: day)
                                #expect(outcome == .reserved)
                            }
                        }
                    }
                    try await group.waitForAll()
                }
            }

            let loaded = try await store.usage(UsageQuery(groupBy: .model)).first { $0.group == "load" }
            #expect(loaded?.attempts == writers * perWriter)
            let state = try await store.budgetState(budget, now: day)
            #expect(state.spent == Nanodollars(200 * 100))
            #expect(state.reserved == Nanodollars(Int64(reservers * perReserver)))

            print("""
                ledger \(backend.rawValue): record p50 \(Self.percentile(recordLatency, 0.5)) p99 \(Self.percentile(recordLatency, 0.99)); \
                reserve p50 \(Self.percentile(reserveLatency, 0.5)) p99 \(Self.percentile(reserveLatency, 0.99)); \
                settle p50 \(Self.percentile(settleLatency, 0.5)); budget state p50 \(Self.percentile(stateLatency, 0.5)) \
                p99 \(Self.percentile(stateLatency, 0.99)); \
                \(writers) concurrent recorders: \(Self.perSecond(writers * perWriter, recordElapsed)) attempts/s; \
                \(reservers) concurrent reservers: \(Self.perSecond(reservers * perReserver, reserveElapsed)) reservations/s
                """)
        }
    }
}
