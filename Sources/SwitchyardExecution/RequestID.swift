/// A request's id: 28 lowercase hex digits, the milliseconds since the Unix epoch (12 digits)
/// then 64 random bits (16 digits). Sent to the client (`x-switchyard-request-id`), the key of
/// its attempts (`<request id>-<n>`) and labels in the ledger.
///
/// Time first, so that ids sort in the order requests arrived: each record's keys in the
/// ledger's B-trees (the attempts' primary key, their request index) then go to the right-hand
/// leaf, which every commit writes anyway. Wholly random ids sent each record of a commit to its
/// own leaf page in each of those indexes, and SQLite writes every page a commit touched, 4 KiB
/// each, to its WAL: measured with `switchyard bench-ledger` at a gateway's rate, 62 µs of CPU
/// per record against 40 with 100,000 records, and growing with the table (docs/benchmarks.md). UUIDv7 (RFC 9562) is the same idea; its dashes
/// and version bits would only make the id longer. The random half keeps it unguessable and
/// unique within a millisecond.
public enum RequestID {
    public static func make() -> String {
        make(milliseconds: UInt64(max(0, unixMillisecondsNow())), random: UInt64.random(in: 0...UInt64.max))
    }

    static func make(milliseconds: UInt64, random: UInt64) -> String {
        String(unsafeUninitializedCapacity: 28) { buffer in
            let digits: StaticString = "0123456789abcdef"
            digits.withUTF8Buffer { digits in
                for n in 0..<12 { buffer[n] = digits[Int((milliseconds >> (4 * UInt64(11 - n))) & 0xF)] }
                for n in 0..<16 { buffer[12 + n] = digits[Int((random >> (4 * UInt64(15 - n))) & 0xF)] }
            }
            return 28
        }
    }
}
