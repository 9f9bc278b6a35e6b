import HTTPTypes
import Hummingbird
import SwitchyardProviders
import SwitchyardRouter
import SwitchyardWire

/// `POST /v1/chat/completions`, OpenAI's format. Its requests are the gateway's chat form as
/// they are; its answers are OpenAI-shaped already (a request from this front carries no
/// Anthropic body, so no provider answers it in Anthropic's shape).
struct ChatCompletions: ClientFormat {
    var front: FrontEnd { .openAI }

    func parse(_ body: ByteBuffer, headers: HTTPFields) throws(GatewayError) -> GatewayRequest {
        GatewayRequest(try ChatRequest.parse(body.readableBytesView))
    }

    func headers(requestID: String) -> HTTPFields { [:] }

    func body(_ answer: Completion, request: GatewayRequest, requestID: String) -> JSON {
        .object(answer.body)
    }

    func renderer(for request: GatewayRequest, answer: AnswerFormat, model: String, promptTokens: Int?, requestID: String) -> ChunkRenderer {
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

extension ChatCompletions {
    /// `POST /v1/switchyard/explain`: the decision for a chat request, without calling any model.
    static func explain(_ request: Request, context: GatewayRequestContext, live: LivePolicy, bodies: BodyBudget) async throws -> Response {
        let router = live.snapshot.router
        do {
            let (body, claim) = try await RequestPath.readBody(request, limit: router.policy.server.maxBodyBytes, budget: bodies)
            defer { withExtendedLifetime(claim) {} }
            let chat = try ChatRequest.parse((consume body).readableBytesView)
            let decision = try await router.decide(chat.summary, headers: RequestPath.switchyardHeaders(request.headers), caller: context.caller)
            return Response(status: .ok, headers: [.contentType: "application/json"],
                            body: .init(byteBuffer: ByteBuffer(bytes: decision.json.serialized())))
        } catch {
            return FrontEnd.openAI.errorResponse(error)
        }
    }
}
