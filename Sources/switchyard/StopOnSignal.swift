import ArgumentParser
import UnixSignals

/// Runs a command's work until it ends, or until SIGTERM or SIGINT: then cancels it and waits for
/// it to unwind, so that a llama-server it started is stopped first. The engine runs in a process
/// group of its own (a Ctrl-C meant for the command must not reach it half-way) and nothing else
/// tells it its parent has gone; the `eval` commands, which start engines without a gateway's
/// service group, would otherwise leave it running (found with `eval selfcal`). The pid file
/// reaps such an orphan at the next start; this stops it at once.
func stoppingOnSignals<T: Sendable>(_ work: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await work() }
        group.addTask {
            // Ends with nil when cancelled: the work finished first.
            for await _ in await UnixSignalsSequence(trapping: .sigterm, .sigint) { return nil }
            return nil
        }
        let first = try await group.next() ?? nil
        group.cancelAll()
        if let result = first { return result }
        // A signal: the work is cancelled; its own cleanup (stopping its engine) runs before this returns.
        while let _ = try? await group.next() {}
        throw ExitCode(130)
    }
}
