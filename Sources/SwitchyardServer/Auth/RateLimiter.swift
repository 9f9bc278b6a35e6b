import Metrics
import SwitchyardWire
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Requests and tokens per minute, per API key, as token buckets. A request needs one request
/// and some tokens left to start; its tokens are charged when its attempts end. Counted in this
/// process: with several replicas, each enforces `1/divisor` of the limit on the traffic it sees
/// (the Helm chart sets the divisor to the replica count), so together they admit about the
/// limit when a load balancer spreads a key's requests evenly.
final class RateLimiter: Sendable {
    private struct Buckets {
        var requests: TokenBucket?
        var tokens: TokenBucket?
    }

    private let buckets = Mutex<[String: Buckets]>([:])
    private let rejections = Counter(label: "switchyard_rate_limited_total")
    private let divisor: Int

    init(divisor: Int = 1) { self.divisor = max(1, divisor) }

    /// This replica's share of a per-minute limit (at least 1).
    private func share(_ limit: Int) -> Int { max(1, (limit + divisor - 1) / divisor) }

    /// Admits a request of `key` or throws 429 with `Retry-After`; returns the `x-ratelimit-*` headers.
    func admit(_ key: AuthenticatedKey, now: Double = RateLimiter.now()) throws(GatewayError) -> [String: String] {
        guard let id = key.caller.keyID, key.rpm != nil || key.tpm != nil else { return [:] }
        let (wait, fields) = buckets.withLock { all -> (Double?, [String: String]) in
            var entry = all[id] ?? Buckets(requests: key.rpm.map { TokenBucket(perMinute: share($0), now: now) },
                                           tokens: key.tpm.map { TokenBucket(perMinute: share($0), now: now) })
            defer { all[id] = entry }
            var wait: Double?
            if let w = entry.tokens?.waitForAny(now: now) { wait = w }
            if wait == nil, let w = entry.requests?.take(1, now: now) { wait = w }
            return (wait, Self.headers(entry))
        }
        if let wait {
            rejections.increment()
            var error = GatewayError(status: 429, code: "rate_limit_exceeded",
                                 message: "Rate limit reached for this API key; try again in \(Int(wait.rounded(.up))) s.")
            error.retryAfterSeconds = max(1, Int(wait.rounded(.up)))
            error.headers = fields
            throw error
        }
        return fields
    }

    /// Charges the tokens an attempt used to its key.
    func charge(keyID: String, tokens: Int, now: Double = RateLimiter.now()) {
        buckets.withLock { all in
            guard var entry = all[keyID], entry.tokens != nil else { return }
            entry.tokens?.debit(Double(tokens), now: now)
            all[keyID] = entry
        }
    }

    /// OpenAI's `x-ratelimit-*` headers for the key's buckets.
    private static func headers(_ entry: Buckets) -> [String: String] {
        var fields: [String: String] = [:]
        for (name, bucket) in [("requests", entry.requests), ("tokens", entry.tokens)] {
            guard let bucket else { continue }
            fields["x-ratelimit-limit-\(name)"] = String(Int(bucket.capacity))
            fields["x-ratelimit-remaining-\(name)"] = String(max(0, Int(bucket.level)))
            fields["x-ratelimit-reset-\(name)"] = "\(Int(bucket.secondsToFull().rounded(.up)))s"
        }
        return fields
    }

    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}

