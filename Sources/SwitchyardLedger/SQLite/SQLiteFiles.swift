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

    private struct State {
        /// Each file's identity, from when it was first seen (`-wal` and `-shm` appear with the
        /// first transaction in WAL mode, after the database was opened).
        var known: [Identity?]
        /// What the last look found; it stands until the directory changes again.
        var problem: String?
    }

    let path: String
    /// The database, its `-wal` and `-shm`, its journal of records: named once, not per call.
    private let files: [String]
    private let state: Mutex<State>
    /// An inotify descriptor watching the files' directory, non-blocking; -1 where inotify is not
    /// to be had (then every call looks, four `stat`s).
    private let watch: Int32

    init(path: String) {
        self.path = path
        files = [path, path + "-wal", path + "-shm", RecordJournal.path(forDatabase: path)]
        state = Mutex(State(known: [Identity?](repeating: nil, count: files.count)))
        watch = Self.watching(directory: path.lastIndex(of: "/").map { String(path[..<$0]) }.map { $0.isEmpty ? "/" : $0 } ?? ".")
        state.withLock { look(&$0) }
    }

    deinit { if watch >= 0 { close(watch) } }

    /// Why the ledger's files are not the ones it opened (deleted, replaced); nil while they are.
    ///
    /// Asked before every ledger call. Four `stat`s a call were 1.9% of the gateway's CPU under
    /// load (`perf`, docs/benchmarks.md), so the files are looked at only when the kernel said
    /// their directory changed: a name created, deleted or moved there, or the directory itself
    /// deleted or moved. The event is queued before `unlink` or `rename` returns, so a call after
    /// those sees it. (Not seen: a directory above this one renamed; the files then live on, with
    /// everything written to them, under the new name.)
    var problem: String? {
        state.withLock { state in
            if watch < 0 || drained() { look(&state) }
            return state.problem
        }
    }

    /// Reads every event queued on the watch: true when there was any. (On the stack: this runs
    /// per call. 1 KiB holds at least one event with the longest name, as `read` requires.)
    private func drained() -> Bool {
        withUnsafeTemporaryAllocation(byteCount: 1024, alignment: 8) { buffer in
            var any = false
            while read(watch, buffer.baseAddress, buffer.count) > 0 { any = true }
            return any
        }
    }

    private func look(_ state: inout State) {
        guard state.problem == nil else { return }
        for (n, file) in files.enumerated() {
            var status = stat()
            let found = stat(file, &status) == 0 ? Identity(device: UInt64(status.st_dev), inode: UInt64(status.st_ino)) : nil
            switch (state.known[n], found) {
            case (nil, let found?): state.known[n] = found
            case (let expected?, nil):
                state.problem = "the ledger file \(file) was deleted while the gateway had it open (expected inode \(expected.inode))"
                return
            case (let expected?, let found?) where expected != found:
                state.problem = "the ledger file \(file) was replaced while the gateway had it open (inode \(expected.inode), now \(found.inode))"
                return
            default: break
            }
        }
    }

    private static func watching(directory: String) -> Int32 {
        let fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard fd >= 0 else { return -1 }
        let events = UInt32(IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF)
        guard inotify_add_watch(fd, directory, events) >= 0 else {
            close(fd)
            return -1
        }
        return fd
    }
}
