/// The environment llama-server starts with: an allowlist, never the gateway's own environment.
///
/// The gateway's environment holds cloud API keys and its admin key. The engine needs none of
/// them, and whatever it gets can be read back from `/proc/PID/environ` by anything running as
/// the same user and outlives the gateway in an orphaned engine. So the engine gets what a
/// process needs to run, find its shared libraries and pick a locale, plus the variables an
/// operator sets for llama.cpp itself (`LLAMA_ARG_*`, `GGML_*`), and nothing else. A name that
/// looks like a credential is dropped even under those prefixes: `LLAMA_API_KEY`, for one, would
/// also make llama-server demand a key that the gateway does not send.
struct EngineEnvironment: Sendable, Equatable {
    /// Passed as they are when set.
    var names: Set<String>
    /// Passed when a name starts with one of them.
    var prefixes: [String]

    static let allowlist = EngineEnvironment(
        names: ["PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "LD_LIBRARY_PATH"],
        prefixes: ["LLAMA_", "GGML_"]
    )

    /// Set by the gateway over whatever the operator's environment says. llama-server's CORS
    /// default reflects any `Origin`, credentials allowed; this makes it name one origin no page
    /// can have (`.invalid` is reserved, RFC 2606), and it reflects nothing then. It also turns
    /// off the web UI, which the gateway never uses. Environment variables rather than flags: a
    /// llama-server too old to know them ignores them, where an unknown flag would stop it from
    /// starting. The engine's key (`EngineKey`) is what keeps pages and processes out; this keeps
    /// a page from reading an answer even so.
    static let lockdown = [
        "LLAMA_ARG_CORS_ORIGINS": "https://engine.switchyard.invalid",
        "LLAMA_ARG_UI": "0",
    ]

    /// The variables of `environment` that the engine may see.
    func filter(_ environment: [String: String]) -> [String: String] {
        environment.filter { name, _ in
            !Self.looksLikeSecret(name) && (names.contains(name) || prefixes.contains { name.hasPrefix($0) })
        }
    }

    /// Credential-shaped names (`*_KEY` covers `*_API_KEY` and `SWITCHYARD_ADMIN_KEY`): never
    /// passed, whatever the allowlist says. `API_KEY` anywhere also drops `LLAMA_ARG_API_KEY_FILE`,
    /// which would add keys of the operator's beside the gateway's own.
    static func looksLikeSecret(_ name: String) -> Bool {
        let upper = name.uppercased()
        return upper.hasSuffix("_KEY") || upper.hasSuffix("_TOKEN")
            || ["SECRET", "PASSWORD", "CREDENTIAL", "API_KEY"].contains { upper.contains($0) }
    }
}
