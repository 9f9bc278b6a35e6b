import Foundation
import Testing
@testable import SwitchyardLedger

/// `SQLiteFiles`, alone: it looks at the files only when their directory changed, so these try
/// the changes that must still be seen on the very next call, and the ones that must not count.
@Suite("The SQLite ledger notices its files going")
struct LedgerFilesTests {
    /// A directory of its own holding `ledger.sqlite`, and the files' watcher, which finds nothing
    /// wrong yet.
    private static func withLedger(_ body: (_ directory: String, _ database: String, SQLiteFiles) throws -> Void) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("files-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let database = directory + "/ledger.sqlite"
        create(database)
        let files = SQLiteFiles(path: database)
        #expect(files.problem == nil)
        try body(directory, database, files)
    }

    private static func create(_ path: String) {
        FileManager.default.createFile(atPath: path, contents: Data("x".utf8))
    }

    @Test("deleted: seen on the next call, for the database and for a file that appeared after it was opened")
    func deletion() throws {
        for victim in ["", "-wal"] {
            try Self.withLedger { _, database, files in
                Self.create(database + "-wal")
                #expect(files.problem == nil, "a file appearing is not a problem")
                unlink(database + victim)
                let problem = try #require(files.problem)
                #expect(problem.contains("ledger.sqlite\(victim) was deleted"))
                Self.create(database + victim)
                #expect(files.problem != nil, "a file of the same name put back is not the one opened")
            }
        }
    }

    @Test("replaced by a rename over it: seen on the next call")
    func replacement() throws {
        try Self.withLedger { directory, database, files in
            Self.create(directory + "/other")
            #expect(files.problem == nil, "another file in the directory changes nothing")
            #expect(rename(directory + "/other", database) == 0)
            #expect(files.problem?.contains("was replaced") == true)
        }
    }
}
