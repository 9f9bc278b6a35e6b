import Hummingbird
import SwitchyardProviders
import SwitchyardSignals
import SwitchyardWire

/// One wire format clients speak (OpenAI's chat completions, Anthropic's messages): how its
/// requests become the gateway's own, and how the gateway's answers and errors are written back.
/// Everything between, from the caller's admission to the last attempt's accounting, is
/// `RequestPath`, the same for every format.
protocol ClientFormat: Sendable {
    associatedtype Renderer: StreamRenderer

    var front: FrontEnd { get }

    /// The body, validated and translated; every failure a 400 naming the field. `caller` is who
    /// asks: a format that continues stored state (Responses' `previous_response_id`) reads only theirs.
    func parse(_ body: ByteBuffer, headers: HTTPFields, caller: Caller) async throws(GatewayError) -> GatewayRequest

    /// Response headers this format adds to every answer (Anthropic's `request-id`).
    func headers(requestID: String) -> HTTPFields

    /// A whole answer in this format; a format that keeps answers has kept it when this returns.
    func body(_ answer: Completion, request: GatewayRequest, requestID: String, caller: Caller) async -> JSON

    /// Writes one streamed answer, whose elements are in `answer` format, in this format;
    /// `model` is the name the answer goes by, `promptTokens` the prompt's size if the decision
    /// counted it (before the upstream's own count arrives with the usage).
    func renderer(for request: GatewayRequest, answer: AnswerFormat, model: String, promptTokens: Int?, requestID: String,
                  caller: Caller) -> Renderer
}

/// Turns a stream's elements into this format's bytes, and ends it either way.
protocol StreamRenderer: Sendable {
    /// The bytes for one element of the stream. `usage` is set on the element that reported
    /// the answer's usage, with what the request has cost up to and including it.
    mutating func frames(for element: JSONObject, usage: (TokenUsage, costNanodollars: Int64)?) -> [UInt8]

    /// The end of a stream that finished (usage as reported, or estimated); a format that keeps
    /// the answer (Responses' `store`) has kept it when this returns, before the client reads the end.
    mutating func end(usage: TokenUsage) async -> [UInt8]

    /// The end of a stream that broke after its 200: an explicit error, never a silent end.
    mutating func broken(_ error: GatewayError) -> [UInt8]
}
