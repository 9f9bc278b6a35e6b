/// Why an outbound transfer failed. An HTTP error status is not a transport failure:
/// it arrives as a head with that status, and only `HTTPResponse.ensureSuccess` turns it into `.status`.
public enum HTTPClientError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum TimeoutKind: String, Sendable { case connect, firstByte = "first-byte", stall, total }

    case invalidURL(String)
    /// A header that cannot be one header line (CR, LF or another control in it, or a name that is
    /// not a token): refused before anything was sent. Says why, never the value.
    case invalidHeader(String)
    case dns(String)
    case connect(String)
    case tls(String)
    case timeout(TimeoutKind)
    /// The connection broke or the peer sent something that is not HTTP.
    case transfer(String)
    /// A whole response (or its headers) grew past the request's limit; the transfer was aborted.
    case responseTooLarge(limit: Int)
    /// The upstream answered with an error status; the body is kept for the caller's message.
    case status(Int, body: String)
    /// The client was shut down with the transfer still running.
    case shutdown

    public var description: String {
        switch self {
        case .invalidURL(let url): "invalid URL: \(url)"
        case .invalidHeader(let problem): "header refused: \(problem)"
        case .dns(let detail): "DNS resolution failed: \(detail)"
        case .connect(let detail): "connection failed: \(detail)"
        case .tls(let detail): "TLS failed: \(detail)"
        case .timeout(let kind): "\(kind.rawValue) timeout"
        case .transfer(let detail): "transfer failed: \(detail)"
        case .responseTooLarge(let limit): "response larger than the limit of \(limit) bytes"
        case .status(let code, let body): "upstream status \(code): \(body.prefix(500))"
        case .shutdown: "HTTP client shut down"
        }
    }
}

extension HTTPResponse {
    /// Returns self for a 2xx status, throws `.status` otherwise.
    public func ensureSuccess() throws(HTTPClientError) -> HTTPResponse {
        guard (200..<300).contains(status) else { throw .status(status, body: bodyText) }
        return self
    }
}
