import Hummingbird
import Metrics
import SwitchyardLedger
import SwitchyardWire

/// `/v1/switchyard/keys` (create, list, show, revoke) for the holder of the admin key
/// (`SWITCHYARD_ADMIN_KEY`), and `/v1/switchyard/usage` for the admin (everything) or a caller
/// with its own key (its own usage only). Without an admin key configured, the key API is off.
struct AdminAPI: Sendable {
    let ledger: any LedgerStore
    let keys: LedgerKeyDirectory
    let adminKey: OperatorSecret?
    let writeFailures = Counter(label: "switchyard_ledger_write_failures_total")

    private func requireAdmin(_ request: Request) throws(GatewayError) { try Self.requireAdmin(request, adminKey: adminKey) }

    /// The admin key sent, or 403 (none configured) or 401.
    static func requireAdmin(_ request: Request, adminKey: OperatorSecret?) throws(GatewayError) {
        guard let adminKey else {
            throw GatewayError(status: 403, code: "admin_disabled",
                           message: "The admin API is off: set SWITCHYARD_ADMIN_KEY to enable it.")
        }
        guard adminKey.isSent(in: request) else { throw .unauthorized("This endpoint needs the admin key.", code: "invalid_admin_key") }
    }

    func createKey(_ request: Request) async throws -> Response {
        try requireAdmin(request)
        let body = try await request.body.collect(upTo: 64 << 10)
        let json: JSON
        do { json = try JSON.parse(body.readableBytesView) } catch { throw GatewayError(jsonError: error) }
        guard case .object(let object) = json else { throw GatewayError.invalidRequest("The body must be a JSON object.") }
        let spec = try Self.keySpec(FieldReader(object))
        let (secret, record) = try await write { try await KeyIssuer.issue(spec, in: ledger) }
        return Self.json(LedgerJSON.key(record, secret: secret), status: .created)
    }

    /// Every field read strictly: a key's restrictions are what the admin asked for or a 400, never
    /// a misspelt or mistyped field dropped into a key with no budget, no rate limit or any model.
    static func keySpec(_ fields: FieldReader) throws(GatewayError) -> KeySpec {
        try fields.onlyFields(["name", "tenant", "team", "budget_usd", "period", "rpm", "tpm", "models"])
        var spec = KeySpec(name: try fields.requiredString("name"))
        spec.tenant = try fields.string("tenant")
        spec.team = try fields.string("team")
        spec.budgetUSD = try fields.double("budget_usd", range: KeySpec.budgetRange)
        if let period = try fields.string("period") {
            guard let value = BudgetPeriod(rawValue: period) else { throw .invalidRequest("'period' must be day, month or total.", param: "period") }
            spec.period = value
        }
        spec.rpm = try fields.int("rpm", range: KeySpec.rateRange)
        spec.tpm = try fields.int("tpm", range: KeySpec.rateRange)
        spec.models = try fields.strings("models")
        return spec
    }

    func listKeys(_ request: Request) async throws -> Response {
        try requireAdmin(request)
        let all = try await read { try await ledger.keys() }
        return Self.json(.object(["object": .string("list"), "data": .array(all.map { LedgerJSON.key($0) })]))
    }

    func showKey(_ request: Request, id: String) async throws -> Response {
        try requireAdmin(request)
        guard let record = try await read({ try await ledger.key(id: id) }) else {
            throw GatewayError(status: 404, code: "key_not_found", message: "No key '\(id)'.")
        }
        return Self.json(LedgerJSON.key(record))
    }

    func revokeKey(_ request: Request, id: String) async throws -> Response {
        try requireAdmin(request)
        guard try await write({ try await ledger.revokeKey(id: id, at: .now) }) else {
            throw GatewayError(status: 404, code: "key_not_found", message: "No active key '\(id)'.")
        }
        keys.invalidate()
        guard let record = try await read({ try await ledger.key(id: id) }) else { throw GatewayError.internalError("revoked key vanished") }
        return Self.json(LedgerJSON.key(record))
    }

    /// `GET /v1/switchyard/usage?group_by=key|tenant|model|route|day&since=…&until=…` (dates as
    /// YYYY-MM-DD, UTC; until exclusive). A caller's own key sees only its own usage.
    func usage(_ request: Request) async throws -> Response {
        let viewer = try await Viewer.identify(request, adminKey: adminKey, keys: keys,
                                               refusal: "Usage needs the admin key, or a valid API key for its own usage.")
        var query = UsageQuery(groupBy: .model, keyID: viewer.keyID)
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
        return Self.json(LedgerJSON.usage(try await read { try await ledger.usage(query) }, groupBy: query.groupBy))
    }

    /// A change to the ledger; one that fails is counted with the other failed ledger writes and
    /// answered 503 naming the ledger, never with a success that did not happen.
    private func write<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as GatewayError {
            throw error  // the request's fault (a bad field), not the ledger's
        } catch {
            writeFailures.increment()
            throw GatewayError.ledgerUnavailable(error)
        }
    }

    /// A read of the ledger; one that fails is answered 503 naming the ledger.
    private func read<T>(_ body: () async throws -> T) async throws -> T {
        do { return try await body() } catch { throw GatewayError.ledgerUnavailable(error) }
    }


    static func json(_ value: JSON, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: value.serialized())))
    }
}
