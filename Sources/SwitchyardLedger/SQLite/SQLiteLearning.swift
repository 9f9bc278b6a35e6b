import SQLiteNIO

/// The learning loop's tables in SQLite (migration 2): labels, calibration versions, answers
/// a caller may rate. Writes go through the writer's batches like every other.
extension SQLiteLedger {
    func recordLabel(_ label: LabelRecord) async throws -> Int64? {
        let binds: [SQLiteData] = [
            .text(label.requestID), .text(label.source), .text(label.target), .text(FeatureText.encode(label.features)),
            .float(label.score), label.propensity.map(SQLiteData.float) ?? .null, .integer(label.calibrationVersion),
            .integer(label.streamed ? 1 : 0), .integer(Int(label.recordedAt.milliseconds)),
        ]
        return try await write { connection in
            try connection.rows(SQL.insertLabel, binds).first.map { try SQLiteValues.Reader(row: $0).integer("seq") }
        }
    }

    func labels(target: String, after: Int64, newest limit: Int) async throws -> [(sequence: Int64, label: LabelRecord)] {
        let rows = try await read { try await $0.rows(SQL.labels, [.text(target), .integer(Int(after)), .integer(max(0, limit))]) }
        return try rows.reversed().map { row in
            let r = SQLiteValues.Reader(row: row)
            return (try r.integer("seq"), LabelRecord(
                requestID: try r.text("request_id"), source: try r.text("source"), target: try r.text("target"),
                features: try FeatureText.decode(try r.text("features"), column: "labels.features"), score: try r.real("score"),
                propensity: try r.optionalReal("propensity"), calibrationVersion: Int(try r.integer("calibration_version")),
                streamed: try r.integer("streamed") != 0, recordedAt: UnixTime(milliseconds: try r.integer("recorded_at"))))
        }
    }

    func labelCounts(target: String) async throws -> [String: Int] {
        let rows = try await read { try await $0.rows(SQL.labelCounts, [.text(target)]) }
        return try Dictionary(uniqueKeysWithValues: rows.map { row in
            let r = SQLiteValues.Reader(row: row)
            return (try r.text("source"), Int(try r.integer("n")))
        })
    }

    func saveCalibration(_ c: CalibrationRecord) async throws -> Bool {
        let binds: [SQLiteData] = [
            .text(c.target), .integer(c.version), c.model.map(SQLiteData.text) ?? .null, .integer(Int(c.fittedThrough)),
            .integer(c.labelsUsed), .integer(Int(c.adoptedAt.milliseconds)), .text(c.report), .text(c.target), .integer(c.version),
        ]
        return try await write { connection in !(try connection.rows(SQL.insertNextCalibration, binds)).isEmpty }
    }

    func latestCalibration(target: String) async throws -> CalibrationRecord? {
        let rows = try await read { try await $0.rows(SQL.latestCalibration, [.text(target)]) }
        return try rows.first.map { row in
            let r = SQLiteValues.Reader(row: row)
            return CalibrationRecord(target: try r.text("target"), version: Int(try r.integer("version")), model: try r.optionalText("model"),
                                     fittedThrough: try r.integer("fitted_through"), labelsUsed: Int(try r.integer("labels_used")),
                                     adoptedAt: UnixTime(milliseconds: try r.integer("adopted_at")), report: try r.text("report"))
        }
    }

    func rememberAnswer(_ a: AnswerFeatures) async throws {
        let binds: [SQLiteData] = [
            .text(a.requestID), SQLiteValues.text(a.keyID), .text(a.target), .text(FeatureText.encode(a.features)),
            .integer(a.calibrationVersion), .integer(a.streamed ? 1 : 0), .integer(Int(a.createdAt.milliseconds)),
        ]
        try await write { try $0.run(SQL.rememberAnswer, binds) }
    }

    func rememberedAnswer(requestID: String) async throws -> AnswerFeatures? {
        let rows = try await read { try await $0.rows(SQL.rememberedAnswer, [.text(requestID)]) }
        return try rows.first.map { row in
            let r = SQLiteValues.Reader(row: row)
            return AnswerFeatures(requestID: try r.text("request_id"), keyID: try r.optionalText("key_id"), target: try r.text("target"),
                                  features: try FeatureText.decode(try r.text("features"), column: "answer_features.features"),
                                  calibrationVersion: Int(try r.integer("calibration_version")), streamed: try r.integer("streamed") != 0,
                                  createdAt: UnixTime(milliseconds: try r.integer("created_at")))
        }
    }

    func forgetAnswers(before: UnixTime) async throws -> Int {
        try await write { try $0.rows(SQL.forgetAnswers, [.integer(Int(before.milliseconds))]).count }
    }

    private enum SQL {
        static let insertLabel = """
            INSERT INTO labels (request_id, source, target, features, score, propensity, calibration_version, streamed, recorded_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (request_id, source) DO NOTHING RETURNING seq
            """
        /// The newest first (the caller reverses them): a window over the latest labels.
        static let labels = """
            SELECT seq, request_id, source, target, features, score, propensity, calibration_version, streamed, recorded_at
            FROM labels WHERE target = ? AND seq > ? ORDER BY seq DESC LIMIT ?
            """
        static let labelCounts = "SELECT source, COUNT(*) AS n FROM labels WHERE target = ? GROUP BY source"
        /// Inserted only when it is the next version: replicas that refit at once store one.
        static let insertNextCalibration = """
            INSERT INTO calibrations (target, version, model, fitted_through, labels_used, adopted_at, report)
            SELECT ?, ?, ?, ?, ?, ?, ?
            WHERE (SELECT COALESCE(MAX(version), 0) FROM calibrations WHERE target = ?) = ? - 1
            ON CONFLICT DO NOTHING RETURNING version
            """
        static let latestCalibration = """
            SELECT target, version, model, fitted_through, labels_used, adopted_at, report
            FROM calibrations WHERE target = ? ORDER BY version DESC LIMIT 1
            """
        static let rememberAnswer = """
            INSERT OR REPLACE INTO answer_features (request_id, key_id, target, features, calibration_version, streamed, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            """
        static let rememberedAnswer = """
            SELECT request_id, key_id, target, features, calibration_version, streamed, created_at
            FROM answer_features WHERE request_id = ?
            """
        static let forgetAnswers = "DELETE FROM answer_features WHERE created_at < ? RETURNING request_id"
    }
}
