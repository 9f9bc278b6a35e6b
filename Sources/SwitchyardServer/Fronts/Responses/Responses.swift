import HTTPTypes
import Hummingbird
import SwitchyardLedger
import SwitchyardProviders
import SwitchyardSignals
import SwitchyardWire

/// `POST /v1/responses`, OpenAI's Responses API. A request, with the stored conversation it
/// continues first, reaches the router as its summary and its chat form, which every target is
/// sent (the local engine, chat targets, and Anthropic targets through their chat translation);
/// answers come back as `response` objects and Responses event streams, and are stored for
/// continuations (docs/api.md, "The Responses front").
struct Responses: ClientFormat {
    let store: ResponseStore

    var front: FrontEnd { .responses }

    func parse(_ body: ByteBuffer, headers: HTTPFields, caller: Caller) async throws(GatewayError) -> GatewayRequest {
        let request = try ResponsesRequest.parse(body.readableBytesView)
        var earlier: [JSON] = []
        if let id = request.previousResponseID { earlier = try await store.earlierItems(continuing: id, caller: caller) }
        return GatewayRequest(ResponsesCall(request: request, conversation: try request.conversation(continuing: earlier)))
    }

    func headers(requestID: String) -> HTTPFields { [:] }

    func body(_ answer: Completion, request: GatewayRequest, requestID: String, caller: Caller) async -> JSON {
        guard let call = request.responses else { return .object(answer.body) }
        let response = ResponsesAnswer.response(from: answer.body, envelope: Self.envelope(call, requestID: requestID,
                                                                                              model: answer.body["model"]?.stringValue))
        await store.keep(response, of: call, caller: caller)
        return .object(response)
    }

    func renderer(for request: GatewayRequest, answer: AnswerFormat, model: String, promptTokens: Int?, requestID: String,
                  caller: Caller) -> EventRenderer {
        EventRenderer(encoder: request.responses.map { ResponsesStreamEncoder(envelope: Self.envelope($0, requestID: requestID, model: model)) },
                      call: request.responses, store: store, caller: caller)
    }

    /// The id (`resp_` + the request id), the time and the model an answer goes by.
    static func envelope(_ call: ResponsesCall, requestID: String, model: String?) -> ResponseEnvelope {
        ResponseEnvelope(id: "resp_\(requestID)", createdAt: Int(UnixTime.now.milliseconds / 1000), model: model ?? call.request.model,
                         request: call.request)
    }

    /// Responses events from the chat chunks of whichever target served; the final response is
    /// stored before `response.completed` is written, so a client that continues it at once finds it.
    struct EventRenderer: StreamRenderer {
        var encoder: ResponsesStreamEncoder?
        let call: ResponsesCall?
        let store: ResponseStore
        let caller: Caller

        mutating func frames(for element: JSONObject, usage: (TokenUsage, costNanodollars: Int64)?) -> [UInt8] {
            encoder?.events(for: element).flatMap(\.frame) ?? []
        }

        mutating func end(usage: TokenUsage) async -> [UInt8] {
            guard var encoder else { return [] }
            let events = encoder.finish(usage: usage)
            self.encoder = encoder
            if let call, let response = encoder.finalResponse { await store.keep(response, of: call, caller: caller) }
            return events.flatMap(\.frame)
        }

        mutating func broken(_ error: GatewayError) -> [UInt8] {
            encoder?.fail(error).flatMap(\.frame) ?? SSE.frame(error.openAIBody)
        }
    }
}
