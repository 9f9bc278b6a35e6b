import CCurl

#if canImport(Glibc)
import Glibc
#endif

/// All transfers of one `CurlLoop`. Lives on the loop thread only.
final class LoopState {
    private let multi: UnsafeMutableRawPointer
    private var transfers: [Int: Transfer] = [:]
    private var byHandle: [UnsafeMutableRawPointer: Transfer] = [:]
    /// Easy handles kept with their shared options (`Transfer.makeHandle`), so a request pays
    /// neither for a new handle nor for a reset.
    private var spareHandles: [UnsafeMutableRawPointer] = []
    private var lastDeadlineScan: UInt64 = 0
    /// Cancellations that overtook their transfer's start in the command queue, with when they
    /// came. A cancel for a transfer that already ended lands here too, so old entries are dropped.
    private var cancelledBeforeStart: [Int: UInt64] = [:]

    /// Deadlines are checked this often while transfers run; curl wakes the loop for I/O.
    private static let deadlineResolutionNanos: UInt64 = 20_000_000

    init(multi: UnsafeMutableRawPointer) {
        self.multi = multi
    }

    var pollTimeoutMilliseconds: Int32 { transfers.isEmpty && cancelledBeforeStart.isEmpty ? 10_000 : 20 }

    func start(id: Int, request: HTTPRequest, sink: TransferSink) {
        if cancelledBeforeStart.removeValue(forKey: id) != nil {
            sink.finish(.cancelled)
            return
        }
        let easy = spareHandles.popLast() ?? Transfer.makeHandle()
        let transfer = Transfer(id: id, easy: easy, request: request, sink: sink)
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
            cancelledBeforeStart[id] = monotonicNanos()
            return
        }
        finish(transfer, .cancelled)
    }

    /// Unpauses a transfer whose consumer drained its buffer (a finished one is ignored).
    func resume(id: Int) {
        transfers[id]?.resume()
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
        guard !transfers.isEmpty || !cancelledBeforeStart.isEmpty, now &- lastDeadlineScan >= Self.deadlineResolutionNanos else { return }
        lastDeadlineScan = now
        if !cancelledBeforeStart.isEmpty {
            // A start overtaken by its cancel arrives within microseconds; these never will.
            cancelledBeforeStart = cancelledBeforeStart.filter { now &- $0.value < 10_000_000_000 }
        }
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

func monotonicNanos() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

extension Duration {
    var nanoseconds: UInt64 {
        let (seconds, attoseconds) = components
        let whole = UInt64(clamping: max(0, seconds))
        let (scaled, overflow) = whole.multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? .max : scaled &+ UInt64(max(0, attoseconds) / 1_000_000_000)
    }

    var milliseconds: Int { Int(clamping: nanoseconds / 1_000_000) }
}
