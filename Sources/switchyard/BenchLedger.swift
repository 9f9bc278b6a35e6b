import ArgumentParser
import Foundation
import Logging
import SwitchyardExecution
import SwitchyardLedger

/// `switchyard bench-ledger` (run by `make bench`): what the embedded ledger costs per attempt
/// record, measured alone: this process's CPU time (user and system, every thread: the callers,
/// the journal's append, the writer, SQLite) for records written by concurrent callers as a
/// gateway writes them, once each is durable (`record` returned) and once all are committed.
/// The gateway's figure (CPU per request, ledger on against off) also holds what the ledger's
/// threads take from the request path's on two cores; this one says how much is the ledger's own.
struct BenchLedger: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench-ledger", abstract: "Time the ledger's records.", shouldDisplay: false)

    @Option(name: .long, help: "Records written.")
    var records: Int = 20_000

    @Option(name: .long, help: "Concurrent callers.")
    var callers: Int = 8

    @Flag(name: .customLong("random-ids"), help: "Wholly random request ids, as before they began with the time: the comparison in docs/benchmarks.md.")
    var randomIDs = false

    @Flag(name: .long, help: "Each record between a budget reservation and its settlement, as a budgeted request writes them.")
    var budget = false

    @Option(name: .long, help: "Records per second, all callers together (0: as fast as they go). A gateway under load writes about 5,000; the writer's batches are then as small as a gateway's.")
    var rate: Int = 0

    func validate() throws {
        guard (1...1_000_000).contains(records) else { throw ValidationError("--records must be from 1 to 1000000; got \(records)") }
        guard (1...1_024).contains(callers) else { throw ValidationError("--callers must be from 1 to 1024; got \(callers)") }
        guard rate >= 0 else { throw ValidationError("--rate must be 0 (unpaced) or more; got \(rate)") }
    }

    func run() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("switchyard-bench-ledger-\(getpid())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let ledger = try await Ledger.sqlite(path: directory + "/ledger.sqlite", logger: Logger(label: "bench-ledger"))
        try await ledger.migrate()
        let start = UnixTime.now
        let callers = callers, randomIDs = randomIDs, budget = budget, perCaller = max(1, records / callers)
        // Each caller paced to its share of `rate`, on a schedule (a late caller catches up).
        let interval = rate > 0 ? Duration.nanoseconds(Int64(1e9 * Double(callers) / Double(rate))) : .zero
        func write(_ count: Int, record: Bool = true) async throws {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<callers {
                    group.addTask {
                        var next = ContinuousClock.now
                        for _ in 0..<count {
                            if interval > .zero {
                                next += interval
                                if next > .now { try await Task.sleep(until: next) }
                            }
                            let id = randomIDs ? String(UInt64.random(in: 0...UInt64.max) | 1 << 63, radix: 16) : RequestID.make()
                            let attempt = Self.attempt(id + "-0", at: start)
                            guard record else { continue }
                            if budget {
                                guard try await ledger.reserve(id: attempt.id, scopes: [Self.scope], amount: Nanodollars(20_000), now: start) == .reserved else {
                                    throw ValidationError("the bench's budget refused a reservation")
                                }
                            }
                            try await ledger.record([attempt])
                            if budget { try await ledger.settle(id: attempt.id, actual: attempt.cost) }
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
        try await write(100)
        _ = try await ledger.attempts(requestID: "none")
        // The callers' own cost (the pacing's sleeps, the records' making), without the ledger: subtracted.
        let pacing = Self.cpu()
        try await write(perCaller, record: false)
        let paced = Self.cpu() - pacing
        let before = Self.cpu(), wallStart = ContinuousClock.now
        try await write(perCaller)
        let durable = Self.cpu() - paced, wallDurable = ContinuousClock.now
        // A read of attempts waits for every record journaled before it to be committed.
        _ = try await ledger.attempts(requestID: "none")
        let committed = Self.cpu() - paced, wallCommitted = ContinuousClock.now
        try await ledger.close()
        let count = Double(callers * perCaller)
        func micros(_ d: Duration) -> Double { Double(d.components.seconds) * 1e6 + Double(d.components.attoseconds) / 1e12 }
        print("ledger (SQLite, \(callers) concurrent callers, \(callers * perCaller) records, \(rate > 0 ? "\(rate) a second" : "unpaced")\(randomIDs ? ", random ids" : "")\(budget ? ", each reserved and settled" : ""); the callers' own \(format(paced / count)) us per record not counted):")
        print("  CPU per record, until durable:   \(format((durable - before) / count)) us  (wall \(format(micros(wallDurable - wallStart) / count)) us per record)")
        print("  CPU per record, until committed: \(format((committed - before) / count)) us  (wall \(format(micros(wallCommitted - wallStart) / count)) us per record)")
    }

    /// This process's CPU time so far, in microseconds.
    static func cpu() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1e6 + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec)
    }

    /// A budget no bench spends: each reservation is checked and counted against it, never refused.
    static let scope = BudgetScope(kind: .tenant, id: "bench", limit: Nanodollars(Int64.max / 4), period: .month)

    /// A whole answer's record, as the gateway writes it.
    static func attempt(_ id: String, at start: UnixTime) -> AttemptRecord {
        AttemptRecord(id: id, requestID: id, keyID: nil, tenant: nil, team: nil, rule: "default", target: "canned", tier: "cloud",
                      promptTokens: 14, completionTokens: 9, cost: Nanodollars(7_500), costEstimated: false,
                      referenceCost: .zero, latencyMs: 1, outcome: .served, escalationReason: nil,
                      startedAt: start, endedAt: start + .milliseconds(1))
    }
}
