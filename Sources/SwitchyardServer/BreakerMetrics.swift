import Logging
import Metrics
import SwitchyardDecision
import SwitchyardExecution
import SwitchyardSignals

/// Circuit breakers in metrics and the log. `switchyard_breaker_transitions_total{model,from,to}`
/// and a log line are written as each transition happens. `switchyard_breaker_state{model}`
/// (0 closed, 1 half-open, 2 open) is read from the breakers at each scrape: an open breaker's
/// cool-down ends by the clock, with no event to update a gauge.
enum BreakerMetrics {
    static func transition(_ target: String, _ transition: BreakerTransition, logger: Logger) {
        Counter(label: "switchyard_breaker_transitions_total",
                dimensions: [("model", target), ("from", transition.from.rawValue), ("to", transition.to.rawValue)]).increment()
        let metadata: Logger.Metadata = ["target": "\(target)", "from": "\(transition.from.rawValue)", "to": "\(transition.to.rawValue)"]
        switch transition.to {
        case .open: logger.warning("circuit breaker open: the target is passed over", metadata: metadata)
        case .halfOpen: logger.notice("circuit breaker half-open: probing the target", metadata: metadata)
        case .closed: logger.notice("circuit breaker closed: the target serves again", metadata: metadata)
        }
    }

    /// Sets the state gauge of every cloud target with a breaker in `router`'s policy.
    static func refresh(_ router: Executor) {
        for model in router.policy.models {
            guard let status = router.breakerStatus(model.name) else { continue }
            Gauge(label: "switchyard_breaker_state", dimensions: [("model", model.name)]).record(value(status.phase))
        }
    }

    static func value(_ phase: BreakerPhase) -> Int {
        switch phase {
        case .closed: 0
        case .halfOpen: 1
        case .open: 2
        }
    }
}
