import Logging
import SwitchyardLedger
import SwitchyardPolicy
import SwitchyardSignals
import SwitchyardWire

/// Where the Responses front keeps answers (`store: true`, the API's default) and finds the one
/// a request continues (`previous_response_id`): the ledger, so replicas share them. A stored
/// response belongs to the key that made it: to any other caller it does not exist (404, the
/// same as an unknown id, so ids cannot be probed). It lives `server.response_retention`.
struct ResponseStore: Sendable {
    /// Nil when the gateway runs without a ledger: nothing is kept, and a continuation is refused.
    let ledger: (any LedgerStore)?
    let live: LivePolicy
    let logger: Logger

    /// The items of the response `id` and then its output: what a continuation of it starts with.
    func earlierItems(continuing id: String, caller: Caller) async throws(GatewayError) -> [JSON] {
        let stored = try await find(id, caller: caller, param: "previous_response_id")
        guard let response = try? JSON.parse(stored.response), case .array(let output)? = response["output"] else {
            throw GatewayError.internalError("the stored response '\(id)' could not be read")
        }
        return try items(of: stored) + output
    }

    /// The page `list` asks for of the items the response `id` was made from (`GET …/input_items`).
    func inputItems(of id: String, caller: Caller, list: ResponsesInputItems) async throws(GatewayError) -> JSONObject {
        let stored = try await find(id, caller: caller)
        return try list.page(of: try items(of: stored), responseID: id)
    }

    /// The conversation's items a stored response was made from.
    private func items(of stored: StoredResponse) throws(GatewayError) -> [JSON] {
        guard case .array(let items)? = try? JSON.parse(stored.items) else {
            throw GatewayError.internalError("the stored response '\(stored.id)' could not be read")
        }
        return items
    }

    /// The stored response, if `caller` may see it and it has not expired.
    func find(_ id: String, caller: Caller, param: String? = nil) async throws(GatewayError) -> StoredResponse {
        guard let ledger else {
            throw GatewayError.invalidRequest("Responses are not stored: the gateway runs without a ledger (docs/policy.md, `ledger`).",
                                              param: param)
        }
        let stored: StoredResponse?
        do { stored = try await ledger.storedResponse(id: id) } catch { throw GatewayError.ledgerUnavailable(error) }
        guard let stored, stored.keyID == caller.keyID, stored.expiresAt > .now else {
            throw GatewayError(status: 404, code: "response_not_found", message: "No response with id '\(id)' found.", param: param)
        }
        return stored
    }

    /// Keeps an answer with the conversation it answered, when its request asked (`store`) and
    /// the gateway can. A failure is logged, not the client's: the answer stands.
    func keep(_ response: JSONObject, of call: ResponsesCall, caller: Caller) async {
        guard call.request.store, let ledger, let id = response["id"]?.stringValue else { return }
        let now = UnixTime.now
        let retention = live.snapshot.policy.server.responseRetention
        let expiry = UnixTime(milliseconds: now.milliseconds + retention.wholeMilliseconds)
        let stored = StoredResponse(id: id, keyID: caller.keyID, items: JSON.array(call.conversation.items).text,
                                    response: JSON.object(response).text, createdAt: now, expiresAt: expiry)
        do {
            try await ledger.saveResponse(stored)
            // Expired responses go as new ones come: no timer, and a bounded amount each time.
            if UInt8.random(in: 0...63) == 0 { _ = try await ledger.forgetResponses(expiredBefore: now) }
        } catch {
            logger.warning("a response could not be stored", metadata: ["response_id": "\(id)", "error": "\(error)"])
        }
    }

    func delete(_ id: String, caller: Caller) async throws(GatewayError) {
        _ = try await find(id, caller: caller)
        do { _ = try await ledger?.deleteResponse(id: id) } catch { throw GatewayError.ledgerUnavailable(error) }
    }
}
