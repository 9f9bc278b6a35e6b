#if canImport(Glibc)
import Glibc
#endif

/// Whether `serve --host` keeps the gateway on this machine. A gateway without authentication
/// (`auth: {mode: off}`) lets whoever reaches it spend the cloud budget, so it listens beyond
/// loopback only when the operator says so (`--allow-unauthenticated`), and shows its metrics
/// without a token only on loopback.
public enum ListenAddress {
    /// `localhost`, any 127.0.0.0/8 address, `::1` (bracketed or not) and `::ffff:127.x.y.z`.
    /// Anything else is not loopback: `0.0.0.0`, `::`, a public address, or a host name, which
    /// may resolve anywhere.
    public static func isLoopback(_ host: String) -> Bool {
        let name = unbracketed(host)
        if name.lowercased() == "localhost" { return true }
        var v4 = in_addr()
        if inet_pton(AF_INET, name, &v4) == 1 {
            return UInt32(bigEndian: v4.s_addr) >> 24 == 127
        }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, name, &v6) == 1 else { return false }
        let bytes = withUnsafeBytes(of: v6) { Array($0) }
        if bytes == Array(repeating: 0, count: 15) + [1] { return true }
        // An IPv4-mapped loopback address.
        return bytes[0..<10].allSatisfy { $0 == 0 } && bytes[10] == 0xff && bytes[11] == 0xff && bytes[12] == 127
    }

    /// An IPv4 or IPv6 address written out (IPv6 bracketed or not), not a name.
    static func isIPLiteral(_ host: String) -> Bool {
        let name = unbracketed(host)
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, name, &v4) == 1 || inet_pton(AF_INET6, name, &v6) == 1
    }

    private static func unbracketed(_ host: String) -> String {
        host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
    }
}
