import PostgresNIO

/// Every SQL statement the PostgreSQL store runs, and its schema migrations. Values are bound
/// (`\(value)` in a `PostgresQuery` is a `$n` parameter, never text spliced into SQL). Money,
/// tokens and times are BIGINT (nano-dollars, counts, Unix milliseconds).
enum PostgresSQL {
    /// Numbered migrations, applied in order, each once, in one transaction under an advisory
    /// lock (`ledger_migrations` remembers them). Never edit one that has shipped: add the next.
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
                budget BIGINT,
                period TEXT NOT NULL,
                rpm BIGINT,
                tpm BIGINT,
                models TEXT[],
                created_at BIGINT NOT NULL,
                revoked_at BIGINT
            )
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
                prompt_tokens BIGINT NOT NULL,
                completion_tokens BIGINT NOT NULL,
                cost BIGINT NOT NULL,
                cost_estimated BOOLEAN NOT NULL,
                reference_cost BIGINT NOT NULL,
                latency_ms BIGINT NOT NULL,
                outcome TEXT NOT NULL,
                escalation_reason TEXT,
                started_at BIGINT NOT NULL,
                ended_at BIGINT
            )
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
                spent BIGINT NOT NULL DEFAULT 0,
                reserved BIGINT NOT NULL DEFAULT 0,
                PRIMARY KEY (scope_kind, scope_id, period_key)
            )
            """,
            """
            CREATE TABLE reservations (
                id TEXT PRIMARY KEY,
                amount BIGINT NOT NULL,
                state TEXT NOT NULL CHECK (state IN ('held', 'settled', 'released')),
                actual BIGINT,
                created_at BIGINT NOT NULL,
                finished_at BIGINT
            )
            """,
            "CREATE INDEX reservations_held ON reservations (created_at) WHERE state = 'held'",
            """
            CREATE TABLE reservation_scopes (
                reservation_id TEXT NOT NULL REFERENCES reservations (id) ON DELETE CASCADE,
                scope_kind TEXT NOT NULL,
                scope_id TEXT NOT NULL,
                period_key TEXT NOT NULL,
                PRIMARY KEY (reservation_id, scope_kind, scope_id, period_key)
            )
            """,
        ]),
        // The learning loop (PostgresLearning).
        (2, [
            """
            CREATE TABLE labels (
                seq BIGSERIAL PRIMARY KEY,
                request_id TEXT NOT NULL,
                source TEXT NOT NULL CHECK (source IN ('escalation', 'shadow', 'feedback')),
                target TEXT NOT NULL,
                features DOUBLE PRECISION[] NOT NULL,
                score DOUBLE PRECISION NOT NULL CHECK (score >= 0 AND score <= 1),
                propensity DOUBLE PRECISION CHECK (propensity > 0 AND propensity <= 1),
                calibration_version BIGINT NOT NULL,
                streamed BOOLEAN NOT NULL,
                recorded_at BIGINT NOT NULL,
                UNIQUE (request_id, source)
            )
            """,
            "CREATE INDEX labels_target ON labels (target, seq)",
            """
            CREATE TABLE calibrations (
                target TEXT NOT NULL,
                version BIGINT NOT NULL,
                model TEXT,
                fitted_through BIGINT NOT NULL,
                labels_used BIGINT NOT NULL,
                adopted_at BIGINT NOT NULL,
                report TEXT NOT NULL,
                PRIMARY KEY (target, version)
            )
            """,
            """
            CREATE TABLE answer_features (
                request_id TEXT PRIMARY KEY,
                key_id TEXT,
                target TEXT NOT NULL,
                features DOUBLE PRECISION[] NOT NULL,
                calibration_version BIGINT NOT NULL,
                streamed BOOLEAN NOT NULL,
                created_at BIGINT NOT NULL
            )
            """,
            "CREATE INDEX answer_features_created ON answer_features (created_at)",
        ]),
        // Stored responses of the Responses front (PostgresResponses).
        (3, [
            """
            CREATE TABLE responses (
                id TEXT PRIMARY KEY,
                key_id TEXT,
                items TEXT NOT NULL,
                response TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                expires_at BIGINT NOT NULL
            )
            """,
            "CREATE INDEX responses_expiry ON responses (expires_at)",
        ]),
    ]

    /// The advisory lock migrations run under ("SwLedger"): one replica migrates, the others
    /// wait and then find nothing left to do.
    static let migrationLock: Int64 = 0x5377_4C65_6467_6572

    static let begin: PostgresQuery = "BEGIN"
    static let commit: PostgresQuery = "COMMIT"
    static let rollback: PostgresQuery = "ROLLBACK"

    // MARK: Migrations

    static var lockMigrations: PostgresQuery { "SELECT pg_advisory_xact_lock(\(migrationLock))" }
    static let createMigrations: PostgresQuery = "CREATE TABLE IF NOT EXISTS ledger_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)"
    static let schemaVersion: PostgresQuery = "SELECT COALESCE(MAX(version), 0)::BIGINT AS version FROM ledger_migrations"
    static func recordMigration(_ version: Int, at time: UnixTime) -> PostgresQuery {
        "INSERT INTO ledger_migrations (version, applied_at) VALUES (\(Int32(version)), \(time.milliseconds))"
    }

    // MARK: Keys

    static let keyColumns = "id, name, hash, prefix, tenant, team, budget, period, rpm, tpm, models, created_at, revoked_at"

    static func insertKey(_ key: APIKeyRecord) -> PostgresQuery {
        """
        INSERT INTO api_keys (\(unescaped: keyColumns)) VALUES (\(key.id), \(key.name), \(key.hash), \(key.prefix),
            \(key.tenant), \(key.team), \(key.budget?.value), \(key.period.rawValue), \(key.rpm.map(Int64.init)),
            \(key.tpm.map(Int64.init)), \(key.models), \(key.createdAt.milliseconds), \(key.revokedAt?.milliseconds))
        ON CONFLICT DO NOTHING RETURNING id
        """
    }

    static func key(hash: String) -> PostgresQuery { "SELECT \(unescaped: keyColumns) FROM api_keys WHERE hash = \(hash)" }
    static func key(id: String) -> PostgresQuery { "SELECT \(unescaped: keyColumns) FROM api_keys WHERE id = \(id)" }
    static var allKeys: PostgresQuery { "SELECT \(unescaped: keyColumns) FROM api_keys ORDER BY created_at, id" }
    static func revokeKey(id: String, at time: UnixTime) -> PostgresQuery {
        "UPDATE api_keys SET revoked_at = \(time.milliseconds) WHERE id = \(id) AND revoked_at IS NULL RETURNING id"
    }

    // MARK: Budgets

    static func budgetRow(_ row: BudgetRow) -> PostgresQuery {
        """
        SELECT spent, reserved FROM budget_usage
        WHERE scope_kind = \(row.kind) AND scope_id = \(row.id) AND period_key = \(row.periodKey)
        """
    }

    /// Adds `amount` to a budget row's reserved only if it still fits under `limit`, atomically
    /// (the conflicting row is locked, and the condition read from its latest version): a row
    /// back means reserved. The caller has checked amount ≤ limit for a row not yet there.
    static func reserveIfRoom(_ row: BudgetRow, amount: Nanodollars, limit: Nanodollars) -> PostgresQuery {
        """
        INSERT INTO budget_usage AS b (scope_kind, scope_id, period_key, spent, reserved)
        VALUES (\(row.kind), \(row.id), \(row.periodKey), 0, \(amount.value))
        ON CONFLICT (scope_kind, scope_id, period_key) DO UPDATE SET reserved = b.reserved + EXCLUDED.reserved
        WHERE b.spent + b.reserved + EXCLUDED.reserved <= \(limit.value)
        RETURNING 1 AS reserved
        """
    }

    static func settleBudget(_ row: BudgetRow, held: Nanodollars, actual: Nanodollars) -> PostgresQuery {
        """
        UPDATE budget_usage SET reserved = reserved - \(held.value), spent = spent + \(actual.value)
        WHERE scope_kind = \(row.kind) AND scope_id = \(row.id) AND period_key = \(row.periodKey)
        """
    }

    static func releaseBudget(_ row: BudgetRow, amount: Nanodollars) -> PostgresQuery {
        """
        UPDATE budget_usage SET reserved = reserved - \(amount.value)
        WHERE scope_kind = \(row.kind) AND scope_id = \(row.id) AND period_key = \(row.periodKey)
        """
    }

    /// Claims the id first: a concurrent reserve under the same id waits here, then finds it taken.
    static func insertReservation(id: String, amount: Nanodollars, at time: UnixTime) -> PostgresQuery {
        """
        INSERT INTO reservations (id, amount, state, created_at) VALUES (\(id), \(amount.value), 'held', \(time.milliseconds))
        ON CONFLICT (id) DO NOTHING RETURNING id
        """
    }

    static func insertReservationScopes(id: String, rows: [BudgetRow]) -> PostgresQuery {
        var binds = PostgresBindings(capacity: rows.count * 4)
        var values: [String] = []
        for (n, row) in rows.enumerated() {
            values.append("($\(4 * n + 1), $\(4 * n + 2), $\(4 * n + 3), $\(4 * n + 4))")
            binds.append(id)
            binds.append(row.kind)
            binds.append(row.id)
            binds.append(row.periodKey)
        }
        return PostgresQuery(unsafeSQL: """
            INSERT INTO reservation_scopes (reservation_id, scope_kind, scope_id, period_key) VALUES \(values.joined(separator: ", "))
            """, binds: binds)
    }

    /// Locks the reservation: a concurrent settle or release of the same id waits, then sees this one's result.
    static func lockReservation(id: String) -> PostgresQuery {
        "SELECT amount, state FROM reservations WHERE id = \(id) FOR UPDATE"
    }

    static func reservationScopes(id: String) -> PostgresQuery {
        "SELECT scope_kind, scope_id, period_key FROM reservation_scopes WHERE reservation_id = \(id)"
    }

    static func finishReservation(id: String, state: String, actual: Nanodollars?, at time: UnixTime) -> PostgresQuery {
        "UPDATE reservations SET state = \(state), actual = \(actual?.value), finished_at = \(time.milliseconds) WHERE id = \(id)"
    }

    /// Held reservations made before a time, locked; those another transaction is settling right
    /// now are skipped (they are alive).
    static func lockStaleReservations(before time: UnixTime) -> PostgresQuery {
        "SELECT id, amount FROM reservations WHERE state = 'held' AND created_at < \(time.milliseconds) FOR UPDATE SKIP LOCKED"
    }

    static func scopesOfReservations(ids: [String]) -> PostgresQuery {
        "SELECT reservation_id, scope_kind, scope_id, period_key FROM reservation_scopes WHERE reservation_id = ANY(\(ids))"
    }

    static func releaseReservations(ids: [String], at time: UnixTime) -> PostgresQuery {
        "UPDATE reservations SET state = 'released', finished_at = \(time.milliseconds) WHERE id = ANY(\(ids))"
    }

    // MARK: Attempts

    /// An upsert of `attempts` (at most 3 600 of them: 18 binds each, 65 535 binds a statement).
    /// A final outcome replaces anything; `in_progress` replaces only `in_progress`.
    static func upsertAttempts(_ attempts: some Collection<AttemptRecord>) -> PostgresQuery {
        let width = AttemptTable.columns.count
        var binds = PostgresBindings(capacity: attempts.count * width)
        var values: [String] = []
        values.reserveCapacity(attempts.count)
        for (n, a) in attempts.enumerated() {
            let first = n * width
            values.append("(" + (1...width).map { "$\(first + $0)" }.joined(separator: ", ") + ")")
            binds.append(text(a.id))
            binds.append(text(a.requestID))
            binds.append(a.keyID.map(text))
            binds.append(a.tenant.map(text))
            binds.append(a.team.map(text))
            binds.append(text(a.rule))
            binds.append(text(a.target))
            binds.append(text(a.tier))
            binds.append(Int64(a.promptTokens))
            binds.append(Int64(a.completionTokens))
            binds.append(a.cost.value)
            binds.append(a.costEstimated)
            binds.append(a.referenceCost.value)
            binds.append(Int64(a.latencyMs))
            binds.append(a.outcome.rawValue)
            binds.append(a.escalationReason.map(text))
            binds.append(a.startedAt.milliseconds)
            binds.append(a.endedAt?.milliseconds)
        }
        return PostgresQuery(unsafeSQL: """
            INSERT INTO attempts (\(AttemptTable.columnList)) VALUES \(values.joined(separator: ", "))
            \(AttemptTable.onConflict)
            """, binds: binds)
    }

    /// PostgreSQL's TEXT cannot hold U+0000 (SQLite's can); an attempt's strings come partly from
    /// upstreams, and one stray NUL must not lose the record, so it becomes U+FFFD.
    private static func text(_ value: String) -> String {
        value.contains("\u{0}") ? value.replacing("\u{0}", with: "\u{FFFD}") : value
    }

    static func attempts(requestID: String) -> PostgresQuery {
        "SELECT \(unescaped: AttemptTable.columnList) FROM attempts WHERE request_id = \(requestID) ORDER BY started_at, id"
    }

    static func interruptAttempts(before time: UnixTime) -> PostgresQuery {
        "UPDATE attempts SET outcome = 'interrupted' WHERE outcome = 'in_progress' AND started_at < \(time.milliseconds) RETURNING id"
    }

    /// The usage report: one row per group (see `SQLiteSQL.usage`, which this mirrors).
    static func usage(_ query: UsageQuery) -> PostgresQuery {
        let group = switch query.groupBy {
        case .key: "COALESCE(key_id, '')"
        case .tenant: "COALESCE(tenant, '')"
        case .model: "target"
        case .route: "tier"
        case .day: "(started_at / 86400000)::TEXT"
        }
        var binds = PostgresBindings()
        var conditions: [String] = []
        if let keyID = query.keyID {
            binds.append(keyID)
            conditions.append("key_id = $\(binds.count)")
        }
        if let since = query.since {
            binds.append(since.milliseconds)
            conditions.append("started_at >= $\(binds.count)")
        }
        if let until = query.until {
            binds.append(until.milliseconds)
            conditions.append("started_at < $\(binds.count)")
        }
        return PostgresQuery(unsafeSQL: """
            SELECT \(group) AS grp,
                COUNT(DISTINCT request_id)::BIGINT AS requests,
                COUNT(*)::BIGINT AS attempts,
                SUM(prompt_tokens)::BIGINT AS prompt_tokens,
                SUM(completion_tokens)::BIGINT AS completion_tokens,
                SUM(cost)::BIGINT AS spend,
                COUNT(DISTINCT CASE WHEN tier = 'cloud' THEN request_id END)::BIGINT AS cloud_requests,
                SUM(CASE WHEN tier = 'local' AND outcome = 'served' THEN reference_cost ELSE 0 END)::BIGINT AS savings
            FROM attempts
            \(conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND "))
            GROUP BY 1
            """, binds: binds)
    }
}
