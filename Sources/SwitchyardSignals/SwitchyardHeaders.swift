/// The `x-switchyard-NAME` request headers, as the `tenant`, `team` and `header.NAME` signals read
/// them: by NAME in lower case (HTTP field names are case-insensitive). The one place a header
/// name becomes a signal's.
public enum SwitchyardHeaders {
    public static let prefix = "x-switchyard-"

    /// NAME of an `x-switchyard-NAME` field name, lower-cased; nil for any other field.
    public static func signalName(ofField field: String) -> String? {
        let lower = field.lowercased()
        guard lower.hasPrefix(prefix), lower.count > prefix.count else { return nil }
        return String(lower.dropFirst(prefix.count))
    }

    /// NAME as a policy test or `--header` writes it: `x-switchyard-app`, `X-Switchyard-App` or `app`.
    public static func signalName(ofTestHeader name: String) -> String {
        signalName(ofField: name) ?? name.lowercased()
    }
}
