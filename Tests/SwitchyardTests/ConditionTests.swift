import Testing
@testable import SwitchyardPolicy
import SwitchyardSignals

@Suite("Conditions")
struct ConditionTests {
    static let models = try! PolicyLoader.parse("version: 1\nmodels:\n  local: {kind: local, context: 8192, slots: 4}\n", file: "p").models
    var signals = SignalFixture(models: Self.models)

    @Test("evaluates as the operators say", arguments: [
        ("prompt_tokens > 0.8 * local.context", 2000, true),      // local.context = 8192 / 4 = 2048; 0.8 × 2048 = 1638.4
        ("prompt_tokens > 0.8 * local.context", 1000, false),
        ("prompt_tokens >= 1000 and prompt_tokens <= 1000", 1000, true),
        ("not (prompt_tokens < 5)", 5, true),
        ("prompt_tokens + 24 == 1024", 1000, true),
        ("prompt_tokens / 2 != 500", 1000, false),
        ("-prompt_tokens < 0 or false", 1, true),
        ("prompt_tokens < 10 || prompt_tokens > 100 && true", 50, false),
    ] as [(String, Int, Bool)])
    func numbers(_ source: String, tokens: Int, expected: Bool) throws {
        var signals = signals
        let condition = try signals.parse(source)
        #expect(condition.evaluate(signals.values(["prompt_tokens": .number(Double(tokens))])).matched == expected)
        #expect(condition.signals == [signals.slot("prompt_tokens")])
    }

    @Test("strings, sets, booleans and lists")
    func otherTypes() throws {
        var signals = signals
        let v = signals.values(["tenant": .string("research"), "pii": .set(["email"]), "tools": .bool(true), "header.app": .string("crm"),
                                "header.missing": .string("")])
        let cases: [(String, Bool)] = [
            (#"tenant == "research""#, true),
            (#"tenant != 'research'"#, false),
            ("tenant in [research, ops]", true),
            ("tenant not in [research]", false),
            ("pii in [email, phone]", true),
            ("pii in [phone]", false),
            ("pii", true),
            ("tools and not images", false),  // images not computed: unknown is not true
            (#"header.app == "crm""#, true),
            (#"header.App == "crm""#, true),  // header names are case-insensitive
            (#"header.missing == """#, true),
        ]
        for (source, expected) in cases {
            #expect(try signals.parse(source).evaluate(v).matched == expected, "\(source)")
        }
    }

    @Test("a match reports the facts that made it, for x-switchyard-reason")
    func facts() throws {
        var signals = signals
        let condition = try signals.parse("prompt_tokens > 0.8 * local.context and pii in [email]")
        let result = condition.evaluate(signals.values(["prompt_tokens": .number(7100), "pii": .set(["email", "phone"])]))
        #expect(result.matched)
        #expect(result.facts == ["prompt_tokens=7100>1638.4", "pii=[email,phone] in [email]"])
    }

    @Test("mistakes are refused with a position", arguments: [
        ("promt_tokens > 5", 0, "unknown signal 'promt_tokens' (did you mean 'prompt_tokens'?)"),
        ("tenant == research", 10, "unknown signal 'research'"),
        ("prompt_tokens > ", 16, "expected a value"),
        ("prompt_tokens > 5 and", 21, "expected a value"),
        ("prompt_tokens", 0, "must be true or false"),
        (#"tenant > "a""#, 7, "compares numbers"),
        ("prompt_tokens == true", 14, "compares values of one type"),
        ("complexity > 1.5", 11, "threshold 1.5 is outside the range of complexity (0 to 1)"),
        ("prompt_tokens < -1", 14, "threshold -1 is outside the range of prompt_tokens"),
        ("pii in [emial]", 8, "unknown value 'emial' of pii (did you mean 'email'?)"),
        ("local.queu > 5", 0, "unknown signal 'local.queu' (did you mean 'local.queue'?)"),
        ("local.free_slots < -1", 17, "threshold -1 is outside the range of local.free_slots"),
        ("prompt_tokens in [1, 2]", 17, "'in' tests a string or a set"),
        ("gpt.context > 5", 0, "unknown model 'gpt'"),
        ("(tools", 6, "expected ')'"),
        (#"tenant == "open"#, 10, "unterminated string"),
        ("tools # x", 6, "unexpected character '#'"),
    ] as [(String, Int, String)])
    func errors(_ source: String, offset: Int, message: String) {
        var signals = signals
        #expect {
            try signals.parse(source)
        } throws: { error in
            guard let error = error as? ConditionError else { return false }
            return error.offset == offset && error.message.contains(message)
        }
    }

    @Test("a number too large for a Double, or constants that overflow, are refused at load")
    func finiteNumbers() {
        let huge = "1" + String(repeating: "0", count: 400)
        let cases: [(String, Int, String)] = [
            ("prompt_tokens > \(huge)", 16, "the number '\(huge)' is too large"),
            ("prompt_tokens > 1\(String(repeating: "0", count: 200)) * 1\(String(repeating: "0", count: 200))", 218, "'*' of these constants is too large a number"),
        ]
        var signals = signals
        for (source, offset, message) in cases {
            #expect {
                try signals.parse(source)
            } throws: { error in
                guard let error = error as? ConditionError else { return false }
                return error.offset == offset && error.message == message
            }
        }
    }

    @Test("nesting is bounded, so neither parsing nor evaluation can exhaust the stack")
    func depth() throws {
        var signals = signals
        let tools = signals.values(["tools": .bool(true)])
        let deep = String(repeating: "(", count: 60) + "tools" + String(repeating: ")", count: 60)
        #expect(try signals.parse(deep).evaluate(tools).matched)
        let chain = Array(repeating: "tools", count: 40).joined(separator: " and ")
        #expect(try signals.parse(chain).evaluate(tools).matched)
        for source in [String(repeating: "(", count: 65) + "tools" + String(repeating: ")", count: 65),
                       String(repeating: "not ", count: 65) + "tools",
                       "prompt_tokens > " + String(repeating: "- ", count: 65) + "1",
                       Array(repeating: "tools", count: 66).joined(separator: " or ")] {
            #expect {
                try signals.parse(source)
            } throws: { error in
                (error as? ConditionError)?.message.contains("nests more than 64 levels deep") == true
            }
        }
    }

    @Test("evaluation is total: extreme signal values give an answer, never a trap")
    func extremeValues() throws {
        var signals = signals
        let condition = try signals.parse("prompt_ratio * 1000000 > 5 and prompt_tokens + max_tokens >= 0")
        let huge = signals.values(["prompt_ratio": .number(.greatestFiniteMagnitude), "prompt_tokens": .number(Double(Int.max)),
                                   "max_tokens": .number(Double(Int.max))])
        #expect(condition.evaluate(huge).matched)
        #expect(!condition.evaluate(signals.values(["prompt_ratio": .number(.nan), "prompt_tokens": .number(1), "max_tokens": .number(1)])).matched)
        #expect(!condition.evaluate(signals.values(["prompt_ratio": .number(-.infinity), "prompt_tokens": .number(1), "max_tokens": .number(1)])).matched)
    }

    @Test("a stub the signal cannot hold is refused, not converted", arguments: [
        ("prompt_tokens", ConditionValue.number(1e300), false), ("prompt_tokens", .number(.nan), false), ("prompt_tokens", .number(.infinity), false),
        ("prompt_tokens", .number(-1), false), ("prompt_tokens", .number(2.5), false), ("messages", .number(1e12), true), ("messages", .number(1e12 + 1), false),
        ("prompt_ratio", .number(0.5), true), ("prompt_ratio", .number(.infinity), false), ("complexity", .number(1.01), false),
        ("prompt_tokens", .string("5"), false), ("pii", .set(["email"]), true), ("pii", .set(["emial"]), false), ("tenant", .string(""), true),
        ("local.queue", .number(3), true), ("local.queue", .number(0.5), false), ("local.ready", .bool(false), true), ("local.ready", .number(1), false),
    ] as [(String, ConditionValue, Bool)])
    func stubs(_ name: String, _ value: ConditionValue, accepted: Bool) {
        var signals = signals
        let definition = signals.table.definition(at: signals.slot(name))
        #expect((definition.problem(with: value, name: name) == nil) == accepted)
    }

    @Test("constant arithmetic is folded at load")
    func folding() throws {
        var signals = signals
        let condition = try signals.parse("prompt_tokens > 0.5 * local.context + 24")
        #expect(condition.root == .compare(.gt, .signal(signals.slot("prompt_tokens"), "prompt_tokens"), .constant(.number(1048))))
    }

    @Test("knows which conditions can only hold with private data")
    func requiresPII() throws {
        var signals = signals
        let pii = signals.slot("pii")
        #expect(try signals.parse("pii in [email] and tools").requires(pii, toHoldOneOf: ["email"]))
        #expect(try signals.parse("pii").requires(pii, toHoldOneOf: ["secret"]))
        #expect(try !signals.parse("pii in [email] or tools").requires(pii, toHoldOneOf: ["email"]))
        #expect(try !signals.parse("pii in [ip_address]").requires(pii, toHoldOneOf: ["email"]))
    }
}
