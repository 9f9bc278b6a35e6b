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

    // MARK: written to evade

    @Test("PII written in other scripts, look-alike forms, odd separators or with invisible characters is found", arguments: [
        ("fullwidth digits", "カード ４１１１ １１１１ １１１１ １１１１", "credit_card"),
        ("fullwidth digits, ideographic spaces", "４１１１\u{3000}１１１１\u{3000}１１１１\u{3000}１１１１", "credit_card"),
        ("Arabic-Indic digits", "رقم البطاقة ٤١١١ ١١١١ ١١١١ ١١١١", "credit_card"),
        ("Persian digits", "۴۱۱۱ ۱۱۱۱ ۱۱۱۱ ۱۱۱۱", "credit_card"),
        ("Devanagari digits", "कार्ड ४१११ ११११ ११११ ११११", "credit_card"),
        ("mathematical bold digits", "𝟒𝟏𝟏𝟏 𝟏𝟏𝟏𝟏 𝟏𝟏𝟏𝟏 𝟏𝟏𝟏𝟏", "credit_card"),
        ("mathematical monospace digits", "𝟺𝟷𝟷𝟷-𝟷𝟷𝟷𝟷-𝟷𝟷𝟷𝟷-𝟷𝟷𝟷𝟷", "credit_card"),
        ("soft hyphens", "4111\u{AD}1111\u{AD}1111\u{AD}1111", "credit_card"),
        ("zero-width spaces", "4111\u{200B}1111\u{200B}1111\u{200B}1111", "credit_card"),
        ("word joiners and BOMs", "4\u{2060}111 1111 1111 11\u{FEFF}11", "credit_card"),
        ("tag characters", "4111\u{E0031}1111\u{E0031}1111\u{E0031}1111", "credit_card"),
        ("keycaps", "4\u{FE0F}\u{20E3}1\u{FE0F}\u{20E3}1\u{FE0F}\u{20E3}1\u{FE0F}\u{20E3} 1111 1111 1111", "credit_card"),
        ("combining low lines", "4\u{332}1\u{332}1\u{332}1\u{332} 1111 1111 1111", "credit_card"),
        ("no-break spaces", "4111\u{A0}1111\u{A0}1111\u{A0}1111", "credit_card"),
        ("thin and narrow spaces", "4111\u{2009}1111\u{202F}1111\u{2009}1111", "credit_card"),
        ("en dashes", "4111–1111–1111–1111", "credit_card"),
        ("minus signs", "4111−1111−1111−1111", "credit_card"),
        ("dots", "card 4111.1111.1111.1111 exp", "credit_card"),
        ("underscores", "4111_1111_1111_1111", "credit_card"),
        ("spaced dashes", "4111 - 1111 - 1111 - 1111", "credit_card"),
        ("double spaces", "4111  1111  1111  1111", "credit_card"),
        ("Amex grouping with dots", "3782.822463.10005", "credit_card"),
        ("a card and its expiry, with a spaced dash", "4111 1111 1111 1111 - 12/27", "credit_card"),
        ("a card and its expiry", "4111 1111 1111 1111 12/27 cvc 123", "credit_card"),
        ("a number before a card", "qty 2 4111 1111 1111 1111", "credit_card"),
        ("zero-width space in an address", "jane\u{200B}.doe@exam\u{200B}ple.com", "email"),
        ("fullwidth at sign", "jane＠example.com", "email"),
        ("small at sign", "jane﹫example.com", "email"),
        ("fullwidth address", "ｊａｎｅ＠ｅｘａｍｐｌｅ．ｃｏｍ", "email"),
        ("a Cyrillic letter in the domain", "jane@exаmple.com", "email"),
        ("an internationalised address", "josé@correo.españa.es", "email"),
        ("fullwidth phone", "＋４４ ２０ ７９４６ ０９５８", "phone"),
        ("phone with no-break spaces", "(415)\u{A0}555\u{2011}0100", "phone"),
        ("international phone before a spaced dash", "call +4420 7946 0958 - 2 lines", "phone"),
        ("national id with hyphens (U+2010)", "SSN 123‐45‐6789", "national_id"),
        ("fullwidth IPv4", "１９２．１６８．１０．２５４", "ip_address"),
        ("fullwidth IBAN", "ＧＢ８２ ＷＥＳＴ １２３４ ５６９８ ７６５４ ３２", "iban"),
        ("zero-width joiner in a key", "sk-proj-4fG7hJ2kL9mN\u{200D}3pQ8rS5tV1wX6yZ0aB", "secret"),
        ("a PEM private key header", "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA", "secret"),
    ])
    func evasions(_ label: String, _ text: String, _ kind: String) {
        #expect(PIIDetector.classes(in: text) == [kind], "\(label): \(PIIDetector.findings(in: text))")
    }

    @Test("look-alike forms do not make near misses fire", arguments: [
        "Order ١٠٠٢٣٤٩٨٧ shipped on ٢٠٢٤-٠٣-١٥.",
        "日付：２０２４－０３－１５、注文番号：１００２３４９８７",
        "संस्करण v१.२.३ और v१०.०.०.१",
        "Card ４１１１ １１１１ １１１１ １１１２ is not Luhn-valid",
        "Card 4111.1111.1111.1112 is not Luhn-valid",
        // Luhn-valid, and a card with spaces; with dots, not a card network's number.
        "Reference 1234.5678.9012.3452",
        "Seasons 2019.2020.2021.2020",
        // Luhn-valid, but grouped as thousands.
        "Total 1.234.567.890.128 EUR",
        "ticket_2024_0315_1234_99",
        "office 020_7946_0958",
        "Seats 1234 - 5678 - 9012",
        // Its first sixteen digits pass Luhn, but no card network issues numbers starting with 1.
        "Serials 1234 5678 9012 3452 7788",
        "E = mc², x₁ + x₂ = ½",
        "価格＠５元",
        "ＳＳＮ ０００－１２－３４５６",
        "IP ９９９．１２．１．１",
        "Café crème, naïve façade — Ärger über Öl, ΣΩ, Ж",
    ])
    func unicodeNearMisses(_ text: String) {
        #expect(PIIDetector.findings(in: text).isEmpty, "\(PIIDetector.findings(in: text)) in \(text)")
    }

    @Test("spans are in the text as given, whatever the normaliser rewrote", arguments: [
        ("Card ４１１１ １１１１ １１１１ １１１１ exp", "４１１１ １１１１ １１１１ １１１１"),
        ("mail ｊａｎｅ＠ｅｘａｍｐｌｅ．ｃｏｍ now", "ｊａｎｅ＠ｅｘａｍｐｌｅ．ｃｏｍ"),
        ("call +44\u{A0}20\u{200B} 7946 0958\u{200B}", "+44\u{A0}20\u{200B} 7946 0958"),
        ("4111\u{AD}1111\u{AD}1111\u{AD}1111", "4111\u{AD}1111\u{AD}1111\u{AD}1111"),
        ("㍿㍿ 𝟒𝟏𝟏𝟏 𝟏𝟏𝟏𝟏 𝟏𝟏𝟏𝟏 𝟏𝟏𝟏𝟏 ㍿", "𝟒𝟏𝟏𝟏 𝟏𝟏𝟏𝟏 𝟏𝟏𝟏𝟏 𝟏𝟏𝟏𝟏"),
        ("card 4111 1111 1111 1111 12/27", "4111 1111 1111 1111"),
    ])
    func spansInTheText(_ text: String, _ span: String) throws {
        let found = try #require(PIIDetector.findings(in: text).first)
        #expect(String(decoding: Array(text.utf8)[found.range], as: UTF8.self) == span)
    }

    @Test("findings lie in the text in order, and move with it", arguments: [
        "㍿ 4111 1111 1111 1111 ㍿ jane＠example．com ㍿",
        "⒈⒉⒊ 192.168.⒈⒉ ℡ +44 20 7946 0958 №5",
        "ﬁle 𝟒𝟏𝟏𝟏\u{200B}𝟏𝟏𝟏𝟏 𝟏𝟏𝟏𝟏 𝟏𝟏𝟏𝟏\u{AD} and ５５００－００００－００００－０００４",
        "e\u{301}mail jose\u{301}@exa\u{301}mple.com, SSN 123‐45‐6789",
        "K\u{0}K\u{0}K\u{0} sk-proj-4fG7hJ2kL9mN3pQ8rS5tV1wX6yZ0aB",
    ])
    func findingsInTheText(_ text: String) {
        let size = text.utf8.count
        let found = PIIDetector.findings(in: text)
        #expect(!found.isEmpty)
        var end = 0
        for finding in found {
            #expect(finding.range.lowerBound >= end && finding.range.upperBound <= size && !finding.range.isEmpty, "\(found)")
            end = finding.range.upperBound
        }
        let shifted = PIIDetector.findings(in: " " + text).map { PIIDetector.Finding(kind: $0.kind, range: ($0.range.lowerBound - 1)..<($0.range.upperBound - 1)) }
        #expect(shifted == found)
        #expect(PIIDetector.findings(in: text + " ") == found)
    }

    @Test("the normaliser reads text as a model would", arguments: [
        ("４１１１", "4111"),
        ("٤١١١ ४१११ 𝟒𝟏𝟏𝟏", "4111 4111 4111"),
        ("a\u{200B}b\u{AD}c\u{2060}d\u{FEFF}e\u{200E}f\u{E0041}g\u{FE0F}h\u{3164}i", "abcdefghi"),
        ("1\u{A0}2\u{2009}3\u{3000}4", "1 2 3 4"),
        ("1‐2‑3–4—5−6－7", "1-2-3-4-5-6-7"),
        ("ｊａｎｅ＠ｅｘａｍｐｌｅ．ｃｏｍ", "jane@example.com"),
        ("ﬁle ²", "file 2"),
        ("\u{212A}elvin", "Kelvin"),
        ("e\u{301}", "e"),
        ("Éé Ärger Жж 中文", "Éé Ärger Жж 中文"),
        ("plain ASCII, kept as it is: 4111-1111", "plain ASCII, kept as it is: 4111-1111"),
    ])
    func normaliser(_ text: String, _ expected: String) {
        var normalizer = TextNormalizer()
        var bytes: [UInt8] = []
        normalizer.append(text[...], to: &bytes)
        #expect(String(decoding: bytes, as: UTF8.self) == expected)
    }

    @Test("a key that ends a long URL or path is found", arguments: [
        "see https://docs.example.com/some/long/lowercase/path/segments/here?key=sk-proj-4fG7hJ2kL9mN3pQ8rS5tV1wX6yZ0aB",
        "fetched from /var/lib/service/releases/current/config/tokens/Zx8Qm2Lp9Rt4Vw7Yk3Nc6Hb1Jd5Fg0Ss8Aa2Ee9Ii",
    ])
    func keyAtTheEndOfAWord(_ text: String) {
        #expect(PIIDetector.classes(in: text) == ["secret"], "\(PIIDetector.findings(in: text))")
    }

    @Test("a word's tails judged in one pass are judged as each alone")
    func tailsInOnePass() {
        let pieces = ["sk-proj-", "ghp_", "Zx8Qm2Lp9Rt4", "Vw7Yk3Nc6Hb1Jd5F", "abcdefgh", "path", "/", "-", ".", "_", "=", "AKIA", "0a9B", "x"]
        var state: UInt64 = 0x2545_F491_4F6C_DD1D
        var judged = (secret: 0, not: 0)
        for _ in 0..<300 {
            var word: [UInt8] = []
            while word.count < 60 + Int(state % 200) {
                state ^= state << 13; state ^= state >> 7; state ^= state << 17
                word += Array(pieces[Int(state % UInt64(pieces.count))].utf8)
            }
            let end = min(word.count, PIIDetector.maxSecretLength)
            let bytes = Array(word[..<end])
            let tails = PIIDetector.SecretTails(bytes, from: 0, to: bytes.count)
            for j in bytes.indices where j == 0 || !PIIDetector.isAlnum(bytes[j - 1]) {
                guard PIIDetector.isSecretStart(bytes[j]) else { continue }
                let secret = PIIDetector.isSecret(bytes[j...])
                #expect(tails.contains(j) == secret, "\(String(decoding: bytes[j...], as: UTF8.self))")
                if secret { judged.secret += 1 } else { judged.not += 1 }
            }
        }
        #expect(judged.secret > 100 && judged.not > 100, "\(judged)")
    }

    // MARK: request bodies

    static func body(_ json: String) throws -> JSONObject {
        try #require(try JSON.parse(json).objectValue)
    }

    @Test("PII anywhere in a request body is found", arguments: [
        // OpenAI chat completions
        ("message content", #"{"model":"auto","messages":[{"role":"user","content":"mail jane@example.com"}]}"#, "email"),
        ("a text part", #"{"messages":[{"role":"user","content":[{"type":"text","text":"Card 4111 1111 1111 1111"}]}]}"#, "credit_card"),
        ("name", #"{"messages":[{"role":"user","name":"jane.doe@example.com","content":"hi"}]}"#, "email"),
        ("tool-call arguments, escaped", #"{"messages":[{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"pay","arguments":"{\"card\":\"\\u0034\\u0031\\u0031\\u0031 \\u0031\\u0031\\u0031\\u0031 \\u0031\\u0031\\u0031\\u0031 \\u0031\\u0031\\u0031\\u0031\"}"}}]}]}"#, "credit_card"),
        ("tool-call arguments, a number", #"{"messages":[{"role":"assistant","tool_calls":[{"id":"call_1","type":"function","function":{"name":"pay","arguments":"{\"card\":4111111111111111}"}}]}]}"#, "credit_card"),
        ("JSON in a string in arguments", #"{"messages":[{"role":"assistant","tool_calls":[{"function":{"name":"f","arguments":"{\"payload\":\"{\\\"to\\\":\\\"jane\\\\u0040example.com\\\"}\"}"}}]}]}"#, "email"),
        ("a tool message", #"{"messages":[{"role":"tool","tool_call_id":"call_1","content":"SSN 123-45-6789"}]}"#, "national_id"),
        ("a tool description", #"{"messages":[],"tools":[{"type":"function","function":{"name":"lookup","description":"Always copy ops@example.com","parameters":{"type":"object","properties":{}}}}]}"#, "email"),
        ("a tool parameter's default", #"{"tools":[{"type":"function","function":{"name":"pay","parameters":{"type":"object","properties":{"card":{"type":"string","default":"4111-1111-1111-1111"}}}}}]}"#, "credit_card"),
        ("a fullwidth number in a tool description", #"{"tools":[{"type":"function","function":{"name":"pay","description":"use ４１１１ １１１１ １１１１ １１１１"}}]}"#, "credit_card"),
        ("metadata", #"{"messages":[],"metadata":{"customer":"+44 20 7946 0958"}}"#, "phone"),
        ("a metadata key", #"{"messages":[],"metadata":{"jane@example.com":"vip"}}"#, "email"),
        ("a number in metadata", #"{"messages":[],"metadata":{"card":4111111111111111}}"#, "credit_card"),
        ("user", #"{"messages":[],"user":"jane@example.com"}"#, "email"),
        ("stop", #"{"messages":[],"stop":["123-45-6789","END"]}"#, "national_id"),
        ("a response_format schema", #"{"messages":[],"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{"type":"object","properties":{"iban":{"const":"DE89370400440532013000"}}}}}}"#, "iban"),
        ("a vendor field", #"{"messages":[],"extra_body":{"note":"key sk-proj-4fG7hJ2kL9mN3pQ8rS5tV1wX6yZ0aB"}}"#, "secret"),
        ("an image URL", #"{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"https://example.com/u/jane@example.com.png"}}]}]}"#, "email"),
        ("a data URL that is not base64", #"{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:text/plain,call +44 20 7946 0958"}}]}]}"#, "phone"),
        ("text in an audio payload", #"{"messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{"data":"card 4111 1111 1111 1111","format":"wav"}}]}]}"#, "credit_card"),
        ("bare digits in an audio payload", #"{"messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{"data":"4111111111111111","format":"wav"}}]}]}"#, "credit_card"),
        ("a phone number in a file payload", #"{"messages":[{"role":"user","content":[{"type":"file","file":{"filename":"a.pdf","file_data":"QUJD/+14155550100/QUJD"}}]}]}"#, "phone"),
        // Anthropic Messages
        ("a system string", #"{"model":"claude","system":"Reply to jane@example.com","messages":[{"role":"user","content":"hi"}]}"#, "email"),
        ("a system block", #"{"system":[{"type":"text","text":"Customer IBAN GB82 WEST 1234 5698 7654 32"}],"messages":[]}"#, "iban"),
        ("tool_use input", #"{"messages":[{"role":"assistant","content":[{"type":"tool_use","id":"toolu_01","name":"charge","input":{"card":"4111-1111-1111-1111"}}]}]}"#, "credit_card"),
        ("tool_use input, a number", #"{"messages":[{"role":"assistant","content":[{"type":"tool_use","id":"toolu_01","name":"charge","input":{"card":4111111111111111}}]}]}"#, "credit_card"),
        ("tool_result content", #"{"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_01","content":"SSN 123-45-6789"}]}]}"#, "national_id"),
        ("tool_result blocks", #"{"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_01","content":[{"type":"text","text":"server 192.168.10.254"}]}]}]}"#, "ip_address"),
        ("a plain-text document", #"{"messages":[{"role":"user","content":[{"type":"document","source":{"type":"text","media_type":"text/plain","data":"call +1 415 555 0100"}}]}]}"#, "phone"),
        ("Anthropic metadata", #"{"messages":[],"metadata":{"user_id":"jane@example.com"}}"#, "email"),
    ])
    func bodies(_ label: String, _ json: String, _ kind: String) throws {
        #expect(PIIDetector.classes(inRequestBody: try Self.body(json)) == [kind], "\(label)")
    }

    /// A PNG's base64 (its header, then random base64, as compressed data is): one long word of
    /// high entropy.
    static func pngBase64(count: Int) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        var bytes = Array("iVBORw0KGgoAAAANSUhEUgAA".utf8)
        bytes.reserveCapacity(count)
        while bytes.count < count {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            bytes.append(alphabet[Int(state >> 58)])
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    @Test("base64 payloads are not read as text, though they would trip the secret check")
    func base64Payloads() throws {
        let payload = Self.pngBase64(count: 200_000)
        #expect(PIIDetector.classes(in: payload) == ["secret"], "the payload must be a real trigger for the test to mean anything")
        let bodies = [
            #"{"messages":[{"role":"user","content":[{"type":"text","text":"What is this?"},{"type":"image_url","image_url":{"url":"data:image/png;base64,\#(payload)","detail":"high"}}]}]}"#,
            #"{"messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{"data":"\#(payload)","format":"wav"}}]}]}"#,
            #"{"messages":[{"role":"user","content":[{"type":"file","file":{"filename":"a.pdf","file_data":"data:application/pdf;base64,\#(payload)"}}]}]}"#,
            #"{"messages":[{"role":"user","content":[{"type":"file","file":{"filename":"a.pdf","file_data":"\#(payload)"}}]}]}"#,
            #"{"messages":[{"role":"user","content":[{"type":"image","source":{"type":"base64","media_type":"image/png","data":"\#(payload)"}},{"type":"text","text":"What is this?"}]}]}"#,
            #"{"messages":[{"role":"user","content":[{"type":"document","source":{"type":"base64","media_type":"application/pdf","data":"\#(payload)"}}]}]}"#,
            #"{"messages":[{"role":"assistant","content":[{"type":"thinking","thinking":"Let me see.","signature":"\#(payload)"},{"type":"redacted_thinking","data":"\#(payload)"}]}]}"#,
        ]
        for json in bodies {
            #expect(PIIDetector.classes(inRequestBody: try Self.body(json)).isEmpty, "\(json.prefix(120))")
        }
    }

    @Test("numbers and text in a payload are found wherever they fall in it", arguments: 0..<17)
    func payloadOffsets(_ offset: Int) throws {
        let padding = String(Self.pngBase64(count: 24 + offset).suffix(offset))
        func classes(_ data: String) throws -> Set<String> {
            try PIIDetector.classes(inRequestBody: Self.body(#"{"messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{"data":"\#(data)","format":"wav"}}]}]}"#))
        }
        #expect(try classes(padding + "/4111111111111111/" + padding) == ["credit_card"])
        #expect(try classes(padding + "/+14155550100") == ["phone"])
        #expect(try classes(padding + " 4111 1111 1111 1111") == ["credit_card"])
        #expect(try classes(padding + "/1234567/" + padding).isEmpty)
    }

    @Test("an ordinary request body has nothing to find")
    func ordinaryBody() throws {
        let json = #"""
        {"model":"gpt-4o-mini","temperature":0.7,"max_tokens":1024,"seed":4111111111111111,"stream":true,
         "stream_options":{"include_usage":true},"user":"tenant-42",
         "messages":[{"role":"system","content":"You are terse."},
                     {"role":"user","content":"Order 100234987 shipped on 2024-03-15; upgrade to 1.2.3."},
                     {"role":"user","content":[{"type":"text","text":"Which ant is this?"},
                       {"type":"image_url","image_url":{"url":"https://upload.wikimedia.org/wikipedia/commons/thumb/a/a7/Camponotus_flavomarginatus_ant.jpg/1280px-Camponotus_flavomarginatus_ant.jpg"}},
                       {"type":"image_url","image_url":{"url":"https://cdn.example.com/u/12345/Profile_Picture_2024-03-15_Final.png"}}]},
                     {"role":"assistant","content":null,"tool_calls":[{"id":"call_9fK3Lm2Qp8Rt4Vw7Yk3Nc6","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\",\"days\":3}"}}]},
                     {"role":"tool","tool_call_id":"call_9fK3Lm2Qp8Rt4Vw7Yk3Nc6","content":"{\"temp\":21.5,\"unit\":\"C\"}"}],
         "tools":[{"type":"function","function":{"name":"get_weather","description":"Weather for a city","parameters":{"type":"object","properties":{"city":{"type":"string"},"days":{"type":"integer","minimum":1,"maximum":16}},"required":["city"]}}}],
         "response_format":{"type":"json_schema","json_schema":{"name":"answer","strict":true,"schema":{"type":"object","properties":{"text":{"type":"string"}}}}},
         "stop":["\n\n"],"metadata":{"trace":"a1b2c3"}}
        """#
        #expect(PIIDetector.classes(inRequestBody: try Self.body(json)).isEmpty)
    }

    @Test("the detector's near misses stay quiet anywhere in a body", arguments: [
        "Order 100234987 shipped on 2024-03-15.",
        "Invoice #INV-2024-000123, ticket A12345678901",
        "Upgrade to version 1.2.3 or v10.0.0.1 tomorrow",
        "Card 4111 1111 1111 1112 is not Luhn-valid",
        "GB82 WEST 1234 5698 7654 33 has a bad checksum",
        "commit 9fceb02d0ae598e95dc970b74767f19372d61af8 fixed it",
        "a@b is no address, nor is x@localhost",
        "Total: 1,234,567.89 USD",
    ])
    func bodyNearMisses(_ text: String) throws {
        let string = JSON.string(text).text
        for json in [
            #"{"messages":[{"role":"user","content":\#(string)}]}"#,
            #"{"messages":[{"role":"assistant","tool_calls":[{"function":{"name":"f","arguments":\#(JSON.string(#"{"q":\#(string)}"#).text)}}]}]}"#,
            #"{"system":[{"type":"text","text":\#(string)}],"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_01","content":\#(string)}]}]}"#,
        ] {
            #expect(PIIDetector.classes(inRequestBody: try Self.body(json)).isEmpty, "\(json)")
        }
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
