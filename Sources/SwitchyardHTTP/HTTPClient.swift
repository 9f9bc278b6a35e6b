import CCurl

/// The gateway's one outbound HTTP client, for cloud providers and the local engine alike.
///
/// libcurl's multi interface runs on one dedicated thread (`CurlLoop`); callers never block
/// a thread: they enqueue a transfer and await its head, then its body chunks. Connections
/// are pooled in the multi handle and reused across requests; TLS verification is always on.
public final class HTTPClient: Sendable {
    private let loop: CurlLoop

    public init(maxConnections: Int = 256) {
        _ = curlGlobalInit
        loop = CurlLoop(maxConnections: maxConnections)
    }

    /// Starts a transfer and returns when the response head has arrived, so that a caller
    /// can still pick another upstream before committing anything to its own client.
    /// Throws `HTTPClientError` (or `CancellationError`) before the head.
    public func execute(_ request: HTTPRequest) async throws -> HTTPStreamingResponse {
        let (body, bodyContinuation) = AsyncThrowingStream<[UInt8], any Error>.makeStream()
        let id = loop.makeID()
        bodyContinuation.onTermination = { [loop] termination in
            if case .cancelled = termination { loop.cancel(id) }
        }
        let head = try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (head: CheckedContinuation<HTTPResponseHead, any Error>) in
                loop.submit(id: id, request, sink: TransferSink(head: head, body: bodyContinuation))
            }
        } onCancel: {
            loop.cancel(id)
        }
        return HTTPStreamingResponse(head: head, body: body)
    }

    /// Sends a request and returns the whole response, whatever its status. The body is
    /// buffered on the curl thread and handed over once.
    public func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        let id = loop.makeID()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (response: CheckedContinuation<HTTPResponse, any Error>) in
                loop.submit(id: id, request, sink: TransferSink(collecting: response))
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
