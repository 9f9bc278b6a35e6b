import Testing
@testable import SwitchyardPolicy

@Suite("Conditions")
struct ConditionTests {
    let models = try! PolicyLoader.parse("version: 1\nmodels:\n  local: {kind: local, context: 8192, slots: 4}\n", file: "p").models

    func values(_ edit: (inout SignalValues) -> Void) -> SignalValues {
        var v = SignalValues()
        edit(&v)
        return v
    }

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
        let condition = try Condition.parse(source, models: models)
        #expect(condition.evaluate(values { $0.promptTokens = tokens }).matched == expected)
        #expect(condition.signals == [.promptTokens])
    }

    @Test("strings, sets, booleans and lists")
    func otherTypes() throws {
        let v = values {
            $0.tenant = "research"
            $0.pii = ["email"]
            $0.tools = true
            $0.headers["app"] = "crm"
        }
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
            (#"header.missing == """#, true),
        ]
        for (source, expected) in cases {
            #expect(try Condition.parse(source, models: models).evaluate(v).matched == expected, "\(source)")
        }
    }

    @Test("a match reports the facts that made it, for x-switchyard-reason")
    func facts() throws {
        let condition = try Condition.parse("prompt_tokens > 0.8 * local.context and pii in [email]", models: models)
        let result = condition.evaluate(values {
            $0.promptTokens = 7100
            $0.pii = ["email", "phone"]
        })
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
        ("pii in [emial]", 8, "unknown PII class 'emial' (did you mean 'email'?)"),
        ("prompt_tokens in [1, 2]", 17, "'in' tests a string or a set"),
        ("gpt.context > 5", 0, "unknown model 'gpt'"),
        ("(tools", 6, "expected ')'"),
        (#"tenant == "open"#, 10, "unterminated string"),
        ("tools # x", 6, "unexpected character '#'"),
    ] as [(String, Int, String)])
    func errors(_ source: String, offset: Int, message: String) {
        #expect {
            try Condition.parse(source, models: models)
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
        for (source, offset, message) in cases {
            #expect {
                try Condition.parse(source, models: models)
            } throws: { error in
                guard let error = error as? ConditionError else { return false }
                return error.offset == offset && error.message == message
            }
        }
    }

    @Test("nesting is bounded, so neither parsing nor evaluation can exhaust the stack")
    func depth() throws {
        let deep = String(repeating: "(", count: 60) + "tools" + String(repeating: ")", count: 60)
        #expect(try Condition.parse(deep, models: models).evaluate(values { $0.tools = true }).matched)
        let chain = Array(repeating: "tools", count: 40).joined(separator: " and ")
        #expect(try Condition.parse(chain, models: models).evaluate(values { $0.tools = true }).matched)
        for source in [String(repeating: "(", count: 65) + "tools" + String(repeating: ")", count: 65),
                       String(repeating: "not ", count: 65) + "tools",
                       "prompt_tokens > " + String(repeating: "- ", count: 65) + "1",
                       Array(repeating: "tools", count: 66).joined(separator: " or ")] {
            #expect {
                try Condition.parse(source, models: models)
            } throws: { error in
                (error as? ConditionError)?.message.contains("nests more than 64 levels deep") == true
            }
        }
    }

    @Test("evaluation is total: extreme signal values give an answer, never a trap")
    func extremeValues() throws {
        let condition = try Condition.parse("prompt_ratio * 1000000 > 5 and prompt_tokens + max_tokens >= 0", models: models)
        let huge = values {
            $0.promptRatio = .greatestFiniteMagnitude
            $0.promptTokens = .max
            $0.maxTokens = .max
        }
        #expect(condition.evaluate(huge).matched)
        #expect(!condition.evaluate(values { $0.promptRatio = .nan; $0.promptTokens = 1; $0.maxTokens = 1 }).matched)
        #expect(!condition.evaluate(values { $0.promptRatio = -.infinity; $0.promptTokens = 1; $0.maxTokens = 1 }).matched)
    }

    @Test("a stub the signal cannot hold is refused, not converted", arguments: [
        (Signal.promptTokens, ConditionValue.number(1e300), false), (.promptTokens, .number(.nan), false), (.promptTokens, .number(.infinity), false),
        (.promptTokens, .number(-1), false), (.promptTokens, .number(2.5), false), (.messages, .number(1e12), true), (.messages, .number(1e12 + 1), false),
        (.promptRatio, .number(0.5), true), (.promptRatio, .number(.infinity), false), (.complexity, .number(1.01), false),
        (.promptTokens, .string("5"), false), (.pii, .set(["email"]), true), (.pii, .set(["emial"]), false), (.tenant, .string(""), true),
    ] as [(Signal, ConditionValue, Bool)])
    func stubs(_ signal: Signal, _ value: ConditionValue, accepted: Bool) {
        var v = SignalValues()
        #expect(v.stub(signal, value) == accepted)
        #expect((signal.problem(with: value) == nil) == accepted)
        #expect(v.has(signal) == accepted)
        if accepted { #expect(v.value(of: signal) == value) }
    }

    @Test("constant arithmetic is folded at load")
    func folding() throws {
        let condition = try Condition.parse("prompt_tokens > 0.5 * local.context + 24", models: models)
        #expect(condition.root == .compare(.gt, .signal(.promptTokens), .constant(.number(1048))))
    }

    @Test("knows which conditions can only hold with private data")
    func requiresPII() throws {
        #expect(try Condition.parse("pii in [email] and tools", models: models).requiresPII(of: ["email"]))
        #expect(try Condition.parse("pii", models: models).requiresPII(of: ["secret"]))
        #expect(try !Condition.parse("pii in [email] or tools", models: models).requiresPII(of: ["email"]))
        #expect(try !Condition.parse("pii in [ip_address]", models: models).requiresPII(of: ["email"]))
    }
}
