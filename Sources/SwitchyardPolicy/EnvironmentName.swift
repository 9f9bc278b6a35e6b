/// The settings that name an environment variable (`api_key_env`, `ledger.postgres_url_env`)
/// take its name, never the secret it holds. An operator who pastes the key itself there would
/// otherwise see it come back in every message that names the variable ("sk-proj-… is not
/// set": 503 bodies, `x-switchyard-fallback`, `/readyz`, the start-up log), so such a value is
/// refused at load, and the refusal does not quote it either.
enum EnvironmentName {
    /// Why `value` cannot name an environment variable, or nil when it can. Names are POSIX's
    /// portable ones: upper-case letters, digits and `_`, not starting with a digit, at most 128
    /// characters. Every key format in use has a lower-case letter or a `-` in it.
    static func problem(_ value: String, field: String) -> String? {
        let scalars = Array(value.unicodeScalars)
        let wellFormed = scalars.count <= 128 && scalars.first.map { !("0"..."9").contains($0) } == true
            && scalars.allSatisfy { ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "_" }
        if wellFormed { return nil }
        if looksLikeSecret(scalars) {
            return "`\(field)` names the environment variable that holds a secret, but this value looks like the secret itself "
                + "(not shown here): put it in an environment variable and name that here, e.g. `\(field): OPENAI_API_KEY`"
        }
        return "`\(field)` must name an environment variable: upper-case letters, digits and `_`, not starting with a digit "
            + "(e.g. OPENAI_API_KEY)"
    }

    /// Long, or shaped like a key (`sk-…`, `sk_…`, a URL with a password): then the refusal says
    /// what probably happened.
    private static func looksLikeSecret(_ scalars: [Unicode.Scalar]) -> Bool {
        let text = String(String.UnicodeScalarView(scalars)).lowercased()
        return scalars.count >= 20 || text.hasPrefix("sk-") || text.hasPrefix("sk_") || text.contains("://")
    }
}
