import Logging

/// Keeps every log record on one line, whatever it quotes. Log lines carry what clients and
/// upstreams wrote (a requested model, a role in an error message, an upstream's error text): a
/// newline in one would start a record of the client's own making in the log, and an ANSI escape
/// would rewrite the operator's terminal. So the record is escaped here, in the one handler every
/// logger of the process writes through (`serve` installs it when it bootstraps logging), rather
/// than at each call site, where one forgotten interpolation would reopen the hole.
///
/// The message, every metadata key and value (nested ones too), the logger's own metadata, its
/// metadata provider's and the error's text are escaped before the wrapped handler formats them.
public struct EscapingLogHandler: LogHandler {
    private var wrapped: any LogHandler
    public var metadata: Logger.Metadata
    public var metadataProvider: Logger.MetadataProvider?

    /// Takes over `wrapped`'s metadata and provider, so that nothing reaches it unescaped.
    public init(_ wrapped: any LogHandler) {
        var wrapped = wrapped
        metadata = wrapped.metadata
        metadataProvider = wrapped.metadataProvider
        wrapped.metadata = [:]
        if wrapped.metadataProvider != nil { wrapped.metadataProvider = nil }
        self.wrapped = wrapped
    }

    public var logLevel: Logger.Level {
        get { wrapped.logLevel }
        set { wrapped.logLevel = newValue }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var all = metadata
        if let provided = metadataProvider?.get() { all.merge(provided) { $1 } }
        if let explicit = event.metadata { all.merge(explicit) { $1 } }
        if let error = event.error {
            all["error.message"] = "\(error)"
            all["error.type"] = "\(String(reflecting: type(of: error)))"
        }
        var escaped = event
        escaped.message = "\(LogText.escaped(event.message.description))"
        escaped.metadata = all.isEmpty ? nil : LogText.escaped(all)
        escaped.error = nil
        wrapped.log(event: escaped)
    }
}

/// The escaping `EscapingLogHandler` applies.
enum LogText {
    /// `text` with every character that could break a line or drive a terminal written out:
    /// `\n`, `\r`, `\t`, and `\u{XXXX}` for other controls (C0, DEL, C1), the Unicode line and
    /// paragraph separators and the bidirectional overrides. Text without them is returned as it is.
    static func escaped(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: needsEscape) else { return text }
        var out = ""
        out.reserveCapacity(text.utf8.count + 16)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where needsEscape(scalar): out += "\\u{\(String(scalar.value, radix: 16))}"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    static func escaped(_ metadata: Logger.Metadata) -> Logger.Metadata {
        var out: Logger.Metadata = [:]
        for (key, value) in metadata { out[escaped(key)] = escaped(value) }
        return out
    }

    static func escaped(_ value: Logger.MetadataValue) -> Logger.MetadataValue {
        switch value {
        case .string(let text): .string(escaped(text))
        case .stringConvertible(let item): .string(escaped(item.description))
        case .dictionary(let metadata): .dictionary(escaped(metadata))
        case .array(let values): .array(values.map(escaped))
        }
    }

    private static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00...0x1F, 0x7F...0x9F, 0x2028, 0x2029, 0x202A...0x202E, 0x2066...0x2069: true
        default: false
        }
    }
}
