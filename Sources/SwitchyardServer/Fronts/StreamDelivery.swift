import HTTPTypes
import Synchronization
import Hummingbird
import SwitchyardProviders
import SwitchyardDecision
import SwitchyardExecution
import SwitchyardSignals
import SwitchyardWire

/// Writes a served stream to its client in the client's format, and ends its attempt exactly once
/// whichever way the stream ends: finished, broken upstream (an explicit error event, never a
/// silent end), abandoned by a client that hung up, or cut by the gateway's shutdown (an
/// explicit error event too; the attempt `interrupted`).
///
/// The stream is committed (200 and headers sent) only after a target accepted it, so every
/// failure before that was still answered another way.
struct StreamDelivery<Renderer: StreamRenderer>: Sendable {
    let served: Served<CompletionStream>
    let request: GatewayRequest
    let decision: Decision
    let tracker: AttemptTracker
    let hangup: ClientHangup?
    let renderer: Renderer
    /// Tells a stream cut by the shutdown deadline from one whose client left.
    let cutoff: ShutdownCutoff?
    /// The request's body bytes stay claimed while its stream is written (`request` is held).
    let claim: BodyClaim?
    /// Given the answer's text once the stream was served whole (a cascade's, for the learner).
    let finished: (@Sendable (String) -> Void)?
    private let closer: AttemptCloser

    init(served: Served<CompletionStream>, request: GatewayRequest, decision: Decision, tracker: AttemptTracker,
         hangup: ClientHangup?, renderer: Renderer, cutoff: ShutdownCutoff? = nil, claim: BodyClaim? = nil,
         finished: (@Sendable (String) -> Void)? = nil) {
        self.finished = finished
        self.served = served
        self.request = request
        self.decision = decision
        self.tracker = tracker
        self.hangup = hangup
        self.renderer = renderer
        self.cutoff = cutoff
        self.claim = claim
        closer = AttemptCloser(served.attempt, tracker: tracker,
                               unwritten: UsageEstimate.of(request: request.summary, decision: decision, completionCharacters: 0))
    }

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
        // The answer's text, for the learner, or for the trace when the policy exports content.
        var text = finished == nil && tracker.request.trace?.captureContent != true ? nil : StreamText()
        var outcome = Attempt.Outcome.cancelled
        var detail: String?
        var errorType: String?
        // The model the upstream says answered (`gen_ai.response.model`), read only when traced.
        let traced = served.attempt.span != nil
        var responseModel: String?
        func counted() -> TokenUsage {
            usage.usage ?? UsageEstimate.of(request: request.summary, decision: decision, completionCharacters: characters)
        }
        func end() async {
            await closer.end(outcome, usage: counted(), estimated: usage.usage == nil, detail: detail, errorType: errorType,
                             responseModel: responseModel, output: text?.text)
        }
        /// After the shutdown deadline cut the stream: ends it as the gateway's doing, with an
        /// error event (no end marker) for a client still there. Nil when it was not cut.
        func interrupted() async throws -> Void? {
            guard let cutoff, cutoff.hasCut else { return nil }
            (outcome, detail) = (.interrupted, "the gateway's shutdown grace ran out")
            await end()
            guard !(hangup?.hasHungUp ?? false) else { return () }
            try await writer.write(ByteBuffer(bytes: renderer.broken(.shuttingDown)))
            try await writer.finish(nil)
            return ()
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
                if traced, responseModel == nil { responseModel = element["model"]?.stringValue ?? element["message"]?["model"]?.stringValue }
                text?.add(element)
                let bytes = renderer.frames(for: element, usage: reported)
                if !bytes.isEmpty { try await writer.write(ByteBuffer(bytes: bytes)) }
            }
            if Task.isCancelled {
                if try await interrupted() == nil { await end() }
                return
            }
            outcome = .served
            let closing = await renderer.end(usage: counted())
            if !closing.isEmpty { try await writer.write(ByteBuffer(bytes: closing)) }
            // An answer longer than a judge reads is not judged on its start.
            if let finished, let text, !text.truncated { finished(text.text) }
        } catch let error as ProviderError {
            if try await interrupted() != nil { return }
            (outcome, detail) = (.broken, error.description)
            if traced { errorType = error.errorType }
            await end()
            try await writer.write(ByteBuffer(bytes: renderer.broken(error.gatewayError)))
            return try await writer.finish(nil)
        } catch {
            if try await interrupted() != nil { return }
            await end()
            throw error
        }
        await end()
        try await writer.finish(nil)
    }
}

/// Ends a stream's attempt exactly once, and then the request's span. The response body that
/// writes the stream may never run (the client left after the handler returned, before the head
/// was written): then nothing would end the attempt, its ledger record would stay in progress,
/// its budget reservation held and its spans open. So the last reference going away ends it as
/// cancelled if the body did not.
final class AttemptCloser: Sendable {
    private let attempt: Attempt
    private let tracker: AttemptTracker
    /// What an attempt whose stream was never written is charged: its prompt, nothing generated.
    private let unwritten: TokenUsage
    private let ended = Atomic<Bool>(false)

    init(_ attempt: Attempt, tracker: AttemptTracker, unwritten: TokenUsage) {
        self.attempt = attempt
        self.tracker = tracker
        self.unwritten = unwritten
    }

    /// - Parameter output: the answer's text (its first `AnswerText.limit` characters), exported
    ///   when the policy exports content.
    func end(_ outcome: Attempt.Outcome, usage: TokenUsage, estimated: Bool, detail: String?, errorType: String? = nil,
             responseModel: String? = nil, output: String? = nil) async {
        guard !ended.exchange(true, ordering: .acquiringAndReleasing) else { return }
        var attempt = attempt
        (attempt.errorType, attempt.responseModel) = (errorType, responseModel)
        await tracker.end(attempt, outcome, usage: usage, estimated: estimated, detail: detail)
        Self.endRequestSpan(tracker, outcome, output: output)
    }

    private static func endRequestSpan(_ tracker: AttemptTracker, _ outcome: Attempt.Outcome, output: String?) {
        let broken = outcome == .broken || outcome == .interrupted ? outcome.rawValue : nil
        tracker.request.trace?.answered(status: 200, costNanodollars: tracker.costNanodollars, output: output, broken: broken)
    }

    deinit {
        guard !ended.load(ordering: .acquiring) else { return }
        let (attempt, tracker, usage) = (attempt, tracker, unwritten)
        Task {
            await tracker.end(attempt, .cancelled, usage: usage, estimated: true, detail: "the stream was never written to the client")
            Self.endRequestSpan(tracker, .cancelled, output: nil)
        }
    }
}
