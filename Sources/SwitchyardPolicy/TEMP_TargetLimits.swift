// TEMPORARY until the policy branch merges (it defines these for real).
public struct TargetLimits: Sendable, Equatable {
    public var maxConcurrency: Int
    public var queueDepth: Int
    public var queueTimeout: Duration
    public var maxResponseBytes: Int
}

extension ModelTarget {
    public var limits: TargetLimits {
        switch kind {
        case .local(let s): TargetLimits(maxConcurrency: s.slots, queueDepth: 2 * s.slots, queueTimeout: .seconds(10), maxResponseBytes: 32 << 20)
        default: TargetLimits(maxConcurrency: 64, queueDepth: 64, queueTimeout: .seconds(10), maxResponseBytes: 32 << 20)
        }
    }
}

extension ServerSettings {
    public var maxConnections: Int { 1024 }
    public var idleTimeout: Duration { .seconds(60) }
    public var headerTimeout: Duration { .seconds(10) }
    public var bodyTimeout: Duration { .seconds(60) }
}
