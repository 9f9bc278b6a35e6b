import Hummingbird
import SwitchyardEngine
import SwitchyardLedger
import SwitchyardPolicy
import SwitchyardDecision
import SwitchyardExecution
import SwitchyardSignals
import SwitchyardWire

/// `GET /v1/switchyard/dashboard?window=1d|7d|30d|90d&decisions=N`: what the page at `/ui` shows
/// beside the usage report, computed from the ledger at the time of asking (never from a
/// per-request side channel, so that every replica sharing a PostgreSQL ledger shows the same):
/// the timeline of local and cloud requests, escalations by reason, latency per target, recent
/// decisions (never a prompt: the ledger holds none) and budgets. The admin also gets this
/// replica's engine and each target's admission state; a key's holder gets its own key's
/// records and budget only, and nothing about the box.
struct DashboardAPI: Sendable {
    let ledger: any LedgerStore
    let keys: LedgerKeyDirectory
    let adminKey: OperatorSecret?
    let live: LivePolicy
    let engine: LocalEngine?
    let gates: TargetGates

    /// Budgets listed at most: the policy's tenants first, then keys, oldest first.
    static let maxBudgets = 200

    func report(_ request: Request) async throws -> Response {
        let viewer = try await Viewer.identify(request, adminKey: adminKey, keys: keys,
                                               refusal: "The dashboard needs the admin key, or a valid API key for its own usage.")
        let question = try DashboardQuery(request.uri.queryParameters)
        let now = UnixTime.now
        let activity = question.activity(now: now, keyID: viewer.keyID)
        let report = try await ledger.activity(activity)
        let (scopes, truncated) = try await budgetScopes(viewer)
        let budgets = try await ledger.budgetStates(scopes.map(\.scope), now: now)
        var body: JSONObject = [
            "object": .string("switchyard.dashboard"),
            "viewer": viewerJSON(viewer),
            "generated_at": .string(now.description),
            "window": .object([
                "name": .string(question.window.name),
                "since": .string(activity.since.description), "until": .string(activity.until.description),
                // The usage report's `since` and `until` for the same attempts.
                "since_day": .string(BudgetPeriod.day.window(containing: activity.since).key),
                "until_day": .string(BudgetPeriod.day.window(containing: activity.until).key),
                "bucket_seconds": .int(Int(activity.bucket.components.seconds)),
            ]),
            "timeline": .array(report.buckets.map(Self.bucket)),
            "escalations": .array(report.escalations.map { JSON.object(["reason": .string($0.reason), "count": .int($0.count)]) }),
            "latency": .array(report.latencies.map(Self.latency)),
            "decisions": .array(DecisionSummary.fold(report.recent).map(\.json)),
            "budgets": .array(zip(scopes, budgets).map { Self.budget($1, name: $0.name) }),
            "budgets_truncated": .bool(truncated),
        ]
        if case .admin = viewer {
            body["engine"] = engineJSON()
            body["targets"] = .array(targetsJSON())
        }
        return Response(status: .ok, headers: [.contentType: "application/json", .cacheControl: "no-store"],
                        body: .init(byteBuffer: ByteBuffer(bytes: JSON.object(body).serialized())))
    }

    private func viewerJSON(_ viewer: Viewer) -> JSON {
        switch viewer {
        case .admin: .object(["role": .string("admin")])
        case .key(let key): .object(["role": .string("key"), "key_id": key.caller.keyID.map(JSON.string) ?? .null,
                                     "name": key.caller.keyName.map(JSON.string) ?? .null])
        }
    }

    /// The budgets a viewer may see, with a name to show: the admin, the policy's tenant budgets
    /// and every active key's own; a key's holder, its key's own (its tenant's counts other
    /// keys' spend).
    private func budgetScopes(_ viewer: Viewer) async throws -> (scopes: [(scope: BudgetScope, name: String?)], truncated: Bool) {
        switch viewer {
        case .key(let key):
            return (key.budget.map { [($0, key.caller.keyName)] } ?? [], false)
        case .admin:
            var scopes: [(scope: BudgetScope, name: String?)] = []
            for (tenant, limit) in live.snapshot.policy.budgets.tenants.sorted(by: { $0.key < $1.key }) {
                guard let period = BudgetPeriod(rawValue: limit.period) else { continue }
                scopes.append((BudgetScope(kind: .tenant, id: tenant, limit: .usd(limit.usd), period: period), nil))
            }
            for record in try await ledger.keys() where !record.isRevoked {
                if let scope = record.budgetScope { scopes.append((scope, record.name)) }
            }
            return (Array(scopes.prefix(Self.maxBudgets)), scopes.count > Self.maxBudgets)
        }
    }

    private func engineJSON() -> JSON {
        guard let engine else { return .null }
        let status = engine.status
        let load = gates.load(of: engine.modelName)
        return .object([
            "model": .string(engine.modelName),
            "phase": .string(status.phase.rawValue),
            "restarts": .int(status.restarts),
            "last_exit": status.lastExit.map(JSON.string) ?? .null,
            "slots": .int(engine.settings.slots),
            "busy_slots": .int(load?.running ?? 0),
            "queued": .int(load?.queued ?? 0),
        ])
    }

    private func targetsJSON() -> [JSON] {
        let router = live.snapshot.executor
        return router.policy.models.map { target in
            let load = gates.load(of: target.name)
            let status = switch router.provider(target.name)?.availability ?? .unconfigured("no provider") {
            case .available: "available"
            case .unconfigured: "unconfigured"
            case .unavailable: "unavailable"
            }
            return .object([
                "name": .string(target.name), "kind": .string(target.kindName), "tier": .string(target.isLocal ? "local" : "cloud"),
                "status": .string(status), "running": .int(load?.running ?? 0), "queued": .int(load?.queued ?? 0),
                "max_concurrency": .int(target.limits.maxConcurrency), "queue_depth": .int(target.limits.queueDepth),
            ])
        }
    }

    private static func bucket(_ bucket: ActivityBucket) -> JSON {
        .object([
            "start": .string(bucket.start.description), "requests": .int(bucket.requests),
            "local_requests": .int(bucket.requests - bucket.cloudRequests), "cloud_requests": .int(bucket.cloudRequests),
            "spend_usd": .double(bucket.spend.usd), "savings_usd": .double(bucket.savings.usd),
        ])
    }

    private static func latency(_ entry: LatencyQuantiles) -> JSON {
        .object([
            "target": .string(entry.target), "tier": .string(entry.tier), "attempts": .int(entry.attempts),
            "p50_ms": .int(entry.p50Ms), "p95_ms": .int(entry.p95Ms),
        ])
    }

    private static func budget(_ state: BudgetState, name: String?) -> JSON {
        .object([
            "scope": .string(state.scope.kind.rawValue), "id": .string(state.scope.id), "name": name.map(JSON.string) ?? .null,
            "period": .string(state.scope.period.rawValue), "period_key": .string(state.periodKey),
            "limit_usd": .double(state.scope.limit.usd), "spent_usd": .double(state.spent.usd),
            "reserved_usd": .double(state.reserved.usd), "remaining_usd": .double(state.remaining.usd),
            "used_ratio": .double(state.usedRatio),
            "resets_at": state.resetsAt.map { .string($0.description) } ?? .null,
        ])
    }
}
