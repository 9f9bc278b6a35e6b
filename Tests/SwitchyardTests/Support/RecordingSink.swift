import Synchronization
@testable import SwitchyardDecision
@testable import SwitchyardExecution
@testable import SwitchyardSignals

/// An accounting hook that keeps every attempt's end, so tests see exactly what was accounted.
final class RecordingSink: AttemptSink {
    private let ended = Mutex<[Attempt]>([])

    var attempts: [Attempt] { ended.withLock { $0 } }

    func attemptEnded(_ attempt: Attempt, of request: AttemptRequest) async {
        ended.withLock { $0.append(attempt) }
    }

    func tracker(_ requestID: String = "t") -> AttemptTracker {
        AttemptTracker(request: AttemptRequest(requestID: requestID, rule: "test", requestedModel: "auto", stream: false), sink: self)
    }
}

extension AttemptTracker {
    /// A tracker whose attempts nobody reads.
    static func discarding() -> AttemptTracker { RecordingSink().tracker() }
}
