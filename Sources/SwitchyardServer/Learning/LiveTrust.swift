import SwitchyardDecision
import Synchronization

/// The trust in the local model in force on this replica, swapped whole by the calibration
/// service (as a reload swaps the policy): a request reads it once, with its policy, and keeps
/// it to the end. Nil until the service first read the ledger, and while the policy does not
/// learn: then the policy's own calibration and thresholds decide.
final class LiveTrust: Sendable {
    private let state = Mutex<CalibrationState?>(nil)

    init() {}

    var trust: Trust? { state.withLock { $0?.trust } }
    var current: CalibrationState? { state.withLock { $0 } }

    func install(_ new: CalibrationState?) { state.withLock { $0 = new } }
}
