import NIOCore
import SQLiteNIO
// The SQLite that sqlite-nio vendors, not a second copy: two SQLite libraries in one process
// would not see each other's POSIX locks on the same file, and could corrupt it.
import VaporCSQLite

/// The writer's connection to the database, called synchronously, on the writer's thread only
/// (`SQLiteWriteThread`).
///
/// Hand-written because sqlite-nio offers only asynchronous calls, one per statement, each a
/// hop to its thread pool and back to a task: a budget reservation's seven statements were
/// fourteen thread wake-ups, about half the CPU of a budgeted request (docs/benchmarks.md). Here
/// a whole batch of writes runs in one hop, and each statement is prepared once, at its first
/// use, and then reset and bound again. Reads stay on sqlite-nio's connections.
final class SQLiteSyncConnection {
    private let handle: OpaquePointer
    /// Prepared statements by their SQL. Only fixed SQL is cached (the writer's statements, a few
    /// dozen); one-off statements (`execute`) are finalized after their run.
    private var prepared: [String: Statement] = [:]
    private var closed = false

    /// Bounds the cache should a caller pass SQL built per call: past it, the cache starts over.
    static let preparedLimit = 128
    var preparedCount: Int { prepared.count }

    private struct Statement {
        let handle: OpaquePointer
        /// The result's column names, read once.
        let names: [String]
    }

    /// Opens (creating if needed) the database at `path` and applies `pragmas`, in order.
    init(path: String, pragmas: [String]) throws {
        var handle: OpaquePointer?
        // NOMUTEX: one thread at a time uses it (the writer's), so SQLite's own mutex is not needed.
        let code = sqlite_nio_sqlite3_open_v2(path, &handle, SQLITE_OPEN_CREATE | SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nil)
        guard code == SQLITE_OK, let handle else {
            let message = handle.map { String(cString: sqlite_nio_sqlite3_errmsg($0)) } ?? String(cString: sqlite_nio_sqlite3_errstr(code))
            if let handle { sqlite_nio_sqlite3_close_v2(handle) }
            throw LedgerError.database("SQLite \(code): \(message)")
        }
        self.handle = handle
        do {
            for pragma in pragmas { _ = try execute(pragma) }
        } catch {
            close()
            throw error
        }
    }

    deinit { close() }

    /// Runs a statement of fixed SQL, prepared once and kept.
    func run(_ sql: String, _ binds: [SQLiteData] = []) throws {
        try step(try statement(sql), binds, collect: false)
    }

    /// Runs a statement of fixed SQL once for each set of values, in order: the statement is
    /// found once, not per run.
    func run<Values: Sequence<[SQLiteData]>>(_ sql: String, forEach values: Values) throws {
        let found = try statement(sql)
        for binds in values { try step(found, binds, collect: false) }
    }

    /// Every row of a statement of fixed SQL, prepared once and kept.
    func rows(_ sql: String, _ binds: [SQLiteData] = []) throws -> [SQLiteSyncRow] {
        try step(try statement(sql), binds, collect: true)
    }

    /// Runs a statement once (a pragma, a migration) without keeping it prepared; its rows.
    @discardableResult
    func execute(_ sql: String, _ binds: [SQLiteData] = []) throws -> [SQLiteSyncRow] {
        let once = try prepare(sql)
        defer { sqlite_nio_sqlite3_finalize(once.handle) }
        return try step(once, binds, collect: true)
    }

    func close() {
        guard !closed else { return }
        closed = true
        for statement in prepared.values { sqlite_nio_sqlite3_finalize(statement.handle) }
        prepared = [:]
        sqlite_nio_sqlite3_close_v2(handle)
    }

    // MARK: Statements

    private func statement(_ sql: String) throws -> Statement {
        if let found = prepared[sql] { return found }
        if prepared.count >= Self.preparedLimit {
            for statement in prepared.values { sqlite_nio_sqlite3_finalize(statement.handle) }
            prepared = [:]
        }
        let statement = try prepare(sql, persistent: true)
        prepared[sql] = statement
        return statement
    }

    private func prepare(_ sql: String, persistent: Bool = false) throws -> Statement {
        guard !closed else { throw LedgerError.closed }
        var statement: OpaquePointer?
        var tail: UnsafePointer<CChar>?
        let code = sql.withCString { text in
            sqlite_nio_sqlite3_prepare_v3(handle, text, -1, persistent ? UInt32(SQLITE_PREPARE_PERSISTENT) : 0, &statement, &tail)
        }
        guard code == SQLITE_OK, let statement else { throw failure(code) }
        // SQLite compiles the first statement only: SQL with more would silently lose the rest.
        if let tail, !String(cString: tail).allSatisfy(\.isWhitespace) {
            sqlite_nio_sqlite3_finalize(statement)
            throw LedgerError.database("SQLite: more than one statement in one call")
        }
        let names = (0..<sqlite_nio_sqlite3_column_count(statement)).map { n in
            sqlite_nio_sqlite3_column_name(statement, n).map { String(cString: $0) } ?? ""
        }
        return Statement(handle: statement, names: names)
    }

    @discardableResult
    private func step(_ statement: Statement, _ binds: [SQLiteData], collect: Bool) throws -> [SQLiteSyncRow] {
        let s = statement.handle
        defer { sqlite_nio_sqlite3_reset(s) }
        // Every parameter is bound on every run, so no value of an earlier run can linger.
        guard sqlite_nio_sqlite3_bind_parameter_count(s) == binds.count else {
            throw LedgerError.database("SQLite: \(binds.count) values for \(sqlite_nio_sqlite3_bind_parameter_count(s)) parameters")
        }
        for (n, value) in binds.enumerated() { try bind(value, at: Int32(n + 1), in: s) }
        var rows: [SQLiteSyncRow] = []
        while true {
            let code = sqlite_nio_sqlite3_step(s)
            if code == SQLITE_DONE { return rows }
            guard code == SQLITE_ROW else { throw failure(code) }
            if collect {
                rows.append(SQLiteSyncRow(names: statement.names, values: (0..<Int32(statement.names.count)).map { column($0, of: s) }))
            }
        }
    }

    private func bind(_ value: SQLiteData, at index: Int32, in s: OpaquePointer) throws {
        let code = switch value {
        case .integer(let v): sqlite_nio_sqlite3_bind_int64(s, index, Int64(v))
        case .float(let v): sqlite_nio_sqlite3_bind_double(s, index, v)
        case .text(let v): sqlite_nio_sqlite3_bind_text64(s, index, v, UInt64(v.utf8.count), Self.transient, UInt8(SQLITE_UTF8))
        case .blob(let v):
            v.withUnsafeReadableBytes { sqlite_nio_sqlite3_bind_blob64(s, index, $0.baseAddress, UInt64($0.count), Self.transient) }
        case .null: sqlite_nio_sqlite3_bind_null(s, index)
        }
        guard code == SQLITE_OK else { throw failure(code) }
    }

    private func column(_ n: Int32, of s: OpaquePointer) -> SQLiteData {
        switch sqlite_nio_sqlite3_column_type(s, n) {
        case SQLITE_INTEGER: return .integer(Int(sqlite_nio_sqlite3_column_int64(s, n)))
        case SQLITE_FLOAT: return .float(sqlite_nio_sqlite3_column_double(s, n))
        // The value first, then its length, as SQLite's documentation asks (the length is of the
        // value in the form the first call made it).
        case SQLITE_TEXT:
            guard let text = sqlite_nio_sqlite3_column_text(s, n) else { return .text("") }
            let count = Int(sqlite_nio_sqlite3_column_bytes(s, n))
            return .text(String(decoding: UnsafeBufferPointer(start: text, count: count), as: UTF8.self))
        case SQLITE_BLOB:
            guard let bytes = sqlite_nio_sqlite3_column_blob(s, n) else { return .blob(ByteBuffer()) }
            let count = Int(sqlite_nio_sqlite3_column_bytes(s, n))
            return .blob(ByteBuffer(bytes: UnsafeRawBufferPointer(start: bytes, count: count)))
        default: return .null
        }
    }

    private func failure(_ code: Int32) -> LedgerError {
        .database("SQLite \(code): \(String(cString: sqlite_nio_sqlite3_errmsg(handle)))")
    }

    /// SQLite copies the value before the bind returns (the C macro SQLITE_TRANSIENT).
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
}

/// A row read by `SQLiteSyncConnection`: its statement's column names, and its values.
struct SQLiteSyncRow: SQLiteColumns {
    let names: [String]
    let values: [SQLiteData]

    func column(_ name: String) -> SQLiteData? {
        names.firstIndex(of: name).map { values[$0] }
    }
}

/// A row whose columns are read by name, from either connection (`SQLiteValues.Reader`).
protocol SQLiteColumns {
    func column(_ name: String) -> SQLiteData?
}

extension SQLiteRow: SQLiteColumns {}
