import Crypto
import Hummingbird
import SwitchyardLedger
import SwitchyardWire

/// `/v1/switchyard/keys` (create, list, show, revoke) for the holder of the admin key
/// (`SWITCHYARD_ADMIN_KEY`), and `/v1/switchyard/usage` for the admin (everything) or a caller
/// with its own key (its own usage only). Without an admin key configured, the key API is off.
struct AdminAPI: Sendable {
    let ledger: any LedgerStore
    let keys: LedgerKeyDirectory
    /// SHA-256 of the admin key: compared by digest, so timing says nothing about the key.
    let adminKeyDigest: [UInt8]?

    init(ledger: any LedgerStore, keys: LedgerKeyDirectory, adminKey: String?) {
        self.ledger = ledger
        self.keys = keys
        adminKeyDigest = adminKey.flatMap { $0.isEmpty ? nil : Array(SHA256.hash(data: Array($0.utf8))) }
    }

    private func isAdmin(_ request: Request) -> Bool {
        guard let adminKeyDigest, let secret = AuthMiddleware.secret(request.headers) else { return false }
        return Array(SHA256.hash(data: Array(secret.utf8))) == adminKeyDigest
    }

    private func requireAdmin(_ request: Request) throws(GatewayError) {
        guard adminKeyDigest != nil else {
            throw GatewayError(status: 403, code: "admin_disabled",
                           message: "The admin API is off: set SWITCHYARD_ADMIN_KEY to enable it.")
        }
        guard isAdmin(request) else { throw .unauthorized("This endpoint needs the admin key.", code: "invalid_admin_key") }
    }

    func createKey(_ request: Request) async throws -> Response {
        try requireAdmin(request)
        let body = try await request.body.collect(upTo: 64 << 10)
        let json: JSON
        do { json = try JSON.parse(body.readableBytesView) } catch { throw GatewayError(jsonError: error) }
        guard case .object(let object) = json else { throw GatewayError.invalidRequest("The body must be a JSON object.") }
        var spec = KeySpec(name: object["name"]?.stringValue ?? "")
        spec.tenant = object["tenant"]?.stringValue
        spec.team = object["team"]?.stringValue
        spec.budgetUSD = object["budget_usd"]?.doubleValue
        if let period = object["period"]?.stringValue {
            guard let value = BudgetPeriod(rawValue: period) else { throw GatewayError.invalidRequest("'period' must be day, month or total.", param: "period") }
            spec.period = value
        }
        spec.rpm = object["rpm"]?.intValue
        spec.tpm = object["tpm"]?.intValue
        spec.models = object["models"]?.arrayValue?.compactMap(\.stringValue)
        let (secret, record) = try await KeyIssuer.issue(spec, in: ledger)
        return Self.json(LedgerJSON.key(record, secret: secret), status: .created)
    }

    func listKeys(_ request: Request) async throws -> Response {
        try requireAdmin(request)
        let all = try await ledger.keys()
        return Self.json(.object(["object": .string("list"), "data": .array(all.map { LedgerJSON.key($0) })]))
    }

    func showKey(_ request: Request, id: String) async throws -> Response {
        try requireAdmin(request)
        guard let record = try await ledger.key(id: id) else { throw GatewayError(status: 404, code: "key_not_found", message: "No key '\(id)'.") }
        return Self.json(LedgerJSON.key(record))
    }

    func revokeKey(_ request: Request, id: String) async throws -> Response {
        try requireAdmin(request)
        guard try await ledger.revokeKey(id: id, at: .now) else {
            throw GatewayError(status: 404, code: "key_not_found", message: "No active key '\(id)'.")
        }
        keys.invalidate()
        guard let record = try await ledger.key(id: id) else { throw GatewayError.internalError("revoked key vanished") }
        return Self.json(LedgerJSON.key(record))
    }

    /// `GET /v1/switchyard/usage?group_by=key|tenant|model|route|day&since=…&until=…` (dates as
    /// YYYY-MM-DD, UTC; until exclusive). A caller's own key sees only its own usage.
    func usage(_ request: Request) async throws -> Response {
        var query = UsageQuery(groupBy: .model)
        if !isAdmin(request) {
            guard let secret = AuthMiddleware.secret(request.headers), case .valid(let key) = try await keys.lookup(secret: secret) else {
                throw GatewayError.unauthorized("Usage needs the admin key, or a valid API key for its own usage.")
            }
            query.keyID = key.caller.keyID
        }
        let parameters = request.uri.queryParameters
        if let group = parameters["group_by"] {
            guard let value = UsageQuery.GroupBy(rawValue: String(group)) else {
                throw GatewayError.invalidRequest("'group_by' must be one of key, tenant, model, route, day.", param: "group_by")
            }
            query.groupBy = value
        }
        func date(_ name: String) throws(GatewayError) -> UnixTime? {
            guard let text = parameters[Substring(name)] else { return nil }
            guard let date = UnixTime(utcDay: String(text)) else { throw .invalidRequest("'\(name)' must be a date, YYYY-MM-DD.", param: name) }
            return date
        }
        query.since = try date("since")
        query.until = try date("until")
        return Self.json(LedgerJSON.usage(try await ledger.usage(query), groupBy: query.groupBy))
    }

    static func json(_ value: JSON, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: value.serialized())))
    }
}
