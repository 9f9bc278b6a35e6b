import SwitchyardWire

extension GatewayError {
    /// The ledger could not be read or written: a 503 that names it (never a wrong key, a missing
    /// record or a success that did not happen), retried after 5 s. The admin API, the viewer of
    /// usage, feedback and stored responses all answer it alike.
    static func ledgerUnavailable(_ error: any Error) -> GatewayError {
        GatewayError(status: 503, code: "ledger_unavailable", message: "The ledger cannot be used: \(error)", retryAfterSeconds: 5)
    }
}
