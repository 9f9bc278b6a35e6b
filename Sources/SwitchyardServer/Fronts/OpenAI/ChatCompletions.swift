import HTTPTypes
import Hummingbird
import SwitchyardProviders
import SwitchyardDecision
import SwitchyardExecution
import SwitchyardSignals
import SwitchyardWire

/// `POST /v1/chat/completions`, OpenAI's format. Its requests are the gateway's chat form as
/// they are; its answers are OpenAI-shaped already (a request from this front carries no
/// Anthropic body, so no provider answers it in Anthropic's shape).
struct ChatCompletions: ClientFormat {
    var front: FrontEnd { .openAI }

    func parse(_ body: ByteBuffer, headers: HTTPFields, caller: Caller) throws(GatewayError) -> GatewayRequest {
        GatewayRequest(try ChatRequest.parse(body.readableBytesView))
    }

    func headers(requestID: String) -> HTTPFields { [:] }

    func body(_ answer: Completion, request: GatewayRequest, requestID: String, caller: Caller) -> JSON {
        .object(answer.body)
    }

    func renderer(for request: GatewayRequest, answer: AnswerFormat, model: String, promptTokens: Int?, requestID: String,
                  caller: Caller) -> ChunkRenderer {
        ChunkRenderer(includeUsage: request.chat.includeUsage)
    }

    /// `data:` frames of chunks, ended by `[DONE]`; a broken stream ends with an error object and
    /// no `[DONE]`. Usage is always asked of the upstream (every token is accounted) but sent on,
    /// with what the request cost, only to a client that asked for it.
    struct ChunkRenderer: StreamRenderer {
        let includeUsage: Bool

        func frames(for element: JSONObject, usage: (TokenUsage, costNanodollars: Int64)?) -> [UInt8] {
            var chunk = element
            if chunk["usage"] != nil, !(chunk["usage"]?.isNull ?? true) {
                if !includeUsage {
                    chunk["usage"] = nil
                    if chunk["choices"]?.arrayValue?.isEmpty ?? true { return [] }
                } else if let usage, var object = chunk["usage"]?.objectValue {
                    object["cost_usd"] = .number(RequestPath.usd(usage.costNanodollars))
                    chunk["usage"] = .object(object)
                }
            }
            return SSE.frame(.object(chunk))
        }

        func end(usage: TokenUsage) -> [UInt8] { SSE.done }

        func broken(_ error: GatewayError) -> [UInt8] { SSE.frame(error.openAIBody) }
    }
}
