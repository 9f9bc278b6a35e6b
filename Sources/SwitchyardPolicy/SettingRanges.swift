/// The range every number in a policy must fall in, checked at load (docs/policy.md lists them).
///
/// Why bounds and not just "positive": every value ends up as an `Int`, an `Int64` of
/// milliseconds, a curl option or an allocation. A value the loader accepts must never trap,
/// overflow or exhaust the box later, on a reload or on the first request that uses it.
enum SettingRanges {
    static let maxBodyBytes = 1024...(1 << 30)
    static let shutdownGrace = DurationRange(min: .milliseconds(1), max: .seconds(600))
    static let responseRetention = DurationRange(min: .seconds(60), max: .seconds(366 * 86_400))
    static let maxConnections = 1...100_000
    static let idleTimeout = DurationRange(min: .milliseconds(1), max: .seconds(3600))
    static let headerTimeout = DurationRange(min: .milliseconds(1), max: .seconds(600))
    static let bodyTimeout = DurationRange(min: .milliseconds(1), max: .seconds(3600))
    /// At least one body of the smallest `max_body_bytes`; at most 64 GiB.
    static let maxInflightBodyBytes = 1024...(1 << 36)
    static let tokenizerConcurrency = 1...64
    static let tokenizerQueue = 0...10_000
    /// `tracing.endpoint` and `tracing.service_name`, in bytes.
    static let endpointBytes = 2048
    static let serviceNameBytes = 256

    /// Context windows, local (total, before the split into slots) and remote.
    static let context = 128...10_000_000
    static let slots = 1...256
    static let threads = 1...1024
    /// connect, first_byte, stall and total.
    static let timeout = DurationRange(min: .milliseconds(1), max: .seconds(24 * 3600))
    /// USD per million tokens.
    static let price = 0.0...1_000_000
    /// Input tokens one image may be billed as.
    static let imageTokens = 1...10_000_000

    static let maxConcurrency = 1...10_000
    static let queueDepth = 0...100_000
    static let queueTimeout = DurationRange(min: .milliseconds(1), max: .seconds(600))
    static let maxResponseBytes = 1024...(1 << 30)

    static let holdTokens = 1...4096
    static let holdTime = DurationRange(min: .milliseconds(1), max: .seconds(60))

    /// `resilience.retry`: retries per request and the waits between them.
    static let maxRetries = 0...10
    static let backoff = DurationRange(min: .milliseconds(1), max: .seconds(60))
    static let maxWait = DurationRange(min: .milliseconds(1), max: .seconds(600))
    /// `resilience.breaker`.
    static let breakerFailures = 1...1000
    static let openFor = DurationRange(min: .milliseconds(1), max: .seconds(3600))
    static let halfOpenProbes = 1...100

    static let status = 100...599
    // learning (docs/policy.md, `learning`)
    static let risk = 0.0001...0.9999
    static let threshold = 0.0...1.0
    static let shadowRate = 0.0...1.0
    static let refitEveryLabels = 1...1_000_000
    static let refitEvery = DurationRange(min: .seconds(1), max: .seconds(30 * 86_400))
    static let minimumLabels = 10...1_000_000
    static let labelWindow = 20...100_000
    static let confidenceLevel = 0.5...0.9999
    static let driftWindow = 10...1_000_000
    static let feedbackWindow = DurationRange(min: .seconds(1), max: .seconds(366 * 86_400))
    /// A budget in USD (stored in nano-dollars: at most about 9.2 billion USD).
    static let budgetUSD = 0.0...1_000_000_000
    /// The largest bytes a policy file (or its calibration file) may have: far above any real
    /// one, and small enough that reading and composing it is quick.
    static let fileBytes = 4 << 20
}

/// The closed range of a duration setting, kept in whole milliseconds (the loader's resolution).
struct DurationRange {
    var min: Duration
    var max: Duration
}

extension Duration {
    /// Whole milliseconds, for the durations a policy holds (at most a day, so no overflow).
    public var wholeMilliseconds: Int64 { components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000 }

    /// How a policy writes this duration: the largest unit that divides it (`24h`, `10m`, `60s`, `250ms`).
    var policyText: String {
        let ms = wholeMilliseconds
        for (unit, size) in [("h", Int64(3_600_000)), ("m", 60_000), ("s", 1000)] where ms != 0 && ms % size == 0 {
            return "\(ms / size)\(unit)"
        }
        return "\(ms)ms"
    }
}
