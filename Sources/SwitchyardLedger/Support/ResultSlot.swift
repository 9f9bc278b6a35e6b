import Synchronization

/// Where a queued write leaves its value until its transaction commits: the caller is answered
/// only then, so a result is never seen before it is durable.
final class ResultSlot<Value: Sendable>: Sendable {
    private let value = Mutex<Value?>(nil)

    func set(_ newValue: Value) { value.withLock { $0 = newValue } }
    func take() -> Value? { value.withLock { $0 } }
}
