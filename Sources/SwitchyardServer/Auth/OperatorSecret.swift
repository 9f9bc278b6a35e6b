import Crypto
import Hummingbird

/// A secret the operator sets in the environment (the admin key, the metrics token), kept as its
/// SHA-256 and compared by digest, so timing says nothing about it. Clients send it as a bearer
/// token or in `x-api-key`.
struct OperatorSecret: Sendable {
    private let digest: [UInt8]

    /// Nil when unset or empty: that secret is off.
    init?(_ value: String?) {
        guard let value, !value.isEmpty else { return nil }
        digest = Array(SHA256.hash(data: Array(value.utf8)))
    }

    func isSent(in request: Request) -> Bool {
        guard let secret = AuthMiddleware.secret(request.headers) else { return false }
        return Array(SHA256.hash(data: Array(secret.utf8))) == digest
    }
}
