/// What a Responses `response` object holds besides the answer: its id and time, the model it
/// goes by, and the request's settings echoed back with OpenAI's defaults where the client set
/// none (clients and SDKs read `tools`, `text`, `metadata` and the like from the answer). Built
/// once per request; the whole answer (`ResponsesAnswer`) and each stream event that carries the
/// response (`ResponsesStreamEncoder`) fill in status, output and usage.
public struct ResponseEnvelope: Sendable {
    /// `resp_…`, given by the caller (the id a continuation names).
    public let id: String
    /// Unix seconds; given by the caller, since the wire layer reads no clock.
    public let createdAt: Int
    public let model: String
    private let settings: JSONObject

    public init(id: String, createdAt: Int, model: String, request: ResponsesRequest) {
        self.id = id
        self.createdAt = createdAt
        self.model = model
        var settings: JSONObject = [:]
        for (key, fallback) in Self.echoed {
            settings[key] = request.body[key].flatMap { $0.isNull ? nil : $0 } ?? fallback
        }
        self.settings = settings
    }

    /// The echoed parameters, in OpenAI's order, with the values OpenAI reports when none was set.
    /// `service_tier` is the processing actually used, which only OpenAI's own tiers change.
    private static let echoed: [(String, JSON)] = [
        ("instructions", .null), ("max_output_tokens", .null), ("max_tool_calls", .null), ("parallel_tool_calls", .bool(true)),
        ("previous_response_id", .null), ("prompt_cache_key", .null),
        ("reasoning", .object(["effort": .null, "summary": .null])), ("safety_identifier", .null), ("service_tier", .string("default")),
        ("store", .bool(true)), ("temperature", .number("1.0")), ("text", .object(["format": .object(["type": .string("text")])])),
        ("tool_choice", .string("auto")), ("tools", .array([])), ("top_logprobs", .int(0)), ("top_p", .number("1.0")),
        ("truncation", .string("disabled")), ("user", .null), ("metadata", .object([:])),
    ]

    public enum Status: Sendable, Equatable {
        case inProgress
        case completed
        /// Cut short: `max_output_tokens` or `content_filter`.
        case incomplete(reason: String)
        case failed(GatewayError)

        /// An answer's status from the chat finish reason that ended it.
        static func of(finishReason: String?) -> Status {
            switch finishReason {
            case "length": .incomplete(reason: "max_output_tokens")
            case "content_filter": .incomplete(reason: "content_filter")
            default: .completed
            }
        }

        /// The status its output items are given.
        var itemStatus: String {
            switch self {
            case .inProgress: "in_progress"
            case .completed: "completed"
            case .incomplete, .failed: "incomplete"
            }
        }
    }

    /// The `response` object. `usage` is nil while in progress, and for a failure.
    public func response(status: Status, output: [JSON], usage: JSON?) -> JSONObject {
        var error: JSON = .null
        var incomplete: JSON = .null
        let name: String
        switch status {
        case .inProgress: name = "in_progress"
        case .completed: name = "completed"
        case .incomplete(let reason):
            name = "incomplete"
            incomplete = .object(["reason": .string(reason)])
        case .failed(let failure):
            name = "failed"
            error = failure.responsesError
        }
        var object: JSONObject = [
            "id": .string(id), "object": .string("response"), "created_at": .int(createdAt), "status": .string(name),
            "background": .bool(false), "error": error, "incomplete_details": incomplete, "model": .string(model),
            "output": .array(output),
        ]
        object.fields += settings.fields
        object["usage"] = usage ?? .null
        return object
    }

    /// An output item's id, from the response's: `msg_…`, `fc_…`, unique to the response and to
    /// the item's place in its output, so the items of a stored conversation never share one.
    func itemID(_ prefix: String, index: Int) -> String {
        let base = id.hasPrefix("resp_") ? String(id.dropFirst(5)) : id
        return "\(prefix)_\(base)_\(index)"
    }

    // MARK: - Output items

    /// An assistant message item with its parts (`output_text`, `refusal`).
    func message(index: Int, parts: [JSON], status: String) -> JSON {
        .object(["id": .string(itemID("msg", index: index)), "type": .string("message"), "status": .string(status),
                 "role": .string("assistant"), "content": .array(parts)])
    }

    /// A `function_call` item; `callID` is the chat tool call's id, or one made from the item's.
    func functionCall(index: Int, callID: String?, name: String, arguments: String, status: String) -> JSON {
        .object(["id": .string(itemID("fc", index: index)), "type": .string("function_call"), "status": .string(status),
                 "arguments": .string(arguments), "call_id": .string(callID ?? itemID("call", index: index)), "name": .string(name)])
    }

    static func textPart(_ text: String) -> JSON {
        .object(["type": .string("output_text"), "text": .string(text), "annotations": .array([]), "logprobs": .array([])])
    }

    static func refusalPart(_ refusal: String) -> JSON {
        .object(["type": .string("refusal"), "refusal": .string(refusal)])
    }

    /// The Responses `usage` object: the counts as the gateway accounted them, with the prompt-cache
    /// reads and reasoning tokens a chat `usage` object (`details`) reported, where they fit within
    /// them. Zeros when nothing was counted.
    static func usage(_ usage: TokenUsage?, details: JSON?) -> JSON {
        let input = usage?.promptTokens ?? 0, output = usage?.completionTokens ?? 0
        let reportedCache = details?["prompt_tokens_details"]?["cached_tokens"]?.tokenCount ?? 0
        let cached = min(usage.map { $0.cacheReadTokens > 0 ? $0.cacheReadTokens : reportedCache } ?? 0, input)
        let reasoning = min(details?["completion_tokens_details"]?["reasoning_tokens"]?.tokenCount ?? 0, output)
        return .object([
            "input_tokens": .int(input),
            "input_tokens_details": .object(["cached_tokens": .int(cached)]),
            "output_tokens": .int(output),
            "output_tokens_details": .object(["reasoning_tokens": .int(reasoning)]),
            "total_tokens": .int(input + output),
        ])
    }
}

extension GatewayError {
    /// A failed response's `error`: OpenAI's codes are a fixed set (`server_error`,
    /// `rate_limit_exceeded`, …), so the gateway's own code leads the message, as in Anthropic's
    /// error body.
    var responsesError: JSON {
        .object([
            "code": .string(httpStatus == 429 ? "rate_limit_exceeded" : "server_error"),
            "message": .string(code.map { "\($0): \(message)" } ?? message),
        ])
    }
}
