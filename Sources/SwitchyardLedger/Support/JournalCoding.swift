import NIOCore

/// The byte form of attempt records in the SQLite ledger's journal (`RecordJournal`).
///
/// Its own format rather than JSON or `Codable`: the encoding runs on the request path for every
/// attempt, and this one is a single `ByteBuffer` with no intermediate values. Each entry is
/// framed as `[payload length: u32 LE][FNV-1a of the payload: u32 LE][payload]`, so that a tail
/// torn by a power loss (or a file truncated or damaged by hand) is found and dropped on replay
/// instead of being read as a record. Numbers are little-endian; a string is its UTF-8 length
/// (u32) and bytes; an optional is a 0/1 byte, then the value.
enum JournalCoding {
    /// The largest payload replay believes: a frame claiming more is damage, not a record.
    static let maxPayload = 1 << 20

    /// The frames of `records`, in order, in one buffer (one `write` to the journal).
    static func frames(_ records: [AttemptRecord]) -> ByteBuffer {
        var out = ByteBuffer()
        out.reserveCapacity(256 * records.count)
        for record in records { out.writeFrame(record) }
        return out
    }

    /// What `read` found in a stretch of the journal.
    struct Reading {
        var records: [AttemptRecord] = []
        /// Bytes of whole, checked frames from the start: the next stretch starts here.
        var consumed = 0
        /// A frame that is whole by its length and does not check, or claims an impossible
        /// length: nothing after it can be trusted to be aligned, so reading stops for good.
        var damaged = false
    }

    /// The records framed in `bytes`' readable bytes, in order, up to the first frame that is
    /// incomplete (the next stretch of the file may complete it; at the end of the file it is a
    /// torn tail) or damaged.
    static func read(_ bytes: ByteBuffer) -> Reading {
        var reading = Reading()
        var rest = bytes
        while let length = rest.getInteger(at: rest.readerIndex, endianness: .little, as: UInt32.self),
              let check = rest.getInteger(at: rest.readerIndex + 4, endianness: .little, as: UInt32.self) {
            guard length <= maxPayload else {
                reading.damaged = true
                break
            }
            guard let payload = rest.getSlice(at: rest.readerIndex + 8, length: Int(length)) else { break }
            guard fnv1a(payload) == check, let record = decode(payload) else {
                reading.damaged = true
                break
            }
            reading.records.append(record)
            rest.moveReaderIndex(forwardBy: 8 + Int(length))
        }
        reading.consumed = rest.readerIndex - bytes.readerIndex
        return reading
    }

    private static func decode(_ payload: ByteBuffer) -> AttemptRecord? {
        var r = payload
        guard let id = r.readText(), let requestID = r.readText(), let keyID = r.readOptionalText(),
              let tenant = r.readOptionalText(), let team = r.readOptionalText(), let rule = r.readText(),
              let target = r.readText(), let tier = r.readText(), let promptTokens = r.readNumber(),
              let completionTokens = r.readNumber(), let cost = r.readNumber(), let estimated = r.readInteger(as: UInt8.self),
              let referenceCost = r.readNumber(), let latency = r.readNumber(),
              let outcome = r.readText().flatMap(AttemptOutcome.init(rawValue:)),
              let escalation = r.readOptionalText(), let startedAt = r.readNumber(), let endedAt = r.readOptionalNumber(),
              r.readableBytes == 0
        else { return nil }
        return AttemptRecord(
            id: id, requestID: requestID, keyID: keyID, tenant: tenant, team: team, rule: rule, target: target, tier: tier,
            promptTokens: Int(promptTokens), completionTokens: Int(completionTokens), cost: Nanodollars(cost),
            costEstimated: estimated != 0, referenceCost: Nanodollars(referenceCost), latencyMs: Int(latency),
            outcome: outcome, escalationReason: escalation, startedAt: UnixTime(milliseconds: startedAt),
            endedAt: endedAt.map(UnixTime.init(milliseconds:)))
    }

    /// FNV-1a of the readable bytes (no library here has a checksum this small).
    static func fnv1a(_ bytes: ByteBuffer) -> UInt32 {
        bytes.withUnsafeReadableBytes { buffer in
            var hash: UInt32 = 2_166_136_261
            for byte in buffer { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
            return hash
        }
    }
}

extension ByteBuffer {
    fileprivate mutating func writeFrame(_ record: AttemptRecord) {
        let start = writerIndex
        writeInteger(UInt64(0))  // the payload's length and check, set below
        writeText(record.id)
        writeText(record.requestID)
        writeOptionalText(record.keyID)
        writeOptionalText(record.tenant)
        writeOptionalText(record.team)
        writeText(record.rule)
        writeText(record.target)
        writeText(record.tier)
        writeNumber(Int64(record.promptTokens))
        writeNumber(Int64(record.completionTokens))
        writeNumber(record.cost.value)
        writeInteger(UInt8(record.costEstimated ? 1 : 0))
        writeNumber(record.referenceCost.value)
        writeNumber(Int64(record.latencyMs))
        writeText(record.outcome.rawValue)
        writeOptionalText(record.escalationReason)
        writeNumber(record.startedAt.milliseconds)
        writeOptionalNumber(record.endedAt?.milliseconds)
        let length = writerIndex - start - 8
        setInteger(UInt32(length), at: start, endianness: .little)
        setInteger(JournalCoding.fnv1a(getSlice(at: start + 8, length: length)!), at: start + 4, endianness: .little)
    }

    private mutating func writeNumber(_ value: Int64) { writeInteger(value, endianness: .little) }
    private mutating func writeText(_ value: String) {
        writeInteger(UInt32(value.utf8.count), endianness: .little)
        writeString(value)
    }
    private mutating func writeOptionalText(_ value: String?) {
        writeInteger(UInt8(value == nil ? 0 : 1))
        if let value { writeText(value) }
    }
    private mutating func writeOptionalNumber(_ value: Int64?) {
        writeInteger(UInt8(value == nil ? 0 : 1))
        if let value { writeNumber(value) }
    }

    fileprivate mutating func readNumber() -> Int64? { readInteger(endianness: .little, as: Int64.self) }
    /// nil when short or not UTF-8.
    fileprivate mutating func readText() -> String? {
        guard let length = getInteger(at: readerIndex, endianness: .little, as: UInt32.self),
              let text = try? getUTF8ValidatedString(at: readerIndex + 4, length: Int(length)) else { return nil }
        moveReaderIndex(forwardBy: 4 + Int(length))
        return text
    }
    /// nil when malformed; `.some(nil)` for an absent value.
    fileprivate mutating func readOptionalText() -> String?? {
        switch readInteger(as: UInt8.self) {
        case 0: .some(nil)
        case 1: readText().map { .some($0) }
        default: nil
        }
    }
    fileprivate mutating func readOptionalNumber() -> Int64?? {
        switch readInteger(as: UInt8.self) {
        case 0: .some(nil)
        case 1: readNumber().map { .some($0) }
        default: nil
        }
    }
}
