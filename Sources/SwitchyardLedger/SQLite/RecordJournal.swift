import NIOCore
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The SQLite ledger's append-only journal of attempt records (`DATABASE-records`): what makes a
/// record durable on the request's own thread, with one `write(2)`, while its SQLite commit
/// happens later on the writer's (docs/architecture.md, "The ledger's write path").
///
/// A `write` to a file is in the kernel's page cache when it returns: it survives the process
/// being killed, as a commit under `synchronous=NORMAL` does, and is as exposed to a power loss
/// (whose torn tail replay detects and drops, `JournalCoding`). The file is emptied once every
/// record in it is committed to SQLite, and replayed into SQLite by the next ledger to open it
/// when its writer died first.
///
/// One ledger owns a journal at a time: `claim` takes an exclusive `flock`, which the kernel drops
/// with the process however it dies. Another ledger on the same database (a CLI beside the
/// gateway, a test's second store) finds it taken and writes to SQLite directly, as before the
/// journal existed; it never replays a journal that a live process is appending to.
final class RecordJournal: Sendable {
    private struct State {
        var descriptor: Int32
        /// Bytes in the file.
        var size: Int
        /// Appends since the file was last emptied, and how many of them SQLite has committed.
        var appended = 0
        var committed = 0
        /// A commit of journaled records failed: the file is kept until the next start replays it.
        var keep = false
    }

    /// The file's name beside the database; not `-journal`, which is SQLite's own hot journal.
    static func path(forDatabase database: String) -> String { database + "-records" }
    /// A file at least this large is emptied once everything in it is committed (smaller files
    /// are left to grow, sparing a syscall per commit at low load).
    static let emptyingSize = 256 << 10

    let path: String
    private let state: Mutex<State>

    private init(path: String, descriptor: Int32, size: Int) {
        self.path = path
        state = Mutex(State(descriptor: descriptor, size: size))
    }

    /// Opens (creating) the journal beside `database` and locks it; nil when another ledger
    /// holds it. Throws when the file cannot be opened at all.
    static func claim(database: String) throws -> RecordJournal? {
        let path = path(forDatabase: database)
        let descriptor = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard descriptor >= 0 else { throw LedgerError.journal("cannot open \(path): \(Self.errorText())") }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let error = errno
            _ = Glibc.close(descriptor)
            if error == EWOULDBLOCK { return nil }
            throw LedgerError.journal("cannot lock \(path): \(String(cString: strerror(error)))")
        }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            let why = errorText()
            _ = Glibc.close(descriptor)
            throw LedgerError.journal("cannot stat \(path): \(why)")
        }
        // A FIFO or a device planted under the name would block or swallow every append.
        guard status.st_mode & S_IFMT == S_IFREG else {
            _ = Glibc.close(descriptor)
            throw LedgerError.journal("\(path) is not a regular file")
        }
        return RecordJournal(path: path, descriptor: descriptor, size: Int(status.st_size))
    }

    deinit {
        state.withLock { if $0.descriptor >= 0 { _ = Glibc.close($0.descriptor) } }
    }

    /// Calls `body` with the records a previous owner left, in order, a stretch of the file at a
    /// time (memory stays bounded whatever the file's size); returns false when the file ends in
    /// a torn or damaged frame, which is dropped.
    func replay(_ body: ([AttemptRecord]) async throws -> Void) async throws -> Bool {
        let (descriptor, size) = state.withLock { ($0.descriptor, $0.size) }
        // What is read and not yet decoded: at most a frame cut by the last stretch's end, then the next stretch.
        var pending = ByteBuffer()
        var offset = 0
        while offset < size {
            var n = 0
            pending.writeWithUnsafeMutableBytes(minimumWritableBytes: Self.replayChunk) { buffer in
                n = pread(descriptor, buffer.baseAddress!, min(Self.replayChunk, size - offset), off_t(offset))
                return max(0, n)
            }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { throw LedgerError.journal("cannot read \(path): \(n == 0 ? "it ended early" : Self.errorText())") }
            offset += n
            let reading = JournalCoding.read(pending)
            if !reading.records.isEmpty { try await body(reading.records) }
            if reading.damaged { return false }
            pending.moveReaderIndex(forwardBy: reading.consumed)
            pending.discardReadBytes()
        }
        return pending.readableBytes == 0
    }

    /// Bytes read at a time by `replay`.
    static let replayChunk = 1 << 20

    /// Empties the file after its left-over records were committed (at open, before any append).
    func discardLeftOver() throws {
        try state.withLock { state in
            guard ftruncate(state.descriptor, 0) == 0 else { throw LedgerError.journal("cannot empty \(path): \(Self.errorText())") }
            state.size = 0
        }
    }

    /// Appends `frames` (one `write`, under the lock so that frames never interleave) and returns
    /// how many appends are not yet committed, this one included. A failed write leaves the file
    /// as it was: a partly written frame is cut off again.
    func append(_ frames: ByteBuffer) throws -> Int {
        try state.withLock { state in
            guard state.descriptor >= 0 else { throw LedgerError.closed }
            var written = 0
            while written < frames.readableBytes {
                let n = frames.withUnsafeReadableBytes { write(state.descriptor, $0.baseAddress! + written, $0.count - written) }
                if n < 0, errno == EINTR { continue }
                guard n > 0 else {
                    let why = Self.errorText()
                    _ = ftruncate(state.descriptor, off_t(state.size))
                    throw LedgerError.journal("cannot append to \(path): \(why)")
                }
                written += n
            }
            state.size += written
            state.appended += 1
            return state.appended - state.committed
        }
    }

    /// Appends not yet committed (or failed).
    var backlog: Int { state.withLock { $0.appended - $0.committed } }

    /// One append's commit ended: counted, and once all are committed, a large file is emptied.
    /// A failed commit keeps the file (and every later record) for the next start to replay.
    func settled(failed: Bool) {
        state.withLock { state in
            state.committed += 1
            state.keep = state.keep || failed
            if state.committed == state.appended, state.size >= Self.emptyingSize { Self.empty(&state) }
        }
    }

    /// At the ledger's close, after its writer drained: empties the file if everything in it was
    /// committed, and releases the lock.
    func close() {
        state.withLock { state in
            guard state.descriptor >= 0 else { return }
            if state.committed == state.appended, state.size > 0 { Self.empty(&state) }
            _ = Glibc.close(state.descriptor)
            state.descriptor = -1
        }
    }

    private static func empty(_ state: inout State) {
        guard !state.keep, ftruncate(state.descriptor, 0) == 0 else { return }
        state.size = 0
        state.appended = 0
        state.committed = 0
    }

    private static func errorText() -> String { String(cString: strerror(errno)) }
}
