import SwitchyardDecision
import SwitchyardSignals
import SwitchyardPolicy
import SwitchyardProviders
import SwitchyardWire

#if canImport(Glibc)
import Glibc
#endif

extension Executor {
    /// The streaming cascade. The local stream starts with log-probabilities; its first
    /// `holdTokens` tokens (or what arrived by `holdTime`, or the whole answer if shorter) are
    /// held back and scored. Then, before anything is committed to the client:
    /// - confident enough: the held chunks are released and the local stream continues;
    /// - not: the escalation target's stream is started, and only once it has accepted (2xx head)
    ///   is the local generation cancelled. If no escalation target can answer, the held chunks are
    ///   released after all and the answer says why.
    /// The client never sees a discarded local token, and the stream is valid SSE either way.
    func streamCascade(_ cascade: Cascade, request: GatewayRequest, decision: Decision,
                       context: ProviderContext, tracker: AttemptTracker) async throws(GatewayError) -> Served<CompletionStream> {
        let escalationTargets = [cascade.escalateTo] + cascade.fallbacks
        let scored = scoredRequest(request, decision)
        let local: Served<CompletionStream>
        do {
            local = try await serveStream([cascade.first], scored, context, tracker)
        } catch let localError {
            do {
                return try await serveStream(escalationTargets, request, context, tracker)
            } catch {
                throw Self.moreTelling(localError, error)
            }
        }

        // Hold back the first tokens and collect their log-probabilities.
        let source = HandedOffIterator(local.answer.chunks)
        var held: [JSONObject] = []
        var tokens: [JSON] = []
        var ended = false
        var brokenBeforeDecision: (any Error)?
        let deadline = ContinuousClock.now + cascade.holdTime
        // An answer without log-probabilities cannot be scored: nothing is held back for it.
        let holdTokens = Self.canScore(request) ? cascade.holdTokens : 0
        while tokens.count < holdTokens, ContinuousClock.now < deadline || tokens.isEmpty {
            do {
                guard let chunk = try await source.next() else {
                    ended = true
                    break
                }
                tokens += chunk["choices"]?.arrayValue?.first?["logprobs"]?["content"]?.arrayValue ?? []
                held.append(request.chat.logprobs ? chunk : Self.withoutLogprobs(chunk: chunk))
            } catch {
                brokenBeforeDecision = error
                break
            }
        }
        let heldCharacters = held.reduce(0) { $0 + UsageEstimate.characters(in: $1) }
        let heldUsage = UsageEstimate.of(request: request.summary, decision: decision, completionCharacters: heldCharacters)
        if brokenBeforeDecision != nil || (Task.isCancelled && !ended) {
            // The local stream broke before anything was sent: the cascade's next step is the cloud.
            source.drop()
            await tracker.end(local.attempt, Task.isCancelled ? .cancelled : .failed, usage: heldUsage, estimated: true,
                        detail: brokenBeforeDecision.map { "\($0)" })
            return try await serveStream(escalationTargets, request, context, tracker)
        }

        let scoredTokens = ConfidenceScorer.tokens(tokens)
        let keepLogprobs = request.chat.logprobs
        let transform: @Sendable (JSONObject) -> JSONObject = { chunk in
            keepLogprobs ? chunk : Executor.withoutLogprobs(chunk: chunk)
        }
        let resumed = CompletionStream(chunks: ResumedChunks(held: held, rest: ended ? nil : source, transform: transform),
                                       format: local.answer.format, retained: local.answer.retained)
        let served = await escalateIfUnsure(cascade, keeping: Served(answer: resumed, target: local.target, skipped: local.skipped,
                                                                     attempt: local.attempt),
                                            localUsage: (heldUsage, true), tokens: scoredTokens, request: request, decision: decision,
                                            tracker: tracker, context: context, note: " after \(scoredTokens.logprobs.count) tokens",
                                            localText: ended ? Self.text(of: held) : nil) { (provider, context) throws(ProviderError) in
            try await provider.stream(request, context: context)
        }
        // The cloud has accepted: cancel the local generation.
        if served.escalation?.escalated == true { source.drop() }
        return served
    }

    private func serveStream(_ targets: [String], _ request: GatewayRequest, _ context: ProviderContext,
                             _ tracker: AttemptTracker) async throws(GatewayError) -> Served<CompletionStream> {
        try await serve(targets, localLastResort: false, tracker, context) { (provider, context) throws(ProviderError) in
            try await provider.stream(request, context: context)
        }
    }

    /// The text of a local answer held back whole (it ended within the hold): one the learning
    /// loop may judge. A longer answer's held-back start is not.
    private static func text(of chunks: [JSONObject]) -> String {
        var text = StreamText()
        for chunk in chunks { text.add(chunk) }
        return text.text
    }

    static func withoutLogprobs(chunk: JSONObject) -> JSONObject {
        guard chunk["choices"]?.arrayValue?.contains(where: { $0["logprobs"] != nil }) == true else { return chunk }
        return withoutLogprobs(chunk)
    }
}
