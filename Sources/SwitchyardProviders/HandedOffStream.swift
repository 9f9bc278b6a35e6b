import SwitchyardWire

/// A chunk stream's iterator, handed from the code that reads its first chunks (the provider
/// checking that a stream really started, the cascade holding tokens back) to the response
/// writer, which reads the rest. The two use it one after the other, never at once, which the
/// compiler cannot see: hence unchecked. `drop()` releases it, cancelling the upstream transfer.
public final class HandedOffIterator: @unchecked Sendable {
    private var iterator: (any AsyncIteratorProtocol<JSONObject, any Error>)?

    public init(_ chunks: any AsyncSequence<JSONObject, any Error> & Sendable) {
        iterator = chunks.makeAsyncIterator()
    }

    public func next() async throws -> JSONObject? {
        guard var current = iterator else { return nil }
        let chunk = try await current.next()
        iterator = current
        return chunk
    }

    public func drop() { iterator = nil }
}

/// Chunks already read, then the rest of the stream (none when it had ended), each passed
/// through `transform`.
public struct ResumedChunks: AsyncSequence, Sendable {
    public typealias Element = JSONObject
    let held: [JSONObject]
    let rest: HandedOffIterator?
    let transform: @Sendable (JSONObject) -> JSONObject

    public init(held: [JSONObject], rest: HandedOffIterator?, transform: @escaping @Sendable (JSONObject) -> JSONObject = { $0 }) {
        self.held = held
        self.rest = rest
        self.transform = transform
    }

    public func makeAsyncIterator() -> Iterator { Iterator(held: held[...], rest: rest, transform: transform) }

    public struct Iterator: AsyncIteratorProtocol {
        var held: ArraySlice<JSONObject>
        let rest: HandedOffIterator?
        let transform: @Sendable (JSONObject) -> JSONObject

        public mutating func next() async throws -> JSONObject? {
            if let first = held.popFirst() { return first }
            guard let chunk = try await rest?.next() else { return nil }
            return transform(chunk)
        }
    }
}

extension CompletionStream {
    /// Reads the first chunk before anything is committed to the client: a stream that fails or
    /// turns out not to be the promised format before its first chunk is a failed attempt.
    static func primed(_ chunks: some AsyncSequence<JSONObject, any Error> & Sendable,
                       format: AnswerFormat) async throws(ProviderError) -> CompletionStream {
        let source = HandedOffIterator(chunks)
        let first: JSONObject?
        do {
            first = try await source.next()
        } catch {
            throw ProviderError(error)
        }
        guard let first else { return CompletionStream(chunks: ResumedChunks(held: [], rest: nil), format: format) }
        return CompletionStream(chunks: ResumedChunks(held: [first], rest: source), format: format)
    }
}
