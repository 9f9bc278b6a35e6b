import Synchronization
import Testing
import SwitchyardHTTP
import SwitchyardProviders
@testable import SwitchyardDecision
@testable import SwitchyardExecution
@testable import SwitchyardSignals
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

    @Test("end to end on the box: 8 clients posting large count_tokens bodies are turned away past the gate, and a short chat beside them is answered")
    func floodBesideAChat() async throws {
        try Fixtures.requireEngine()
        let policy = """
        version: 1
        server: {tokenizer_concurrency: 1, tokenizer_queue: 1}
        models:
        \(Fixtures.localModelYAML)
        rules:
          - {name: count, when: prompt_tokens > 0, serve: local}
        """
        try await Fixtures.withGateway(policy: policy) { gateway in
            let chat = #"{"model":"auto","max_tokens":4,"temperature":0,"messages":[{"role":"user","content":"Say hi."}]}"#
            func timedChat() async throws -> (status: Int, seconds: Double) {
                let start = ContinuousClock.now
                let answer = try await gateway.post("/v1/chat/completions", chat)
                let elapsed = ContinuousClock.now - start
                return (answer.status, Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
            }
            _ = try await timedChat()
            let alone = try await timedChat()
            // Prose of 1 MB: what a client counting a long document before sending it posts.
            let words = String(repeating: "The river keeps its own counsel through the long summer afternoons. ", count: 15_000)
            let large = JSON.object(["model": .string("auto"), "messages": .array([.object(["role": .string("user"), "content": .string(words)])])]).text
            async let flood = withTaskGroup(of: HTTPResponse?.self) { group in
                for _ in 0..<8 { group.addTask { try? await gateway.post("/v1/messages/count_tokens", large, headers: [("anthropic-version", "2023-06-01")]) } }
                return await group.reduce(into: [HTTPResponse?]()) { $0.append($1) }
            }
            try await Task.sleep(for: .milliseconds(200))
            let beside = try await timedChat()
            let counts = await flood
            let counted = counts.compactMap { $0 }.filter { $0.status == 200 }
            let refused = counts.compactMap { $0 }.filter { $0.status == 503 }
            print("tokenizer admission: a 4-token chat took \(alone.seconds) s alone and \(beside.seconds) s beside 8 count_tokens of "
                  + "\(large.utf8.count) B (\(counted.count) counted, \(refused.count) refused)")
            #expect(alone.status == 200 && beside.status == 200)
            #expect(counted.count + refused.count == 8, "\(counts.map { $0?.status ?? 0 })")
            #expect(counted.count >= 1 && counted.count <= 2, "one runs and one waits; the others are turned away")
            for answer in refused {
                #expect(answer.header("retry-after") == "1")
                #expect(answer.json["error"]?["type"]?.stringValue == "overloaded_error", "\(answer.bodyText)")
            }
        }
    }
}
