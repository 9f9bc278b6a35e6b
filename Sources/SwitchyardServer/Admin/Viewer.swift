import Hummingbird
import SwitchyardWire

/// Who is reading a report of the ledger: the admin sees everything; the holder of an API key
/// sees its own key's records only. Anyone else is refused, whatever the policy's `auth:` mode
/// (a report shows every caller's spend).
enum Viewer: Sendable {
    case admin
    case key(AuthenticatedKey)

    /// The key a report is limited to; nil for the admin.
    var keyID: String? {
        switch self {
        case .admin: nil
        case .key(let key): key.caller.keyID
        }
    }

    /// - Parameter refusal: what a caller with neither key is told (401).
    static func identify(_ request: Request, adminKey: OperatorSecret?, keys: LedgerKeyDirectory, refusal: String) async throws -> Viewer {
        if adminKey?.isSent(in: request) == true { return .admin }
        guard let secret = AuthMiddleware.secret(request.headers) else { throw GatewayError.unauthorized(refusal) }
        let found: KeyLookup
        do {
            found = try await keys.lookup(secret: secret)
        } catch {
            // A ledger that cannot be read is not a wrong key: say which (the admin API does the same).
            throw GatewayError.ledgerUnavailable(error)
        }
        guard case .valid(let key) = found, key.caller.keyID != nil else {
            throw GatewayError.unauthorized(refusal)
        }
        return .key(key)
    }
}
