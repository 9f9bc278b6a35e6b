import Foundation
import NIOCore
import SQLiteNIO
import Testing
@testable import SwitchyardLedger

/// The SQLite writer's own connection (`SQLiteSyncConnection`), on a scratch file: values come
/// back as they went in, and the misuses a caller could make are refused instead of silently
/// doing less.
@Suite("The SQLite writer's connection")
struct SQLiteSyncConnectionTests {
    private static func withConnection(_ body: (SQLiteSyncConnection) throws -> Void) throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("sync-\(UUID().uuidString).sqlite").path
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        let connection = try SQLiteSyncConnection(path: path, pragmas: SQLiteSQL.connectionPragmas + SQLiteSQL.writerPragmas)
        defer { connection.close() }
        try connection.execute("CREATE TABLE t (i INTEGER, r REAL, s TEXT, b BLOB)")
        try body(connection)
    }

    @Test("every kind of value comes back as it was bound: the largest integers, text with a NUL and non-ASCII, bytes, null")
    func values() throws {
        try Self.withConnection { connection in
            let text = "caf\u{e9} \u{0}after the NUL \u{1F600}"
            let blob = ByteBuffer(bytes: [0, 255, 1, 254])
            let rows: [[SQLiteData]] = [
                [.integer(Int.max), .float(-0.5), .text(text), .blob(blob)],
                [.integer(Int.min), .float(1e300), .text(""), .null],
                [.null, .null, .null, .null],
            ]
            for row in rows { try connection.run("INSERT INTO t (i, r, s, b) VALUES (?, ?, ?, ?)", row) }
            let read = try connection.rows("SELECT i, r, s, b FROM t ORDER BY rowid")
            #expect(read.map(\.values) == rows)
            #expect(read.first?.column("s") == .text(text))
            #expect(read.first?.column("nothing") == nil)
        }
    }

    @Test("a statement run again with other values sees only those: nothing lingers from the run before")
    func rebinding() throws {
        try Self.withConnection { connection in
            try connection.run("INSERT INTO t (i, s) VALUES (?, ?)", [.integer(1), .text("one")])
            try connection.run("INSERT INTO t (i, s) VALUES (?, ?)", [.integer(2), .null])
            let read = try connection.rows("SELECT i, s FROM t WHERE i = ?", [.integer(2)])
            #expect(read.map(\.values) == [[.integer(2), .null]])
        }
    }

    @Test("refused, not done by half: two statements in one call, too few or too many values, bad SQL")
    func misuse() throws {
        try Self.withConnection { connection in
            #expect(throws: LedgerError.self) { try connection.run("INSERT INTO t (i) VALUES (1); DELETE FROM t") }
            #expect(throws: LedgerError.self) { try connection.run("INSERT INTO t (i, s) VALUES (?, ?)", [.integer(1)]) }
            #expect(throws: LedgerError.self) { try connection.run("INSERT INTO t (i) VALUES (?)", [.integer(1), .integer(2)]) }
            #expect(throws: LedgerError.self) { try connection.run("INSERT INTO nowhere VALUES (1)") }
            #expect(try connection.rows("SELECT COUNT(*) AS n FROM t").first?.column("n") == .integer(0))
            // A statement that failed mid-way leaves the connection usable.
            try connection.execute("CREATE UNIQUE INDEX t_i ON t (i)")
            try connection.run("INSERT INTO t (i) VALUES (?)", [.integer(7)])
            #expect(throws: LedgerError.self) { try connection.run("INSERT INTO t (i) VALUES (?)", [.integer(7)]) }
            try connection.run("INSERT INTO t (i) VALUES (?)", [.integer(8)])
            #expect(try connection.rows("SELECT COUNT(*) AS n FROM t").first?.column("n") == .integer(2))
        }
    }

    @Test("SQL built per call cannot grow the prepared statements without bound; a closed connection refuses")
    func boundedAndClosed() throws {
        try Self.withConnection { connection in
            for n in 0..<(SQLiteSyncConnection.preparedLimit * 3) {
                try connection.run("INSERT INTO t (i) VALUES (\(n))")
                #expect(connection.preparedCount <= SQLiteSyncConnection.preparedLimit)
            }
            #expect(try connection.rows("SELECT COUNT(*) AS n FROM t").first?.column("n") == .integer(SQLiteSyncConnection.preparedLimit * 3))
            connection.close()
            #expect(throws: LedgerError.closed) { try connection.run("SELECT 1") }
        }
    }
}
