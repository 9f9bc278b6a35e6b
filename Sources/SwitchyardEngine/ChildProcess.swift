import SwitchyardPolicy

#if canImport(Glibc)
import Glibc
#endif

/// A spawned child with its output sent to a log file. Its exit is observed by polling
/// `waitpid(WNOHANG)`, so nothing blocks a thread of the concurrency pool.
struct ChildProcess: Sendable {
    enum Exit: Sendable, Equatable, CustomStringConvertible {
        case exited(Int32)
        case signalled(Int32)

        var description: String {
            switch self {
            case .exited(let code): "exited with status \(code)"
            case .signalled(let signal): "killed by signal \(signal)"
            }
        }
    }

    struct SpawnError: Error, CustomStringConvertible {
        var description: String
    }

    let pid: pid_t

    /// Starts `executable` in its own process group (a Ctrl-C meant for the gateway does not
    /// reach it; the gateway stops it itself), stdin from /dev/null, stdout and stderr appended to `logPath`.
    static func spawn(executable: String, arguments: [String], logPath: String) throws -> ChildProcess {
        let logFD = open(logPath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard logFD >= 0 else { throw SpawnError(description: "cannot open log \(logPath): \(String(cString: strerror(errno)))") }
        defer { close(logFD) }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, logFD, 1)
        posix_spawn_file_actions_adddup2(&actions, logFD, 2)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        posix_spawnattr_setpgroup(&attributes, 0)
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var defaultSignals = sigset_t()
        sigfillset(&defaultSignals)
        posix_spawnattr_setsigdefault(&attributes, &defaultSignals)

        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for arg in argv { free(arg) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, executable, &actions, &attributes, argv, environ)
        guard rc == 0 else { throw SpawnError(description: "cannot start \(executable): \(String(cString: strerror(rc)))") }
        return ChildProcess(pid: pid)
    }

    /// The exit status if the child has exited (and reaps it), nil while it runs.
    func poll() -> Exit? {
        var status: Int32 = 0
        let rc = waitpid(pid, &status, WNOHANG)
        guard rc == pid else {
            // ECHILD: someone else reaped it; report it as gone.
            return rc < 0 && errno == ECHILD ? .exited(-1) : nil
        }
        return Self.decode(status)
    }

    func signal(_ signal: Int32) {
        kill(pid, signal)
    }

    /// SIGTERM, then SIGKILL if it has not exited within `grace`.
    func terminate(grace: Duration = .seconds(5)) async -> Exit {
        signal(SIGTERM)
        let clock = ContinuousClock()
        let deadline = clock.now + grace
        while clock.now < deadline {
            if let exit = poll() { return exit }
            try? await Task.sleep(for: .milliseconds(20))
        }
        signal(SIGKILL)
        while true {
            if let exit = poll() { return exit }
            try? await Task.sleep(for: .milliseconds(10))
        }
    }

    static func decode(_ status: Int32) -> Exit {
        let signal = status & 0x7f
        return signal == 0 ? .exited((status >> 8) & 0xff) : .signalled(signal)
    }
}

/// A pid recorded on disk, so that a gateway killed with SIGKILL does not leave its
/// llama-server running: the next start finds the record and stops the orphan.
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
    func reapOrphan(executableName: String) async -> pid_t? {
        defer { remove() }
        guard let text = TextFile.read(path), let pid = pid_t(text.split(separator: "\n").first ?? "") , pid > 1 else { return nil }
        guard let cmdline = TextFile.read("/proc/\(pid)/cmdline"), cmdline.contains(executableName) else { return nil }
        kill(pid, SIGTERM)
        for _ in 0..<100 {
            if !isRunning(pid) { return pid }
            try? await Task.sleep(for: .milliseconds(30))
        }
        kill(pid, SIGKILL)
        return pid
    }

    /// Alive and not a zombie waiting for its parent to reap it.
    private func isRunning(_ pid: pid_t) -> Bool {
        guard kill(pid, 0) == 0, let stat = TextFile.read("/proc/\(pid)/stat"), let close = stat.lastIndex(of: ")") else { return false }
        let state = stat[stat.index(after: close)...].drop { $0 == " " }.first
        return state != "Z" && state != "X"
    }
}

/// A loopback port nobody listens on right now (bind to port 0 and read what the kernel chose).
func freeLoopbackPort() -> Int? {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
    }
    guard bound == 0 else { return nil }
    let named = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    guard named == 0 else { return nil }
    return Int(UInt16(bigEndian: address.sin_port))
}
