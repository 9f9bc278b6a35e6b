import PostgresNIO

/// Stored responses in PostgreSQL (migration 3), shared by replicas.
extension PostgresLedger {
    func saveResponse(_ r: StoredResponse) async throws {
        let logger = logger
        let query: PostgresQuery = """
            INSERT INTO responses (id, key_id, items, response, created_at, expires_at)
            VALUES (\(r.id), \(r.keyID), \(r.items), \(r.response), \(r.createdAt.milliseconds), \(r.expiresAt.milliseconds))
            ON CONFLICT (id) DO UPDATE SET key_id = excluded.key_id, items = excluded.items, response = excluded.response,
                created_at = excluded.created_at, expires_at = excluded.expires_at
            """
        try await transaction { connection in
            _ = try await connection.rows(query, logger: logger)
            return .commit(())
        }
    }

    func storedResponse(id: String) async throws -> StoredResponse? {
        try await read("SELECT id, key_id, items, response, created_at, expires_at FROM responses WHERE id = \(id)").first.map { row in
            let r = row.makeRandomAccess()
            return StoredResponse(id: try r["id"].decode(String.self), keyID: try r["key_id"].decode(String?.self),
                                  items: try r["items"].decode(String.self), response: try r["response"].decode(String.self),
                                  createdAt: UnixTime(milliseconds: try r["created_at"].decode(Int64.self)),
                                  expiresAt: UnixTime(milliseconds: try r["expires_at"].decode(Int64.self)))
        }
    }

    func deleteResponse(id: String) async throws -> Bool {
        let logger = logger
        return try await transaction { connection in
            .commit(try await connection.rows("DELETE FROM responses WHERE id = \(id) RETURNING id", logger: logger).reduce(0) { n, _ in n + 1 } > 0)
        }
    }

    func forgetResponses(expiredBefore now: UnixTime) async throws -> Int {
        let logger = logger
        return try await transaction { connection in
            .commit(try await connection.rows("DELETE FROM responses WHERE expires_at < \(now.milliseconds) RETURNING id",
                                              logger: logger).reduce(0) { n, _ in n + 1 })
        }
    }
}
