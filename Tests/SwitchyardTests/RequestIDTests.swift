import Testing
@testable import SwitchyardExecution

@Suite("Request ids")
struct RequestIDTests {
    @Test("an id made in a later millisecond sorts after one made earlier, whatever their random halves")
    func sortsByTime() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<1_000 {
            let earlier = UInt64.random(in: 0..<(1 << 48) - 1, using: &generator)
            let later = UInt64.random(in: earlier + 1..<(1 << 48), using: &generator)
            let a = RequestID.make(milliseconds: earlier, random: UInt64.random(in: 0...UInt64.max, using: &generator))
            let b = RequestID.make(milliseconds: later, random: UInt64.random(in: 0...UInt64.max, using: &generator))
            #expect(a < b, "\(a) made at \(earlier) ms, \(b) at \(later) ms")
        }
    }

    @Test("an id holds its millisecond and its random bits, in 28 lowercase hex digits")
    func holdsBoth() throws {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<1_000 {
            let milliseconds = UInt64.random(in: 0..<(1 << 48), using: &generator)
            let random = UInt64.random(in: 0...UInt64.max, using: &generator)
            let id = RequestID.make(milliseconds: milliseconds, random: random)
            #expect(id.utf8.count == 28 && id.allSatisfy { $0.isHexDigit && !$0.isUppercase }, "\(id)")
            #expect(UInt64(id.prefix(12), radix: 16) == milliseconds && UInt64(id.dropFirst(12), radix: 16) == random, "\(id)")
        }
        let now = RequestID.make(), again = RequestID.make()
        #expect(now != again)
        // The clock's milliseconds, read around it.
        let made = try #require(UInt64(now.prefix(12), radix: 16))
        #expect(abs(Int64(made) - unixMillisecondsNow()) < 60_000)
    }
}
