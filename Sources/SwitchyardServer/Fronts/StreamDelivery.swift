import HTTPTypes
import Hummingbird
import SwitchyardProviders
import SwitchyardRouter
import SwitchyardWire

/// Writes a served stream to its client in the client's format, and ends its attempt exactly once
/// whichever way the stream ends: finished, broken upstream (an explicit error event, never a
/// silent end), or abandoned by a client that hung up.
///
/// The stream is committed (200 and headers sent) only after a target accepted it, so every
/// failure before that was still answered another way.
struct StreamDelivery<Renderer: StreamRenderer>: Sendable {
    let served: Served<CompletionStream>
    let request: GatewayRequest
    let decision: RouteDecision
    let tracker: AttemptTracker
    let hangup: ClientHangup?
    let renderer: Renderer

    func response(headers: HTTPFields) -> Response {
        var headers = headers
        headers[.contentType] = "text/event-stream"
        headers[.cacheControl] = "no-cache"
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in try await write(to: &writer) })
    }

    private func write(to writer: inout any ResponseBodyWriter) async throws {
        var renderer = renderer
        let stream = served.answer
        let price = served.target.remote?.price
        var usage = StreamUsage()
        var characters = 0
        var outcome = Attempt.Outcome.cancelled
        var detail: String?
        func counted() -> TokenUsage {
            usage.usage ?? UsageEstimate.of(request: request.summary, decision: decision, completionCharacters: characters)
        }
        func end() async {
            await tracker.end(served.attempt, outcome, usage: counted(), estimated: usage.usage == nil, detail: detail)
        }
        // While waiting silently for the next token, only the hang-up signal notices a client gone.
        if let hangup, hangup.hasHungUp { return await end() }
        do {
            for try await element in stream.chunks {
                var reported: (TokenUsage, costNanodollars: Int64)?
                if usage.read(element, format: stream.format), let now = usage.usage {
                    // What the request cost: attempts already ended, and this one.
                    reported = (now, tracker.costNanodollars + (price.map { Pricing.nanodollars(now, $0) } ?? 0))
                }
                characters += UsageEstimate.characters(in: element)
                let bytes = renderer.frames(for: element, usage: reported)
                if !bytes.isEmpty { try await writer.write(ByteBuffer(bytes: bytes)) }
            }
            if Task.isCancelled { return await end() }
            outcome = .served
            let closing = renderer.end(usage: counted())
            if !closing.isEmpty { try await writer.write(ByteBuffer(bytes: closing)) }
        } catch let error as ProviderError {
            (outcome, detail) = (.broken, error.description)
            await end()
            try await writer.write(ByteBuffer(bytes: renderer.broken(error.gatewayError)))
            return try await writer.finish(nil)
        } catch {
            await end()
            throw error
        }
        await end()
        try await writer.finish(nil)
    }
}
