import CCurl

/// The gateway's one outbound HTTP client, for cloud providers and the local engine alike.
///
/// libcurl's multi interface runs on one dedicated thread (`CurlLoop`); callers never block
/// a thread: they enqueue a transfer and await its head, then its body chunks. Connections
/// are pooled in the multi handle and reused across requests; TLS verification is always on.
/// Every client must be `shutdown()` before it goes away (a debug build traps otherwise, as
/// AsyncHTTPClient does): its thread and connections would leak.
public final class HTTPClient: Sendable {
    private let loop: CurlLoop

    public init(maxConnections: Int = 256) {
        _ = curlGlobalInit
        loop = CurlLoop(maxConnections: maxConnections)
    }

    /// True once `shutdown()` was called.
    public var isShutDown: Bool { loop.isStopped }

    deinit {
        assert(loop.isStopped, "HTTPClient deinitialised without shutdown(): its curl thread and connections leak")
    }

    /// Starts a transfer and returns when the response head has arrived, so that a caller
    /// can still pick another upstream before committing anything to its own client.
    /// Throws `HTTPClientError` (or `CancellationError`) before the head.
    public func execute(_ request: HTTPRequest) async throws -> HTTPStreamingResponse {
        let id = loop.makeID()
        let buffer = BodyBuffer(capacity: request.limits.streamBufferBytes,
                                resume: { [loop] in loop.resume(id) },
                                cancel: { [loop] in loop.cancel(id) })
        // Created before the transfer starts, so a caller cancelled before the head still drops it.
        let reader = BodyReader(buffer: buffer)
        let head = try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (head: CheckedContinuation<HTTPResponseHead, any Error>) in
                loop.submit(id: id, request, sink: TransferSink(head: head, body: buffer))
            }
        } onCancel: {
            loop.cancel(id)
        }
        return HTTPStreamingResponse(head: head, body: HTTPBody(reader: reader))
    }

    /// Sends a request and returns the whole response, whatever its status, up to
    /// `request.limits.maxResponseBytes` (`.responseTooLarge` past it, the transfer aborted).
    /// The body is buffered on the curl thread and handed over once.
    public func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        let id = loop.makeID()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (response: CheckedContinuation<HTTPResponse, any Error>) in
                loop.submit(id: id, request, sink: TransferSink(collecting: response, limit: request.limits.maxResponseBytes))
            }
        } onCancel: {
            loop.cancel(id)
        }
    }

    /// Fails transfers still running, stops the curl thread and frees the multi handle on it.
    public func shutdown() async {
        await loop.shutdown()
    }
}

/// libcurl's global state, initialised once per process before any handle exists.
private let curlGlobalInit: Void = {
    curl_global_init(Int(CURL_GLOBAL_ALL))
}()
