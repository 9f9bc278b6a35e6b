#if canImport(Glibc)
import Glibc
#endif

/// The secret one start of llama-server demands of every request but `/health`: without it, any
/// local process or web page that finds the engine's loopback port could use the model directly,
/// past the gateway's keys, rate limits, `deny` rules, ledger and admission.
///
/// A new one for each start, never logged, never on `/readyz`. llama-server reads it from a file
/// (`--api-key-file`), so it is not on the engine's command line, which `/proc/PID/cmdline` shows to
/// every local user; the file is made 0600 in the state directory and removed once the engine is
/// up. (The environment would do as well against other users, but every child llama-server spawns
/// would inherit it.)
struct EngineKey: Sendable {
    let secret: String

    /// 32 bytes from the system's CSPRNG (`getrandom(2)` on Linux), in hex.
    static func random() -> EngineKey {
        var generator = SystemRandomNumberGenerator()
        let digits = Array("0123456789abcdef")
        var secret = ""
        for _ in 0..<32 {
            let byte = UInt8.random(in: 0...255, using: &generator)
            secret.append(digits[Int(byte >> 4)])
            secret.append(digits[Int(byte & 0xf)])
        }
        return EngineKey(secret: secret)
    }
}

/// Where an engine start's key waits for llama-server to read it.
struct EngineKeyFile: Sendable {
    let path: String

    /// Replaces any earlier file with one only the gateway's user can read. `O_EXCL` and
    /// `O_NOFOLLOW` after the unlink: a link planted at the path is never followed.
    func write(_ key: EngineKey) -> Bool {
        remove()
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        let bytes = Array((key.secret + "\n").utf8)
        return bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) } == bytes.count
    }

    func remove() { unlink(path) }
}

/// How the gateway reaches a ready engine: its loopback URL and the key it demands.
public struct EngineEndpoint: Sendable, CustomStringConvertible {
    public let baseURL: String
    let key: EngineKey

    /// The header every request to the engine carries (llama-server reads `Authorization: Bearer`).
    public var authorization: (name: String, value: String) { ("Authorization", "Bearer \(key.secret)") }

    /// Never the key, should an endpoint end up interpolated into a log line or an error.
    public var description: String { "\(baseURL) (key withheld)" }
}
