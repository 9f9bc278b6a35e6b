import Testing
@testable import SwitchyardDecision

/// A decision's reason goes into a response header (`x-switchyard-reason`), and its facts may
/// quote what a client sent: whatever they hold, the reason is printable ASCII and at most
/// `Decider.reasonLimit` characters, with anything else replaced by one "?" per character.
@Suite("A decision's reason is header-safe")
struct DecisionReasonTests {
    /// The rule, written out plainly: each scalar kept if printable ASCII, else "?", then cut.
    private static func expected(_ text: String) -> String {
        String(text.unicodeScalars.map { (32..<127).contains($0.value) ? Character($0) : "?" }.prefix(Decider.reasonLimit))
    }

    @Test("plain, control characters, non-ASCII, too long, and exactly at the limit", arguments: [
        ["complexity=0.42", "pii=none"],
        ["header=evil\r\nSet-Cookie: x=1", "tab=\t"],
        ["caf\u{e9}", "emoji=\u{1F600}", "nul=\u{0}"],
        [String(repeating: "a", count: 500)],
        [String(repeating: "b", count: Decider.reasonLimit - "rule:r ".count)],
        [String(repeating: "d", count: Decider.reasonLimit - "rule:r ".count + 1)],
        [String(repeating: "c", count: Decider.reasonLimit - "rule:r ".count - 1) + "\u{e9}"],
        [],
    ])
    func headerSafe(_ facts: [String]) {
        let reason = Decider.reason("rule:r", facts)
        let text = facts.isEmpty ? "rule:r" : "rule:r " + facts.joined(separator: " ")
        #expect(reason == Self.expected(text))
        #expect(reason.utf8.count <= Decider.reasonLimit)
        #expect(reason.utf8.allSatisfy { (32..<127).contains($0) })
    }
}
