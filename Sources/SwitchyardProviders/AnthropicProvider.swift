import SwitchyardHTTP
import SwitchyardPolicy
import SwitchyardWire

#if canImport(Glibc)
import Glibc
#endif

/// Anthropic's Messages API. A request that came in Anthropic's format is passed through as the
/// client sent it but for the model (cache_control, thinking, documents and citations survive),
/// and its answer comes back as Anthropic sent it. A request that came in OpenAI's format is
/// translated both ways (system prompts, tool calls and results, stop reasons, usage).
public struct AnthropicProvider: Provider {
    public let target: ModelTarget
    private let remote: RemoteSettings
    private let apiKey: String?
    private let client: HTTPClient
    private let headers: [(name: String, value: String)]

    static let apiVersion = "2023-06-01"
    /// Anthropic requires `max_tokens`; OpenAI clients often leave it out.
    static let defaultMaxTokens = 4096

    public init(target: ModelTarget, remote: RemoteSettings, apiKey: String?, client: HTTPClient) {
        self.target = target
        self.remote = remote
        self.apiKey = apiKey
        self.client = client
        var headers: [(name: String, value: String)] = [("Content-Type", "application/json")]
        if let apiKey { headers.append(("x-api-key", apiKey)) }
        if remote.headers["anthropic-version"] == nil { headers.append(("anthropic-version", Self.apiVersion)) }
        headers += remote.extraHeaders
        self.headers = headers
    }

    public var availability: ProviderAvailability {
        if apiKey == nil, let env = remote.apiKeyEnv { return .unconfigured("\(env) is not set") }
        return .available
    }

    public func complete(_ request: GatewayRequest, context: ProviderContext) async throws(ProviderError) -> Completion {
        if let native = request.messages {
            let message = try await sendExpectingJSONObject(client, httpRequest(passingThrough(native, stream: false), stream: false,
                                                                                beta: request.anthropicBeta, context: context))
            guard message["content"]?.arrayValue != nil else { throw .malformedResponse("no `content` in the Anthropic message") }
            return Completion(anthropicMessage: message)
        }
        let body = try AnthropicTranslation.request(request.chat, model: remote.model, stream: false, defaultMaxTokens: Self.defaultMaxTokens)
        let message = try await sendExpectingJSONObject(client, httpRequest(body, stream: false, context: context))
        return Completion(body: try AnthropicTranslation.completion(message, requestID: context.requestID))
    }

    public func stream(_ request: GatewayRequest, context: ProviderContext) async throws(ProviderError) -> CompletionStream {
        if let native = request.messages {
            return try await executeStream(client, httpRequest(passingThrough(native, stream: true), stream: true, beta: request.anthropicBeta,
                                                               context: context),
                                           format: .anthropic) { AnthropicEventPassthrough().chunks(from: $0) }
        }
        let body = try AnthropicTranslation.request(request.chat, model: remote.model, stream: true, defaultMaxTokens: Self.defaultMaxTokens)
        let translator = AnthropicStreamTranslator(id: "chatcmpl-\(context.requestID)", created: Int(time(nil)))
        return try await executeStream(client, httpRequest(body, stream: true, context: context)) { translator.chunks(from: $0) }
    }

    /// The client's body with only what the target decides replaced: its upstream model, and
    /// whether to stream (the router may serve a whole request from a stream and vice versa).
    private func passingThrough(_ request: MessagesRequest, stream: Bool) -> JSONObject {
        var body = request.body
        body["model"] = .string(remote.model)
        body["stream"] = stream ? .bool(true) : nil
        return body
    }

    /// - Parameter beta: the client's `anthropic-beta` features, unless the policy sets its own.
    private func httpRequest(_ body: JSONObject, stream: Bool, beta: String? = nil, context: ProviderContext) -> HTTPRequest {
        var headers = context.withTraceHeaders(headers)
        if stream { headers.append(("Accept", "text/event-stream")) }
        if let beta, remote.headers["anthropic-beta"] == nil { headers.append(("anthropic-beta", beta)) }
        return HTTPRequest(method: .post, url: remote.baseURL + "/messages", headers: headers,
                           body: body.serialized(), timeouts: remote.timeouts.http, limits: target.httpLimits)
    }
}

/// The pure translation functions, kept apart from I/O so that tests can table them.
public enum AnthropicTranslation {
    public static func request(_ request: ChatRequest, model: String, stream: Bool, defaultMaxTokens: Int) throws(ProviderError) -> JSONObject {
        var system: [String] = []
        var messages: [(role: String, blocks: [JSON])] = []
        func append(_ role: String, _ blocks: [JSON]) {
            guard !blocks.isEmpty else { return }
            // Anthropic wants alternating roles: merge consecutive messages of one role.
            if messages.last?.role == role { messages[messages.count - 1].blocks += blocks } else { messages.append((role, blocks)) }
        }
        for message in request.messages {
            switch message.role {
            case .system, .developer:
                system.append(message.text)
            case .user:
                append("user", contentBlocks(message.content))
            case .assistant:
                var blocks = contentBlocks(message.content)
                for call in message.raw["tool_calls"]?.arrayValue ?? [] {
                    let arguments = call["function"]?["arguments"]?.stringValue ?? "{}"
                    let input = (try? JSON.parse(arguments)).flatMap { $0.objectValue != nil ? $0 : nil } ?? .object([:])
                    blocks.append(.object([
                        "type": .string("tool_use"),
                        "id": call["id"] ?? .string("call"),
                        "name": call["function"]?["name"] ?? .string("tool"),
                        "input": input,
                    ]))
                }
                append("assistant", blocks)
            case .tool:
                append("user", [.object([
                    "type": .string("tool_result"),
                    "tool_use_id": message.raw["tool_call_id"] ?? .string(""),
                    "content": .string(message.text),
                ])])
            }
        }
        var body: JSONObject = [
            "model": .string(model),
            "max_tokens": .int(request.maxTokens ?? defaultMaxTokens),
            "messages": .array(messages.map { .object(["role": .string($0.role), "content": .array($0.blocks)]) }),
        ]
        if !system.isEmpty { body["system"] = .string(system.joined(separator: "\n\n")) }
        // Anthropic's temperature range is 0...1, OpenAI's 0...2.
        if let t = request.temperature { body["temperature"] = .double(min(t, 1)) }
        if let p = request.topP { body["top_p"] = .double(p) }
        if !request.stop.isEmpty { body["stop_sequences"] = .array(request.stop.map(JSON.string)) }
        if let user = request.body["user"]?.stringValue { body["metadata"] = .object(["user_id": .string(user)]) }
        if stream { body["stream"] = .bool(true) }
        if let tools = request.body["tools"]?.arrayValue, !tools.isEmpty {
            body["tools"] = .array(tools.compactMap { tool in
                guard let function = tool["function"] else { return nil }
                var out: JSONObject = [
                    "name": function["name"] ?? .string("tool"),
                    "input_schema": function["parameters"] ?? .object(["type": .string("object")]),
                ]
                if let description = function["description"] { out["description"] = description }
                return .object(out)
            })
            if let choice = toolChoice(request.body["tool_choice"]) { body["tool_choice"] = choice }
        }
        return body
    }

    static func toolChoice(_ choice: JSON?) -> JSON? {
        switch choice {
        case .string("auto"): .object(["type": .string("auto")])
        case .string("required"): .object(["type": .string("any")])
        case .string("none"): .object(["type": .string("none")])
        case .object(let o): o["function"]?["name"].map { .object(["type": .string("tool"), "name": $0]) }
        default: nil
        }
    }

    static func contentBlocks(_ content: JSON) -> [JSON] {
        switch content {
        case .string(let text):
            return text.isEmpty ? [] : [.object(["type": .string("text"), "text": .string(text)])]
        case .array(let parts):
            return parts.compactMap { part -> JSON? in
                switch part["type"]?.stringValue {
                case "text":
                    return .object(["type": .string("text"), "text": part["text"] ?? .string("")])
                case "image_url":
                    guard let url = part["image_url"]?["url"]?.stringValue else { return nil }
                    return .object(["type": .string("image"), "source": imageSource(url)])
                default:
                    return nil
                }
            }
        default:
            return []
        }
    }

    /// `data:image/png;base64,...` becomes an inline image; anything else is passed as a URL.
    static func imageSource(_ url: String) -> JSON {
        if url.hasPrefix("data:"), let comma = url.firstIndex(of: ","), let semicolon = url.firstIndex(of: ";"), semicolon < comma {
            let mediaType = url[url.index(url.startIndex, offsetBy: 5)..<semicolon]
            return .object(["type": .string("base64"), "media_type": .string(String(mediaType)),
                            "data": .string(String(url[url.index(after: comma)...]))])
        }
        return .object(["type": .string("url"), "url": .string(url)])
    }

    public static func finishReason(_ stopReason: String?) -> JSON {
        switch stopReason {
        case "end_turn", "stop_sequence", "pause_turn": .string("stop")
        case "max_tokens": .string("length")
        case "tool_use": .string("tool_calls")
        case "refusal": .string("content_filter")
        case .some(let other): .string(other)
        case .none: .null
        }
    }

    public static func completion(_ message: JSONObject, requestID: String) throws(ProviderError) -> JSONObject {
        guard let content = message["content"], content.arrayValue != nil else { throw .malformedResponse("no `content` in the Anthropic message") }
        let assistant = MessagesRequest.assistantMessage(content)
        var completion: JSONObject = [
            "id": .string("chatcmpl-\(requestID)"),
            "object": .string("chat.completion"),
            "created": .int(Int(time(nil))),
            "model": message["model"] ?? .string("anthropic"),
            "choices": .array([.object([
                "index": .int(0),
                "message": .object(assistant),
                "finish_reason": finishReason(message["stop_reason"]?.stringValue),
            ])]),
        ]
        // Usage only when the upstream reported plausible counts: a missing figure is estimated
        // later, never taken as zero. Its prompt-cache tokens go along (`TokenUsage.json`).
        if let usage = TokenUsage(anthropic: message["usage"]) { completion["usage"] = usage.json }
        return completion
    }
}

/// An Anthropic upstream's events, passed on as their data objects (each names its `type`) for a
/// client that speaks Anthropic: checked to be JSON objects, ended on `message_stop`, and an
/// `error` event thrown as a failed upstream, never forwarded as if the answer were whole.
struct AnthropicEventPassthrough: StreamTranslator {
    mutating func translate(_ event: SSEEvent) throws(ProviderError) -> (chunks: [JSONObject], done: Bool) {
        guard let json = try? JSON.parse(event.data), case .object(let data) = json, let type = data["type"]?.stringValue else {
            throw .malformedResponse("stream event is not a JSON object with a type: \(event.data.prefix(200))")
        }
        if type == "error" { throw AnthropicStreamTranslator.upstreamError(data, raw: event.data) }
        return ([data], type == "message_stop")
    }
}

/// Anthropic stream events (message_start, content_block_*, message_delta, message_stop)
/// into OpenAI chunks; ends on `message_stop`, throws on an `error` event.
struct AnthropicStreamTranslator: StreamTranslator {
    let id: String
    let created: Int
    private var model: JSON = .string("anthropic")
    /// Read from `message_start` and `message_delta` as a passed-through stream's is, prompt-cache
    /// tokens included.
    private var usage = StreamUsage()
    /// Anthropic content-block index → OpenAI tool-call index.
    private var toolIndex: [Int: Int] = [:]

    init(id: String, created: Int) {
        self.id = id
        self.created = created
    }

    private func chunk(delta: JSONObject, finishReason: JSON = .null) -> JSONObject {
        [
            "id": .string(id),
            "object": .string("chat.completion.chunk"),
            "created": .int(created),
            "model": model,
            "choices": .array([.object(["index": .int(0), "delta": .object(delta), "finish_reason": finishReason])]),
        ]
    }

    mutating func translate(_ event: SSEEvent) throws(ProviderError) -> (chunks: [JSONObject], done: Bool) {
        guard let json = try? JSON.parse(event.data), case .object(let data) = json else {
            throw .malformedResponse("stream event is not JSON: \(event.data.prefix(200))")
        }
        _ = usage.read(data, format: .anthropic)
        switch event.event ?? data["type"]?.stringValue {
        case "message_start":
            if let m = data["message"]?["model"] { model = m }
            return ([chunk(delta: ["role": .string("assistant"), "content": .string("")])], false)
        case "content_block_start":
            guard let block = data["content_block"], block["type"]?.stringValue == "tool_use", let index = data["index"]?.intValue else {
                return ([], false)
            }
            let openAIIndex = toolIndex.count
            toolIndex[index] = openAIIndex
            return ([chunk(delta: ["tool_calls": .array([.object([
                "index": .int(openAIIndex),
                "id": block["id"] ?? .string("call"),
                "type": .string("function"),
                "function": .object(["name": block["name"] ?? .string("tool"), "arguments": .string("")]),
            ])])])], false)
        case "content_block_delta":
            let delta = data["delta"]
            switch delta?["type"]?.stringValue {
            case "text_delta":
                return ([chunk(delta: ["content": delta?["text"] ?? .string("")])], false)
            case "input_json_delta":
                guard let index = data["index"]?.intValue, let openAIIndex = toolIndex[index] else { return ([], false) }
                return ([chunk(delta: ["tool_calls": .array([.object([
                    "index": .int(openAIIndex),
                    "function": .object(["arguments": delta?["partial_json"] ?? .string("")]),
                ])])])], false)
            default:
                return ([], false)
            }
        case "message_delta":
            let reason = AnthropicTranslation.finishReason(data["delta"]?["stop_reason"]?.stringValue)
            return ([chunk(delta: [:], finishReason: reason)], false)
        case "message_stop":
            guard let reported = usage.usage else { return ([], true) }
            var final: JSONObject = chunk(delta: [:])
            final["choices"] = .array([])
            final["usage"] = reported.json
            return ([final], true)
        case "error":
            throw Self.upstreamError(data, raw: event.data)
        default:  // ping, content_block_stop, and future event types
            return ([], false)
        }
    }

    /// An in-stream `error` event as the upstream failure it reports.
    static func upstreamError(_ data: JSONObject, raw: String) -> ProviderError {
        let error = data["error"]
        let status = error?["type"]?.stringValue == "overloaded_error" ? 529 : 500
        return .upstreamStatus(status, message: String((error?["message"]?.stringValue ?? raw).prefix(1000)))
    }
}
