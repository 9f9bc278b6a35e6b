import SQLiteNIO

/// Stored responses in SQLite (migration 3).
extension SQLiteLedger {
    func saveResponse(_ r: StoredResponse) async throws {
        let binds: [SQLiteData] = [
            .text(r.id), SQLiteValues.text(r.keyID), .text(r.items), .text(r.response),
            .integer(Int(r.createdAt.milliseconds)), .integer(Int(r.expiresAt.milliseconds)),
        ]
        try await write { try $0.run(SQL.saveResponse, binds) }
    }

    func storedResponse(id: String) async throws -> StoredResponse? {
        let rows = try await read { try await $0.rows(SQL.storedResponse, [.text(id)]) }
        return try rows.first.map { row in
            let r = SQLiteValues.Reader(row: row)
            return StoredResponse(id: try r.text("id"), keyID: try r.optionalText("key_id"), items: try r.text("items"),
                                  response: try r.text("response"), createdAt: UnixTime(milliseconds: try r.integer("created_at")),
                                  expiresAt: UnixTime(milliseconds: try r.integer("expires_at")))
        }
    }

    func deleteResponse(id: String) async throws -> Bool {
        try await write { !(try $0.rows(SQL.deleteResponse, [.text(id)])).isEmpty }
    }

    func forgetResponses(expiredBefore now: UnixTime) async throws -> Int {
        try await write { try $0.rows(SQL.forgetResponses, [.integer(Int(now.milliseconds))]).count }
    }

    private enum SQL {
        static let saveResponse = """
            INSERT OR REPLACE INTO responses (id, key_id, items, response, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)
            """
        static let storedResponse = "SELECT id, key_id, items, response, created_at, expires_at FROM responses WHERE id = ?"
        static let deleteResponse = "DELETE FROM responses WHERE id = ? RETURNING id"
        static let forgetResponses = "DELETE FROM responses WHERE expires_at < ? RETURNING id"
    }
}
