import Logging
import Testing
import SwitchyardLedger
import SwitchyardPolicy

#if canImport(Glibc)
import Glibc
#endif

/// What `record` returning promises on SQLite: the attempts are committed, so a gateway killed
/// outright (SIGKILL, no shutdown of any kind) loses none of them. The writer is a child process
/// running our own store: this test binary again, asked to run only `childWriter`.
@Suite("Ledger durability on SQLite", .serialized, .timeLimit(.minutes(2)))
struct LedgerDurabilityTests {
    static let databaseVariable = "SWITCHYARD_LEDGER_CHILD_DB"
    static let marker = "LEDGER-CHILD"

    /// The test binary (an .xctest executable on Linux).
    static var testBinary: String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        return String(decoding: buffer[0..<max(0, n)].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    @Test("child process: records attempts under load, printing each id once record has returned (runs only in the child)",
          .enabled(if: getenv(Self.databaseVariable) != nil))
    func childWriter() async throws {
        let path = String(cString: getenv(Self.databaseVariable))
        let store = try await Ledger.sqlite(path: path, logger: Logger(label: "ledger-child"))
        try await store.migrate()
        let deadline = ContinuousClock.now + .seconds(60)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<8 {
                group.addTask {
                    var n = 0
                    while ContinuousClock.now < deadline {
                        let request = "w\(writer)-\(n)"
                        let attempt = LedgerSamples.attempt(request + "-1", request: request, outcome: .inProgress, at: .now)
                        try await store.record([attempt])
                        Self.say("started \(attempt.id)")
                        var served = attempt
                        served.outcome = .served
                        served.cost = Nanodollars(150)
                        try await store.record([served])
                        Self.say("served \(attempt.id)")
                        n += 1
                    }
                }
            }
            try await group.waitForAll()
        }
        try await store.close()
    }

    /// One line on stdout with a single write(2): no buffer for SIGKILL to lose.
    static func say(_ text: String) {
        let line = Array("\(marker) \(text)\n".utf8)
        _ = line.withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
    }

    @Test("every attempt whose record returned before a SIGKILL is in the database after it, exactly once")
    func survivesSIGKILL() async throws {
        let directory = try Fixtures.temporaryDirectory()
        let path = directory + "/ledger.sqlite"
        let log = directory + "/child.log"
        let child = try ChildProcess.spawn(
            executable: "/usr/bin/env",
            arguments: ["\(Self.databaseVariable)=\(path)", Self.testBinary, "--testing-library", "swift-testing",
                        "--filter", "LedgerDurabilityTests/childWriter"],
            logPath: log)
        func lines() -> [Substring] {
            (TextFile.read(log) ?? "").split(separator: "\n").filter { $0.hasPrefix(Self.marker + " ") }
        }
        // Kill it mid-load: once it has served a few hundred, while its eight writers keep going.
        let deadline = ContinuousClock.now + .seconds(60)
        while lines().filter({ $0.contains(" served ") }).count < 400, ContinuousClock.now < deadline, child.poll() == nil {
            try await Task.sleep(for: .milliseconds(20))
        }
        child.signal(SIGKILL)
        let exit = await child.wait(timeout: .seconds(10))
        #expect(exit == .signalled(SIGKILL), "the child should have been killed mid-load: \((TextFile.read(log) ?? "").suffix(2000))")

        var started: [String] = [], served: [String] = []
        for line in lines() {
            let words = line.split(separator: " ")
            guard words.count == 3 else { continue }
            if words[1] == "started" { started.append(String(words[2])) }
            if words[1] == "served" { served.append(String(words[2])) }
        }
        #expect(served.count >= 400)

        let store = try await Ledger.sqlite(path: path, logger: Logger(label: "ledger-after-kill"))
        try await store.migrate()
        let servedSet = Set(served)
        var missing: [String] = [], wrong: [String] = [], unfinished = 0
        for id in started {
            let request = String(id.dropLast(2))
            let rows = try await store.attempts(requestID: request)
            if rows.count != 1 || rows[0].id != id { missing.append(id) }
            if servedSet.contains(id), rows.first?.outcome != .served { wrong.append(id) }
            if rows.first?.outcome == .inProgress { unfinished += 1 }
        }
        #expect(missing.isEmpty, "\(missing.count) of \(started.count) printed attempts are missing or duplicated: \(missing.prefix(5))")
        #expect(wrong.isEmpty, "\(wrong.count) attempts printed as served are not served: \(wrong.prefix(5))")
        // What the child had begun and not finished is still in_progress; recovery finds it.
        let recovered = try await store.recover(olderThan: .now + .seconds(1))
        #expect(recovered.interrupted >= unfinished)
        try await store.close()
        LedgerFiles.remove(path, also: [log])
    }
}
