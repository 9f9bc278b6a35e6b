import Hummingbird
import Prometheus
import SwitchyardEngine
import SwitchyardLedger
import SwitchyardPolicy
import SwitchyardProviders
import SwitchyardDecision
import SwitchyardExecution
import SwitchyardSignals
import SwitchyardWire

/// The gateway's small endpoints: model list, liveness, readiness with detail, metrics.
struct Endpoints: Sendable {
    let live: LivePolicy
    let engine: LocalEngine?
    let prometheus: PrometheusCollectorRegistry?
    /// Keys, budgets and records: a gateway whose ledger is lost is not ready.
    let ledger: (any LedgerStore)?

    /// `GET /v1/models`: `auto` and every policy model. One list that both SDKs read: OpenAI's
    /// fields (`object`, `created`, `owned_by`) and Anthropic's (`type`, `display_name`,
    /// `created_at`, `has_more`, `first_id`, `last_id`) side by side, since both call this path.
    func models() -> Response {
        let router = live.snapshot.executor
        let entries = [(Decider.autoModel, "switchyard")]
            + router.policy.models.map { ($0.name, $0.isLocal ? "switchyard-local" : $0.kindName) }
        let data: [JSON] = entries.map { name, owner in
            .object(["id": .string(name), "object": .string("model"), "created": .int(0), "owned_by": .string(owner),
                     "type": .string("model"), "display_name": .string(name), "created_at": .string("1970-01-01T00:00:00Z")])
        }
        return json(.object(["object": .string("list"), "data": .array(data), "has_more": .bool(false),
                             "first_id": .string(entries.first?.0 ?? ""), "last_id": .string(entries.last?.0 ?? "")]))
    }

    func healthz() -> Response { json(.object(["status": .string("ok")])) }

    /// `GET /readyz`: 200 when the policy is loaded, the local engine (if any) serves and the
    /// ledger (if any) is still the one on disk; 503 otherwise. The body says the state of every
    /// target, so an operator sees an unconfigured cloud target without reading logs. It answers
    /// without a key, so it says nothing that helps to reach the engine around the gateway: not
    /// its port, not its pid.
    func readyz() -> Response {
        let router = live.snapshot.executor
        var ready = true
        var targets: [JSON] = []
        for model in router.policy.models {
            var entry: JSONObject = ["name": .string(model.name), "kind": .string(model.kindName)]
            switch router.provider(model.name)?.availability ?? .unconfigured("no provider") {
            case .available: entry["status"] = .string("available")
            case .unconfigured(let detail):
                entry["status"] = .string("unconfigured")
                entry["detail"] = .string(detail)
            case .unavailable(let detail, _):
                entry["status"] = .string("unavailable")
                entry["detail"] = .string(detail)
                if model.isLocal { ready = false }
            }
            if let breaker = router.breakerStatus(model.name) {
                var state: JSONObject = ["state": .string(breaker.phase.rawValue), "consecutive_failures": .int(breaker.failures)]
                if let seconds = breaker.retryInSeconds { state["retry_in_seconds"] = .int(seconds) }
                entry["breaker"] = .object(state)
            }
            targets.append(.object(entry))
        }
        let ledgerProblem = ledger?.problem
        if ledgerProblem != nil { ready = false }
        var body: JSONObject = [
            "status": .string(ready ? "ready" : "not_ready"),
            "policy": .object(["source": .string(router.policy.source), "version": .int(router.policy.version),
                               "rules": .int(router.policy.rules.count),
                               "last_reload_error": live.lastReloadError.map(JSON.string) ?? .null]),
            "targets": .array(targets),
        ]
        if ledger != nil {
            body["ledger"] = .object(["status": .string(ledgerProblem == nil ? "ok" : "lost"), "detail": ledgerProblem.map(JSON.string) ?? .null])
        }
        if let engine {
            let status = engine.status
            var detail: JSONObject = [
                "model": .string(engine.modelName),
                "phase": .string(status.phase.rawValue),
                "restarts": .int(status.restarts),
                "log": .string(status.logPath),
            ]
            if let exit = status.lastExit { detail["last_exit"] = .string(exit) }
            body["engine"] = .object(detail)
        }
        return json(.object(body), status: ready ? .ok : .serviceUnavailable)
    }

    func metrics() -> Response {
        BreakerMetrics.refresh(live.snapshot.executor)
        var buffer: [UInt8] = []
        prometheus?.emit(into: &buffer)
        return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                        body: .init(byteBuffer: ByteBuffer(bytes: buffer)))
    }

    private func json(_ value: JSON, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: value.serialized())))
    }
}
