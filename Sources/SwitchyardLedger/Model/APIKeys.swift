import Crypto
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Making and hashing API key secrets.
public enum APIKeys {
    /// A new key: the secret to hand to its owner once, and the fields its record keeps.
    /// The secret is "sy-" and 43 URL-safe base64 characters of 32 random bytes (256 bits, from
    /// the system's cryptographic generator); the id comes from separate random bytes, so it
    /// says nothing about the secret.
    public static func generate() -> (secret: String, id: String, hash: String, prefix: String) {
        var generator = SystemRandomNumberGenerator()
        let secretBytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        let idBytes = (0..<6).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        let secret = "sy-" + base64URL(secretBytes)
        return (secret, "key_" + Hex.encode(idBytes), hash(secret), String(secret.prefix(8)))
    }

    /// Hex SHA-256 of a secret. Requests are authenticated by looking this up (an index probe on
    /// a hash), never by comparing secrets, so no comparison's timing depends on a secret.
    public static func hash(_ secret: String) -> String {
        Hex.encode(SHA256.hash(data: Array(secret.utf8)))
    }

    /// URL-safe base64 without padding (RFC 4648 §5): secrets go in HTTP headers, shells and
    /// config files, where `+`, `/` and `=` get in the way.
    static func base64URL(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString()
            .replacing("+", with: "-")
            .replacing("/", with: "_")
            .replacing("=", with: "")
    }
}
