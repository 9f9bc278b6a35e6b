/// Responses the Responses front keeps (`store: true`, its default), so that a later request
/// can continue one (`previous_response_id`) and its creator can read or delete it. In the ledger,
/// so that SQLite and PostgreSQL both work and replicas share them (docs/api.md, "The Responses front").
public protocol ResponseLedger: Sendable {
    /// Stores a response, replacing one with the same id.
    func saveResponse(_ response: StoredResponse) async throws
    /// The response with this id, expired or not (the caller checks its key and expiry).
    func storedResponse(id: String) async throws -> StoredResponse?
    /// Deletes it; false when there was none.
    func deleteResponse(id: String) async throws -> Bool
    /// Deletes the responses that expired before `now`; returns how many.
    func forgetResponses(expiredBefore now: UnixTime) async throws -> Int
}

/// A stored response: the whole conversation it answered and its answer, as JSON text (the
/// ledger reads no wire format), the key that created it and when it expires.
public struct StoredResponse: Sendable, Equatable {
    /// `resp_…`.
    public var id: String
    /// Only this key may continue, read or delete it (nil: made without a key).
    public var keyID: String?
    /// The conversation's items, earlier ones first, as a JSON array.
    public var items: String
    /// The `response` object as the client received it.
    public var response: String
    public var createdAt: UnixTime
    public var expiresAt: UnixTime

    public init(id: String, keyID: String?, items: String, response: String, createdAt: UnixTime, expiresAt: UnixTime) {
        self.id = id
        self.keyID = keyID
        self.items = items
        self.response = response
        self.createdAt = createdAt
        self.expiresAt = expiresAt
    }
}
