import SwitchyardEngine
import SwitchyardHTTP
import SwitchyardWire
import Synchronization

/// Counts the tokens a request's prompt takes on the local model.
public protocol PromptTokenizer: Sendable {
    /// The count, and whether it is an estimate rather than the model's own tokenizer.
    func promptTokens(_ request: RequestSummary) async -> (count: Int, estimated: Bool)
    /// For `count_tokens`: as `promptTokens`, or refused (503) when the tokenizer is too busy.
    func countTokens(_ request: RequestSummary) async throws(GatewayError) -> (count: Int, estimated: Bool)
    /// The model's own count when it is known without asking the engine (counted before).
    func knownPromptTokens(_ request: RequestSummary) -> Int?
}

extension PromptTokenizer {
    public func countTokens(_ request: RequestSummary) async throws(GatewayError) -> (count: Int, estimated: Bool) {
        await promptTokens(request)
    }

    public func knownPromptTokens(_ request: RequestSummary) -> Int? { nil }
}

/// Four characters a token: what `policy explain` uses without a running engine, and the
/// gateway when its engine cannot be asked. Every decision made on it says so.
public struct EstimatingTokenizer: PromptTokenizer {
    public init() {}

    public func promptTokens(_ request: RequestSummary) async -> (count: Int, estimated: Bool) {
        (Self.estimate(request), true)
    }

    public static func estimate(_ request: RequestSummary) -> Int {
        request.turns.reduce(0) { $0 + $1.text.utf8.count / 4 + 4 }
    }
}

/// Remembers counts by the messages' serialized form, so a repeated prompt is tokenized once.
public final class TokenCountCache: Sendable {
    private let entries = Mutex<[Int: Int]>([:])
    private let capacity: Int

    public init(capacity: Int = 4096) { self.capacity = capacity }

    func key(_ request: RequestSummary) -> Int {
        var hasher = Hasher()
        for message in request.turns {
            hasher.combine(message.role.rawValue)
            hasher.combine(message.text)
        }
        return hasher.finalize()
    }

    func get(_ key: Int) -> Int? { entries.withLock { $0[key] } }

    func put(_ key: Int, _ count: Int) {
        entries.withLock {
            if $0.count >= capacity { $0.removeAll(keepingCapacity: true) }
            $0[key] = count
        }
    }
}

/// The local engine's own tokenizer on the prompt as the engine renders it (chat template
/// included): `POST /apply-template`, then `POST /tokenize`. Falls back to the estimate, and
/// says so, when the engine is not ready or does not answer quickly.
public struct LlamaTokenizer: PromptTokenizer {
    private let engine: LocalEngine
    private let client: HTTPClient
    private let cache: TokenCountCache
    private static let timeouts = HTTPTimeouts(connect: .seconds(1), firstByte: .seconds(2), stall: .seconds(2), total: .seconds(3))

    public init(engine: LocalEngine, client: HTTPClient, cache: TokenCountCache = TokenCountCache()) {
        self.engine = engine
        self.client = client
        self.cache = cache
    }

    public func knownPromptTokens(_ request: RequestSummary) -> Int? { cache.get(cache.key(request)) }

    public func promptTokens(_ request: RequestSummary) async -> (count: Int, estimated: Bool) {
        let key = cache.key(request)
        if let count = cache.get(key) { return (count, false) }
        guard let endpoint = engine.readyEndpoint, let count = await count(request, at: endpoint) else {
            return (EstimatingTokenizer.estimate(request), true)
        }
        cache.put(key, count)
        return (count, false)
    }

    private func count(_ request: RequestSummary, at engine: EngineEndpoint) async -> Int? {
        // The turns as the engine's chat template renders them: whatever the client's format,
        // its text is what the model reads.
        let messages = JSON.object(["messages": .array(request.turns.map {
            .object(["role": .string($0.role.rawValue), "content": .string($0.text)])
        })])
        let headers = [("Content-Type", "application/json"), engine.authorization]
        guard let rendered = try? await client.send(HTTPRequest(method: .post, url: engine.baseURL + "/apply-template", headers: headers,
                                                                body: messages.serialized(), timeouts: Self.timeouts)),
              rendered.status == 200, let prompt = (try? JSON.parse(rendered.body))?["prompt"]?.stringValue else { return nil }
        let body = JSON.object(["content": .string(prompt), "add_special": .bool(true), "parse_special": .bool(true)])
        guard let tokenized = try? await client.send(HTTPRequest(method: .post, url: engine.baseURL + "/tokenize", headers: headers,
                                                                 body: body.serialized(), timeouts: Self.timeouts)),
              tokenized.status == 200, let tokens = (try? JSON.parse(tokenized.body))?["tokens"]?.arrayValue else { return nil }
        return tokens.count
    }
}
