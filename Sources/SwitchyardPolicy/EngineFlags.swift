/// The llama-server flags that decide who can reach the engine: the gateway sets them itself
/// (loopback only, a per-start key, no CORS for pages; docs/security.md), so `extra_args` may not.
/// They come after the gateway's own flags, and llama-server lets the last `--host` win and adds
/// every `--api-key` it is given, so one line of a policy could open the engine to the network
/// or to a key the gateway does not hold.
enum EngineFlags {
    static let gatewayOwned: Set<String> = [
        "--host", "--port", "--api-key", "--api-key-file", "--api-prefix",
        "--cors-origins", "--cors-methods", "--cors-headers", "--cors-credentials", "--no-cors-credentials",
    ]

    /// Why `argument` may not be passed, or nil. llama-server reads `_` in a flag as `-`.
    static func problem(_ argument: String) -> String? {
        guard argument.hasPrefix("--") else { return nil }
        let flag = String(argument.prefix { $0 != "=" }).replacing("_", with: "-")
        guard gatewayOwned.contains(flag) else { return nil }
        return "`extra_args` may not set \(flag): the gateway sets who can reach the engine (loopback only, with a key of its own)"
    }
}
