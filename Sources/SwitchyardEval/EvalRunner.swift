import Logging
import SwitchyardEngine
import SwitchyardHTTP
import SwitchyardPolicy
import SwitchyardProviders
import SwitchyardDecision
import SwitchyardExecution
import SwitchyardSignals
import SwitchyardWire

#if canImport(Glibc)
import Glibc
#endif

/// Generates the local answers for an evaluation with the real local model, through the same
/// provider the gateway uses, and caches them so that an interrupted run resumes where it stopped.
public struct LocalAnswerer: Sendable {
    public var policy: Policy
    public var cachePath: String
    public var maxTokens: Int
    public var stateDirectory: String
    public var logger: Logger

    public init(policy: Policy, cachePath: String, maxTokens: Int, stateDirectory: String, logger: Logger) {
        self.policy = policy
        self.cachePath = cachePath
        self.maxTokens = maxTokens
        self.stateDirectory = stateDirectory
        self.logger = logger
    }

    public static func request(_ item: EvalItem, maxTokens: Int) throws -> ChatRequest {
        try ChatRequest(body: [
            "model": .string("auto"),
            "messages": .array([.object(["role": .string("user"), "content": .string(item.prompt)])]),
            "max_tokens": .int(maxTokens), "temperature": .int(0), "logprobs": .bool(true), "top_logprobs": .int(5),
        ])
    }

    /// The answer to every item, from the cache or the engine; progress goes to `progress`.
    public func answers(_ items: [EvalItem], progress: @Sendable (Int, Int, Double) -> Void) async throws -> [String: LocalAnswer] {
        var cached: [String: LocalAnswer] = [:]
        for line in (TextFile.read(cachePath) ?? "").split(separator: "\n") {
            if let json = try? JSON.parse(String(line)), let id = json["id"]?.stringValue, let answer = LocalAnswer(json: json["answer"] ?? .null),
               json["max_tokens"]?.intValue == maxTokens {
                cached[id] = answer
            }
        }
        let missing = items.filter { cached[$0.id] == nil }
        guard !missing.isEmpty else { return cached }
        guard let local = policy.localModels.first, case .local(let settings) = local.kind else {
            throw EvalError("the policy has no local model to evaluate")
        }
        let client = HTTPClient()
        let engine = try LocalEngine(modelName: local.name, settings: settings, locator: EngineLocator(), stateDirectory: stateDirectory,
                                     client: client, logger: logger)
        let engineTask = Task { try await engine.run() }
        // The engine is stopped, and waited for, however this ends: an error, or a cancellation
        // (a signal to the command) that would otherwise leave it running.
        return try await finally({
            let deadline = ContinuousClock.now + .seconds(300)
            while engine.readyEndpoint == nil {
                guard ContinuousClock.now < deadline else { throw EvalError("the local engine did not start: see \(engine.status.logPath)") }
                try await Task.sleep(for: .milliseconds(100))
            }
            let provider = OpenAIProvider(target: local, endpoint: .local(engine), client: client)
            let started = ContinuousClock.now
            for (done, item) in missing.enumerated() {
                try Task.checkCancellation()
                let completion: Completion
                do {
                    completion = try await provider.complete(GatewayRequest(try Self.request(item, maxTokens: maxTokens)), context: ProviderContext(requestID: item.id))
                } catch {
                    throw EvalError("item \(item.id): \(error)")
                }
                guard let answer = LocalAnswer(completion: completion.body) else { throw EvalError("item \(item.id): no answer") }
                cached[item.id] = answer
                let line = JSON.object(["id": .string(item.id), "max_tokens": .int(maxTokens), "answer": answer.json]).text + "\n"
                guard TextFile.write(cachePath, line, append: true) else { throw EvalError("cannot write \(cachePath)") }
                let (seconds, attoseconds) = (ContinuousClock.now - started).components
                let elapsed = Double(seconds) + Double(attoseconds) / 1e18
                progress(done + 1, missing.count, Double(done + 1) / max(elapsed, 1e-3))
            }
            return cached
        }, then: {
            engineTask.cancel()
            _ = try? await engineTask.value
            await client.shutdown()
        })
    }
}
