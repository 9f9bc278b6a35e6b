import SwitchyardHTTP
import SwitchyardSignals
import SwitchyardWire
import Synchronization

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
    private let engine: any LocalEngineAccess
    private let client: HTTPClient
    private let cache: TokenCountCache
    private static let timeouts = HTTPTimeouts(connect: .seconds(1), firstByte: .seconds(2), stall: .seconds(2), total: .seconds(3))

    public init(engine: any LocalEngineAccess, client: HTTPClient, cache: TokenCountCache = TokenCountCache()) {
        self.engine = engine
        self.client = client
        self.cache = cache
    }

    public func knownPromptTokens(_ request: RequestSummary) -> Int? { cache.get(cache.key(request)) }

    public func promptTokens(_ request: RequestSummary) async -> (count: Int, estimated: Bool) {
        let key = cache.key(request)
        if let count = cache.get(key) { return (count, false) }
        guard let endpoint = engine.readyAddress, let count = await count(request, at: endpoint) else {
            return (EstimatingTokenizer.estimate(request), true)
        }
        cache.put(key, count)
        return (count, false)
    }

    private func count(_ request: RequestSummary, at engine: EngineAddress) async -> Int? {
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
