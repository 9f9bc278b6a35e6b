/// The forms `server.allowed_hosts` and `server.allowed_origins` take, checked at load. The
/// gateway compares them with what browsers send (`SwitchyardServer.BrowserGuard`): host names
/// and origins in lower case, which is how browsers write them.
public enum BrowserAccess {
    /// A DNS name (`gateway.example.com`, a trailing dot allowed) or `*` for any host. No port:
    /// the port is not what DNS rebinding changes.
    public static func hostProblem(_ entry: String) -> String? {
        if entry == "*" { return nil }
        var name = Substring(entry)
        if name.hasSuffix(".") { name = name.dropLast() }
        let labels = name.split(separator: ".", omittingEmptySubsequences: false)
        let valid = !name.isEmpty && name.count <= 253 && labels.allSatisfy { label in
            !label.isEmpty && label.count <= 63 && label.first != "-" && label.last != "-"
                && label.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" }
        }
        if valid { return nil }
        return "`allowed_hosts` takes lower-case host names without a port (e.g. `gateway.example.com`), or `*` for any host; got '\(entry)'"
    }

    /// `http://` or `https://`, a lower-case host and an optional port: what a browser sends in
    /// `Origin`. Not `*` (that would be CORS for every page) nor `null` (sandboxed frames and
    /// local files all send it).
    static func originProblem(_ entry: String) -> String? {
        if entry == "*" || entry == "null" {
            return "`allowed_origins` lists origins one by one (e.g. `https://app.example.com`): '\(entry)' would let any page in"
        }
        let rest: Substring
        if entry.hasPrefix("https://") { rest = entry.dropFirst(8) } else if entry.hasPrefix("http://") { rest = entry.dropFirst(7) } else {
            return "an origin in `allowed_origins` starts with http:// or https:// (e.g. `https://app.example.com`); got '\(entry)'"
        }
        var host = rest
        if let colon = rest.lastIndex(of: ":"), !rest.hasSuffix("]") {
            host = rest[..<colon]
            guard let port = Int(rest[rest.index(after: colon)...]), (1...65535).contains(port) else {
                return "the port of origin '\(entry)' in `allowed_origins` must be a number from 1 to 65535"
            }
        }
        let bracketed = host.hasPrefix("[") && host.hasSuffix("]") && host.count > 2
            && host.dropFirst().dropLast().unicodeScalars.allSatisfy { ("0"..."9").contains($0) || ("a"..."f").contains($0) || $0 == ":" || $0 == "." }
        if !bracketed, hostProblem(String(host)) != nil || host == "*" || host.hasSuffix(".") {
            return "an origin in `allowed_origins` is scheme://host[:port] in lower case, with no path (e.g. `https://app.example.com`); got '\(entry)'"
        }
        return nil
    }
}
