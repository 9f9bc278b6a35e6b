import SwitchyardPolicy

#if canImport(Glibc)
import Glibc
#endif

/// A pid recorded on disk, so that a gateway killed with SIGKILL does not leave its
/// llama-server running: nothing tells a child that its parent died, so the next start
/// finds the record and stops the orphan.
struct PidFile: Sendable {
    let path: String

    func record(_ pid: pid_t) {
        guard let file = fopen(path, "w") else { return }
        fputs("\(pid)\n", file)
        fclose(file)
    }

    func remove() { unlink(path) }

    /// Stops a process left behind by an earlier run, if it is still a llama-server.
    /// Returns its pid when one was found and stopped.
    ///
    /// The orphan is not our child (init adopted it), so there is no exit status to wait for:
    /// this checks every 30 ms for at most 3 s, then sends SIGKILL. It runs once per start.
    func reapOrphan(executableName: String) async -> pid_t? {
        defer { remove() }
        guard let text = TextFile.read(path), let pid = pid_t(text.split(separator: "\n").first ?? ""), pid > 1 else { return nil }
        guard let cmdline = TextFile.read("/proc/\(pid)/cmdline"), cmdline.contains(executableName) else { return nil }
        kill(pid, SIGTERM)
        for _ in 0..<100 {
            if !Self.isRunning(pid) { return pid }
            try? await Task.sleep(for: .milliseconds(30))
        }
        kill(pid, SIGKILL)
        return pid
    }

    /// Alive and not a zombie waiting for its parent to reap it.
    static func isRunning(_ pid: pid_t) -> Bool {
        guard kill(pid, 0) == 0, let stat = TextFile.read("/proc/\(pid)/stat"), let close = stat.lastIndex(of: ")") else { return false }
        let state = stat[stat.index(after: close)...].drop { $0 == " " }.first
        return state != "Z" && state != "X"
    }
}
