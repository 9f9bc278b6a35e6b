import Hummingbird
import SwitchyardWire

/// Who may read `/metrics`: they show spend and tokens per tenant and what is left of each key's
/// budget. Open only where the gateway itself is open to whoever reaches it and only this machine
/// does (`auth: off` on loopback); otherwise the scraper sends the metrics token
/// (`SWITCHYARD_METRICS_TOKEN`, as Prometheus's `authorization: {credentials: …}` does) or the
/// admin key, as a bearer token.
struct MetricsAccess: Sendable {
    let live: LivePolicy
    let loopback: Bool
    let tokens: [OperatorSecret]

    init(live: LivePolicy, host: String, environment: [String: String]) {
        self.live = live
        loopback = ListenAddress.isLoopback(host)
        tokens = ["SWITCHYARD_METRICS_TOKEN", "SWITCHYARD_ADMIN_KEY"].compactMap { OperatorSecret(environment[$0]) }
    }

    /// The auth mode is read per request: a reload may change it.
    func check(_ request: Request) throws(GatewayError) {
        if loopback, live.snapshot.policy.auth.mode == .off { return }
        guard !tokens.isEmpty else {
            throw GatewayError(status: 403, code: "metrics_disabled",
                               message: "Metrics need a token here: set SWITCHYARD_METRICS_TOKEN (or SWITCHYARD_ADMIN_KEY) and send it as a bearer token.")
        }
        guard tokens.contains(where: { $0.isSent(in: request) }) else {
            throw GatewayError.unauthorized("Metrics need the metrics token or the admin key, sent as `Authorization: Bearer <token>`.",
                                            code: "invalid_metrics_token")
        }
    }
}
