import SwitchyardPolicy
import SwitchyardProviders
import SwitchyardWire

#if canImport(Glibc)
import Glibc
#endif

extension RequestRouter {
    /// The streaming cascade. The local stream starts with log-probabilities; its first
    /// `holdTokens` tokens (or what arrived by `holdTime`, or the whole answer if shorter) are
    /// held back and scored. Then, before anything is committed to the client:
    /// - confident enough: the held chunks are released and the local stream continues;
    /// - not: the escalation target's stream is started, and only once it has accepted (2xx head)
    ///   is the local generation cancelled. If no escalation target can answer, the held chunks are
    ///   released after all and the answer says why.
    /// The client never sees a discarded local token, and the stream is valid SSE either way.
    func streamCascade(_ cascade: Cascade, request: ChatRequest, decision: RouteDecision,
                       context: ProviderContext) async throws(APIError) -> Served<CompletionStream> {
        let escalationTargets = [cascade.escalateTo] + cascade.fallbacks
        let scored = scoredRequest(request)
        let local: Served<CompletionStream>
        do {
            local = try await serveStream([cascade.first], scored, context)
        } catch {
            return try await serveStream(escalationTargets, request, context)
        }

        // Hold back the first tokens and collect their log-probabilities.
        let source = HandedOffIterator(local.answer.chunks)
        var held: [JSONObject] = []
        var tokens: [JSON] = []
        var ended = false
        var brokenBeforeDecision: (any Error)?
        let deadline = ContinuousClock.now + cascade.holdTime
        while tokens.count < cascade.holdTokens, ContinuousClock.now < deadline || tokens.isEmpty {
            do {
                guard let chunk = try await source.next() else {
                    ended = true
                    break
                }
                tokens += chunk["choices"]?.arrayValue?.first?["logprobs"]?["content"]?.arrayValue ?? []
                held.append(request.logprobs ? chunk : Self.withoutLogprobs(chunk: chunk))
            } catch {
                brokenBeforeDecision = error
                break
            }
        }
        if brokenBeforeDecision != nil || (Task.isCancelled && !ended) {
            // The local stream broke before anything was sent: the cascade's next step is the cloud.
            return try await serveStream(escalationTargets, request, context)
        }

        let scoredTokens = ConfidenceScorer.tokens(tokens)
        let resumed = CompletionStream(chunks: ResumedChunks(held: held, rest: ended ? nil : source, stripLogprobs: !request.logprobs))
        let served = await escalateIfUnsure(cascade, keeping: Served(answer: resumed, target: local.target, skipped: local.skipped),
                                            tokens: scoredTokens, request: request, decision: decision,
                                            note: " after \(scoredTokens.logprobs.count) tokens") { (provider) throws(ProviderError) in
            try await provider.stream(request, context: context)
        }
        // The cloud has accepted: cancel the local generation.
        if served.escalation?.escalated == true { source.drop() }
        return served
    }

    private func serveStream(_ targets: [String], _ request: ChatRequest, _ context: ProviderContext) async throws(APIError) -> Served<CompletionStream> {
        try await serve(targets, localLastResort: false) { (provider) throws(ProviderError) in
            try await provider.stream(request, context: context)
        }
    }

    static func withoutLogprobs(chunk: JSONObject) -> JSONObject {
        guard chunk["choices"]?.arrayValue?.contains(where: { $0["logprobs"] != nil }) == true else { return chunk }
        return withoutLogprobs(chunk)
    }
}

/// The local stream's iterator, handed from the executor (which reads the held-back tokens) to the
/// response writer (which reads the rest). The two use it one after the other, never at once,
/// which the compiler cannot see: hence unchecked. `drop()` releases it, cancelling the generation.
final class HandedOffIterator: @unchecked Sendable {
    private var iterator: (any AsyncIteratorProtocol<JSONObject, any Error>)?

    init(_ chunks: any AsyncSequence<JSONObject, any Error> & Sendable) {
        iterator = chunks.makeAsyncIterator()
    }

    func next() async throws -> JSONObject? {
        guard var current = iterator else { return nil }
        let chunk = try await current.next()
        iterator = current
        return chunk
    }

    func drop() { iterator = nil }
}

/// The held-back chunks, then the rest of the local stream.
struct ResumedChunks: AsyncSequence, Sendable {
    typealias Element = JSONObject
    let held: [JSONObject]
    let rest: HandedOffIterator?
    let stripLogprobs: Bool

    func makeAsyncIterator() -> Iterator { Iterator(held: held[...], rest: rest, stripLogprobs: stripLogprobs) }

    struct Iterator: AsyncIteratorProtocol {
        var held: ArraySlice<JSONObject>
        let rest: HandedOffIterator?
        let stripLogprobs: Bool

        mutating func next() async throws -> JSONObject? {
            if let first = held.popFirst() { return first }
            guard let chunk = try await rest?.next() else { return nil }
            return stripLogprobs ? RequestRouter.withoutLogprobs(chunk: chunk) : chunk
        }
    }
}
