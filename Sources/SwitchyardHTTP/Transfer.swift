import CCurl
import SwitchyardWire

#if canImport(Glibc)
import Glibc
#endif

/// One request in flight: its easy handle, what curl needs kept alive, its deadlines and limits.
/// Lives on the loop thread only.
final class Transfer {
    let id: Int
    let easy: UnsafeMutableRawPointer
    let timeouts: HTTPTimeouts
    let limits: HTTPLimits
    let sink: TransferSink
    /// The request body, read by curl from here as it sends (`sendBody`): no copy of it is made,
    /// and it goes once the answer's head arrived after it was sent whole (curl resends only
    /// before that). A body is megabytes; curl's own copy would be one more.
    private var body: [UInt8]
    /// Bytes of `body` handed to curl so far (back to 0 when curl rewinds to resend it).
    private var bodySent = 0

    private var headerList: UnsafeMutablePointer<curl_slist>?
    private let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE))
    private var status = 0
    private var responseHeaders: [(name: String, value: String)] = []
    private var headerBytes = 0
    private(set) var headDelivered = false
    private let startedAt = monotonicNanos()
    private var lastProgressAt = monotonicNanos()
    /// Set while the consumer's buffer is full: the upstream is not stalled, the consumer is slow.
    private var paused = false
    /// Why a callback aborted the transfer, reported instead of curl's generic write error.
    private var abortReason: HTTPClientError?

    private static let maxSpareHandles = 64

    init(id: Int, easy: UnsafeMutableRawPointer, request: HTTPRequest, sink: TransferSink) {
        self.id = id
        self.easy = easy
        self.timeouts = request.timeouts
        self.limits = request.limits
        self.sink = sink
        body = request.body ?? []
        errorBuffer.initialize(to: 0)
    }

    /// A new easy handle with the options every transfer shares, set once: a handle is kept for
    /// the next transfer without `curl_easy_reset` (options are sticky), and `configure` sets
    /// every option that can differ between transfers. TLS verification is set here and never
    /// changed.
    static func makeHandle() -> UnsafeMutableRawPointer {
        let easy = curl_easy_init()!
        sy_easy_setopt_string(easy, CURLOPT_PROTOCOLS_STR, "http,https")
        sy_easy_setopt_long(easy, CURLOPT_NOSIGNAL, 1)
        sy_easy_setopt_long(easy, CURLOPT_SSL_VERIFYPEER, 1)
        sy_easy_setopt_long(easy, CURLOPT_SSL_VERIFYHOST, 2)
        sy_easy_setopt_long(easy, CURLOPT_TCP_NODELAY, 1)
        sy_easy_setopt_long(easy, CURLOPT_TCP_KEEPALIVE, 1)
        sy_easy_setopt_string(easy, CURLOPT_ACCEPT_ENCODING, "")
        // The callbacks find their transfer in the *DATA pointers `configure` sets.
        sy_easy_setopt_callback(easy, CURLOPT_READFUNCTION) { buffer, size, count, user in
            let transfer = Unmanaged<Transfer>.fromOpaque(user!).takeUnretainedValue()
            return transfer.sendBody(into: UnsafeMutableRawBufferPointer(start: buffer, count: size * count))
        }
        sy_easy_setopt_seek_callback(easy, CURLOPT_SEEKFUNCTION) { user, offset, origin in
            let transfer = Unmanaged<Transfer>.fromOpaque(user!).takeUnretainedValue()
            return transfer.rewindBody(to: offset, origin: origin)
        }
        sy_easy_setopt_callback(easy, CURLOPT_HEADERFUNCTION) { data, size, count, user in
            let transfer = Unmanaged<Transfer>.fromOpaque(user!).takeUnretainedValue()
            // Returning less than was given makes curl abort the transfer.
            return transfer.receiveHeaderLine(UnsafeRawBufferPointer(start: data, count: size * count)) ? size * count : 0
        }
        sy_easy_setopt_callback(easy, CURLOPT_WRITEFUNCTION) { data, size, count, user in
            let transfer = Unmanaged<Transfer>.fromOpaque(user!).takeUnretainedValue()
            return transfer.receiveBody(UnsafeRawBufferPointer(start: data, count: size * count))
        }
        return easy
    }

    /// Sets every option of the transfer that `makeHandle` did not; returns an error instead of
    /// starting a bad one.
    func configure(_ request: HTTPRequest) -> HTTPClientError? {
        guard sy_easy_setopt_string(easy, CURLOPT_URL, request.url) == CURLE_OK,
              request.url.hasPrefix("http://") || request.url.hasPrefix("https://")
        else { return .invalidURL(request.url) }
        for header in request.headers {
            if let problem = HeaderSyntax.problem(name: header.name, value: header.value) { return .invalidHeader(problem) }
        }
        // Over TLS, wait for the handshake's ALPN to learn whether a connection multiplexes (HTTP/2)
        // before opening another. Over cleartext HTTP/1.1 there is nothing to learn, and waiting
        // would queue a burst of requests behind the first response on one connection.
        sy_easy_setopt_long(easy, CURLOPT_PIPEWAIT, request.url.hasPrefix("https://") ? 1 : 0)
        sy_easy_setopt_long(easy, CURLOPT_CONNECTTIMEOUT_MS, timeouts.connect.milliseconds)
        sy_easy_setopt_pointer(easy, CURLOPT_ERRORBUFFER, errorBuffer)

        // The method: each case undoes what another may have left on a reused handle.
        switch request.method {
        case .get, .delete:
            sy_easy_setopt_long(easy, CURLOPT_HTTPGET, 1)
            sy_easy_setopt_string(easy, CURLOPT_CUSTOMREQUEST, request.method == .delete ? "DELETE" : nil)
        case .post:
            sy_easy_setopt_string(easy, CURLOPT_CUSTOMREQUEST, nil)
            sy_easy_setopt_long(easy, CURLOPT_POST, 1)
            sy_easy_setopt_off_t(easy, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.count))
            if body.isEmpty {
                sy_easy_setopt_string(easy, CURLOPT_COPYPOSTFIELDS, "")
            } else {
                // curl reads the body from `body` as it sends it (no post fields: the read
                // callback), and rewinds it to resend it on a new connection when a reused one
                // turns out dead.
                sy_easy_setopt_pointer(easy, CURLOPT_POSTFIELDS, nil)
                let me = Unmanaged.passUnretained(self).toOpaque()
                sy_easy_setopt_pointer(easy, CURLOPT_READDATA, me)
                sy_easy_setopt_pointer(easy, CURLOPT_SEEKDATA, me)
            }
        }

        // An empty "Expect:" stops curl from waiting for 100-continue on larger bodies.
        var list: UnsafeMutablePointer<curl_slist>? = curl_slist_append(nil, "Expect:")
        for header in request.headers {
            list = curl_slist_append(list, "\(header.name): \(header.value)")
        }
        headerList = list
        sy_easy_setopt_slist(easy, CURLOPT_HTTPHEADER, list)

        let me = Unmanaged.passUnretained(self).toOpaque()
        sy_easy_setopt_pointer(easy, CURLOPT_HEADERDATA, me)
        sy_easy_setopt_pointer(easy, CURLOPT_WRITEDATA, me)
        return nil
    }

    /// Copies the next bytes of the body into curl's buffer; 0 once it is all sent.
    private func sendBody(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        let count = min(buffer.count, body.count - bodySent)
        guard count > 0 else { return 0 }
        body.withUnsafeBytes { bytes in
            buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[bodySent..<(bodySent + count)]))
        }
        bodySent += count
        return count
    }

    /// CURL_SEEKFUNC_OK (0) after moving to `offset` from the body's start, CURL_SEEKFUNC_FAIL (1)
    /// for anything else (curl only ever seeks from the start).
    private func rewindBody(to offset: curl_off_t, origin: Int32) -> Int32 {
        guard origin == SEEK_SET, offset >= 0, offset <= body.count else { return 1 }
        bodySent = Int(offset)
        return 0
    }

    /// False to abort: the upstream's headers are larger than any real API's.
    private func receiveHeaderLine(_ line: UnsafeRawBufferPointer) -> Bool {
        lastProgressAt = monotonicNanos()
        headerBytes += line.count
        guard headerBytes <= limits.maxHeaderBytes else {
            abortReason = .responseTooLarge(limit: limits.maxHeaderBytes)
            return false
        }
        // Read as bytes: this runs for every header line of every response, and only a header's
        // name and value need to become strings. Plain index loops: the generic algorithms
        // (`firstIndex(of:)`, `starts(with:)`) allocate per byte in a debug build, which the
        // allocation tests run.
        let bytes = line.assumingMemoryBound(to: UInt8.self)
        var end = bytes.count
        while end > 0, bytes[end - 1] == UInt8(ascii: "\n") || bytes[end - 1] == UInt8(ascii: "\r") { end -= 1 }
        let text = UnsafeBufferPointer(rebasing: bytes[..<end])
        if Self.isStatusLine(text) {
            // A new status line: a 1xx interim response or the final one.
            status = Self.statusCode(text)
            responseHeaders.removeAll()
        } else if text.isEmpty {
            if status >= 200 && !headDelivered {
                headDelivered = true
                if bodySent == body.count { (body, bodySent) = ([], 0) }
                sink.deliverHead(HTTPResponseHead(status: status, headers: responseHeaders))
            }
        } else {
            var colon = 0
            while colon < text.count, text[colon] != UInt8(ascii: ":") { colon += 1 }
            guard colon < text.count else { return true }
            var start = colon + 1
            while start < text.count, text[start] == UInt8(ascii: " ") || text[start] == UInt8(ascii: "\t") { start += 1 }
            responseHeaders.append((String(decoding: UnsafeBufferPointer(rebasing: text[..<colon]), as: UTF8.self),
                                    String(decoding: UnsafeBufferPointer(rebasing: text[start...]), as: UTF8.self)))
        }
        return true
    }

    private static func isStatusLine(_ line: UnsafeBufferPointer<UInt8>) -> Bool {
        line.count >= 5 && line[0] == UInt8(ascii: "H") && line[1] == UInt8(ascii: "T") && line[2] == UInt8(ascii: "T")
            && line[3] == UInt8(ascii: "P") && line[4] == UInt8(ascii: "/")
    }

    /// The code of a status line (`HTTP/1.1 200 OK`): the digits after the version and its spaces,
    /// or 0 when they are missing or not a number.
    static func statusCode(_ line: UnsafeBufferPointer<UInt8>) -> Int {
        var index = 0
        while index < line.count, line[index] != UInt8(ascii: " ") { index += 1 }
        while index < line.count, line[index] == UInt8(ascii: " ") { index += 1 }
        var code = 0
        var digits = 0
        while index < line.count, line[index] != UInt8(ascii: " ") {
            let byte = line[index]
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9"), digits < 9 else { return 0 }
            code = code * 10 + Int(byte - UInt8(ascii: "0"))
            digits += 1
            index += 1
        }
        return digits == 0 ? 0 : code
    }

    /// What the write callback returns: the bytes taken, CURL_WRITEFUNC_PAUSE, or 0 to abort.
    private func receiveBody(_ chunk: UnsafeRawBufferPointer) -> Int {
        guard !chunk.isEmpty else { return 0 }
        switch sink.deliverBody(chunk) {
        case .accepted:
            lastProgressAt = monotonicNanos()
            return chunk.count
        case .pause:
            paused = true
            return sy_writefunc_pause()
        case .tooLarge:
            abortReason = .responseTooLarge(limit: limits.maxResponseBytes)
            return 0
        }
    }

    /// Unpauses after the consumer drained its buffer; curl offers the held bytes again at once.
    func resume() {
        guard paused else { return }
        paused = false
        lastProgressAt = monotonicNanos()
        sy_easy_unpause(easy)
    }

    /// A transfer curl calls complete may still have ended before a head (an empty reply).
    func completionError() -> HTTPClientError? {
        headDelivered ? nil : .transfer("connection closed before a response head")
    }

    func error(for code: CURLcode) -> HTTPClientError {
        if let abortReason { return abortReason }
        let detail = errorBuffer.pointee != 0 ? String(cString: errorBuffer) : String(cString: curl_easy_strerror(code))
        switch code {
        case CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY:
            return .dns(detail)
        case CURLE_COULDNT_CONNECT:
            return .connect(detail)
        case CURLE_OPERATION_TIMEDOUT:
            // Only the connect timeout is curl's; the others are enforced by the loop.
            return .timeout(.connect)
        case CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CERTPROBLEM,
             CURLE_SSL_CIPHER, CURLE_SSL_CACERT_BADFILE, CURLE_SSL_ISSUER_ERROR, CURLE_SSL_PINNEDPUBKEYNOTMATCH,
             CURLE_SSL_INVALIDCERTSTATUS, CURLE_SSL_CLIENTCERT, CURLE_USE_SSL_FAILED, CURLE_SSL_ENGINE_NOTFOUND,
             CURLE_SSL_ENGINE_SETFAILED, CURLE_SSL_ENGINE_INITFAILED, CURLE_SSL_CRL_BADFILE, CURLE_SSL_SHUTDOWN_FAILED:
            return .tls(detail)
        case CURLE_URL_MALFORMAT, CURLE_UNSUPPORTED_PROTOCOL:
            return .invalidURL(detail)
        default:
            return .transfer(detail)
        }
    }

    func expiredDeadline(now: UInt64) -> HTTPClientError.TimeoutKind? {
        if let total = timeouts.total, now &- startedAt > total.nanoseconds { return .total }
        if !headDelivered {
            if let firstByte = timeouts.firstByte, now &- startedAt > firstByte.nanoseconds { return .firstByte }
        } else if !paused, let stall = timeouts.stall, now &- lastProgressAt > stall.nanoseconds {
            return .stall
        }
        return nil
    }

    /// Frees what the transfer owned and keeps its easy handle for reuse, its shared options
    /// kept (no reset); nothing of the handle points into this transfer any longer.
    func release(spareHandles: inout [UnsafeMutableRawPointer]) {
        sy_easy_setopt_slist(easy, CURLOPT_HTTPHEADER, nil)
        sy_easy_setopt_pointer(easy, CURLOPT_ERRORBUFFER, nil)
        curl_slist_free_all(headerList)
        headerList = nil
        errorBuffer.deallocate()
        if spareHandles.count < Self.maxSpareHandles {
            spareHandles.append(easy)
        } else {
            curl_easy_cleanup(easy)
        }
    }
}
