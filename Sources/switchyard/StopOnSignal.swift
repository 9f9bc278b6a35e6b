import ArgumentParser
import UnixSignals

#if canImport(Glibc)
import Glibc
#endif

/// Runs a command's work until it ends, or until SIGTERM or SIGINT: then cancels it and waits for
/// it to unwind, so that a llama-server it started is stopped first, and exits 128 + the signal's
/// number, as a shell expects. A second signal while it unwinds exits at once (the pid file reaps
/// an engine left so at the next start). The engine runs in a process group of its own (a Ctrl-C
/// meant for the command must not reach it half-way) and nothing else tells it its parent has
/// gone; the `eval` commands, which start engines without a gateway's service group, would
/// otherwise leave it running (found with `eval selfcal`).
func stoppingOnSignals<T: Sendable>(_ work: @escaping @Sendable () async throws -> T) async throws -> T {
    let signals = await UnixSignalsSequence(trapping: .sigterm, .sigint)
    let worker = Task { try await work() }
    let listener = Task { () -> UnixSignal? in
        var first: UnixSignal?
        // Ends when cancelled: the work finished.
        for await signal in signals {
            if first != nil { exit(128 + signal.rawValue) }
            first = signal
            worker.cancel()
        }
        return first
    }
    let outcome = await worker.result
    listener.cancel()
    if let signal = await listener.value { throw ExitCode(128 + signal.rawValue) }
    return try outcome.get()
}
