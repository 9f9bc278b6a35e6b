import SwitchyardSignals

/// The box's state as the decision reads it (`TARGET.queue`, `TARGET.free_slots`,
/// `TARGET.ready`): the local targets' admission gates, and whether their engine serves.
public struct GateBox: BoxState {
    let gates: TargetGates
    let ready: @Sendable (String) -> Bool?

    /// - Parameter ready: whether a local target's engine serves now; nil for a target it does not know.
    public init(gates: TargetGates, ready: @escaping @Sendable (String) -> Bool?) {
        self.gates = gates
        self.ready = ready
    }

    public func load(of target: String) -> (queued: Int, freeSlots: Int)? { gates.occupancy(of: target) }

    public func isReady(_ target: String) -> Bool? { ready(target) }
}
