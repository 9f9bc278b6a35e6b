import CCurl

#if canImport(Glibc)
import Glibc
#endif

/// All transfers of one `CurlLoop`. Lives on the loop thread only.
final class LoopState {
    private let multi: UnsafeMutableRawPointer
    private var transfers: [Int: Transfer] = [:]
    private var byHandle: [UnsafeMutableRawPointer: Transfer] = [:]
    /// Easy handles kept after `curl_easy_reset`, so a request does not pay for a new one.
    private var spareHandles: [UnsafeMutableRawPointer] = []
    private var lastDeadlineScan: UInt64 = 0
    /// Cancellations that overtook their transfer's start in the command queue.
    private var cancelledBeforeStart: Set<Int> = []

    /// Deadlines are checked this often while transfers run; curl wakes the loop for I/O.
    private static let deadlineResolutionNanos: UInt64 = 20_000_000

    init(multi: UnsafeMutableRawPointer) {
        self.multi = multi
    }

    var pollTimeoutMilliseconds: Int32 { transfers.isEmpty ? 10_000 : 20 }

    func start(id: Int, request: HTTPRequest, sink: TransferSink) {
        if cancelledBeforeStart.remove(id) != nil {
            sink.finish(.cancelled)
            return
        }
        let easy = spareHandles.popLast() ?? curl_easy_init()!
        let transfer = Transfer(id: id, easy: easy, timeouts: request.timeouts, sink: sink)
        if let error = transfer.configure(request) {
            transfer.release(spareHandles: &spareHandles)
            sink.finish(.failed(error))
            return
        }
        transfers[id] = transfer
        byHandle[easy] = transfer
        curl_multi_add_handle(multi, easy)
    }

    /// Removes a running transfer whose consumer went away and wants nothing more.
    func cancel(id: Int) {
        guard let transfer = transfers[id] else {
            cancelledBeforeStart.insert(id)
            return
        }
        finish(transfer, .cancelled)
    }

    func collectFinished() {
        var remaining: Int32 = 0
        while let message = curl_multi_info_read(multi, &remaining) {
            guard sy_msg_is_done(message) != 0, let easy = message.pointee.easy_handle,
                  let transfer = byHandle[easy] else { continue }
            let code = sy_msg_result(message)
            if code != CURLE_OK {
                finish(transfer, .failed(transfer.error(for: code)))
            } else if let error = transfer.completionError() {
                finish(transfer, .failed(error))
            } else {
                finish(transfer, .completed)
            }
        }
    }

    func enforceDeadlines() {
        let now = monotonicNanos()
        guard !transfers.isEmpty, now &- lastDeadlineScan >= Self.deadlineResolutionNanos else { return }
        lastDeadlineScan = now
        for transfer in transfers.values {
            if let kind = transfer.expiredDeadline(now: now) {
                finish(transfer, .failed(.timeout(kind)))
            }
        }
    }

    func closeAll() {
        for transfer in transfers.values { finish(transfer, .failed(.shutdown)) }
        for easy in spareHandles { curl_easy_cleanup(easy) }
        spareHandles.removeAll()
    }

    private func finish(_ transfer: Transfer, _ outcome: TransferSink.Outcome) {
        curl_multi_remove_handle(multi, transfer.easy)
        transfers[transfer.id] = nil
        byHandle[transfer.easy] = nil
        transfer.sink.finish(outcome)
        transfer.release(spareHandles: &spareHandles)
    }
}

/// One request in flight: its easy handle, what curl needs kept alive, and its deadlines.
final class Transfer {
    let id: Int
    let easy: UnsafeMutableRawPointer
    let timeouts: HTTPTimeouts
    let sink: TransferSink

    private var headerList: UnsafeMutablePointer<curl_slist>?
    private let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE))
    private var status = 0
    private var responseHeaders: [(name: String, value: String)] = []
    private(set) var headDelivered = false
    private let startedAt = monotonicNanos()
    private var lastProgressAt = monotonicNanos()

    private static let maxSpareHandles = 64

    init(id: Int, easy: UnsafeMutableRawPointer, timeouts: HTTPTimeouts, sink: TransferSink) {
        self.id = id
        self.easy = easy
        self.timeouts = timeouts
        self.sink = sink
        errorBuffer.initialize(to: 0)
    }

    /// Sets every option of the transfer; returns an error instead of starting a bad one.
    func configure(_ request: HTTPRequest) -> HTTPClientError? {
        guard sy_easy_setopt_string(easy, CURLOPT_URL, request.url) == CURLE_OK,
              request.url.hasPrefix("http://") || request.url.hasPrefix("https://")
        else { return .invalidURL(request.url) }
        sy_easy_setopt_string(easy, CURLOPT_PROTOCOLS_STR, "http,https")
        sy_easy_setopt_long(easy, CURLOPT_NOSIGNAL, 1)
        sy_easy_setopt_long(easy, CURLOPT_SSL_VERIFYPEER, 1)
        sy_easy_setopt_long(easy, CURLOPT_SSL_VERIFYHOST, 2)
        sy_easy_setopt_long(easy, CURLOPT_TCP_NODELAY, 1)
        sy_easy_setopt_long(easy, CURLOPT_TCP_KEEPALIVE, 1)
        sy_easy_setopt_long(easy, CURLOPT_PIPEWAIT, 1)
        sy_easy_setopt_string(easy, CURLOPT_ACCEPT_ENCODING, "")
        sy_easy_setopt_long(easy, CURLOPT_CONNECTTIMEOUT_MS, timeouts.connect.milliseconds)
        sy_easy_setopt_pointer(easy, CURLOPT_ERRORBUFFER, errorBuffer)

        switch request.method {
        case .get:
            sy_easy_setopt_long(easy, CURLOPT_HTTPGET, 1)
        case .post:
            let body = request.body ?? []
            sy_easy_setopt_long(easy, CURLOPT_POST, 1)
            sy_easy_setopt_off_t(easy, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.count))
            // COPYPOSTFIELDS: curl keeps its own copy, so the Swift array may go.
            if body.isEmpty {
                sy_easy_setopt_string(easy, CURLOPT_COPYPOSTFIELDS, "")
            } else {
                body.withUnsafeBytes { bytes in
                    _ = sy_easy_setopt_pointer(easy, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: bytes.baseAddress!))
                }
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
        sy_easy_setopt_callback(easy, CURLOPT_HEADERFUNCTION) { data, size, count, user in
            let transfer = Unmanaged<Transfer>.fromOpaque(user!).takeUnretainedValue()
            transfer.receiveHeaderLine(UnsafeRawBufferPointer(start: data, count: size * count))
            return size * count
        }
        sy_easy_setopt_pointer(easy, CURLOPT_HEADERDATA, me)
        sy_easy_setopt_callback(easy, CURLOPT_WRITEFUNCTION) { data, size, count, user in
            let transfer = Unmanaged<Transfer>.fromOpaque(user!).takeUnretainedValue()
            transfer.receiveBody(UnsafeRawBufferPointer(start: data, count: size * count))
            return size * count
        }
        sy_easy_setopt_pointer(easy, CURLOPT_WRITEDATA, me)
        return nil
    }

    private func receiveHeaderLine(_ line: UnsafeRawBufferPointer) {
        lastProgressAt = monotonicNanos()
        var text = String(decoding: line, as: UTF8.self)
        while text.last == "\n" || text.last == "\r" || text.last == "\r\n" { text.removeLast() }
        if text.hasPrefix("HTTP/") {
            // A new status line: a 1xx interim response or the final one.
            let parts = text.split(separator: " ", maxSplits: 2)
            status = parts.count > 1 ? Int(parts[1]) ?? 0 : 0
            responseHeaders.removeAll()
        } else if text.isEmpty {
            if status >= 200 && !headDelivered {
                headDelivered = true
                sink.deliverHead(HTTPResponseHead(status: status, headers: responseHeaders))
            }
        } else if let colon = text.firstIndex(of: ":") {
            let name = String(text[..<colon])
            let value = text[text.index(after: colon)...].drop { $0 == " " || $0 == "\t" }
            responseHeaders.append((name, String(value)))
        }
    }

    private func receiveBody(_ chunk: UnsafeRawBufferPointer) {
        lastProgressAt = monotonicNanos()
        guard !chunk.isEmpty else { return }
        sink.deliverBody(chunk)
    }

    /// A transfer curl calls complete may still have ended before a head (an empty reply).
    func completionError() -> HTTPClientError? {
        headDelivered ? nil : .transfer("connection closed before a response head")
    }

    func error(for code: CURLcode) -> HTTPClientError {
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
        } else if let stall = timeouts.stall, now &- lastProgressAt > stall.nanoseconds {
            return .stall
        }
        return nil
    }

    /// Frees what the transfer owned and keeps its easy handle for reuse.
    func release(spareHandles: inout [UnsafeMutableRawPointer]) {
        curl_slist_free_all(headerList)
        headerList = nil
        errorBuffer.deallocate()
        if spareHandles.count < Self.maxSpareHandles {
            curl_easy_reset(easy)
            spareHandles.append(easy)
        } else {
            curl_easy_cleanup(easy)
        }
    }
}

/// Where a transfer's outcome goes. Streaming: the head to the awaiting caller, then body
/// chunks to the stream it returned. Collecting: everything buffered here and handed over once,
/// at the end, so a non-streaming call costs one thread handoff instead of two.
/// Created by the submitting task, then handed over once through the command queue and used
/// on the loop thread only: hence unchecked.
final class TransferSink: @unchecked Sendable {
    private enum Mode {
        case streaming(head: CheckedContinuation<HTTPResponseHead, any Error>?, body: AsyncThrowingStream<[UInt8], any Error>.Continuation)
        case collecting(CheckedContinuation<HTTPResponse, any Error>, head: HTTPResponseHead?, body: [UInt8])
        case finished
    }

    private var mode: Mode

    init(head: CheckedContinuation<HTTPResponseHead, any Error>, body: AsyncThrowingStream<[UInt8], any Error>.Continuation) {
        mode = .streaming(head: head, body: body)
    }

    init(collecting: CheckedContinuation<HTTPResponse, any Error>) {
        mode = .collecting(collecting, head: nil, body: [])
    }

    func deliverHead(_ value: HTTPResponseHead) {
        switch mode {
        case .streaming(let head, let body):
            head?.resume(returning: value)
            mode = .streaming(head: nil, body: body)
        case .collecting(let continuation, _, let body):
            mode = .collecting(continuation, head: value, body: body)
        case .finished:
            break
        }
    }

    func deliverBody(_ chunk: UnsafeRawBufferPointer) {
        switch mode {
        case .streaming(_, let body):
            body.yield(Array(chunk))
        case .collecting(let continuation, let head, var body):
            mode = .finished  // keeps `body` uniquely referenced while it grows
            body.append(contentsOf: chunk)
            mode = .collecting(continuation, head: head, body: body)
        case .finished:
            break
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
            body.finish()
        case (.streaming(nil, let body), .failed(let error)):
            body.finish(throwing: error)
        case (.streaming(nil, let body), _):
            body.finish()
        case (.collecting(let continuation, let head?, let body), .completed):
            continuation.resume(returning: HTTPResponse(head: head, body: body))
        case (.collecting(let continuation, _, _), .failed(let error)):
            continuation.resume(throwing: error)
        case (.collecting(let continuation, _, _), _):
            continuation.resume(throwing: CancellationError())
        case (.finished, _):
            break
        }
        mode = .finished
    }
}

func monotonicNanos() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

extension Duration {
    var nanoseconds: UInt64 {
        let (seconds, attoseconds) = components
        return UInt64(max(0, seconds)) * 1_000_000_000 + UInt64(max(0, attoseconds) / 1_000_000_000)
    }

    var milliseconds: Int { Int(nanoseconds / 1_000_000) }
}
