import Testing
import SwitchyardWire
@testable import SwitchyardDecision
@testable import SwitchyardExecution
@testable import SwitchyardSignals
@testable import SwitchyardServer

@Suite("Rate limits")
struct RateLimitTests {
    @Test("a bucket gives its capacity at once, then refills continuously at capacity a minute")
    func bucket() {
        var bucket = TokenBucket(perMinute: 60, now: 0)
        for _ in 0..<60 { #expect(bucket.take(1, now: 0) == nil) }
        let wait = bucket.take(1, now: 0)
        #expect(wait == 1, "one a second refills: \(String(describing: wait))")
        #expect(bucket.take(1, now: 1) == nil)
        #expect(bucket.take(1, now: 1) != nil)
        // Never more than the capacity saved up.
        #expect(bucket.take(61, now: 1000) != nil)
        #expect(bucket.take(60, now: 1000) == nil)
    }

    @Test("tokens are charged after the fact; a key that overran waits until it is back above zero")
    func debit() {
        var bucket = TokenBucket(perMinute: 600, now: 0)
        #expect(bucket.waitForAny(now: 0) == nil)
        bucket.debit(1200, now: 0)
        #expect(bucket.level == -600, "at most one minute below zero")
        let wait = bucket.waitForAny(now: 0)
        #expect(wait != nil && wait! > 59 && wait! < 61)
        #expect(bucket.waitForAny(now: 61) == nil)
    }

    @Test("a key over its requests per minute gets 429 with Retry-After and OpenAI's x-ratelimit headers")
    func limiter() throws {
        let limiter = RateLimiter()
        let key = AuthenticatedKey(caller: Caller(keyID: "key_1", keyName: "k"), rpm: 2, tpm: nil)
        let first = try limiter.admit(key, now: 0)
        #expect(first["x-ratelimit-limit-requests"] == "2")
        #expect(first["x-ratelimit-remaining-requests"] == "1")
        _ = try limiter.admit(key, now: 0)
        #expect(throws: Never.self) { _ = try limiter.admit(AuthenticatedKey(caller: Caller(keyID: "key_2"), rpm: 2), now: 0) }
        do {
            _ = try limiter.admit(key, now: 0)
            Issue.record("a third request within the minute was admitted")
        } catch {
            #expect(error.status == 429)
            #expect(error.retryAfterSeconds == 30)
            #expect(error.headers["x-ratelimit-remaining-requests"] == "0")
        }
        // Tokens: charged after the attempt, then the key waits.
        let tokenKey = AuthenticatedKey(caller: Caller(keyID: "key_t"), rpm: nil, tpm: 100)
        _ = try limiter.admit(tokenKey, now: 0)
        limiter.charge(keyID: "key_t", tokens: 150, now: 0)
        #expect(throws: (any Error).self) { _ = try limiter.admit(tokenKey, now: 1) }
    }

    @Test("divided among N replicas, each admits ⌈limit ÷ N⌉ a minute, never less than one")
    func divided() throws {
        for (limit, replicas) in [(10, 3), (7, 7), (2, 5), (600, 1)] {
            let limiter = RateLimiter(divisor: replicas)
            let key = AuthenticatedKey(caller: Caller(keyID: "key_\(limit)_\(replicas)"), rpm: limit, tpm: nil)
            let share = max(1, Int((Double(limit) / Double(replicas)).rounded(.up)))
            for _ in 0..<share { _ = try limiter.admit(key, now: 0) }
            do {
                _ = try limiter.admit(key, now: 0)
                Issue.record("limit \(limit) over \(replicas) replicas admitted one more than \(share)")
            } catch {
                #expect(error.status == 429)
            }
        }
    }

    @Test("the key is read from Authorization: Bearer or x-api-key")
    func secretHeaders() {
        #expect(AuthMiddleware.secret([.authorization: "Bearer sy-abc"]) == "sy-abc")
        #expect(AuthMiddleware.secret([.authorization: "bearer   sy-abc  "]) == "sy-abc")
        #expect(AuthMiddleware.secret([.xAPIKey: "sy-xyz"]) == "sy-xyz")
        #expect(AuthMiddleware.secret([.authorization: "Basic dXNlcjpwYXNz"]) == nil)
        #expect(AuthMiddleware.secret([:]) == nil)
    }
}
