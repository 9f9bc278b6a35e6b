import PostgresNIO

/// The learning loop's tables in PostgreSQL (migration 2), shared by every replica: one label
/// sequence, and calibration versions stored only as the next one, so replicas that refit at
/// the same moment agree on a single newest version.
extension PostgresLedger {
    func recordLabel(_ label: LabelRecord) async throws -> Int64? {
        let logger = logger
        let query: PostgresQuery = """
            INSERT INTO labels (request_id, source, target, features, score, propensity, calibration_version, streamed, recorded_at)
            VALUES (\(label.requestID), \(label.source), \(label.target), \(label.features), \(label.score), \(label.propensity),
                \(Int64(label.calibrationVersion)), \(label.streamed), \(label.recordedAt.milliseconds))
            ON CONFLICT (request_id, source) DO NOTHING RETURNING seq
            """
        return try await transaction { connection in
            .commit(try await connection.rows(query, logger: logger).first?.decode(Int64.self))
        }
    }

    func labels(target: String, after: Int64, newest limit: Int) async throws -> [(sequence: Int64, label: LabelRecord)] {
        let rows = try await read("""
            SELECT seq, request_id, source, target, features, score, propensity, calibration_version, streamed, recorded_at
            FROM labels WHERE target = \(target) AND seq > \(after) ORDER BY seq DESC LIMIT \(Int64(max(0, limit)))
            """)
        return try rows.reversed().map { row in
            let r = row.makeRandomAccess()
            let features = try r["features"].decode([Double].self)
            guard features.allSatisfy(\.isFinite) else { throw LedgerError.unreadable("labels.features") }
            return (try r["seq"].decode(Int64.self), LabelRecord(
                requestID: try r["request_id"].decode(String.self), source: try r["source"].decode(String.self),
                target: try r["target"].decode(String.self), features: features, score: try r["score"].decode(Double.self),
                propensity: try r["propensity"].decode(Double?.self), calibrationVersion: Int(try r["calibration_version"].decode(Int64.self)),
                streamed: try r["streamed"].decode(Bool.self), recordedAt: UnixTime(milliseconds: try r["recorded_at"].decode(Int64.self))))
        }
    }

    func labelCounts(target: String) async throws -> [String: Int] {
        let rows = try await read("SELECT source, COUNT(*) AS n FROM labels WHERE target = \(target) GROUP BY source")
        return try Dictionary(uniqueKeysWithValues: rows.map { row in
            let (source, n) = try row.decode((String, Int64).self)
            return (source, Int(n))
        })
    }

    func saveCalibration(_ c: CalibrationRecord) async throws -> Bool {
        let logger = logger
        return try await transaction { connection in
            // One version at a time per target, whichever replica gets the lock first.
            _ = try await connection.rows("SELECT pg_advisory_xact_lock(hashtext(\("switchyard-calibration:" + c.target)))", logger: logger)
            let newest = try await connection.rows("SELECT COALESCE(MAX(version), 0) FROM calibrations WHERE target = \(c.target)",
                                                   logger: logger).first?.decode(Int64.self) ?? 0
            guard newest == Int64(c.version) - 1 else { return .rollback(false) }
            _ = try await connection.rows("""
                INSERT INTO calibrations (target, version, model, fitted_through, labels_used, adopted_at, report)
                VALUES (\(c.target), \(Int64(c.version)), \(c.model), \(c.fittedThrough), \(Int64(c.labelsUsed)),
                    \(c.adoptedAt.milliseconds), \(c.report))
                """, logger: logger)
            return .commit(true)
        }
    }

    func latestCalibration(target: String) async throws -> CalibrationRecord? {
        try await read("""
            SELECT target, version, model, fitted_through, labels_used, adopted_at, report
            FROM calibrations WHERE target = \(target) ORDER BY version DESC LIMIT 1
            """).first.map { row in
            let r = row.makeRandomAccess()
            return CalibrationRecord(target: try r["target"].decode(String.self), version: Int(try r["version"].decode(Int64.self)),
                                     model: try r["model"].decode(String?.self), fittedThrough: try r["fitted_through"].decode(Int64.self),
                                     labelsUsed: Int(try r["labels_used"].decode(Int64.self)),
                                     adoptedAt: UnixTime(milliseconds: try r["adopted_at"].decode(Int64.self)),
                                     report: try r["report"].decode(String.self))
        }
    }

    func rememberAnswer(_ a: AnswerFeatures) async throws {
        let logger = logger
        let query: PostgresQuery = """
            INSERT INTO answer_features (request_id, key_id, target, features, calibration_version, streamed, created_at)
            VALUES (\(a.requestID), \(a.keyID), \(a.target), \(a.features), \(Int64(a.calibrationVersion)), \(a.streamed),
                \(a.createdAt.milliseconds))
            ON CONFLICT (request_id) DO UPDATE SET key_id = excluded.key_id, target = excluded.target, features = excluded.features,
                calibration_version = excluded.calibration_version, streamed = excluded.streamed, created_at = excluded.created_at
            """
        try await transaction { connection in
            _ = try await connection.rows(query, logger: logger)
            return .commit(())
        }
    }

    func rememberedAnswer(requestID: String) async throws -> AnswerFeatures? {
        try await read("""
            SELECT request_id, key_id, target, features, calibration_version, streamed, created_at
            FROM answer_features WHERE request_id = \(requestID)
            """).first.map { row in
            let r = row.makeRandomAccess()
            let features = try r["features"].decode([Double].self)
            guard features.allSatisfy(\.isFinite) else { throw LedgerError.unreadable("answer_features.features") }
            return AnswerFeatures(requestID: try r["request_id"].decode(String.self), keyID: try r["key_id"].decode(String?.self),
                                  target: try r["target"].decode(String.self), features: features,
                                  calibrationVersion: Int(try r["calibration_version"].decode(Int64.self)),
                                  streamed: try r["streamed"].decode(Bool.self),
                                  createdAt: UnixTime(milliseconds: try r["created_at"].decode(Int64.self)))
        }
    }

    func forgetAnswers(before: UnixTime) async throws -> Int {
        let logger = logger
        return try await transaction { connection in
            .commit(try await connection.rows("DELETE FROM answer_features WHERE created_at < \(before.milliseconds) RETURNING request_id",
                                              logger: logger).reduce(0) { n, _ in n + 1 })
        }
    }
}
