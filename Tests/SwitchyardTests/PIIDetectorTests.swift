import Testing
import SwitchyardWire
@testable import SwitchyardRouter

@Suite("PII detector")
struct PIIDetectorTests {
    @Test("finds each class, with its span", arguments: [
        ("Write to jane.doe+news@mail.example.co.uk today.", "email", "jane.doe+news@mail.example.co.uk"),
        ("Mail bob@example.org.", "email", "bob@example.org"),
        ("Call +1 415 555 0100 now", "phone", "+1 415 555 0100"),
        ("or (415) 555-0100", "phone", "(415) 555-0100"),
        ("office 020-7946-0958 please", "phone", "020-7946-0958"),
        ("Card 4111 1111 1111 1111 exp 12/27", "credit_card", "4111 1111 1111 1111"),
        ("card:5500-0000-0000-0004", "credit_card", "5500-0000-0000-0004"),
        ("IBAN GB82 WEST 1234 5698 7654 32 please", "iban", "GB82 WEST 1234 5698 7654 32"),
        ("DE89370400440532013000", "iban", "DE89370400440532013000"),
        ("SSN 123-45-6789.", "national_id", "123-45-6789"),
        ("server at 192.168.10.254 is down", "ip_address", "192.168.10.254"),
        ("key sk-proj-4fG7hJ2kL9mN3pQ8rS5tV1wX6yZ0aB leaked", "secret", "sk-proj-4fG7hJ2kL9mN3pQ8rS5tV1wX6yZ0aB"),
        ("AKIAIOSFODNN7EXAMPLE is an AWS key id", "secret", "AKIAIOSFODNN7EXAMPLE"),
        ("token ghp_16C7e42F292c6912E7710c838347Ae178B4a", "secret", "ghp_16C7e42F292c6912E7710c838347Ae178B4a"),
        ("blob Zx8Qm2Lp9Rt4Vw7Yk3Nc6Hb1Jd5Fg0Ss8Aa2Ee9Ii", "secret", "Zx8Qm2Lp9Rt4Vw7Yk3Nc6Hb1Jd5Fg0Ss8Aa2Ee9Ii"),
    ])
    func finds(_ text: String, _ kind: String, _ span: String) throws {
        let findings = PIIDetector.findings(in: text)
        #expect(findings.map(\.kind.rawValue) == [kind], "\(findings)")
        let bytes = Array(text.utf8)
        let found = try #require(findings.first)
        #expect(String(decoding: bytes[found.range], as: UTF8.self) == span)
    }

    @Test("near misses do not fire", arguments: [
        "Order 100234987 shipped on 2024-03-15.",
        "Invoice #INV-2024-000123, ticket A12345678901",
        "Upgrade to version 1.2.3 or v10.0.0.1 tomorrow",
        "Card 4111 1111 1111 1112 is not Luhn-valid",
        "GB82 WEST 1234 5698 7654 33 has a bad checksum",
        "The ratio is 3.14159 and 2.71828",
        "Meet at 10:30 on 15/03/2024",
        "IP 999.12.1.1 is not an address",
        "SSN 000-12-3456 and 666-12-3456 are never issued",
        "commit 9fceb02d0ae598e95dc970b74767f19372d61af8 fixed it",
        "email me @ noon, or use the form",
        "a@b is no address, nor is x@localhost",
        "sk-short",
        "Call extension 4412 or room 1024",
        "Total: 1,234,567.89 USD",
    ])
    func nearMisses(_ text: String) {
        #expect(PIIDetector.findings(in: text).isEmpty, "\(PIIDetector.findings(in: text)) in \(text)")
    }

    @Test("several classes in one text")
    func several() {
        #expect(PIIDetector.classes(in: "jane@example.com, +44 20 7946 0958, 4111-1111-1111-1111") == ["email", "phone", "credit_card"])
    }
}

@Suite("Complexity features")
struct ComplexityTests {
    func request(_ text: String, maxTokens: Int? = nil) throws -> ChatRequest {
        var body: JSONObject = ["model": .string("auto"), "messages": .array([.object(["role": .string("user"), "content": .string(text)])])]
        if let maxTokens { body["max_tokens"] = .int(maxTokens) }
        return try ChatRequest(body: body)
    }

    @Test("features are counted as written")
    func counts() throws {
        // Words: First, compute, then, explain, why, x, y, and, z (9); digits 1,2,3,4,5 (5);
        // operators + * = (3); cue words first, compute, then, explain, why (5); one question mark; one code fence pair.
        let f = ComplexityScorer.features(try request("First compute 12+3*45 = x, then explain why? ```y and z```", maxTokens: 300))
        #expect(f.words == 9)
        #expect(f.digits == 5)
        #expect(f.mathOperators == 3)
        #expect(f.stepCues == 5)
        #expect(f.questionMarks == 1)
        #expect(f.codeMarkers == 2)
        #expect(f.turns == 1 && f.requestedTokens == 300)
    }

    @Test("harder-looking requests score higher, all within [0, 1]")
    func ordering() throws {
        let easy = ComplexityScorer.score(try request("Hi"))
        let medium = ComplexityScorer.score(try request("What is the capital of France?"))
        let hard = ComplexityScorer.score(try request(
            "A train leaves at 3:15 and travels 240 km at 80 km/h, then 120 km at 60 km/h. First compute each leg, then explain step by step when it arrives and prove the total is right.",
            maxTokens: 1024))
        #expect(0 < easy && easy < medium && medium < hard && hard < 1)
    }
}
