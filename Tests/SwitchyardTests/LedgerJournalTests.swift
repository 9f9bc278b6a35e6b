import Logging
import NIOCore
import Testing
@testable import SwitchyardLedger
import SwitchyardPolicy

#if canImport(Glibc)
import Glibc
#endif

/// The SQLite ledger's journal of records: what makes `record` durable without waiting for a
/// commit. Its promise under a SIGKILL is `LedgerDurabilityTests`; these break the rest of it:
/// the byte form, a torn tail, a second ledger on one database, reading one's own writes.
@Suite("SQLite ledger journal")
struct LedgerJournalTests {
    static let logger = Logger(label: "journal-test")

    /// Every field, with the optionals both ways and text no ASCII assumption survives.
    static func samples() -> [AttemptRecord] {
        var full = LedgerSamples.attempt("r1-1", request: "r1", cost: 12_345, reference: 678, outcome: .discarded)
        full.team = "équipe 🚀"
        full.escalationReason = "low_confidence"
        full.costEstimated = true
        full.promptTokens = Int(Int32.max) + 7
        var bare = LedgerSamples.attempt("r2-1", request: "r2", key: nil, tenant: nil, outcome: .inProgress)
        bare.rule = ""
        return [full, bare, LedgerSamples.attempt("r3-1", request: "r3", outcome: .cancelled)]
    }

    @Test("frames read back as the records written, in order")
    func roundTrip() {
        let records = Self.samples()
        let frames = Self.frames(records)
        let decoded = Self.read(frames)
        #expect(!decoded.damaged && decoded.consumed == frames.count)
        #expect(decoded.records == records)
    }

    @Test("a frame cut at any byte waits for the rest; any byte changed is damage, read no further")
    func tornTail() {
        let records = Self.samples()
        let head = Self.frames(Array(records.prefix(2)))
        let whole = Self.frames(records)
        for cut in head.count..<whole.count {
            let read = Self.read(whole[..<cut])
            #expect(read.records == Array(records.prefix(2)) && read.consumed == head.count && !read.damaged, "cut at \(cut)")
        }
        for n in head.count..<whole.count {
            var damaged = whole
            damaged[n] ^= 0x5a
            let read = Self.read(damaged)
            // A changed length byte may make the frame look incomplete instead: either way, not a record.
            #expect(read.records == Array(records.prefix(2)) && read.consumed == head.count, "byte \(n) changed")
            #expect(read.damaged || n < head.count + 4, "byte \(n) changed")
        }
        // A length no record has: damage, not a wait for a gigabyte.
        let huge: [UInt8] = [0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0]
        #expect(Self.read(head + huge).damaged)
    }

    @Test("records a previous owner left in the journal are committed at the next open, a torn tail dropped, and the journal emptied")
    func replayAtOpen() async throws {
        let path = try Fixtures.temporaryDirectory() + "/ledger.sqlite"
        defer { LedgerFiles.remove(path) }
        // A database that exists, then the journal of a writer that died before committing.
        let first = try await Self.opened(path)
        try await first.close()
        let records = Self.samples()
        var served = records[1]
        served.outcome = .served
        served.endedAt = served.startedAt + .milliseconds(40)
        // Enough records that replay reads the file in more than one stretch.
        let many = (0..<(2 * RecordJournal.replayChunk / 140)).map { LedgerSamples.attempt("m\($0)-1", request: "m\($0)") }
        let left = Self.frames(records + many + [served]) + Array(Self.frames([records[0]]).dropLast(3))
        #expect(left.count > 2 * RecordJournal.replayChunk)
        let journalPath = RecordJournal.path(forDatabase: path)
        #expect(Self.write(journalPath, left))

        let store = try await Self.opened(path)
        #expect(try await store.attempts(requestID: "r1") == [records[0]])
        #expect(try await store.attempts(requestID: "r2") == [served], "the later record of an id wins")
        #expect(try await store.attempts(requestID: "r3") == [records[2]])
        #expect(try await store.usage(UsageQuery(groupBy: .key)).map(\.attempts).reduce(0, +) == records.count + many.count)
        #expect(Self.size(journalPath) == 0)
        try await store.close()
    }

    @Test("a second ledger on the database finds the journal taken: it commits before record returns and replays nothing")
    func secondLedger() async throws {
        let path = try Fixtures.temporaryDirectory() + "/ledger.sqlite"
        defer { LedgerFiles.remove(path) }
        let owner = try await Self.opened(path)
        let other = try await Self.opened(path)
        let records = Self.samples()
        try await other.record([records[0]])
        #expect(Self.size(RecordJournal.path(forDatabase: path)) == 0, "the second ledger must not append to a journal it does not own")
        // Committed: the owner sees it without anything of its own to wait for.
        #expect(try await owner.attempts(requestID: "r1") == [records[0]])
        try await owner.record([records[1]])
        #expect(try await other.attempts(requestID: "r1") == [records[0]])
        try await other.close()
        try await owner.close()
        // The owner's close committed everything and emptied its journal; reopening finds all.
        #expect(Self.size(RecordJournal.path(forDatabase: path)) == 0)
        let again = try await Self.opened(path)
        #expect(try await again.attempts(requestID: "r2") == [records[1]])
        try await again.close()
    }

    @Test("the owner reads its own records at once, however many are waiting for their commit")
    func readsOwnWrites() async throws {
        let path = try Fixtures.temporaryDirectory() + "/ledger.sqlite"
        defer { LedgerFiles.remove(path) }
        let store = try await Self.opened(path)
        let count = 2_000
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<8 {
                group.addTask {
                    for n in stride(from: writer, to: count, by: 8) {
                        try await store.record([LedgerSamples.attempt("q\(n)-1", request: "q\(n)", cost: 1)])
                    }
                }
            }
            try await group.waitForAll()
        }
        // Whatever the writer has committed by now, every read sees all of them.
        let usage = try await store.usage(UsageQuery(groupBy: .key))
        #expect(usage.map(\.attempts).reduce(0, +) == count)
        #expect(try await store.attempts(requestID: "q\(count - 1)").count == 1)
        try await store.close()
        #expect(Self.size(RecordJournal.path(forDatabase: path)) == 0, "a clean close leaves no journal to replay")
    }

    @Test("a journal deleted, or something other than a file put in its place, is refused instead of written into the void")
    func journalLost() async throws {
        let path = try Fixtures.temporaryDirectory() + "/ledger.sqlite"
        defer { LedgerFiles.remove(path) }
        let store = try await Self.opened(path)
        try await store.record([Self.samples()[0]])
        unlink(RecordJournal.path(forDatabase: path))
        #expect(store.problem?.contains("-records was deleted") == true, "\(String(describing: store.problem))")
        await #expect(throws: LedgerError.self) { try await store.record([Self.samples()[1]]) }
        try await store.close()

        // A FIFO where the journal belongs would block every append: the open refuses it.
        #expect(mkfifo(RecordJournal.path(forDatabase: path), 0o600) == 0)
        await #expect(throws: LedgerError.journal("\(RecordJournal.path(forDatabase: path)) is not a regular file")) {
            _ = try await Ledger.sqlite(path: path, logger: Self.logger)
        }
    }

    /// A store on `path`, migrated (which replays a journal left there).
    static func opened(_ path: String) async throws -> any LedgerStore {
        let store = try await Ledger.sqlite(path: path, logger: logger)
        try await store.migrate()
        return store
    }

    /// The journal's frames as bytes, to cut and change.
    static func frames(_ records: [AttemptRecord]) -> [UInt8] { Array(JournalCoding.frames(records).readableBytesView) }

    static func read(_ bytes: some Sequence<UInt8>) -> JournalCoding.Reading { JournalCoding.read(ByteBuffer(bytes: bytes)) }

    static func write(_ path: String, _ bytes: [UInt8]) -> Bool {
        guard let file = fopen(path, "wb") else { return false }
        defer { fclose(file) }
        return fwrite(bytes, 1, bytes.count, file) == bytes.count
    }

    static func size(_ path: String) -> Int? {
        var status = stat()
        return stat(path, &status) == 0 ? Int(status.st_size) : nil
    }
}
