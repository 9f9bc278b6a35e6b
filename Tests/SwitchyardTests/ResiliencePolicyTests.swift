import Testing
@testable import SwitchyardPolicy

/// `resilience:` in a policy: its defaults, every field read, and every bad value refused at
/// its line and column.
@Suite("Policy resilience settings")
struct ResiliencePolicyTests {
    static let head = "version: 1\nmodels:\n  a: {kind: openai, model: m}\n"

    @Test("without `resilience:` the documented defaults apply: two retries within 5 s, breakers open after 5 failures for 30 s")
    func defaults() throws {
        let policy = try PolicyLoader.parse(Self.head, file: "p.yaml")
        let retry = policy.resilience.retry
        #expect((retry.maxRetries, retry.backoff, retry.maxBackoff, retry.maxWait) == (2, .milliseconds(250), .seconds(2), .seconds(5)))
        let breaker = policy.resilience.breaker
        #expect((breaker.enabled, breaker.failures, breaker.openFor, breaker.halfOpenProbes) == (true, 5, .seconds(30), 1))
    }

    @Test("every field is read")
    func read() throws {
        let policy = try PolicyLoader.parse(Self.head + """
        resilience:
          retry: {max_retries: 0, backoff: 1s, max_backoff: 1s, max_wait: 10m}
          breaker: {enabled: false, failures: 1000, open_for: 1h, half_open_probes: 100}
        """, file: "p.yaml")
        let retry = policy.resilience.retry
        #expect((retry.maxRetries, retry.backoff, retry.maxBackoff, retry.maxWait) == (0, .seconds(1), .seconds(1), .seconds(600)))
        let breaker = policy.resilience.breaker
        #expect((breaker.enabled, breaker.failures, breaker.openFor, breaker.halfOpenProbes) == (false, 1000, .seconds(3600), 100))
    }

    /// Each case: the `resilience:` text, the text the diagnostic must point at, and its message.
    static let cases: [(String, String, String, String)] = [
        ("11 retries", "resilience:\n  retry: {max_retries: 11}\n", "11}", "`max_retries` must be at most 10; got 11"),
        ("negative retries", "resilience:\n  retry: {max_retries: -1}\n", "-1}", "`max_retries` must be at least 0; got -1"),
        ("retries as 2^63", "resilience:\n  retry: {max_retries: 9223372036854775808}\n", "9223372036854775808", "`max_retries` must be at most 10"),
        ("fractional retries", "resilience:\n  retry: {max_retries: 1.5}\n", "1.5", "`max_retries` must be an integer from 0 to 10"),
        ("zero backoff", "resilience:\n  retry: {backoff: 0s}\n", "0s", "`backoff` must be at least 1ms; got 0s"),
        ("an hour's backoff", "resilience:\n  retry: {backoff: 1h, max_backoff: 1h}\n", "1h,", "`backoff` must be at most 1m; got 1h"),
        ("infinite max_backoff", "resilience:\n  retry: {max_backoff: inf}\n", "inf", "`max_backoff` must be a positive duration"),
        ("backoff above max_backoff", "resilience:\n  retry: {backoff: 3s, max_backoff: 1s}\n", "1s}",
         "`backoff` (3s) must not be longer than `max_backoff` (1s)"),
        ("backoff above the default max_backoff", "resilience:\n  retry: {backoff: 5s}\n", "5s}",
         "`backoff` (5s) must not be longer than `max_backoff` (2s)"),
        ("max_wait of a day", "resilience:\n  retry: {max_wait: 24h}\n", "24h", "`max_wait` must be at most 10m; got 24h"),
        ("negative max_wait", "resilience:\n  retry: {max_wait: -5s}\n", "-5s", "`max_wait` must be a positive duration"),
        ("zero failures", "resilience:\n  breaker: {failures: 0}\n", "0}", "`failures` must be at least 1; got 0"),
        ("a huge failures", "resilience:\n  breaker: {failures: 99999999999999999999999}\n", "999", "`failures` must be at most 1000"),
        ("an overflowing open_for", "resilience:\n  breaker: {open_for: 1e300s}\n", "1e300s", "`open_for` must be a positive duration"),
        ("open_for above an hour", "resilience:\n  breaker: {open_for: 2h}\n", "2h", "`open_for` must be at most 1h; got 2h"),
        ("zero probes", "resilience:\n  breaker: {half_open_probes: 0}\n", "0}", "`half_open_probes` must be at least 1; got 0"),
        ("enabled as a word", "resilience:\n  breaker: {enabled: sometimes}\n", "sometimes", "`enabled` must be true or false"),
        ("a misspelt field", "resilience:\n  retry: {max_retry: 3}\n", "max_retry:", "unknown field `max_retry` in retry (did you mean `max_retries`?)"),
        ("an unknown section", "resilience:\n  retries: {max_retries: 3}\n", "retries:", "unknown field `retries` in resilience; valid fields: retry, breaker"),
        ("a scalar block", "resilience: lots\n", "lots", "resilience must be a mapping"),
        ("a list for retry", "resilience:\n  retry: [1, 2]\n", "[1, 2]", "retry must be a mapping"),
    ]

    @Test("every bad value is refused at its line and column", arguments: cases)
    func refused(_ name: String, yaml: String, at token: String, message: String) {
        let text = Self.head + yaml
        let found = diagnostics(text)
        let match = found.first { $0.message.contains(message) }
        #expect(match != nil, "\(name): expected '\(message)' in \(found.map(\.description))")
        let expected = position(of: token, in: text)
        #expect(match.map { ($0.line, $0.column) == (expected.line, expected.column) } == true, "\(name): \(String(describing: match)), expected \(expected)")
    }
}
