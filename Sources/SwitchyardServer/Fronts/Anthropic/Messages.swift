import HTTPTypes
import Hummingbird
import SwitchyardProviders
import SwitchyardDecision
import SwitchyardExecution
import SwitchyardSignals
import SwitchyardWire

/// `POST /v1/messages`, Anthropic's Messages API. Its requests reach the router as their summary
/// and their OpenAI chat translation (for the local engine and OpenAI-compatible targets), with
/// the client's body kept for Anthropic targets, which are sent it as it is. Answers come back
/// as Anthropic sent them, or translated from OpenAI's shape.
struct Messages: ClientFormat {
    var front: FrontEnd { .anthropic }

    func parse(_ body: ByteBuffer, headers: HTTPFields, caller: Caller) throws(GatewayError) -> GatewayRequest {
        let messages = try MessagesRequest.parse(body.readableBytesView)
        return GatewayRequest(messages, chat: try messages.chatRequest(), anthropicBeta: try Self.betaFeatures(headers[.anthropicBeta]))
    }

    /// `anthropic-beta` as a comma-separated list of feature names (`prompt-caching-2024-07-31`):
    /// the header goes upstream beside the body, so it may not carry anything a name cannot.
    static func betaFeatures(_ header: String?) throws(GatewayError) -> String? {
        guard let header else { return nil }
        let names = header.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimming(" ") }
        let valid = names.count <= 32 && names.allSatisfy { name in
            (1...64).contains(name.utf8.count) && name.utf8.allSatisfy {
                ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D || $0 == 0x2E || $0 == 0x5F
            }
        }
        guard valid else {
            throw .invalidRequest("'anthropic-beta' must be a comma-separated list of at most 32 feature names (letters, digits, '-', '.', '_').",
                                  param: "anthropic-beta")
        }
        return names.joined(separator: ",")
    }

    func headers(requestID: String) -> HTTPFields { [.anthropicRequestID: "req_\(requestID)"] }

    func body(_ answer: Completion, request: GatewayRequest, requestID: String, caller: Caller) -> JSON {
        switch answer.format {
        case .anthropic:
            .object(answer.body)
        // Only a Responses request is answered in Responses' format; never one from this front.
        case .openAI, .responses:
            .object(AnthropicMessages.message(from: answer.body, id: "msg_\(requestID)",
                                              model: answer.body["model"]?.stringValue ?? request.summary.model))
        }
    }

    /// `message_start` reports the prompt's tokens as the decision counted them, when it did (some
    /// clients read the context's size there); `message_delta` then has the upstream's count.
    func renderer(for request: GatewayRequest, answer: AnswerFormat, model: String, promptTokens: Int?, requestID: String,
                  caller: Caller) -> EventRenderer {
        switch answer {
        case .anthropic: EventRenderer(encoder: nil)
        case .openAI, .responses: EventRenderer(encoder: MessagesStreamEncoder(id: "msg_\(requestID)", model: model, inputTokens: promptTokens))
        }
    }

    /// Anthropic's event stream: an Anthropic upstream's events framed as they came (its own
    /// `message_stop` ends them), or OpenAI chunks encoded as events and closed with the usage.
    /// A broken stream ends with an `error` event and no `message_stop`.
    struct EventRenderer: StreamRenderer {
        /// Nil when the elements are already Anthropic events.
        var encoder: MessagesStreamEncoder?

        mutating func frames(for element: JSONObject, usage: (TokenUsage, costNanodollars: Int64)?) -> [UInt8] {
            guard encoder != nil else { return AnthropicEvent.framing(element).frame }
            return encoder!.events(for: element).flatMap(\.frame)
        }

        mutating func end(usage: TokenUsage) -> [UInt8] {
            encoder?.finish(usage: usage).flatMap(\.frame) ?? []
        }

        mutating func broken(_ error: GatewayError) -> [UInt8] { AnthropicEvent.error(error).frame }
    }
}

extension Messages {
    /// `POST /v1/messages/count_tokens`: the prompt's tokens on the local model (its chat template
    /// applied), or an estimate when the engine cannot be asked; `x-switchyard-tokens-estimated`
    /// says which. A cloud model's tokenizer may count differently.
    static func countTokens(_ request: Request, context: GatewayRequestContext, path: RequestPath) async throws -> Response {
        try await path.respond(to: request, context: context, front: .anthropic) { (body, decider) throws(GatewayError) in
            let messages = try MessagesRequest.parse(body.readableBytesView, countingTokens: true)
            try decider.check(model: messages.model)
            let (count, estimated) = try await decider.countTokens(messages.summary)
            return (.object(["input_tokens": .int(count)]), [.switchyardTokensEstimated: String(estimated)])
        }
    }
}
