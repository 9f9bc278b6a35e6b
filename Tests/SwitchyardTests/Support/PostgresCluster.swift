import Synchronization
import Testing
import SwitchyardPolicy
import SwitchyardEval

#if canImport(Glibc)
import Glibc
#endif

/// A throwaway PostgreSQL cluster for the ledger tests: `initdb` into a temporary directory
/// (trust authentication, listening on a free loopback port, its socket in that directory),
/// started with `pg_ctl`, stopped with `pg_ctl stop -m immediate` and deleted afterwards.
/// `initdb` refuses to run as root, and tests run as root here and in CI: then the binaries run
/// as the `postgres` system user (`runuser`), in a directory given to that user. Missing
/// PostgreSQL is a failure with a message saying what to install, never a skip.
///
/// One cluster serves a whole suite (the `.postgresCluster` trait); each test takes a fresh
/// database of its own with `createDatabase()`.
final class PostgresCluster: Sendable {
    /// The cluster of the suite being run (set by `.postgresCluster`).
    @TaskLocal static var current: PostgresCluster?

    let directory: String
    let port: Int
    private let binaries: String
    private let runAsPostgres: Bool
    private let databases = Atomic<Int>(0)

    static let user = "postgres"

    private init(directory: String, port: Int, binaries: String, runAsPostgres: Bool) {
        self.directory = directory
        self.port = port
        self.binaries = binaries
        self.runAsPostgres = runAsPostgres
    }

    /// The cluster of the current suite; fails the test if the suite lacks `.postgresCluster`.
    static func require() throws -> PostgresCluster {
        guard let cluster = current else { throw FixtureError("this suite needs the .postgresCluster trait") }
        return cluster
    }

    /// The newest installed PostgreSQL's `bin` directory (Debian: /usr/lib/postgresql/VERSION/bin).
    static func binaryDirectory() throws -> String {
        let root = "/usr/lib/postgresql"
        var versions: [Int] = []
        if let dir = opendir(root) {
            while let entry = readdir(dir) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                if let version = Int(name), access("\(root)/\(name)/bin/initdb", X_OK) == 0, access("\(root)/\(name)/bin/pg_ctl", X_OK) == 0 {
                    versions.append(version)
                }
            }
            closedir(dir)
        }
        guard let newest = versions.max() else {
            throw FixtureError("PostgreSQL is not installed (no initdb/pg_ctl under \(root)/*/bin): run scripts/setup.sh, or apt-get install postgresql")
        }
        return "\(root)/\(newest)/bin"
    }

    static func start() async throws -> PostgresCluster {
        let binaries = try binaryDirectory()
        let runAsPostgres = geteuid() == 0
        await reapOrphans(binaries: binaries, runAsPostgres: runAsPostgres)
        let directory = try Fixtures.temporaryDirectory()
        try Fixtures.writeFile(directory + "/" + ownerFile, "\(getpid())\n")
        if runAsPostgres {
            guard let account = getpwnam(user) else {
                throw FixtureError("running as root, but there is no `\(user)` system user to run PostgreSQL as (the postgresql package creates it)")
            }
            guard chown(directory, account.pointee.pw_uid, account.pointee.pw_gid) == 0 else {
                throw FixtureError("cannot give \(directory) to \(user): \(String(cString: strerror(errno)))")
            }
        }
        let probe = PostgresCluster(directory: directory, port: 0, binaries: binaries, runAsPostgres: runAsPostgres)
        do {
            try await probe.run("initdb", ["-D", probe.dataDirectory, "-A", "trust", "-U", user, "-E", "UTF8", "--locale=C", "--no-sync"])
        } catch {
            await probe.remove()
            throw error
        }
        // A free port can be taken between the probe and the start: try a few.
        var lastError: any Error = FixtureError("no port")
        for _ in 0..<3 {
            let cluster = PostgresCluster(directory: directory, port: try freePort(), binaries: binaries, runAsPostgres: runAsPostgres)
            do {
                try await cluster.run("pg_ctl", ["-D", cluster.dataDirectory, "-l", directory + "/server.log", "-w", "-t", "60",
                                                 "-o", "-p \(cluster.port) -k \(directory) -c listen_addresses=127.0.0.1", "start"])
                return cluster
            } catch {
                lastError = error
            }
        }
        await probe.remove()
        throw lastError
    }

    var dataDirectory: String { directory + "/data" }

    /// Names the test process that owns a cluster's directory.
    private static let ownerFile = "owner.pid"

    /// Clusters left running by a test process that died (a crash skips the suite's teardown):
    /// stopped and deleted, so they do not pile up. Only those whose owner is gone.
    private static func reapOrphans(binaries: String, runAsPostgres: Bool) async {
        guard let tmp = opendir("/tmp") else { return }
        var candidates: [String] = []
        while let entry = readdir(tmp) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name.hasPrefix("switchyard-test-") { candidates.append("/tmp/" + name) }
        }
        closedir(tmp)
        for directory in candidates {
            guard let owner = TextFile.read(directory + "/" + ownerFile).flatMap({ pid_t($0.filter(\.isNumber)) }),
                  kill(owner, 0) != 0, errno == ESRCH else { continue }
            let orphan = PostgresCluster(directory: directory, port: 0, binaries: binaries, runAsPostgres: runAsPostgres)
            if access(orphan.dataDirectory + "/postmaster.pid", F_OK) == 0 {
                try? await orphan.run("pg_ctl", ["-D", orphan.dataDirectory, "-m", "immediate", "-w", "stop"])
            }
            await orphan.remove()
        }
    }

    /// A new, empty database; its name.
    func createDatabase() async throws -> String {
        let name = "ledger_\(databases.wrappingAdd(1, ordering: .relaxed).newValue)"
        try await run("createdb", ["-h", "127.0.0.1", "-p", "\(port)", "-U", Self.user, name])
        return name
    }

    /// Drops a database, closing its connections (`dropdb --force`): the database "goes away".
    func dropDatabase(_ name: String) async throws {
        try await run("dropdb", ["-h", "127.0.0.1", "-p", "\(port)", "-U", Self.user, "--force", name])
    }

    /// Stops the server at once (no checkpoint: it is thrown away) and deletes the directory.
    func stop() async {
        do {
            try await run("pg_ctl", ["-D", dataDirectory, "-m", "immediate", "-w", "stop"])
        } catch {
            Issue.record("stopping the PostgreSQL cluster: \(error)")
        }
        await remove()
    }

    private func remove() async {
        guard let rm = try? ChildProcess.spawn(executable: "/bin/rm", arguments: ["-rf", directory], logPath: "/dev/null") else { return }
        _ = await rm.wait(timeout: .seconds(30))
    }

    /// Runs a PostgreSQL binary to completion (as `postgres` when we are root), bounded to 90 s.
    private func run(_ tool: String, _ arguments: [String]) async throws {
        let log = "\(directory)/\(tool)-\(UInt32.random(in: 0 ... .max)).log"
        let executable = "\(binaries)/\(tool)"
        let child = runAsPostgres
            ? try ChildProcess.spawn(executable: "/usr/sbin/runuser", arguments: ["-u", Self.user, "--", executable] + arguments, logPath: log)
            : try ChildProcess.spawn(executable: executable, arguments: arguments, logPath: log)
        guard let exit = await child.wait(timeout: .seconds(90)) else {
            child.signal(SIGKILL)
            _ = await child.wait(timeout: .seconds(5))
            throw FixtureError("\(tool) did not finish in 90 s: \(TextFile.read(log) ?? "")")
        }
        guard exit == .exited(0) else {
            let server = TextFile.read(directory + "/server.log") ?? ""
            throw FixtureError("\(tool) \(arguments.joined(separator: " ")) \(exit):\n\(TextFile.read(log) ?? "")\n\(server.suffix(2000))")
        }
    }

    /// A loopback port nothing listens on right now.
    private static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw FixtureError("socket: \(errno)") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw FixtureError("bind: \(errno)") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else { throw FixtureError("getsockname: \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

/// Starts one throwaway PostgreSQL cluster around a whole suite, and stops it after.
struct PostgresClusterTrait: SuiteTrait, TestScoping {
    var isRecursive: Bool { false }

    func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        let cluster = try await PostgresCluster.start()
        try await finally({ try await PostgresCluster.$current.withValue(cluster) { try await function() } }, then: cluster.stop)
    }
}

extension Trait where Self == PostgresClusterTrait {
    /// A throwaway PostgreSQL cluster for the suite (`PostgresCluster.require()` in its tests).
    static var postgresCluster: Self { Self() }
}
