import SwitchyardHTTP
import SwitchyardPolicy
import SwitchyardWire

/// Any OpenAI-compatible upstream: a cloud API, or the on-box llama-server.
/// Requests pass through with only the model (and, locally, token-limit spelling) rewritten.
public struct OpenAIProvider: Provider {
    public enum Endpoint: Sendable {
        case remote(RemoteSettings, apiKey: String?)
        case local(any LocalEngineAccess)
    }

    public let target: ModelTarget
    private let endpoint: Endpoint
    private let client: HTTPClient
    private let timeouts: HTTPTimeouts
    /// The remote endpoint, fixed at start-up (unused for the local engine, whose port moves with each restart).
    private let remoteURL: String
    /// Headers fixed at start-up: content type, auth, the policy's extra headers (the local
    /// engine's key changes with each of its starts, and is added per request).
    private let headers: [(name: String, value: String)]

    public init(target: ModelTarget, endpoint: Endpoint, client: HTTPClient) {
        self.target = target
        self.endpoint = endpoint
        self.client = client
        var headers: [(name: String, value: String)] = [("Content-Type", "application/json")]
        switch endpoint {
        case .remote(let remote, let apiKey):
            if let apiKey { headers.append(("Authorization", "Bearer \(apiKey)")) }
            headers += remote.extraHeaders
            timeouts = remote.timeouts.http
            remoteURL = remote.baseURL + "/chat/completions"
        case .local(let engine):
            timeouts = engine.settings.timeouts.http
            remoteURL = ""
        }
        self.headers = headers
    }

    public var availability: ProviderAvailability {
        switch endpoint {
        case .remote(let remote, let apiKey):
            if apiKey == nil, let env = remote.apiKeyEnv { return .unconfigured("\(env) is not set") }
            return .available
        case .local(let engine):
            if engine.readyAddress != nil { return .available }
            return .unavailable(Self.notReady(engine), retryAfterSeconds: 2)
        }
    }

    private static func notReady(_ engine: any LocalEngineAccess) -> String { "the local engine is \(engine.phaseName)" }

    /// Where to send a completion, with every header it needs.
    private func destination() throws(ProviderError) -> (url: String, headers: [(name: String, value: String)]) {
        switch endpoint {
        case .remote:
            return (remoteURL, headers)
        case .local(let engine):
            guard let ready = engine.readyAddress else { throw .unavailable(Self.notReady(engine), retryAfterSeconds: 2) }
            return (ready.baseURL + "/v1/chat/completions", headers + [ready.authorization])
        }
    }

    private func upstreamBody(_ request: ChatRequest, stream: Bool) -> [UInt8] {
        var body = request.body
        switch endpoint {
        case .remote(let remote, _):
            body["model"] = .string(remote.model)
            for field in request.localOnlyFields { body[field] = nil }
        case .local:
            body["model"] = .string(target.name)
            // llama-server reads `max_tokens`; newer clients send `max_completion_tokens`.
            if let max = request.maxTokens {
                body["max_tokens"] = .int(max)
                body["max_completion_tokens"] = nil
            }
        }
        if stream {
            // Always ask for usage so that every token is accounted; the client gets it only if it asked.
            body["stream_options"] = .object(["include_usage": .bool(true)])
        }
        return body.serialized()
    }

    /// llama-server names its model by file path; local answers carry the policy name instead.
    private var localModelName: String? {
        if case .local = endpoint { target.name } else { nil }
    }

    /// The Responses request to pass through, when this target speaks Responses and the request is one.
    private func passThrough(_ request: GatewayRequest) -> (call: ResponsesCall, remote: RemoteSettings)? {
        guard case .remote(let remote, _) = endpoint, remote.speaksResponses, let call = request.responses else { return nil }
        return (call, remote)
    }

    public func complete(_ request: GatewayRequest, context: ProviderContext) async throws(ProviderError) -> Completion {
        if case .local = endpoint { return try await assembled(request.chat, context: context) }
        if let (call, remote) = passThrough(request) {
            let httpRequest = HTTPRequest(method: .post, url: remote.baseURL + "/responses", headers: headers,
                                          body: ResponsesPassThrough.body(request, call, model: remote.model, stream: false),
                                          timeouts: timeouts, limits: target.httpLimits)
            return try ResponsesPassThrough.response(try await sendExpectingJSONObject(client, httpRequest))
        }
        var body = request.chat
        body.body["stream"] = .bool(false)
        let (url, headers) = try destination()
        let httpRequest = HTTPRequest(method: .post, url: url, headers: context.withTraceHeaders(headers), body: upstreamBody(body, stream: false),
                                      timeouts: timeouts, limits: target.httpLimits)
        var object: JSONObject
        do {
            object = try await sendExpectingJSONObject(client, httpRequest)
        } catch {
            throw localized(error)
        }
        guard object["choices"]?.arrayValue != nil else {
            throw .malformedResponse("no `choices` in the completion")
        }
        if let name = localModelName { object["model"] = .string(name) }
        return Completion(body: object)
    }

    public func stream(_ request: GatewayRequest, context: ProviderContext) async throws(ProviderError) -> CompletionStream {
        if let (call, remote) = passThrough(request) {
            let httpRequest = HTTPRequest(method: .post, url: remote.baseURL + "/responses", headers: headers + [("Accept", "text/event-stream")],
                                          body: ResponsesPassThrough.body(request, call, model: remote.model, stream: true),
                                          timeouts: timeouts, limits: target.httpLimits)
            return try await executeStream(client, httpRequest, format: .responses) { ResponsesStreamTranslator().chunks(from: $0) }
        }
        return try await stream(request.chat, context: context)
    }

    private func stream(_ request: ChatRequest, context: ProviderContext) async throws(ProviderError) -> CompletionStream {
        let (url, headers) = try destination()
        let httpRequest = HTTPRequest(method: .post, url: url, headers: context.withTraceHeaders(headers + [("Accept", "text/event-stream")]),
                                      body: upstreamBody(request, stream: true), timeouts: timeouts, limits: target.httpLimits)
        let translator = OpenAIStreamTranslator(model: localModelName)
        do {
            return try await executeStream(client, httpRequest) { translator.chunks(from: $0) }
        } catch {
            throw localized(error)
        }
    }

    /// A whole completion from the local engine, generated as a stream (see `CompletionAssembler`):
    /// cancelling this task closes the stream, and llama-server frees the slot at once.
    private func assembled(_ request: ChatRequest, context: ProviderContext) async throws(ProviderError) -> Completion {
        var streamed = request
        streamed.body["stream"] = .bool(true)
        let stream = try await self.stream(streamed, context: context)
        var assembler = CompletionAssembler()
        do {
            for try await chunk in stream.chunks { assembler.add(chunk) }
        } catch {
            throw ProviderError(error)
        }
        return Completion(body: assembler.completion())
    }

    /// The local engine refusing or dropping a connection is an engine that died or is restarting
    /// (the supervisor may not have noticed yet): unavailable for a moment, not a broken upstream.
    private func localized(_ error: ProviderError) -> ProviderError {
        guard case .local(let engine) = endpoint else { return error }
        switch error {
        case .unreachable, .transport(_, timeout: false):
            return .unavailable("the local engine is not accepting requests (\(engine.phaseName)): \(error)", retryAfterSeconds: 2)
        default:
            return error
        }
    }
}

/// OpenAI streams are already OpenAI chunks: check that each one is, and surface in-stream errors.
struct OpenAIStreamTranslator: StreamTranslator {
    /// Replaces each chunk's `model` when set.
    var model: String?

    mutating func translate(_ event: SSEEvent) throws(ProviderError) -> (chunks: [JSONObject], done: Bool) {
        if event.data == "[DONE]" { return ([], true) }
        guard let json = try? JSON.parse(event.data), case .object(var chunk) = json else {
            throw .malformedResponse("stream event is not JSON: \(event.data.prefix(200))")
        }
        if let error = chunk["error"] {
            // `code` is often a string ("rate_limit_exceeded"); only an HTTP error status is taken as one.
            let status = error["code"]?.intValue.flatMap { (400...599).contains($0) ? $0 : nil } ?? 500
            throw .upstreamStatus(status, message: error["message"]?.stringValue.map { String($0.prefix(1000)) } ?? String(error.text.prefix(1000)))
        }
        if let model { chunk["model"] = .string(model) }
        return ([chunk], false)
    }
}
