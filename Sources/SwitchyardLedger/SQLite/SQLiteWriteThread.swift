import NIOCore
import NIOPosix
import Synchronization

/// The writer's thread and its connection: libsqlite3 blocks, so the writer's batches run on a
/// thread of their own, never on Swift's concurrency pool or the server's event loops. A batch is
/// one hop there and one back, whatever its number of statements.
///
/// The connection sits behind a lock so that the thread's closures can reach it; only the one
/// thread takes it, once a batch, so it is never contended.
final class SQLiteWriteThread: Sendable {
    private let connection = Mutex<SQLiteSyncConnection?>(nil)
    private let thread = NIOThreadPool(numberOfThreads: 1)

    /// Opens the database at `path` on the writer's thread, with `pragmas` applied.
    static func open(path: String, pragmas: [String]) async throws -> SQLiteWriteThread {
        let writer = SQLiteWriteThread()
        writer.thread.start()
        do {
            try await writer.thread.runIfActive {
                try writer.connection.withLock { $0 = try SQLiteSyncConnection(path: path, pragmas: pragmas) }
            }
        } catch {
            try? await writer.thread.shutdownGracefully()
            throw error
        }
        return writer
    }

    /// Runs `body` on the writer's thread with the connection.
    func perform<T: Sendable>(_ body: @escaping @Sendable (SQLiteSyncConnection) throws -> T) async throws -> T {
        try await thread.runIfActive {
            try self.connection.withLock { open in
                guard let open else { throw LedgerError.closed }
                return try body(open)
            }
        }
    }

    /// Closes the connection on its thread, then stops the thread. The future form of the thread's
    /// call: the async one is skipped in a cancelled task, and a ledger is often closed from one.
    func close() async throws {
        let loop = MultiThreadedEventLoopGroup.singleton.any()
        try await thread.runIfActive(eventLoop: loop) {
            self.connection.withLock { open in
                open?.close()
                open = nil
            }
        }.get()
        try await thread.shutdownGracefully()
    }

    /// A writer released without `close()` (its ledger was) still closes its file.
    deinit {
        connection.withLock { $0?.close() }
        thread.shutdownGracefully { _ in }
    }
}
