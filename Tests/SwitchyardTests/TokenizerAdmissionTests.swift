import Synchronization
import Testing
import SwitchyardProviders
@testable import SwitchyardRouter
import SwitchyardWire

/// The local engine's tokenizer behind its own admission gate (`server.tokenizer_concurrency`,
/// `tokenizer_queue`): never more calls at once than allowed, `count_tokens` refused past the
/// queue, the routing signal falling back to its estimate.
@Suite("Tokenizer admission")
struct TokenizerAdmissionTests {
    /// A tokenizer that takes `delay` per call and counts how many calls run at once.
    final class CountingTokenizer: PromptTokenizer {
        private struct Counts { var running = 0, peak = 0, calls = 0 }
        private let counts = Mutex(Counts())
        let delay: Duration
        /// What it answers: not what the estimate would say, so the two can be told apart.
        static let count = 123_456

        init(delay: Duration) { self.delay = delay }

        var peak: Int { counts.withLock { $0.peak } }
        var calls: Int { counts.withLock { $0.calls } }

        func promptTokens(_ request: RequestSummary) async -> (count: Int, estimated: Bool) {
            counts.withLock {
                $0.running += 1
                $0.calls += 1
                $0.peak = max($0.peak, $0.running)
            }
            try? await Task.sleep(for: delay)
            counts.withLock { $0.running -= 1 }
            return (Self.count, false)
        }

        func knownPromptTokens(_ request: RequestSummary) -> Int? {
            request.model == "known" ? Self.count : nil
        }
    }

    static func summary(_ model: String = "auto") -> RequestSummary {
        RequestSummary(model: model, turns: [.init(role: .user, text: "hello there")], hasTools: false, maxTokens: nil, stream: false,
                       sizeInBytes: 11, body: [:])
    }

    @Test("count_tokens: at most `concurrency` calls at once, `queue` more waiting; past them 503 with Retry-After")
    func countTokensBounded() async throws {
        let fake = CountingTokenizer(delay: .milliseconds(300))
        let tokenizer = AdmittedTokenizer(fake, concurrency: 2, queue: 3)
        let results = await withTaskGroup(of: Result<Int, GatewayError>.self) { group in
            for _ in 0..<20 {
                group.addTask {
                    do throws(GatewayError) { return .success(try await tokenizer.countTokens(Self.summary()).count) } catch { return .failure(error) }
                }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        #expect(fake.peak <= 2, "the tokenizer ran \(fake.peak) calls at once")
        let counted = results.compactMap { try? $0.get() }
        let refused = results.compactMap { if case .failure(let error) = $0 { error } else { nil } }
        #expect(counted.count == 5 && counted.allSatisfy { $0 == CountingTokenizer.count }, "2 running and 3 queued are counted: \(counted)")
        #expect(refused.count == 15)
        #expect(refused.allSatisfy { $0.status == 503 && $0.code == "tokenizer_busy" && $0.retryAfterSeconds == 1 }, "\(refused.first.map { "\($0)" } ?? "")")
        #expect(tokenizer.load == (0, 0))
    }

    @Test("the prompt_tokens signal never waits long behind the gate: past it the estimate, said to be one; a known count needs no place")
    func signalFallsBack() async throws {
        let fake = CountingTokenizer(delay: .milliseconds(600))
        let tokenizer = AdmittedTokenizer(fake, concurrency: 1, queue: 4)
        let results = await withTaskGroup(of: (count: Int, estimated: Bool).self) { group in
            for _ in 0..<12 { group.addTask { await tokenizer.promptTokens(Self.summary()) } }
            return await group.reduce(into: []) { $0.append($1) }
        }
        #expect(fake.peak == 1)
        #expect(results.filter { !$0.estimated }.allSatisfy { $0.count == CountingTokenizer.count })
        #expect(results.filter(\.estimated).allSatisfy { $0.count == EstimatingTokenizer.estimate(Self.summary()) })
        #expect(results.filter { !$0.estimated }.count == 1, "one ran; the rest did not get a place within the signal's wait")
        let calls = fake.calls
        #expect(await tokenizer.promptTokens(Self.summary("known")) == (CountingTokenizer.count, false))
        #expect(try await tokenizer.countTokens(Self.summary("known")) == (CountingTokenizer.count, false))
        #expect(fake.calls == calls, "a known count does not call the tokenizer")
    }
}
