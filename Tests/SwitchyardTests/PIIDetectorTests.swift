import Testing
import SwitchyardWire
@testable import SwitchyardDecision
@testable import SwitchyardExecution
@testable import SwitchyardSignals

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

    // MARK: ordinary text (issue 13)

    /// Each text holds one finding, with the span given; what comes before it in the same word
    /// (an id, an ordinal, a hash, a UUID, a `key=` and its separator) must not hide it.
    @Test("an earlier token in the same word never hides a later finding", arguments: [
        ("https://crm.example.com/c?id=5f3a9c&email=jane.doe@example.com", "email", "jane.doe@example.com"),
        ("jane+2fa@example.com", "email", "jane+2fa@example.com"),
        ("550e8400-e29b-41d4-a716-446655440000:4111111111111111", "credit_card", "4111111111111111"),
        ("the 3rd:jane.doe@example.com", "email", "jane.doe@example.com"),
        ("ref=1a;ssn=078-05-1120", "national_id", "078-05-1120"),
        ("info.24h@example.com", "email", "info.24h@example.com"),
        // The same shape, in forms nobody listed.
        ("uid=7f3a;card=4111-1111-1111-1111;lvl=info", "credit_card", "4111-1111-1111-1111"),
        ("7b;jane.doe@example.com;x", "email", "jane.doe@example.com"),
        ("|1st|jane.doe@example.com|", "email", "jane.doe@example.com"),
        ("550e8400-e29b-41d4-a716-446655440000|078-05-1120", "national_id", "078-05-1120"),
        ("req 3f2a9c1e/jane.doe@example.com", "email", "jane.doe@example.com"),
        (#"{"v":"2fa:jane.doe@example.com"}"#, "email", "jane.doe@example.com"),
        ("**2FA**:jane.doe@example.com", "email", "jane.doe@example.com"),
        ("[1st](mailto:jane.doe@example.com)", "email", "jane.doe@example.com"),
        ("GET /u/42b?ts=9a&phone=+14155550100 HTTP/1.1", "phone", "+14155550100"),
        ("1a:AKIAIOSFODNN7EXAMPLE", "secret", "AKIAIOSFODNN7EXAMPLE"),
        ("2024-03-15T10:30:00Z id=9f2;ip=192.168.10.254", "ip_address", "192.168.10.254"),
        ("token 9Zx8Qm2Lp9Rt4Vw7Yk3Nc6Hb1Jd5Fg0Ss8Aa2Ee9Ii", "secret", "9Zx8Qm2Lp9Rt4Vw7Yk3Nc6Hb1Jd5Fg0Ss8Aa2Ee9Ii"),
        ("2024-03-15 078-05-1120", "national_id", "078-05-1120"),
        ("id 12345 078-05-1120", "national_id", "078-05-1120"),
        ("2024-03-15\t078-05-1120", "national_id", "078-05-1120"),
        ("1,078-05-1120,x", "national_id", "078-05-1120"),
        ("192.168.10.254 10.0.0", "ip_address", "192.168.10.254"),
    ])
    func earlierTokens(_ text: String, _ kind: String, _ span: String) throws {
        try finds(text, kind, span)
    }

    /// Every key form the detector knows, followed and preceded by the punctuation of prose,
    /// Markdown, shells and code.
    static let keys = [
        "AKIAIOSFODNN7EXAMPLE", "ASIAY34FZKBOKMUTVV7A", "glpat-Zx8Qm2Lp9Rt4Vw7Yk3Nc", "sk-proj-4fG7hJ2kL9mN3pQ8rS5tV1wX6yZ0aB",
        "sk_live_4fG7hJ2kL9mN3pQ8rS5tV1wX", "sk_test_4fG7hJ2kL9mN3pQ8rS5tV1wX", "rk_live_4fG7hJ2kL9mN3pQ8rS5tV1wX",
        "pk_live_4fG7hJ2kL9mN3pQ8rS5tV1wX", "ghp_16C7e42F292c6912E7710c838347Ae178B4a", "gho_16C7e42F292c6912E7710c838347Ae178B4a",
        "ghs_16C7e42F292c6912E7710c838347Ae178B4a", "ghu_16C7e42F292c6912E7710c838347Ae178B4a",
        "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEFGHIJ", "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
        "xoxp-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx", "xoxa-2-123456789012-AbCdEfGhIjKlMnOpQrStUvWx",
        "AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY", "hf_AbCdEfGhIjKlMnOpQrStUvWxYz01234567", "npm_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789",
        "Zx8Qm2Lp9Rt4Vw7Yk3Nc6Hb1Jd5Fg0Ss8Aa2Ee9Ii",
    ]
    static let keyContexts = ["KEY.", "`KEY`", "(KEY)", "KEY;", "KEY:", "KEY!", "**KEY**", "export X=KEY;", "KEY, then", "KEY?", "[KEY]",
                              "{KEY}", "<KEY>", "'KEY'", "\"KEY\"", "KEY|x", "KEY&x=1", "KEY#frag", "KEY%20", "KEY\\n", "KEY..."]

    @Test("a key followed or surrounded by punctuation is found, without it", arguments: keys)
    func keysInPunctuation(_ key: String) throws {
        for context in Self.keyContexts {
            try finds("note: " + context.replacingOccurrences(of: "KEY", with: key) + " end", "secret", key)
        }
    }

    @Test("escaped forms in pasted links and HTML are read decoded", arguments: [
        ("jane.doe%40example.com", "email", "jane.doe%40example.com"),
        ("https://x.example/?to=jane.doe%40example.com&y=1", "email", "jane.doe%40example.com"),
        ("next=%2Fc%3Femail%3Djane.doe%2540example.com", "email", "jane.doe%2540example.com"),
        ("jane%2Bnews%40example.com", "email", "jane%2Bnews%40example.com"),
        ("jane&#64;example.com", "email", "jane&#64;example.com"),
        ("jane&#x40;example&#46;com", "email", "jane&#x40;example&#46;com"),
        ("jane&commat;example&period;com", "email", "jane&commat;example&period;com"),
        ("card=4111%201111%201111%201111", "credit_card", "4111%201111%201111%201111"),
        ("<td>4111&nbsp;1111&nbsp;1111&nbsp;1111</td>", "credit_card", "4111&nbsp;1111&nbsp;1111&nbsp;1111"),
        ("phone=%2B14155550100", "phone", "%2B14155550100"),
        ("key%3DAKIAIOSFODNN7EXAMPLE%26x", "secret", "AKIAIOSFODNN7EXAMPLE"),
        ("q=ssn%3D078-05-1120", "national_id", "078-05-1120"),
        ("ＪＡＮＥ％４０ＥＸＡＭＰＬＥ．ＣＯＭ", "email", "ＪＡＮＥ％４０ＥＸＡＭＰＬＥ．ＣＯＭ"),
    ])
    func escapes(_ text: String, _ kind: String, _ span: String) throws {
        try finds(text, kind, span)
    }

    @Test("written forms of numbers and IBANs that people use are found", arguments: [
        // IBANs in lower case or with dashes
        ("iban gb82 west 1234 5698 7654 32 ok", "iban", "gb82 west 1234 5698 7654 32"),
        ("GB82-WEST-1234-5698-7654-32", "iban", "GB82-WEST-1234-5698-7654-32"),
        ("de89370400440532013000", "iban", "de89370400440532013000"),
        ("de89-3704-0044-0532-0130-00.", "iban", "de89-3704-0044-0532-0130-00"),
        ("Fr14 2004 1010 0505 0001 3m02 606", "iban", "Fr14 2004 1010 0505 0001 3m02 606"),
        ("IBAN: NL91ABNA0417164300.", "iban", "NL91ABNA0417164300"),
        // cards split by slashes; by tabs (a spreadsheet row), line breaks or commas after a word
        // that names a card, since rows of four-digit figures pass Luhn one time in ten
        ("4111/1111/1111/1111", "credit_card", "4111/1111/1111/1111"),
        ("Card\t4111\t1111\t1111\t1111", "credit_card", "4111\t1111\t1111\t1111"),
        ("card:\n4111\n1111\n1111\n1111\n", "credit_card", "4111\n1111\n1111\n1111"),
        ("Visa\r\n4111\r\n1111\r\n1111\r\n1111", "credit_card", "4111\r\n1111\r\n1111\r\n1111"),
        ("cc: 4111,1111,1111,1111", "credit_card", "4111,1111,1111,1111"),
        ("Amex\t3782\t822463\t10005", "credit_card", "3782\t822463\t10005"),
        ("Jane\t4111 1111 1111 1111\t12/27", "credit_card", "4111 1111 1111 1111"),
        ("4111111111111111,12,27,123", "credit_card", "4111111111111111"),
        ("4111 11111111 1111", "credit_card", "4111 11111111 1111"),
        // national phone numbers in two groups, and unseparated after a word that says so
        ("mobile 07911 123456", "phone", "07911 123456"),
        ("Büro 030 12345678", "phone", "030 12345678"),
        ("(030) 12345678", "phone", "(030) 12345678"),
        ("ruf an: 0221-1234567", "phone", "0221-1234567"),
        ("Tel: 4155550100", "phone", "4155550100"),
        ("call me on 2125550123 tonight", "phone", "2125550123"),
        ("phone 07911123456", "phone", "07911123456"),
        ("Phone #: 14155550100", "phone", "14155550100"),
        // SSNs with spaces, dots or nothing
        ("SSN 078 05 1120", "national_id", "078 05 1120"),
        ("078.05.1120", "national_id", "078.05.1120"),
        ("SSN: 078051120", "national_id", "078051120"),
        ("social security number 078051120", "national_id", "078051120"),
        ("ssn=078051120&x=1", "national_id", "078051120"),
    ])
    func writtenForms(_ text: String, _ kind: String, _ span: String) throws {
        try finds(text, kind, span)
    }

    /// Ordinary text full of numbers, ids and codes that look like the forms above.
    @Test("near misses of the new forms stay quiet", arguments: [
        // dates, times, timestamps
        "Meet at 2024-03-15 10:30:00 in room 4",
        "2024-03-15T10:30:00.123456Z INFO started",
        "logged 1710500000 then 1710500000008 ms",
        "15/03/2024 - 16/03/2024",
        "from 03.15.2024 to 04.15.2024",
        // order numbers, ids, versions, ISBNs, hashes, UUIDs
        "Order 4155550100 shipped",
        "Invoice 00012345 and ticket 0012345678",
        "ISBN 0-306-40615-2 and ISBN 978-0-306-40616-4",
        "Order 1234567890123452 and ref 7000000000000005",
        "Version 10.0.19045.2965, build 22631.3296, version 1.2.3.4",
        "OID 1.3.6.1.4.1.311.21.7",
        "550e8400-e29b-41d4-a716-446655440000 and 123e4567-e89b-12d3-a456-004420794609",
        "commit 9fceb02d0ae598e95dc970b74767f19372d61af8 and 4b825dc642cb6eb9a060e54bf8d69288fbee4904",
        "sha256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "md5 de12ab34cd56ef78901234aa and ab12cdef3456ab78cdef1234",
        "ZIP 12345-6789, PO box 078 05",
        "SSN 078-00-1120, 078-05-0000, 900-12-3456 are never issued",
        "Order 078051120 shipped",
        "serial 123 45 67890",
        // prices, amounts, spreadsheets
        "Total: 1,234,567.89 USD; population 1 234 567 890",
        "Q1\t1200\t3400\t5600\t7800",
        "4500\t3200\t5100\t1005\t900",
        "4500\t3200\t5100\t1005",
        "Revenue\n4500\n3200\n5100\n1005",
        "2019,2020,2021,2022,2023",
        "price\t19.99\t24.50\t4.99\t0.99",
        "12 34 56 78 90 12 34 56",
        "Lotto 05 12 23 34 41 48",
        // words that look like keys or codes
        "sk-learn-is-a-great-library-for-python",
        "the ASIA-PACIFIC-REGIONAL-OFFICE and AKIA",
        "GB82 WEST 1234 5698 7654 33 has a bad checksum",
        "gb82 west 1234 5698 7654 33",
        "Product AB12CDEF3456GH78IJ",
        // encodings that decode to nothing
        "100%25 sure, 50% off, AT&T &amp; co, %41%42 &#65;",
    ])
    func ordinaryNearMisses(_ text: String) {
        #expect(PIIDetector.findings(in: text).isEmpty, "\(PIIDetector.findings(in: text)) in \(text)")
    }

    func finds(_ text: String, _ kind: String, _ span: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let findings = PIIDetector.findings(in: text)
        #expect(findings.map(\.kind.rawValue) == [kind], "\(findings) in \(text)", sourceLocation: sourceLocation)
        let found = try #require(findings.first(where: { $0.kind.rawValue == kind }), "\(text)", sourceLocation: sourceLocation)
        #expect(String(decoding: Array(text.utf8)[found.range], as: UTF8.self) == span, "in \(text)", sourceLocation: sourceLocation)
    }

    @Test("a key's tails judged in one pass are judged as each alone")
    func tailsInOnePass() {
        let pieces = ["sk-proj-", "ghp_", "Zx8Qm2Lp9Rt4", "Vw7Yk3Nc6Hb1Jd5F", "abcdefgh", "path", "/", "-", ".", "_", "+", "AKIA", "0a9B", "x"]
        var state: UInt64 = 0x2545_F491_4F6C_DD1D
        var judged = (key: 0, not: 0)
        var counts = [Int](repeating: 0, count: 256), alone = [Int](repeating: 0, count: 256)
        for _ in 0..<300 {
            var word: [UInt8] = []
            while word.count < 60 + Int(state % 200) {
                state ^= state << 13; state ^= state >> 7; state ^= state << 17
                word += Array(pieces[Int(state % UInt64(pieces.count))].utf8)
            }
            let bytes = Array(word.prefix(PIIDetector.maxSecretLength)) + [PIIDetector.boundary]
            let end = bytes.count - 1
            let scan = PIIScan(bytes)
            let tail = counts.withUnsafeMutableBufferPointer { scan.earliestKeyTail(from: 1, to: end, counts: $0) }
            let expected = (1..<end).first { j in
                PIIDetector.isAlnum(bytes[j]) && !PIIDetector.isAlnum(bytes[j - 1])
                    && alone.withUnsafeMutableBufferPointer { PIIDetector.Tally(of: j..<end, in: bytes, counts: $0).isHighEntropyKey }
            }
            #expect(tail?.lowerBound == expected, "\(String(decoding: bytes, as: UTF8.self))")
            if expected != nil { judged.key += 1 } else { judged.not += 1 }
        }
        #expect(judged.key > 10 && judged.not > 10, "\(judged)")
    }

    @Test("a finding inside a key keeps its class: the key is reported around it")
    func findingsInsideAKey() {
        let text = "Zx8Qm2Lp9Rt4Vw7Yk3Nc6Hb1Jd5Fg0Ss8Aa2/4111111111111111/GB82WEST12345698765432/Vw7Yk3Nc6Hb1Jd5F"
        let found = PIIDetector.findings(in: text)
        #expect(found.map(\.kind) == [.secret, .creditCard, .iban, .secret], "\(found)")
        let bytes = Array(text.utf8)
        #expect(found.map { String(decoding: bytes[$0.range], as: UTF8.self) }
                == ["Zx8Qm2Lp9Rt4Vw7Yk3Nc6Hb1Jd5Fg0Ss8Aa2/", "4111111111111111", "GB82WEST12345698765432", "/Vw7Yk3Nc6Hb1Jd5F"])
    }

    // MARK: bounded work

    /// The scan's bytes, counting every read (the scan reads only through `ScanBytes`).
    struct CountedBytes: ScanBytes {
        let bytes: UnsafeBufferPointer<UInt8>
        let reads: UnsafeMutablePointer<Int>
        var count: Int { bytes.count }
        subscript(index: Int) -> UInt8 {
            reads.pointee += 1
            return bytes[index]
        }
    }

    /// Bytes the scan reads in `size` bytes of `unit` repeated, then `tail`.
    static func reads(_ unit: String, bytes size: Int, tail: String = "") -> Int {
        let unit = Array(unit.utf8)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(size + unit.count + tail.utf8.count + 1)
        while bytes.count < size { bytes += unit }
        bytes += Array(tail.utf8) + [PIIDetector.boundary]
        var reads = 0
        bytes.withUnsafeBufferPointer { buffer in
            withUnsafeMutablePointer(to: &reads) { _ = PIIDetector.findings(inScanText: CountedBytes(bytes: buffer, reads: $0)) }
        }
        return reads
    }

    /// The most bytes the scan reads per byte of text, whatever the text: an upper bound with a
    /// margin over the worst measured (about 54, for runs of single digits split by spaces or
    /// cell breaks, each read again from after each break up to the 24-digit cap). Work that grew
    /// with the square of the length would read some 10^11 bytes in a megabyte.
    static let readsPerByte = 64

    @Test("a megabyte of hostile text costs a bounded number of reads per byte, linear in its length", arguments: [
        ("a1", "@"), ("1-", ""), ("1 ", ""), ("a@", ""), ("sk-", ""),
    ])
    func megabyte(_ unit: String, _ tail: String) {
        let quarter = Self.reads(unit, bytes: 1 << 18, tail: tail), whole = Self.reads(unit, bytes: 1 << 20, tail: tail)
        #expect(whole <= Self.readsPerByte << 20, "\(Double(whole) / Double(1 << 20)) reads a byte for \(unit.debugDescription)")
        #expect(Double(whole) <= 4.1 * Double(quarter), "\(quarter) reads for 256 KB, \(whole) for 1 MB of \(unit.debugDescription)")
    }

    @Test("every form the detectors look for, repeated, costs a bounded number of reads per byte, linear in its length", arguments: [
        "a1", "a1a1a1a1@", "1a", "1-", "1 ", "1.", "1/", "1,", "1\t", "1\n", "1\r\n", "12 ", "4111 ", "4111  ", "0 ", "00", "+1", "(1", "(1) ",
        "192.168.1.", "078-05-", "a@", "@a.", "a.b@", "x@y.", ".@", "%40", "sk-", "sk-a", "-sk-proj-", "AKIA", "akia", "GB82 ", "gb82-",
        "GB82WEST", "-----BEGIN ", "-", "Zx8Q/", "Zx8Q-", "aB3/", "a/", "/", "_", "ssn 1 ", "phone 4155550100 ", "card\t4111\t",
        "2024-03-15 ", "v1.2.3.4 ", "A", "aA1", "1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 x",
    ])
    func boundedWork(_ unit: String) {
        let quarter = Self.reads(unit, bytes: 1 << 14), whole = Self.reads(unit, bytes: 1 << 16)
        #expect(whole <= Self.readsPerByte << 16, "\(Double(whole) / Double(1 << 16)) reads a byte for \(unit.debugDescription)")
        #expect(Double(whole) <= 4.1 * Double(quarter), "\(quarter) reads for 16 KB, \(whole) for 64 KB of \(unit.debugDescription)")
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
        // issue 13: exemptions only where they belong, and texts the translation sets side by side
        ("a card under a nested seed", #"{"messages":[],"metadata":{"seed":4111111111111111}}"#, "credit_card"),
        ("a card under seed in tool-call arguments", #"{"messages":[{"role":"assistant","tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{\"seed\":4111111111111111}"}}]}]}"#, "credit_card"),
        ("a card under seed in tool_use.input", #"{"messages":[{"role":"assistant","content":[{"type":"tool_use","id":"t","name":"n","input":{"seed":4111111111111111}}]}]}"#, "credit_card"),
        ("a key in input_audio.data outside a message", #"{"messages":[],"metadata":{"input_audio":{"data":"AKIAIOSFODNN7EXAMPLE"}}}"#, "secret"),
        ("an IBAN in a base64 source outside a message", #"{"messages":[],"metadata":{"type":"base64","data":"GB82WEST12345698765432"}}"#, "iban"),
        ("a key as a thinking signature outside a message", #"{"messages":[],"metadata":{"type":"thinking","signature":"AKIAIOSFODNN7EXAMPLE"}}"#, "secret"),
        ("an IBAN in file_data outside a message", #"{"messages":[],"x":{"file":{"file_data":"GB82WEST12345698765432"}}}"#, "iban"),
        ("a base64 data URL in metadata", #"{"messages":[],"metadata":{"note":"data:text/plain;base64,AKIAIOSFODNN7EXAMPLE"}}"#, "secret"),
        ("an IBAN as the data of a text part", #"{"messages":[{"role":"user","content":[{"type":"text","text":"hi","data":"GB82WEST12345698765432"}]}]}"#, "iban"),
        ("an email split between a text block and a text document", #"{"messages":[{"role":"user","content":[{"type":"text","text":"mail jane.doe"},{"type":"document","source":{"type":"text","media_type":"text/plain","data":"@example.com"}}]}]}"#, "email"),
        ("an email split between a text document and a text block", #"{"messages":[{"role":"user","content":[{"type":"document","source":{"type":"text","media_type":"text/plain","data":"jane.doe@"}},{"type":"text","text":"example.com"}]}]}"#, "email"),
        ("an email split between two text documents", #"{"messages":[{"role":"user","content":[{"type":"document","source":{"type":"text","data":"jane.doe"}},{"type":"document","source":{"type":"text","data":"@example.com"}}]}]}"#, "email"),
        ("a card split across a tool result's blocks at line breaks", #"{"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":[{"type":"text","text":"card\n4111\n1111"},{"type":"text","text":"1111\n1111"}]}]}]}"#, "credit_card"),
        ("a card split across system blocks at a line break", #"{"system":[{"type":"text","text":"card 4111\t1111"},{"type":"text","text":"1111\t1111"}],"messages":[]}"#, "credit_card"),
        ("an email split across text parts around trimmed spaces", #"{"messages":[{"role":"user","content":[{"type":"text","text":"mail jane.doe "},{"type":"image_url","image_url":{"url":"https://x.example/a.png"}},{"type":"text","text":" @example.com"}]}]}"#, "email"),
        ("an SSN under its key", #"{"messages":[],"metadata":{"ssn":"078051120"}}"#, "national_id"),
        ("a phone number under its key", #"{"messages":[],"metadata":{"phone":4155550100}}"#, "phone"),
        ("an email in a tool result's document content", #"{"messages":[{"role":"user","content":[{"type":"document","source":{"type":"content","content":[{"type":"text","text":"jane.doe@example.com"}]}}]}]}"#, "email"),
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
            #"{"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":[{"type":"image","source":{"type":"base64","media_type":"image/png","data":"\#(payload)"}}]}]}]}"#,
            #"{"messages":[{"role":"user","content":[{"type":"document","source":{"type":"content","content":[{"type":"image","source":{"type":"base64","media_type":"image/png","data":"\#(payload)"}}]}}]}]}"#,
            #"{"messages":[{"role":"tool","tool_call_id":"c","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,\#(payload)"}}]}]}"#,
            // A client's media type with a comma in it, as the Anthropic translation writes it into the URL.
            #"{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:imag,e/png;base64,\#(payload)"}}]}]}"#,
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
