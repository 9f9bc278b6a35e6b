/// A validated `POST /v1/chat/completions` body.
///
/// The gateway reads what it routes on and checks what it forwards; everything else in `body`
/// (tools, response_format, vendor fields) passes through to OpenAI-compatible upstreams untouched.
public struct ChatRequest: Sendable {
    /// The request exactly as received (keys in order); providers rewrite only what they must.
    public var body: JSONObject
    public let model: String
    public let messages: [ChatMessage]
    public let stream: Bool
    public let includeUsage: Bool
    /// `max_completion_tokens`, else `max_tokens`.
    public let maxTokens: Int?
    public let temperature: Double?
    public let topP: Double?
    public let stop: [String]
    public let logprobs: Bool
    public let topLogprobs: Int?
    public let hasTools: Bool
    /// Fields a translation added that only the local engine reads (Anthropic's `top_k`): removed
    /// before an OpenAI-compatible cloud target, which may reject them, sees the request.
    public var localOnlyFields: [String] = []
    /// What routing reads of it (sized once parsed from bytes).
    public private(set) var summary: RequestSummary

    /// Parses and validates; every failure names the offending field, as OpenAI does.
    public static func parse(_ bytes: some Collection<UInt8>) throws(GatewayError) -> ChatRequest {
        var request = try ChatRequest(body: .requestBody(bytes))
        request.summary.sizeInBytes = bytes.count
        return request
    }

    public init(body: JSONObject) throws(GatewayError) {
        self.body = body
        let v = FieldReader(body)
        model = try v.requiredString("model")
        guard let rawMessages = body["messages"] else {
            throw .invalidRequest("Missing required parameter: 'messages'.", param: "messages", code: "missing_required_parameter")
        }
        guard case .array(let items) = rawMessages, !items.isEmpty else {
            throw .invalidRequest("'messages' must be a non-empty array.", param: "messages")
        }
        var messages: [ChatMessage] = []
        messages.reserveCapacity(items.count)
        for (index, item) in items.enumerated() {
            messages.append(try ChatMessage(item, param: "messages[\(index)]"))
        }
        self.messages = messages
        stream = try v.bool("stream") ?? false
        includeUsage = try v.object("stream_options")?["include_usage"].map { (value) throws(GatewayError) -> Bool in
            guard let b = value.boolValue else {
                throw .invalidRequest("'stream_options.include_usage' must be a boolean.", param: "stream_options.include_usage")
            }
            return b
        } ?? false
        let maxCompletion = try v.int("max_completion_tokens", minimum: 1)
        let legacyMax = try v.int("max_tokens", minimum: 1)
        maxTokens = maxCompletion ?? legacyMax
        temperature = try v.double("temperature", range: 0...2)
        topP = try v.double("top_p", range: 0...1)
        _ = try v.int("n", range: 1...128)
        _ = try v.int("seed", minimum: Int.min)
        _ = try v.string("user")
        logprobs = try v.bool("logprobs") ?? false
        topLogprobs = try v.int("top_logprobs", range: 0...20)
        _ = try v.double("presence_penalty", range: -2...2)
        _ = try v.double("frequency_penalty", range: -2...2)
        stop = try Self.stopSequences(v)
        if let tools = body["tools"], !tools.isNull {
            guard case .array(let list) = tools else { throw .invalidRequest("'tools' must be an array.", param: "tools") }
            hasTools = !list.isEmpty
        } else {
            hasTools = false
        }
        if let format = body["response_format"], !format.isNull, format.objectValue == nil {
            throw .invalidRequest("'response_format' must be an object.", param: "response_format")
        }
        summary = RequestSummary(model: model, turns: messages.map(\.turn), hasTools: hasTools, maxTokens: maxTokens, stream: stream,
                                 sizeInBytes: 0, body: body)
    }
}

/// One chat message, reduced to what routing and translation need.
public struct ChatMessage: Sendable {
    public enum Role: String, Sendable, CaseIterable {
        case system, developer, user, assistant, tool
    }

    public let role: Role
    /// The content as sent: a string, an array of parts, or null (assistant tool calls).
    public let content: JSON
    /// The text parts concatenated: what is tokenized, scored and searched for PII.
    public let text: String
    public let hasImages: Bool
    public let raw: JSONObject

    init(_ json: JSON, param: String) throws(GatewayError) {
        guard case .object(let object) = json else {
            throw .invalidRequest("'\(param)' must be an object.", param: param)
        }
        raw = object
        guard let roleName = object["role"]?.stringValue else {
            throw .invalidRequest("Missing required parameter: '\(param).role'.", param: "\(param).role", code: "missing_required_parameter")
        }
        guard let role = Role(rawValue: roleName) else {
            throw .invalidRequest("Invalid value '\(roleName)' for '\(param).role': expected one of \(Role.allCases.map(\.rawValue).joined(separator: ", ")).",
                                  param: "\(param).role")
        }
        self.role = role
        let content = object["content"] ?? .null
        self.content = content
        switch content {
        case .string(let s):
            text = s
            hasImages = false
        case .null:
            guard role == .assistant else {
                throw .invalidRequest("Missing required parameter: '\(param).content'.", param: "\(param).content", code: "missing_required_parameter")
            }
            text = ""
            hasImages = false
        case .array(let parts):
            var text = ""
            var images = false
            for (i, part) in parts.enumerated() {
                let partParam = "\(param).content[\(i)]"
                guard let type = part["type"]?.stringValue else {
                    throw .invalidRequest("Missing required parameter: '\(partParam).type'.", param: "\(partParam).type")
                }
                switch type {
                case "text":
                    guard let t = part["text"]?.stringValue else {
                        throw .invalidRequest("'\(partParam).text' must be a string.", param: "\(partParam).text")
                    }
                    if !text.isEmpty { text += "\n" }
                    text += t
                case "image_url", "input_image": images = true
                default: break  // audio, files, refusals: passed through
                }
            }
            self.text = text
            hasImages = images
        default:
            throw .invalidRequest("'\(param).content' must be a string or an array of content parts, not \(content.typeName).",
                                  param: "\(param).content")
        }
    }
}

extension ChatRequest {
    /// `stop`: a string or up to 4 strings.
    static func stopSequences(_ v: FieldReader) throws(GatewayError) -> [String] {
        guard let value = v.present("stop") else { return [] }
        switch value {
        case .string(let s): return [s]
        case .array(let items):
            var out: [String] = []
            for item in items {
                guard let s = item.stringValue else { throw .invalidRequest("'stop' must be a string or an array of strings.", param: "stop") }
                out.append(s)
            }
            guard out.count <= 4 else { throw .invalidRequest("'stop' accepts at most 4 sequences; got \(out.count).", param: "stop") }
            return out
        default:
            throw .invalidRequest("'stop' must be a string or an array of strings, not \(value.typeName).", param: "stop")
        }
    }
}

extension ChatMessage {
    var turn: RequestSummary.Turn {
        let role: RequestSummary.Role = switch self.role {
        case .system, .developer: .system
        case .user: .user
        case .assistant: .assistant
        case .tool: .tool
        }
        // Tool calls' arguments are part of the conversation the model reads back (and the
        // Anthropic front counts its `tool_use` input the same way).
        let arguments = raw["tool_calls"]?.arrayValue?.compactMap { $0["function"]?["arguments"]?.stringValue } ?? []
        let text = arguments.isEmpty ? self.text : ([self.text].filter { !$0.isEmpty } + arguments).joined(separator: "\n")
        return RequestSummary.Turn(role: role, text: text, hasImages: hasImages)
    }
}
