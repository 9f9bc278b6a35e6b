import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The files an open SQLite ledger lives in (the database, its `-wal` and `-shm`, its journal of
/// records), known by
/// identity (device and inode), so that the ledger notices when they are deleted or replaced
/// under it.
///
/// SQLite keeps writing to a file unlinked while it is open: without this, a gateway whose state
/// directory was removed went on answering 201 for API keys stored in a file nobody will read
/// again, and every record and settlement went the same way. A ledger whose files are gone is
/// not recreated behind the operator's back either (keys would vanish, budgets start from zero):
/// it refuses every call, and the gateway says why (docs/security.md, Ledger loss).
final class SQLiteFiles: Sendable {
    private struct Identity: Equatable {
        var device: UInt64
        var inode: UInt64
    }

    let path: String
    /// The database, its `-wal` and `-shm`, its journal of records: named once, not per call.
    private let files: [String]
    /// Each file's identity, from when it was first seen (`-wal` and `-shm` appear with the first
    /// transaction in WAL mode, after the database was opened).
    private let known: Mutex<[Identity?]>

    init(path: String) {
        self.path = path
        files = [path, path + "-wal", path + "-shm", RecordJournal.path(forDatabase: path)]
        known = Mutex([Identity?](repeating: nil, count: files.count))
        _ = problem
    }

    /// Why the ledger's files are not the ones it opened (deleted, replaced); nil while they are.
    /// One `stat` per file: cheap enough to ask before every call.
    var problem: String? {
        for (n, file) in files.enumerated() {
            var status = stat()
            let found = stat(file, &status) == 0 ? Identity(device: UInt64(status.st_dev), inode: UInt64(status.st_ino)) : nil
            let problem = known.withLock { known -> String? in
                switch (known[n], found) {
                case (nil, let found?): known[n] = found
                case (let expected?, nil): return "the ledger file \(file) was deleted while the gateway had it open (expected inode \(expected.inode))"
                case (let expected?, let found?) where expected != found:
                    return "the ledger file \(file) was replaced while the gateway had it open (inode \(expected.inode), now \(found.inode))"
                default: break
                }
                return nil
            }
            if let problem { return problem }
        }
        return nil
    }
}
