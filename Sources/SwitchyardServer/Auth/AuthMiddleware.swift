import HTTPTypes
import Hummingbird
import SwitchyardPolicy
import SwitchyardDecision
import SwitchyardExecution
import SwitchyardSignals
import SwitchyardWire

/// Identifies the caller from its API key (`Authorization: Bearer sy-…` or `x-api-key`) and puts
/// it on the request context, under the policy's `auth.mode`: `required` refuses a missing,
/// unknown or revoked key with 401; `optional` refuses only a bad key; `off` ignores keys.
struct AuthMiddleware: RouterMiddleware {
    typealias Context = GatewayRequestContext
    let live: LivePolicy
    let keys: (any KeyDirectory)?

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        // The request's one snapshot: its key is checked and its request served under the same policy.
        var context = context
        let snapshot = live.snapshot
        context.snapshot = snapshot
        let mode = snapshot.policy.auth.mode
        guard mode != .off else { return try await next(request, context) }
        guard let secret = Self.secret(request.headers) else {
            if mode == .required { throw GatewayError.unauthorized("No API key provided: send `Authorization: Bearer <key>` or `x-api-key`.") }
            return try await next(request, context)
        }
        guard let keys else { throw GatewayError.unauthorized("This gateway has no key store; no key can be valid.") }
        let lookup: KeyLookup
        do {
            lookup = try await keys.lookup(secret: secret)
        } catch {
            throw GatewayError(status: 503, code: "key_store_unavailable",
                           message: "The key store cannot be read: \(error)", retryAfterSeconds: 1)
        }
        switch lookup {
        case .valid(let key):
            context.key = key
            return try await next(request, context)
        case .unknown:
            throw GatewayError.unauthorized("Incorrect API key provided.", code: "invalid_api_key")
        case .revoked:
            throw GatewayError.unauthorized("This API key has been revoked.", code: "revoked_api_key")
        }
    }

    /// The key a client sent, from either header style (OpenAI's Bearer, Anthropic's x-api-key).
    static func secret(_ headers: HTTPFields) -> String? {
        if let authorization = headers[.authorization] {
            let parts = authorization.split(separator: " ", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == "bearer" {
                let token = parts[1].trimming(" ")
                if !token.isEmpty { return String(token) }
            }
        }
        if let value = headers[.xAPIKey], !value.isEmpty { return value }
        return nil
    }
}
