import SwitchyardHTTP
import SwitchyardPolicy
import SwitchyardWire

/// A Responses request sent as it is to an OpenAI target that speaks the Responses API
/// (`responses: true`): the whole conversation (the gateway resolved `previous_response_id`), its
/// items intact (reasoning items and their encrypted content included), the model replaced, and
/// `store: false` (the gateway keeps what it answers; the upstream need not), and the output cap
/// the gateway put on the chat form (a budgeted request's, which its reservation assumed).
public enum ResponsesPassThrough {
    /// Events that end a Responses stream; `response.failed` is read as the upstream's error.
    public static let terminalEvents: Set<String> = ["response.completed", "response.incomplete"]

    static func body(_ request: GatewayRequest, _ call: ResponsesCall, model: String, stream: Bool) -> [UInt8] {
        var body = call.conversation.body
        body["model"] = .string(model)
        if let cap = request.chat.maxTokens { body["max_output_tokens"] = .int(cap) }
        body["store"] = .bool(false)
        body["stream"] = .bool(stream)
        return body.serialized()
    }

    /// The upstream's `response`, checked to be one.
    static func response(_ object: JSONObject) throws(ProviderError) -> Completion {
        guard object["object"] == .string("response"), object["output"]?.arrayValue != nil else {
            throw .malformedResponse("not a Responses `response` object")
        }
        return Completion(response: object)
    }
}

/// A Responses upstream's events, passed on as their data objects (each names its `type`); its
/// end is `response.completed` or `response.incomplete`. An `error` event or `response.failed` is
/// the upstream's failure: the stream breaks with it, so the client's stream ends with an error.
struct ResponsesStreamTranslator: StreamTranslator {
    mutating func translate(_ event: SSEEvent) throws(ProviderError) -> (chunks: [JSONObject], done: Bool) {
        guard let json = try? JSON.parse(event.data), case .object(let data) = json, let type = data["type"]?.stringValue else {
            throw .malformedResponse("stream event is not a Responses event: \(event.data.prefix(200))")
        }
        switch type {
        case "error":
            throw .upstreamStatus(500, message: String((data["message"]?.stringValue ?? data.serializedText).prefix(1000)))
        case "response.failed":
            let error = data["response"]?["error"]
            throw .upstreamStatus(500, message: String((error?["message"]?.stringValue ?? "the upstream response failed").prefix(1000)))
        default:
            return ([data], ResponsesPassThrough.terminalEvents.contains(type))
        }
    }
}

extension JSONObject {
    fileprivate var serializedText: String { JSON.object(self).text }
}
