import SwitchyardPolicy

/// The on-box engine as the local provider and the tokenizer reach it: where it listens now
/// (its port and key change with every start) and its phase. The engine supervisor implements
/// it (`SwitchyardServer` declares the conformance), so providers need no supervisor.
public protocol LocalEngineAccess: Sendable {
    /// Where the engine serves, with the header every request to it carries; nil while it is
    /// not ready (starting, restarting, stopped).
    var readyAddress: EngineAddress? { get }
    /// The engine's phase, for messages: `starting`, `ready`, `restarting`, …
    var phaseName: String { get }
    /// The policy's settings for it (its timeouts).
    var settings: LocalEngineSettings { get }
}

/// The engine's base URL and its credentials. Printing one never shows the key.
public struct EngineAddress: Sendable, CustomStringConvertible {
    public let baseURL: String
    public let authorization: (name: String, value: String)

    public init(baseURL: String, authorization: (name: String, value: String)) {
        self.baseURL = baseURL
        self.authorization = authorization
    }

    public var description: String { "\(baseURL) (key withheld)" }
}
