import Testing
@testable import SwitchyardPolicy

#if canImport(Glibc)
import Glibc
#endif

/// Whatever an operator (or an attacker with write access to the policy) puts in a policy file,
/// loading it ends in a policy or in located diagnostics: never a trap, a hang or a stack
/// overflow. A crash here takes the test process down, which fails the run.
@Suite("Policy loader on hostile input", .timeLimit(.minutes(1)))
struct PolicyHostileInputTests {
    static let models = "version: 1\nmodels:\n"
    static let local = models + "  a: {kind: local}\n  c: {kind: openai, model: m}\n"

    /// Ten anchors, each a list of ten aliases of the one before: a billion strings once expanded.
    static let billionLaughs = "version: 1\nx0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
        + (1...9).map { i in "x\(i): &a\(i) [" + Array(repeating: "*a\(i - 1)", count: 10).joined(separator: ", ") + "]\n" }.joined()

    static func test(_ line: String) -> String {
        local + "tests:\n  - {request: {model: auto, messages: [{role: user, content: hi}]}, expect: {target: a}, \(line)}\n"
    }

    static let cases: [(String, String, Int, String)] = [
        ("inf duration", models + "  a: {kind: local, timeouts: {connect: inf}}\n", 3, "`connect` must be a positive duration"),
        ("1e400 duration", models + "  a: {kind: local, timeouts: {stall: 1e400}}\n", 3, "`stall` must be a positive duration"),
        ("1e11s duration", models + "  a: {kind: openai, model: m, timeouts: {total: 1e11s}}\n", 3, "`total` must be a positive duration"),
        ("a 400-digit duration", models + "  a: {kind: local, timeouts: {total: 1\(String(repeating: "0", count: 400))s}}\n", 3, "`total` must be at most 24h"),
        ("nan duration", models + "  a: {kind: local, timeouts: {first_byte: nan}}\n", 3, "`first_byte` must be a positive duration"),
        ("negative duration", local + "server: {shutdown_grace: -5s}\n", 5, "`shutdown_grace` must be a positive duration"),
        ("-0 duration", local + "server: {idle_timeout: -0s}\n", 5, "`idle_timeout` must be a positive duration"),
        ("zero duration", local + "server: {header_timeout: 0}\n", 5, "`header_timeout` must be at least 1ms; got 0"),
        ("-0 int", models + "  a: {kind: local, slots: -0}\n", 3, "`slots` must be at least 1; got 0"),
        ("2^63", models + "  a: {kind: local, slots: 9223372036854775808}\n", 3, "`slots` must be at most 256"),
        ("-2^63 - 1", models + "  a: {kind: local, context: -9223372036854775809}\n", 3, "`context` must be at least 128"),
        ("a huge int", models + "  a: {kind: local, context: 99999999999999999999999}\n", 3, "`context` must be at most 10000000"),
        ("Int.max", models + "  a: {kind: openai, model: m, context: 9223372036854775807}\n", 3, "`context` must be at most 10000000"),
        ("base-60 overflow", models + "  a: {kind: local, slots: 1:1:1:1:1:1:1:1:1:1:1:1}\n", 3, "`slots` must be an integer"),
        ("an exponent for an int", local + "server: {max_body_bytes: 1e300}\n", 5, "`max_body_bytes` must be an integer"),
        ("version 2^63", "version: 9223372036854775808\nmodels:\n  a: {kind: local}\n", 1, "unsupported policy version 9223372036854775808"),
        ("version as a list", "version: [1]\nmodels:\n  a: {kind: local}\n", 1, "`version` must be 1"),
        (".inf price", models + "  a: {kind: openai, model: m, price: {input: .inf}}\n", 3, "`price.input` must be a number"),
        (".nan price", models + "  a: {kind: openai, model: m, price: {output: .nan}}\n", 3, "`price.output` must be a number"),
        ("1e400 price", models + "  a: {kind: openai, model: m, price: {input: 1e400}}\n", 3, "`price.input` must be at most 1000000; got 1e400"),
        ("1e300 hold_tokens", local + "rules:\n  - cascade: {first: a, escalate_to: c, hold_tokens: 1e300}\n", 6, "`hold_tokens` must be an integer"),
        ("1e300 prompt_tokens stub", test("signals: {prompt_tokens: 1e300}"), 6, "`prompt_tokens` must be a whole number from 0 to 1000000000000"),
        (".inf prompt_tokens stub", test("signals: {prompt_tokens: .inf}"), 6, "`prompt_tokens` must be a number"),
        ("negative messages stub", test("signals: {messages: -1}"), 6, "`messages` must be a whole number from 0"),
        ("fractional count stub", test("signals: {max_tokens: 2.5}"), 6, "`max_tokens` must be a whole number; got 2.5"),
        ("nan complexity stub", test("signals: {complexity: nan}"), 6, "`complexity` must be a number"),
        ("out-of-range complexity stub", test("signals: {complexity: 1.5}"), 6, "`complexity` must be a number from 0 to 1"),
        ("unknown PII class stub", test("signals: {pii: [emial]}"), 6, "unknown value 'emial' (did you mean 'email'?)"),
        ("1e400 in a test request", local + "tests:\n  - {request: {model: auto, max_tokens: 1e400}, expect: {target: a}}\n", 6, "the number 1e400 is too large"),
        ("a 400-digit condition literal", local + "rules:\n  - {when: prompt_tokens > 1\(String(repeating: "0", count: 400)), serve: a}\n", 6,
         "in condition: the number '1000"),
        ("constants that overflow", local + "rules:\n  - {when: prompt_tokens > 1\(String(repeating: "0", count: 300)) * 1\(String(repeating: "0", count: 300)), serve: a}\n", 6,
         "too large a number"),
        ("10,000 parentheses", local + "rules:\n  - {when: \"\(String(repeating: "(", count: 10_000))tools\(String(repeating: ")", count: 10_000))\", serve: a}\n", 6,
         "nests more than 64 levels"),
        ("10,000 nots", local + "rules:\n  - {when: \"\(String(repeating: "not ", count: 10_000))tools\", serve: a}\n", 6, "nests more than 64 levels"),
        ("10,000 minus signs", local + "rules:\n  - {when: \"prompt_tokens > \(String(repeating: "- ", count: 10_000))1\", serve: a}\n", 6, "nests more than 64 levels"),
        ("a 5,000-term chain", local + "rules:\n  - {when: \"\(String(repeating: "tools and ", count: 5_000))tools\", serve: a}\n", 6, "nests more than 64 levels"),
        ("an empty kind", models + "  a: {kind: \"\"}\n", 3, "`kind` must not be empty"),
        ("an empty target", local + "rules:\n  - {serve: \"\"}\n", 6, "`serve` must not be empty"),
        ("an empty rule name", local + "rules:\n  - {name: '', serve: a}\n", 6, "`name` must not be empty"),
        ("an empty upstream model", models + "  a: {kind: openai, model: \"\"}\n", 3, "`model` must not be empty"),
        ("an empty condition", local + "rules:\n  - {when: \"\", serve: a}\n", 6, "in condition: expected a value"),
        ("an empty file", "", 1, "a policy is a mapping"),
        ("only a comment", "# nothing here\n", 1, "a policy is a mapping"),
        ("a list at the top", "- version: 1\n- models: {}\n", 1, "the policy must be a mapping"),
        ("a scalar for models", "version: 1\nmodels: 5\n", 2, "models must be a mapping"),
        ("a complex key", local + "? [x, y]\n: z\n", 5, "keys in the policy must be plain names"),
        ("deeply nested flow YAML", "version: 1\nmodels: \(String(repeating: "[", count: 5_000))\(String(repeating: "]", count: 5_000))\n", 2, "YAML syntax"),
        ("deeply nested block YAML", "version: 1\nmodels:\n  \(String(repeating: "- ", count: 5_000))x\n", 3, "YAML syntax"),
        ("a billion laughs", billionLaughs, 3, "YAML aliases (`*a0`) are not supported"),
        ("an alias bomb as a key", billionLaughs + "? *a9\n: 1\n", 3, "YAML aliases"),
        ("a plain alias", local.replacingOccurrences(of: "{kind: local}", with: "{kind: local, timeouts: &t {connect: 1s}}")
            .replacingOccurrences(of: "model: m}", with: "model: m, timeouts: *t}"), 4, "YAML aliases (`*t`) are not supported"),
        ("an undefined alias", local + "rules: *nowhere\n", 5, "YAML syntax: found undefined alias"),
        ("control characters", "version: 1\nmodels:\n  a: {kind: local}\n\u{01}\u{02}\u{7f}\u{1b}[2J\n", 4, "YAML syntax"),
        ("NUL bytes", "version: 1\n\u{0}\u{0}\u{0}models: x\n", 2, "a NUL byte"),
        ("two documents", "version: 1\nmodels:\n  a: {kind: local}\n---\nversion: 1\n", 4, "YAML syntax: expected a single document"),
        ("a key given twice", "version: 1\nversion: 1\nmodels:\n  a: {kind: local}\n", 1, "`version` given twice"),
        ("tab indentation", "version: 1\nmodels:\n\ta: {kind: local}\n", 3, "YAML syntax"),
        ("a device as calibration", local + "calibration: /dev/zero\n", 5, "cannot read calibration weights from '/dev/zero'"),
    ]

    @Test("every hostile file ends in a located diagnostic", arguments: cases)
    func hostile(_ name: String, yaml: String, line: Int, message: String) {
        let found = diagnostics(yaml)
        let match = found.first { $0.message.contains(message) }
        #expect(match != nil, "\(name): expected '\(message)' in \(found.map(\.description).map { String($0.prefix(300)) })")
        #expect(match?.line == line, "\(name): \(String(describing: match).prefix(300))")
        for diagnostic in found {
            #expect(diagnostic.line >= 1 && diagnostic.column >= 1, "\(name): \(diagnostic.description.prefix(300))")
        }
    }

    @Test("`&&`, `*` and an anchor nothing refers to are not mistaken for aliases")
    func notAliases() throws {
        let policy = try PolicyLoader.parse(Self.local.replacingOccurrences(of: "{kind: local}", with: "&box {kind: local}") + """
        rules:
          - {when: "tools && images", serve: c}
          - {when: prompt_tokens > 0.8 * a.context, deny: "R&D *only*"}
          - {serve: a}
        """, file: "p.yaml")
        #expect(policy.rules.map(\.when.source) == ["tools && images", "prompt_tokens > 0.8 * a.context", "true"])
        #expect(policy.rules[1].action == .deny("R&D *only*"))
    }

    @Test("a file that is not UTF-8, not a regular file, or too large is refused, not read")
    func unreadable() throws {
        let directory = try Fixtures.temporaryDirectory()
        let binary = directory + "/binary.yaml"
        guard let file = fopen(binary, "wb") else { throw FixtureError("cannot write \(binary)") }
        let bytes: [UInt8] = [0xff, 0xfe, 0x00, 0xc3, 0x28, 0x80, 0x0a]
        fwrite(bytes, 1, bytes.count, file)
        fclose(file)
        let huge = directory + "/huge.yaml"
        try Fixtures.writeFile(huge, "version: 1\n#" + String(repeating: "x", count: 5 << 20) + "\n")
        for (path, message) in [(binary, "it is not UTF-8 text"), (directory, "it is not a regular file"), ("/dev/zero", "it is not a regular file"),
                                (huge, "it is larger than 4194304 bytes"), (directory + "/missing.yaml", "cannot read it: No such file")] {
            #expect {
                try PolicyLoader.load(path: path)
            } throws: { error in
                guard let error = error as? PolicyError, let first = error.diagnostics.first else { return false }
                return error.diagnostics.count == 1 && first.line == 1 && first.message.contains(message)
            }
        }
    }

    @Test("numbers are decimal as written: no base-60, octal or hexadecimal surprises, and never a trap", arguments: [
        ("10", ScalarSyntax.Integer.value(10)), ("010", .value(10)), ("+4", .value(4)), ("-0", .value(0)), ("1_000", .value(1000)),
        ("9223372036854775807", .value(Int.max)), ("9223372036854775808", .overflow(negative: false)),
        ("-9223372036854775809", .overflow(negative: true)), ("1:30", .invalid), ("0x10", .invalid), ("1e3", .invalid), ("", .invalid),
        ("-", .invalid), ("_1", .invalid), ("١٢", .invalid),
    ] as [(String, ScalarSyntax.Integer)])
    func integers(_ text: String, expected: ScalarSyntax.Integer) {
        #expect(ScalarSyntax.integer(text) == expected)
    }

    @Test("durations are a decimal number and a unit", arguments: [
        ("250ms", 250.0), ("5s", 5000), ("1.5s", 1500), ("2m", 120_000), ("1h", 3_600_000), ("3", 3000), (" 4 s ", 4000), (".5s", 500),
    ] as [(String, Double)])
    func durations(_ text: String, milliseconds: Double) {
        #expect(ScalarSyntax.duration(text) == .milliseconds(milliseconds))
    }

    @Test("what is not a duration", arguments: ["inf", "nan", "1e3s", "-5s", "+5s", "5x", "", "s", ".", "1.2.3s", "0x10s", "5 m s"])
    func notDurations(_ text: String) {
        #expect(ScalarSyntax.duration(text) == .invalid)
    }
}
