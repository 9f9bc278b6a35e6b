import HTTPTypes
import Hummingbird
import SwitchyardDecision
import SwitchyardWire

/// `POST /v1/switchyard/explain`: the decision for a request, without calling any model: every
/// signal a rule read with its value, each rule tried and why, the action. The body is a request
/// in any front's format: chat completions by default, Anthropic messages when the request
/// carries `anthropic-version` (as the Anthropic SDKs send) or `?format=anthropic`, OpenAI
/// responses with `?format=responses`. Errors come back in that format.
enum Explain {
    static func respond(_ request: Request, context: GatewayRequestContext, live: LivePolicy, bodies: BodyBudget,
                        trust: LiveTrust?) async throws -> Response {
        let snapshot = live.snapshot
        var front = FrontEnd.openAI
        do throws(GatewayError) {
            let format = try Self.format(request)
            if format == .anthropic { front = .anthropic }
            let (body, claim) = try await RequestPath.readBody(request, limit: snapshot.policy.server.maxBodyBytes, budget: bodies)
            defer { withExtendedLifetime(claim) {} }
            let summary = try format.summary(of: try JSONObject.requestBody((consume body).readableBytesView))
            let decision = try await snapshot.decider.decide(summary, Decider.Inputs(headers: RequestPath.switchyardHeaders(request.headers),
                                                                                     caller: context.caller, explain: true,
                                                                                     trust: trust?.trust))
            let json = decision.json(signals: snapshot.policy.signals)
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: json.serialized())))
        } catch {
            return front.errorResponse(error)
        }
    }

    static func format(_ request: Request) throws(GatewayError) -> RequestFormat {
        if let asked = request.uri.queryParameters["format"] {
            guard let format = RequestFormat(rawValue: String(asked)) else {
                throw .invalidRequest("`format` is one of \(RequestFormat.allCases.map(\.rawValue).joined(separator: ", ")); got '\(asked)'",
                                      param: "format")
            }
            return format
        }
        return request.headers[HTTPField.Name("anthropic-version")!] != nil ? .anthropic : .openAI
    }
}
