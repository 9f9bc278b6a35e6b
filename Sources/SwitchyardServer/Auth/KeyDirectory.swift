import SwitchyardRouter

/// A key as the gateway enforces it: who it identifies and its rate limits.
struct AuthenticatedKey: Sendable, Equatable {
    var caller: Caller
    /// Requests and tokens per minute; nil: unlimited.
    var rpm: Int?
    var tpm: Int?
}

enum KeyLookup: Sendable, Equatable {
    case valid(AuthenticatedKey)
    case unknown
    case revoked
}

/// Looks keys up by their secret (hashed inside; a secret is never stored or logged).
protocol KeyDirectory: Sendable {
    func lookup(secret: String) async throws -> KeyLookup
}
