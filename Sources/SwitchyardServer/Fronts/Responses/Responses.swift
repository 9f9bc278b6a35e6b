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
        var response: JSONObject
        switch answer.format {
        case .responses:
            // Passed through: the upstream's own response, under the id the gateway keeps it by.
            response = answer.body
            response["id"] = .string(Self.responseID(requestID))
        case .openAI, .anthropic:
            response = ResponsesAnswer.response(from: answer.body, envelope: Self.envelope(call, requestID: requestID,
                                                                                          model: answer.body["model"]?.stringValue))
        }
        await store.keep(response, of: call, caller: caller)
        return .object(response)
    }

    func renderer(for request: GatewayRequest, answer: AnswerFormat, model: String, promptTokens: Int?, requestID: String,
                  caller: Caller) -> EventRenderer {
        let encoder = answer == .responses ? nil : request.responses.map {
            ResponsesStreamEncoder(envelope: Self.envelope($0, requestID: requestID, model: model))
        }
        return EventRenderer(encoder: encoder, id: Self.responseID(requestID), call: request.responses, store: store, caller: caller)
    }

    /// `resp_` + the request id: the id a client continues, reads and deletes.
    static func responseID(_ requestID: String) -> String { "resp_\(requestID)" }

    /// The id (`resp_` + the request id), the time and the model an answer goes by.
    static func envelope(_ call: ResponsesCall, requestID: String, model: String?) -> ResponseEnvelope {
        ResponseEnvelope(id: responseID(requestID), createdAt: Int(UnixTime.now.milliseconds / 1000), model: model ?? call.request.model,
                         request: call.request)
    }

    /// Responses events: encoded from the chat chunks of whichever target served, or a Responses
    /// upstream's own, passed through under the gateway's response id. The final response is
    /// stored before the event that carries it is written, so a client that continues it at
    /// once finds it.
    struct EventRenderer: StreamRenderer {
        /// Nil when the elements are a Responses upstream's events.
        var encoder: ResponsesStreamEncoder?
        let id: String
        let call: ResponsesCall?
        let store: ResponseStore
        let caller: Caller
        /// A passed-through stream's last event, held back until its response is stored.
        private var last: JSONObject?
        private var nextSequence = 0

        init(encoder: ResponsesStreamEncoder?, id: String, call: ResponsesCall?, store: ResponseStore, caller: Caller) {
            self.encoder = encoder
            self.id = id
            self.call = call
            self.store = store
            self.caller = caller
        }

        mutating func frames(for element: JSONObject, usage: (TokenUsage, costNanodollars: Int64)?) -> [UInt8] {
            if encoder != nil { return encoder!.events(for: element).flatMap(\.frame) }
            var event = element
            if case .object(var response)? = event["response"] {
                response["id"] = .string(id)
                event["response"] = .object(response)
            }
            nextSequence = (event["sequence_number"]?.intValue ?? nextSequence) + 1
            if let type = event["type"]?.stringValue, ResponsesPassThrough.terminalEvents.contains(type) {
                last = event
                return []
            }
            return Self.frame(event)
        }

        mutating func end(usage: TokenUsage) async -> [UInt8] {
            if var encoder {
                let events = encoder.finish(usage: usage)
                self.encoder = encoder
                if let call, let response = encoder.finalResponse { await store.keep(response, of: call, caller: caller) }
                return events.flatMap(\.frame)
            }
            guard let last else { return [] }
            if let call, case .object(let response)? = last["response"] { await store.keep(response, of: call, caller: caller) }
            return Self.frame(last)
        }

        mutating func broken(_ error: GatewayError) -> [UInt8] {
            if encoder != nil { return encoder!.fail(error).flatMap(\.frame) }
            // A passed-through stream ends with OpenAI's `error` event, numbered after the last one.
            var event = error.openAIBody["error"]?.objectValue ?? [:]
            event["type"] = .string("error")
            event["sequence_number"] = .int(nextSequence)
            return Self.frame(event)
        }

        private static func frame(_ event: JSONObject) -> [UInt8] {
            SSE.frame(event: event["type"]?.stringValue ?? "message", data: event)
        }
    }
}
