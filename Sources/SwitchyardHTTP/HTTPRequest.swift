/// An outbound HTTP request, as the gateway's single client sends it to any upstream
/// (cloud provider or the local engine alike).
public struct HTTPRequest: Sendable {
    public enum Method: String, Sendable { case get = "GET", post = "POST", delete = "DELETE" }

    public var method: Method
    public var url: String
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]?
    public var timeouts: HTTPTimeouts
    public var limits: HTTPLimits

    public init(
        method: Method = .get,
        url: String,
        headers: [(name: String, value: String)] = [],
        body: [UInt8]? = nil,
        timeouts: HTTPTimeouts = .init(),
        limits: HTTPLimits = .init()
    ) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeouts = timeouts
        self.limits = limits
    }
}

/// How much of an upstream's answer the gateway holds in memory. Every byte an upstream sends
/// is hostile until validated; without these a single answer could exhaust the gateway.
public struct HTTPLimits: Sendable, Equatable {
    /// A whole (collected) response body; past it the transfer is aborted with `.responseTooLarge`.
    public var maxResponseBytes: Int
    /// Status line and headers together.
    public var maxHeaderBytes: Int
    /// A streamed body's bytes waiting for their consumer; past it the transfer pauses.
    public var streamBufferBytes: Int

    public init(maxResponseBytes: Int = 32 << 20, maxHeaderBytes: Int = 64 << 10, streamBufferBytes: Int = 256 << 10) {
        self.maxResponseBytes = maxResponseBytes
        self.maxHeaderBytes = maxHeaderBytes
        self.streamBufferBytes = streamBufferBytes
    }
}

/// Deadlines for one transfer. Each one that fires is reported as its own
/// `HTTPClientError.timeout` kind, so a caller can tell a dead host from a slow model.
public struct HTTPTimeouts: Sendable, Equatable {
    /// TCP (and TLS) connection establishment.
    public var connect: Duration
    /// From the start of the transfer to the response head (status line and headers).
    /// For an LLM this is queueing plus prompt processing plus, when not streaming, generation.
    public var firstByte: Duration?
    /// Longest silence allowed between two body chunks once the head arrived.
    public var stall: Duration?
    /// The whole transfer, streaming included.
    public var total: Duration?

    public init(
        connect: Duration = .seconds(5),
        firstByte: Duration? = .seconds(60),
        stall: Duration? = .seconds(30),
        total: Duration? = .seconds(600)
    ) {
        self.connect = connect
        self.firstByte = firstByte
        self.stall = stall
        self.total = total
    }
}

/// Status line and headers, delivered before any body byte so that a caller can
/// still choose another upstream before it commits a response to its own client.
public struct HTTPResponseHead: Sendable {
    public var status: Int
    public var headers: [(name: String, value: String)]

    public init(status: Int, headers: [(name: String, value: String)]) {
        self.status = status
        self.headers = headers
    }

    /// Case-insensitive header lookup (first value).
    public func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }
}

/// A response whose head has arrived and whose body is still streaming. The body is a
/// Sendable sequence, so it can be handed to whatever writes the gateway's own response.
/// Dropping it, or cancelling its consumer, aborts the transfer.
public struct HTTPStreamingResponse: Sendable {
    public let head: HTTPResponseHead
    /// Chunks as they arrive, with bounded buffering (`HTTPLimits.streamBufferBytes`); throws
    /// `HTTPClientError` if the transfer fails midway and `CancellationError` if its consumer is cancelled.
    public let body: HTTPBody

    public var status: Int { head.status }

    /// Reads the rest of the body, up to `limit` bytes (the transfer is dropped past it).
    public func collect(upTo limit: Int) async throws -> HTTPResponse {
        var bytes: [UInt8] = []
        for try await chunk in body {
            guard bytes.count + chunk.count <= limit else { throw HTTPClientError.responseTooLarge(limit: limit) }
            bytes.append(contentsOf: chunk)
        }
        return HTTPResponse(head: head, body: bytes)
    }
}

/// A whole response, for callers that do not stream.
public struct HTTPResponse: Sendable {
    public var head: HTTPResponseHead
    public var body: [UInt8]

    public var status: Int { head.status }
    public var bodyText: String { String(decoding: body, as: UTF8.self) }
}
