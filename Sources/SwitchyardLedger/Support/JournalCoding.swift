/// The byte form of attempt records in the SQLite ledger's journal (`RecordJournal`).
///
/// Hand-written rather than JSON or `Codable`: the encoding runs on the request path for every
/// attempt, and this one is a single buffer with no intermediate values. Each entry is framed as
/// `[payload length: u32 LE][FNV-1a of the payload: u32 LE][payload]`, so that a tail torn by a
/// power loss (or a file truncated or damaged by hand) is found and dropped on replay instead of
/// being read as a record. Numbers are little-endian; a string is its UTF-8 length (u32) and
/// bytes; an optional is a 0/1 byte, then the value.
enum JournalCoding {
    /// The largest payload replay believes: a frame claiming more is damage, not a record.
    static let maxPayload = 1 << 20

    /// The frames of `records`, in order, in one buffer (one `write` to the journal).
    static func frames(_ records: [AttemptRecord]) -> [UInt8] {
        var out = Writer(bytes: [])
        out.bytes.reserveCapacity(256 * records.count)
        for record in records { out.frame(record) }
        return out.bytes
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

    /// The records framed in `bytes`, in order, up to the first frame that is incomplete (the
    /// next stretch of the file may complete it; at the end of the file it is a torn tail) or
    /// damaged.
    static func read(_ bytes: ArraySlice<UInt8>) -> Reading {
        var reading = Reading()
        var offset = bytes.startIndex
        while bytes.endIndex - offset >= 8 {
            let length = Int(Reader.word(bytes, at: offset))
            let check = Reader.word(bytes, at: offset + 4)
            let start = offset + 8
            guard length <= maxPayload else {
                reading.damaged = true
                break
            }
            guard bytes.endIndex - start >= length else { break }
            let payload = bytes[start..<start + length]
            guard fnv1a(payload) == check, let record = decode(payload) else {
                reading.damaged = true
                break
            }
            reading.records.append(record)
            offset = start + length
        }
        reading.consumed = offset - bytes.startIndex
        return reading
    }

    private static func decode(_ payload: ArraySlice<UInt8>) -> AttemptRecord? {
        var r = Reader(bytes: payload, offset: payload.startIndex)
        guard let id = r.string(), let requestID = r.string(), let keyID = r.optionalString(),
              let tenant = r.optionalString(), let team = r.optionalString(), let rule = r.string(),
              let target = r.string(), let tier = r.string(), let promptTokens = r.integer(),
              let completionTokens = r.integer(), let cost = r.integer(), let estimated = r.byte(),
              let referenceCost = r.integer(), let latency = r.integer(),
              let outcome = r.string().flatMap(AttemptOutcome.init(rawValue:)),
              let escalation = r.optionalString(), let startedAt = r.integer(), let endedAt = r.optionalInteger(),
              r.offset == payload.endIndex
        else { return nil }
        return AttemptRecord(
            id: id, requestID: requestID, keyID: keyID, tenant: tenant, team: team, rule: rule, target: target, tier: tier,
            promptTokens: Int(promptTokens), completionTokens: Int(completionTokens), cost: Nanodollars(cost),
            costEstimated: estimated != 0, referenceCost: Nanodollars(referenceCost), latencyMs: Int(latency),
            outcome: outcome, escalationReason: escalation, startedAt: UnixTime(milliseconds: startedAt),
            endedAt: endedAt.map(UnixTime.init(milliseconds:)))
    }

    static func fnv1a(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        // Through a buffer pointer: iterating the slice itself allocates per byte in a debug build.
        bytes.withUnsafeBufferPointer { buffer in
            var hash: UInt32 = 2_166_136_261
            for byte in buffer { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
            return hash
        }
    }

    private struct Writer {
        var bytes: [UInt8]

        mutating func frame(_ record: AttemptRecord) {
            let start = bytes.count
            word(0)  // the payload's length and check, filled in below
            word(0)
            string(record.id)
            string(record.requestID)
            optionalString(record.keyID)
            optionalString(record.tenant)
            optionalString(record.team)
            string(record.rule)
            string(record.target)
            string(record.tier)
            integer(Int64(record.promptTokens))
            integer(Int64(record.completionTokens))
            integer(record.cost.value)
            bytes.append(record.costEstimated ? 1 : 0)
            integer(record.referenceCost.value)
            integer(Int64(record.latencyMs))
            string(record.outcome.rawValue)
            optionalString(record.escalationReason)
            integer(record.startedAt.milliseconds)
            optionalInteger(record.endedAt?.milliseconds)
            put(UInt32(bytes.count - start - 8), at: start)
            put(JournalCoding.fnv1a(bytes[(start + 8)...]), at: start + 4)
        }

        mutating func word(_ value: UInt32) {
            for shift in stride(from: 0, to: 32, by: 8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt32(shift))) }
        }
        mutating func integer(_ value: Int64) {
            for shift in stride(from: 0, to: 64, by: 8) { bytes.append(UInt8(truncatingIfNeeded: value >> Int64(shift))) }
        }
        mutating func string(_ value: String) {
            var value = value
            value.withUTF8 { utf8 in
                word(UInt32(utf8.count))
                bytes.append(contentsOf: utf8)
            }
        }
        mutating func optionalString(_ value: String?) {
            bytes.append(value == nil ? 0 : 1)
            if let value { string(value) }
        }
        mutating func optionalInteger(_ value: Int64?) {
            bytes.append(value == nil ? 0 : 1)
            if let value { integer(value) }
        }
        mutating func put(_ value: UInt32, at offset: Int) {
            for n in 0..<4 { bytes[offset + n] = UInt8(truncatingIfNeeded: value >> (8 * UInt32(n))) }
        }
    }

    private struct Reader {
        let bytes: ArraySlice<UInt8>
        var offset: Int

        static func word<C: RandomAccessCollection<UInt8>>(_ bytes: C, at offset: C.Index) -> UInt32 where C.Index == Int {
            (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[offset + $1]) << (8 * UInt32($1)) }
        }
        mutating func byte() -> UInt8? {
            guard offset < bytes.endIndex else { return nil }
            defer { offset += 1 }
            return bytes[offset]
        }
        mutating func integer() -> Int64? {
            guard bytes.endIndex - offset >= 8 else { return nil }
            defer { offset += 8 }
            return (0..<8).reduce(Int64(0)) { $0 | Int64(bytes[offset + $1]) << (8 * Int64($1)) }
        }
        mutating func string() -> String? {
            guard bytes.endIndex - offset >= 4 else { return nil }
            let length = Int(Self.word(bytes, at: offset))
            guard bytes.endIndex - offset - 4 >= length else { return nil }
            defer { offset += 4 + length }
            return String(validating: bytes[offset + 4..<offset + 4 + length], as: UTF8.self)
        }
        /// nil when malformed; `.some(nil)` for an absent value.
        mutating func optionalString() -> String?? {
            switch byte() {
            case 0: .some(nil)
            case 1: string().map { .some($0) }
            default: nil
            }
        }
        mutating func optionalInteger() -> Int64?? {
            switch byte() {
            case 0: .some(nil)
            case 1: integer().map { .some($0) }
            default: nil
            }
        }
    }
}
