/// Where a transfer's outcome goes. Streaming: the head to the awaiting caller, then body
/// chunks to a bounded `BodyBuffer`. Collecting: everything buffered here, up to a limit, and
/// handed over once at the end, so a non-streaming call costs one thread handoff instead of two.
/// Created by the submitting task, then handed over once through the command queue and used
/// on the loop thread only: hence unchecked.
final class TransferSink: @unchecked Sendable {
    private enum Mode {
        case streaming(head: CheckedContinuation<HTTPResponseHead, any Error>?, body: BodyBuffer)
        case collecting(CheckedContinuation<HTTPResponse, any Error>, head: HTTPResponseHead?, body: [UInt8], limit: Int)
        case finished
    }

    enum Delivery {
        case accepted
        /// The consumer's buffer is full: pause the transfer, offer the same bytes again later.
        case pause
        /// Past the response size limit: abort the transfer.
        case tooLarge
    }

    private var mode: Mode

    init(head: CheckedContinuation<HTTPResponseHead, any Error>, body: BodyBuffer) {
        mode = .streaming(head: head, body: body)
    }

    init(collecting: CheckedContinuation<HTTPResponse, any Error>, limit: Int) {
        mode = .collecting(collecting, head: nil, body: [], limit: limit)
    }

    func deliverHead(_ value: HTTPResponseHead) {
        switch mode {
        case .streaming(let head, let body):
            head?.resume(returning: value)
            mode = .streaming(head: nil, body: body)
        case .collecting(let continuation, _, let body, let limit):
            mode = .collecting(continuation, head: value, body: body, limit: limit)
        case .finished:
            break
        }
    }

    func deliverBody(_ chunk: UnsafeRawBufferPointer) -> Delivery {
        switch mode {
        case .streaming(_, let body):
            return body.offer(chunk) == .accepted ? .accepted : .pause
        case .collecting(let continuation, let head, var body, let limit):
            guard body.count + chunk.count <= limit else { return .tooLarge }
            mode = .finished  // keeps `body` uniquely referenced while it grows
            body.append(contentsOf: chunk)
            mode = .collecting(continuation, head: head, body: body, limit: limit)
            return .accepted
        case .finished:
            return .accepted
        }
    }

    enum Outcome {
        case completed
        case failed(HTTPClientError)
        /// The consumer went away; it is told nothing more than that.
        case cancelled
    }

    func finish(_ outcome: Outcome) {
        switch (mode, outcome) {
        case (.streaming(let head?, let body), _):
            switch outcome {
            case .failed(let error): head.resume(throwing: error)
            case .cancelled, .completed: head.resume(throwing: CancellationError())
            }
            body.finish(nil)
        case (.streaming(nil, let body), .failed(let error)):
            body.finish(error)
        case (.streaming(nil, let body), .cancelled):
            body.finish(CancellationError())
        case (.streaming(nil, let body), .completed):
            body.finish(nil)
        case (.collecting(let continuation, let head?, let body, _), .completed):
            continuation.resume(returning: HTTPResponse(head: head, body: body))
        case (.collecting(let continuation, _, _, _), .failed(let error)):
            continuation.resume(throwing: error)
        case (.collecting(let continuation, _, _, _), _):
            continuation.resume(throwing: CancellationError())
        case (.finished, _):
            break
        }
        mode = .finished
    }
}
