/// Every SQL statement the SQLite store runs, and its schema migrations. Money, tokens and times
/// are INTEGER columns (nano-dollars, counts, Unix milliseconds); tables are STRICT, so SQLite
/// refuses a value of the wrong type instead of storing it.
enum SQLiteSQL {
    /// Numbered migrations, applied in order, each once (`ledger_migrations` remembers them).
    /// Never edit one that has shipped: add the next.
    static let migrations: [(version: Int, statements: [String])] = [
        (1, [
            """
            CREATE TABLE api_keys (
                id TEXT PRIMARY KEY,
                name TEXT NOT NULL,
                hash TEXT NOT NULL UNIQUE,
                prefix TEXT NOT NULL,
                tenant TEXT,
                team TEXT,
                budget INTEGER,
                period TEXT NOT NULL,
                rpm INTEGER,
                tpm INTEGER,
                models TEXT,
                created_at INTEGER NOT NULL,
                revoked_at INTEGER
            ) STRICT
            """,
            """
            CREATE TABLE attempts (
                id TEXT PRIMARY KEY,
                request_id TEXT NOT NULL,
                key_id TEXT,
                tenant TEXT,
                team TEXT,
                rule TEXT NOT NULL,
                target TEXT NOT NULL,
                tier TEXT NOT NULL,
                prompt_tokens INTEGER NOT NULL,
                completion_tokens INTEGER NOT NULL,
                cost INTEGER NOT NULL,
                cost_estimated INTEGER NOT NULL,
                reference_cost INTEGER NOT NULL,
                latency_ms INTEGER NOT NULL,
                outcome TEXT NOT NULL,
                escalation_reason TEXT,
                started_at INTEGER NOT NULL,
                ended_at INTEGER
            ) STRICT
            """,
            "CREATE INDEX attempts_request ON attempts (request_id)",
            "CREATE INDEX attempts_started ON attempts (started_at)",
            "CREATE INDEX attempts_key_started ON attempts (key_id, started_at)",
            "CREATE INDEX attempts_tenant_started ON attempts (tenant, started_at)",
            "CREATE INDEX attempts_in_progress ON attempts (started_at) WHERE outcome = 'in_progress'",
            """
            CREATE TABLE budget_usage (
                scope_kind TEXT NOT NULL,
                scope_id TEXT NOT NULL,
                period_key TEXT NOT NULL,
                spent INTEGER NOT NULL DEFAULT 0,
                reserved INTEGER NOT NULL DEFAULT 0,
                PRIMARY KEY (scope_kind, scope_id, period_key)
            ) STRICT, WITHOUT ROWID
            """,
            """
            CREATE TABLE reservations (
                id TEXT PRIMARY KEY,
                amount INTEGER NOT NULL,
                state TEXT NOT NULL CHECK (state IN ('held', 'settled', 'released')),
                actual INTEGER,
                created_at INTEGER NOT NULL,
                finished_at INTEGER
            ) STRICT
            """,
            "CREATE INDEX reservations_held ON reservations (created_at) WHERE state = 'held'",
            """
            CREATE TABLE reservation_scopes (
                reservation_id TEXT NOT NULL REFERENCES reservations (id) ON DELETE CASCADE,
                scope_kind TEXT NOT NULL,
                scope_id TEXT NOT NULL,
                period_key TEXT NOT NULL,
                PRIMARY KEY (reservation_id, scope_kind, scope_id, period_key)
            ) STRICT, WITHOUT ROWID
            """,
        ]),
        // The learning loop (SQLiteLearning).
        (2, [
            """
            CREATE TABLE labels (
                seq INTEGER PRIMARY KEY AUTOINCREMENT,
                request_id TEXT NOT NULL,
                source TEXT NOT NULL CHECK (source IN ('escalation', 'shadow', 'feedback')),
                target TEXT NOT NULL,
                features TEXT NOT NULL,
                score REAL NOT NULL CHECK (score >= 0 AND score <= 1),
                propensity REAL CHECK (propensity > 0 AND propensity <= 1),
                calibration_version INTEGER NOT NULL,
                streamed INTEGER NOT NULL,
                recorded_at INTEGER NOT NULL,
                UNIQUE (request_id, source)
            ) STRICT
            """,
            "CREATE INDEX labels_target ON labels (target, seq)",
            """
            CREATE TABLE calibrations (
                target TEXT NOT NULL,
                version INTEGER NOT NULL,
                model TEXT,
                fitted_through INTEGER NOT NULL,
                labels_used INTEGER NOT NULL,
                adopted_at INTEGER NOT NULL,
                report TEXT NOT NULL,
                PRIMARY KEY (target, version)
            ) STRICT, WITHOUT ROWID
            """,
            """
            CREATE TABLE answer_features (
                request_id TEXT PRIMARY KEY,
                key_id TEXT,
                target TEXT NOT NULL,
                features TEXT NOT NULL,
                calibration_version INTEGER NOT NULL,
                streamed INTEGER NOT NULL,
                created_at INTEGER NOT NULL
            ) STRICT
            """,
            "CREATE INDEX answer_features_created ON answer_features (created_at)",
        ]),
        // Stored responses of the Responses front (SQLiteResponses).
        (3, [
            """
            CREATE TABLE responses (
                id TEXT PRIMARY KEY,
                key_id TEXT,
                items TEXT NOT NULL,
                response TEXT NOT NULL,
                created_at INTEGER NOT NULL,
                expires_at INTEGER NOT NULL
            ) STRICT
            """,
            "CREATE INDEX responses_expiry ON responses (expires_at)",
        ]),
    ]

    /// Pragmas for every connection. WAL lets readers run beside the one writer; a busy timeout
    /// replaces sqlite-nio's default busy handler, which retries without sleeping.
    static let connectionPragmas = ["PRAGMA busy_timeout = 5000", "PRAGMA foreign_keys = ON"]
    /// The writer's: WAL (persistent in the file), and commits durable against a killed process
    /// without an fsync each (see `LedgerStore.record`).
    static let writerPragmas = ["PRAGMA journal_mode = WAL", "PRAGMA synchronous = NORMAL"]
    /// What the file's journal mode is, once the writer asked for WAL.
    static let journalMode = "PRAGMA journal_mode"
    /// Readers never write, whatever a bug asks.
    static let readerPragmas = ["PRAGMA query_only = ON"]

    static let begin = "BEGIN IMMEDIATE"
    static let commit = "COMMIT"
    static let rollback = "ROLLBACK"
    /// One name serves every write's savepoint: they follow each other, never nest.
    static let savepoint = "SAVEPOINT job"
    static let releaseSavepoint = "RELEASE job"
    static let rollbackToSavepoint = "ROLLBACK TO job"

    // MARK: Migrations

    static let createMigrations = "CREATE TABLE IF NOT EXISTS ledger_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL) STRICT"
    static let schemaVersion = "SELECT COALESCE(MAX(version), 0) AS version FROM ledger_migrations"
    static let recordMigration = "INSERT INTO ledger_migrations (version, applied_at) VALUES (?, ?)"

    // MARK: Keys

    static let keyColumns = "id, name, hash, prefix, tenant, team, budget, period, rpm, tpm, models, created_at, revoked_at"
    static let insertKey = "INSERT INTO api_keys (\(keyColumns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id"
    static let keyByHash = "SELECT \(keyColumns) FROM api_keys WHERE hash = ?"
    static let keyByID = "SELECT \(keyColumns) FROM api_keys WHERE id = ?"
    static let allKeys = "SELECT \(keyColumns) FROM api_keys ORDER BY created_at, id"
    static let revokeKey = "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL RETURNING id"

    // MARK: Budgets

    static let budgetRow = "SELECT spent, reserved FROM budget_usage WHERE scope_kind = ? AND scope_id = ? AND period_key = ?"
    static let addReserved = """
        INSERT INTO budget_usage (scope_kind, scope_id, period_key, spent, reserved) VALUES (?, ?, ?, 0, ?)
        ON CONFLICT (scope_kind, scope_id, period_key) DO UPDATE SET reserved = reserved + excluded.reserved
        """
    /// Moves `held` out of reserved and adds `actual` to spent (held is 0 for a dropped reservation).
    static let settleBudget = """
        UPDATE budget_usage SET reserved = reserved - ?, spent = spent + ?
        WHERE scope_kind = ? AND scope_id = ? AND period_key = ?
        """
    static let releaseBudget = """
        UPDATE budget_usage SET reserved = reserved - ?
        WHERE scope_kind = ? AND scope_id = ? AND period_key = ?
        """
    static let reservation = "SELECT amount, state FROM reservations WHERE id = ?"
    static let insertReservation = "INSERT INTO reservations (id, amount, state, created_at) VALUES (?, ?, 'held', ?)"
    static let insertReservationScope = "INSERT INTO reservation_scopes (reservation_id, scope_kind, scope_id, period_key) VALUES (?, ?, ?, ?)"
    static let reservationScopes = "SELECT scope_kind, scope_id, period_key FROM reservation_scopes WHERE reservation_id = ?"
    static let finishReservation = "UPDATE reservations SET state = ?, actual = ?, finished_at = ? WHERE id = ?"
    /// Held reservations made before a time, with what each holds where.
    static let staleReservations = """
        SELECT r.id AS id, r.amount AS amount, s.scope_kind AS scope_kind, s.scope_id AS scope_id, s.period_key AS period_key
        FROM reservations r LEFT JOIN reservation_scopes s ON s.reservation_id = r.id
        WHERE r.state = 'held' AND r.created_at < ?
        """

    // MARK: Attempts

    /// The upsert of one attempt, prepared once by the writer and run per attempt.
    static let upsertAttempt = """
        INSERT INTO attempts (\(AttemptTable.columnList)) VALUES (\(AttemptTable.columns.map { _ in "?" }.joined(separator: ", ")))
        \(AttemptTable.onConflict)
        """

    static let attemptsOfRequest = "SELECT \(AttemptTable.columnList) FROM attempts WHERE request_id = ? ORDER BY started_at, id"
    static let interruptAttempts = "UPDATE attempts SET outcome = 'interrupted' WHERE outcome = 'in_progress' AND started_at < ? RETURNING id"

    /// The usage report: one row per group. `day` groups by the day number (Unix ms / 86 400 000),
    /// which the store turns into a date; conditions are added only for the filters given, so
    /// the indexes on (key_id, started_at) and (started_at) apply.
    static func usage(_ query: UsageQuery) -> String {
        let group = switch query.groupBy {
        case .key: "COALESCE(key_id, '')"
        case .tenant: "COALESCE(tenant, '')"
        case .model: "target"
        case .route: "tier"
        case .day: "CAST(started_at / 86400000 AS TEXT)"
        }
        var conditions: [String] = []
        if query.keyID != nil { conditions.append("key_id = ?") }
        if query.since != nil { conditions.append("started_at >= ?") }
        if query.until != nil { conditions.append("started_at < ?") }
        return """
            SELECT \(group) AS grp,
                COUNT(DISTINCT request_id) AS requests,
                COUNT(*) AS attempts,
                SUM(prompt_tokens) AS prompt_tokens,
                SUM(completion_tokens) AS completion_tokens,
                SUM(cost) AS spend,
                COUNT(DISTINCT CASE WHEN tier = 'cloud' THEN request_id END) AS cloud_requests,
                SUM(CASE WHEN tier = 'local' AND outcome = 'served' THEN reference_cost ELSE 0 END) AS savings
            FROM attempts
            \(conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND "))
            GROUP BY grp
            """
    }
}
