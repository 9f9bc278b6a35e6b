/// What the box is doing now, for the `TARGET.queue`, `TARGET.free_slots` and `TARGET.ready`
/// signals: read from the execution's admission gates and the engine supervisor, through this
/// protocol, so the decision sees neither.
public protocol BoxState: Sendable {
    /// Requests waiting for a slot on a local target, and slots free; nil for an unknown target.
    func load(of target: String) -> (queued: Int, freeSlots: Int)?
    /// Whether the target's engine serves now; nil for an unknown target.
    func isReady(_ target: String) -> Bool?
}
