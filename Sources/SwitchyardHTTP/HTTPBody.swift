import Synchronization

/// A streamed response body with bounded memory.
///
/// The curl thread offers chunks; when the chunks waiting for the consumer reach `capacity`
/// bytes, the offer is refused and the transfer pauses (`CURL_WRITEFUNC_PAUSE`: curl keeps that
/// chunk and stops reading the socket, so TCP pushes back on the upstream). Once the consumer
/// has drained the buffer to half, the transfer is resumed. A client that reads nothing therefore
/// holds at most `capacity` bytes of the gateway's memory, however much the upstream sends.
///
/// `AsyncThrowingStream` would buffer without limit, hence this small hand-written queue.
public struct HTTPBody: AsyncSequence, Sendable {
    public typealias Element = [UInt8]

    let reader: BodyReader

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(reader: reader) }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let reader: BodyReader

        /// The next chunk; nil at the end of the body. Throws `HTTPClientError` if the transfer
        /// failed midway, `CancellationError` if the consuming task was cancelled.
        public mutating func next() async throws -> [UInt8]? { try await reader.buffer.next() }
    }
}

/// The consumer's handle. When the last one goes away before the body ended (the consumer
/// dropped the body), the transfer is cancelled, which closes the upstream connection.
final class BodyReader: Sendable {
    let buffer: BodyBuffer
    init(buffer: BodyBuffer) { self.buffer = buffer }
    deinit { buffer.consumerGone() }
}

/// The state shared by the curl thread (producer) and the consumer.
final class BodyBuffer: Sendable {
    enum Offer {
        case accepted
        /// Not taken: the transfer must pause and offer the same bytes again after `resume`.
        case pause
    }

    private enum Terminal {
        case finished
        case failed(any Error)
    }

    private struct State {
        var chunks: [[UInt8]] = []
        var head = 0
        var bufferedBytes = 0
        var waiter: CheckedContinuation<[UInt8]?, any Error>?
        var terminal: Terminal?
        var producerPaused = false
        var consumerLeft = false
    }

    private let state = Mutex(State())
    private let capacity: Int
    /// Asks the curl thread to unpause the transfer.
    private let resume: @Sendable () -> Void
    /// Asks the curl thread to drop the transfer: nobody will read the rest.
    private let cancel: @Sendable () -> Void

    init(capacity: Int, resume: @escaping @Sendable () -> Void, cancel: @escaping @Sendable () -> Void) {
        self.capacity = max(1, capacity)
        self.resume = resume
        self.cancel = cancel
    }

    // MARK: producer (the curl thread)

    func offer(_ bytes: UnsafeRawBufferPointer) -> Offer {
        enum Action { case none, hand(CheckedContinuation<[UInt8]?, any Error>, [UInt8]) }
        let (offer, action) = state.withLock { state -> (Offer, Action) in
            if state.terminal != nil || state.consumerLeft { return (.accepted, .none) }
            if let waiter = state.waiter {
                state.waiter = nil
                return (.accepted, .hand(waiter, Array(bytes)))
            }
            // An empty buffer always takes the chunk, so one chunk larger than the capacity still flows.
            if state.bufferedBytes > 0, state.bufferedBytes + bytes.count > capacity {
                state.producerPaused = true
                return (.pause, .none)
            }
            state.chunks.append(Array(bytes))
            state.bufferedBytes += bytes.count
            return (.accepted, .none)
        }
        if case .hand(let waiter, let chunk) = action { waiter.resume(returning: chunk) }
        return offer
    }

    func finish(_ error: (any Error)?) {
        let waiter = state.withLock { state -> CheckedContinuation<[UInt8]?, any Error>? in
            guard state.terminal == nil else { return nil }
            state.terminal = error.map { .failed($0) } ?? .finished
            defer { state.waiter = nil }
            return state.waiter
        }
        guard let waiter else { return }
        if let error { waiter.resume(throwing: error) } else { waiter.resume(returning: nil) }
    }

    // MARK: consumer

    func next() async throws -> [UInt8]? {
        enum Step { case chunk([UInt8], resume: Bool), end, fail(any Error), wait(resume: Bool) }
        func step(_ state: inout State) -> Step {
            if state.head < state.chunks.count {
                let chunk = state.chunks[state.head]
                state.head += 1
                state.bufferedBytes -= chunk.count
                if state.head == state.chunks.count {
                    state.chunks.removeAll(keepingCapacity: true)
                    state.head = 0
                }
                var wake = false
                if state.producerPaused, state.bufferedBytes <= capacity / 2 {
                    state.producerPaused = false
                    wake = true
                }
                return .chunk(chunk, resume: wake)
            }
            if state.producerPaused {
                // Drained while paused: nothing is buffered, the transfer holds the next chunk.
                state.producerPaused = false
                return .wait(resume: true)
            }
            switch state.terminal {
            case .finished: return .end
            case .failed(let error): return .fail(error)
            case nil: return .wait(resume: false)
            }
        }
        let first = state.withLock { step(&$0) }
        switch first {
        case .chunk(let chunk, let wake):
            if wake { resume() }
            return chunk
        case .end: return nil
        case .fail(let error): throw error
        case .wait(let wake): if wake { resume() }
        }
        try Task.checkCancellation()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<[UInt8]?, any Error>) in
                let retry = state.withLock { state -> Step in
                    let now = step(&state)
                    if case .wait = now {
                        if state.consumerLeft { return .fail(CancellationError()) }
                        state.waiter = continuation
                    }
                    return now
                }
                switch retry {
                case .chunk(let chunk, let wake):
                    if wake { resume() }
                    continuation.resume(returning: chunk)
                case .end: continuation.resume(returning: nil)
                case .fail(let error): continuation.resume(throwing: error)
                case .wait(let wake): if wake { resume() }
                }
            }
        } onCancel: {
            consumerGone()
        }
    }

    /// The consumer was cancelled or dropped the body: fail a waiting `next()` and cancel the transfer.
    func consumerGone() {
        let (waiter, running) = state.withLock { state -> (CheckedContinuation<[UInt8]?, any Error>?, Bool) in
            state.consumerLeft = true
            state.chunks.removeAll()
            state.head = 0
            state.bufferedBytes = 0
            defer { state.waiter = nil }
            return (state.waiter, state.terminal == nil)
        }
        waiter?.resume(throwing: CancellationError())
        if running { cancel() }
    }
}
