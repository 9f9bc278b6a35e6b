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

    /// The variables of `environment` that the engine may see.
    func filter(_ environment: [String: String]) -> [String: String] {
        environment.filter { name, _ in
            !Self.looksLikeSecret(name) && (names.contains(name) || prefixes.contains { name.hasPrefix($0) })
        }
    }

    /// Credential-shaped names (`*_KEY` covers `*_API_KEY` and `SWITCHYARD_ADMIN_KEY`): never
    /// passed, whatever the allowlist says.
    static func looksLikeSecret(_ name: String) -> Bool {
        let upper = name.uppercased()
        return upper.hasSuffix("_KEY") || upper.hasSuffix("_TOKEN")
            || ["SECRET", "PASSWORD", "CREDENTIAL"].contains { upper.contains($0) }
    }
}
