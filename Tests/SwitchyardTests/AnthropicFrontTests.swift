import Hummingbird
import Testing
import SwitchyardHTTP
import SwitchyardWire
@testable import SwitchyardEngine
import SwitchyardPolicy

/// The Anthropic Messages front (`POST /v1/messages`, `/v1/messages/count_tokens`): the official
/// SDK against the real small model, pass-through to an Anthropic upstream, translation to and
/// from an OpenAI upstream, broken streams, privacy, errors and the cascade, all on 127.0.0.1.
@Suite("Anthropic Messages front", .serialized, .timeLimit(.minutes(5)))
struct AnthropicFrontTests {
    init() throws { try Fixtures.requireEngine() }

    static let keys = ["TEST_OPENAI_API_KEY": "sk-test-openai", "TEST_ANTHROPIC_API_KEY": "sk-test-anthropic"]

    /// Two scripted cloud targets on `provider` (`oai`: OpenAI wire, `claude`: Anthropic wire),
    /// the local engine when asked, and `rules` (indented list items).
    func policy(_ provider: ScriptedProvider, local: Bool = false, rules: String, head: String = "") -> String {
        """
        version: 1
        \(head)
        models:
        \(local ? Fixtures.localModelYAML : "")
          oai: {kind: openai, base_url: "\(provider.baseURL)", model: upstream-gpt, api_key_env: TEST_OPENAI_API_KEY}
          claude: {kind: anthropic, base_url: "\(provider.baseURL)", model: upstream-claude, api_key_env: TEST_ANTHROPIC_API_KEY}
        rules:
        \(rules)
        """
    }

    func withScripted<T: Sendable>(
        _ scenario: ScriptedProvider.Scenario, local: Bool = false, rules: String, head: String = "",
        environment: [String: String] = keys, _ body: (RunningGateway, ScriptedProvider) async throws -> T
    ) async throws -> T {
        try await ScriptedProvider.with(scenario) { provider in
            try await Fixtures.withGateway(policy: policy(provider, local: local, rules: rules, head: head), environment: environment) { gateway in
                try await body(gateway, provider)
            }
        }
    }

    // MARK: - The test's own tools

    @Test("the stream checker accepts the scripted Anthropic streams and folds them into their messages, and rejects broken ones")
    func streamChecker() throws {
        func bytes(_ events: [ByteBuffer]) -> [UInt8] { events.flatMap { Array($0.readableBytesView) } }
        let thinking = assembleAnthropicStream(bytes(WireFormat.thinkingEvents(model: "m", thinking: ["a", "b"], signature: "sig", text: ["x", "y"])))
        #expect(thinking.problems == [])
        #expect(thinking.message["content"] == WireFormat.thinkingMessage(model: "m", thinking: "ab", signature: "sig", text: "xy")["content"])
        #expect(thinking.message["stop_reason"] == .string("end_turn"))
        #expect(thinking.hasMessageStop && !thinking.endsWithError)
        let tool = assembleAnthropicStream(bytes(WireFormat.toolUseEvents(model: "m", id: "t1", name: "f", argumentPieces: Self.argumentPieces, text: "hi")))
        #expect(tool.problems == [])
        #expect(tool.message["content"] == WireFormat.toolUseMessage(model: "m", id: "t1", name: "f", arguments: Self.argumentPieces.joined(), text: "hi")["content"])
        #expect(tool.inputPieces[1] == Self.argumentPieces)
        #expect(anthropicMessageProblems(WireFormat.toolUseMessage(model: "m", id: "t1", name: "f", arguments: "{}", text: nil)) == [])
        // Out of order, unterminated, or cut: each is reported.
        var events = WireFormat.thinkingEvents(model: "m", thinking: ["a"], signature: "s", text: ["x"])
        events.swapAt(3, 5)
        #expect(!assembleAnthropicStream(bytes(events)).problems.isEmpty)
        let cut = assembleAnthropicStream(bytes(Array(WireFormat.toolUseEvents(model: "m", id: "t", name: "f", argumentPieces: ["{"], text: nil).dropLast(3))
                                                + [WireFormat.anthropicEvent("error", ["type": .string("error"), "error": .object(["type": .string("api_error"), "message": .string("x")])])]))
        #expect(cut.endsWithError && !cut.hasMessageStop)
        #expect(assembleAnthropicStream(bytes([WireFormat.anthropicEvent("ping", ["type": .string("ping")])])).problems.count == 1)
    }

    // MARK: - The official SDK against the real small model

    /// `policies/default.yaml` without its calibration file and with a small engine: no cloud key is
    /// set (the fixture clears every `*_API_KEY`), so SmolLM2 serves everything.
    static let defaultLikePolicy = """
    version: 1
    models:
    \(Fixtures.localModelYAML)
      gpt-4o-mini: {kind: openai, model: gpt-4o-mini, api_key_env: OPENAI_API_KEY, context: 128000}
      claude-haiku: {kind: anthropic, model: claude-3-5-haiku-latest, api_key_env: ANTHROPIC_API_KEY, context: 200000}
    constraints:
      private_data:
        classes: [email, phone, credit_card, iban, national_id, secret]
        allowed_targets: [local]
    rules:
      - name: long-context
        when: prompt_tokens > 0.8 * local.context
        serve: gpt-4o-mini
        fallbacks: [claude-haiku]
      - name: tools
        when: tools
        serve: gpt-4o-mini
        fallbacks: [claude-haiku]
      - name: default
        cascade: {first: local, escalate_to: gpt-4o-mini, when: "confidence < 0.5"}
    """

    @Test("the official Anthropic Python SDK: create, stream, tools (whole and streamed), count_tokens, BadRequestError and NotFoundError")
    func anthropicSDK() async throws {
        try await Fixtures.withGateway(policy: Self.defaultLikePolicy) { gateway in
            let (exit, output) = try await Fixtures.runSDKScript("anthropic_sdk_check.py", arguments: [gateway.baseURL], limit: .seconds(180))
            #expect(exit == .exited(0), "\(output)")
            let result = try JSON.parse(try #require(output.split(separator: "\n").last.map(String.init), "no output"))
            #expect(result["failures"] == .array([]), "\(result["failures"] ?? .null)\n\(result["tracebacks"]?.objectValue?.fields.map { "\($0.key):\n\($0.value.stringValue ?? "")" }.joined(separator: "\n") ?? "")")
            #expect(result["route"] == .string("local"))
            #expect(result["model_header"] == .string("local"))
            #expect(result["request_id"]?.stringValue?.isEmpty == false)
            #expect(result["create"]?["types"]?.arrayValue?.first == .string("text"))
            #expect(["end_turn", "max_tokens"].contains(result["stop_reason"]?.stringValue ?? ""), "\(result["stop_reason"] ?? .null)")
            #expect((result["usage"]?["input_tokens"]?.intValue ?? 0) > 0)
            #expect((result["usage"]?["output_tokens"]?.intValue ?? 0) > 0)
            #expect(result["stream_text"]?.stringValue?.isEmpty == false)
            #expect(result["stream_text"] == result["stream_final_text"])
            #expect((result["stream_usage"]?.intValue ?? 0) > 0)
            // The policy's long-context rule counted the prompt: message_start says so.
            #expect((result["stream_start_input_tokens"]?.intValue ?? 0) > 0, "\(result["stream_start_input_tokens"] ?? .null)")
            #expect((result["stream_final_input_tokens"]?.intValue ?? 0) > 0)
            for key in ["tool", "tool_follow_up", "tool_stream"] {
                let types = result[key]?["types"]?.arrayValue
                #expect(types?.isEmpty == false, "\(key): \(result[key] ?? .null)")
                let toolUses = result[key]?["tool_uses"]?.arrayValue ?? []
                #expect((result[key]?["stop_reason"] == .string("tool_use")) == !toolUses.isEmpty, "\(key): \(result[key] ?? .null)")
            }
            let events = result["tool_stream_events"]?.arrayValue ?? []
            #expect(events.contains(.string("message_start")) && events.contains(.string("message_stop")), "\(events)")
            #expect((result["count_tokens"]?.intValue ?? 0) > 0)
            #expect(result["bad_request"] == .string("BadRequestError"), "\(result["bad_request_body"] ?? .null)")
            #expect(result["bad_request_status"] == .int(400))
            #expect(result["not_found"] == .string("NotFoundError"), "\(result["not_found_body"] ?? .null)")
            #expect(result["not_found_body"]?["error"]?["type"] == .string("not_found_error"))
        }
    }

    // MARK: - Anthropic upstream: pass-through

    static let signature = "EqQBCkYIBxgCKkBScriptedSignatureBytes+/=="
    static let scriptedThinking = ScriptedProvider.Scenario.thinking(
        thinking: ["The user asks ", "about the night sky; ", "it is dark."], signature: signature, text: ["At night ", "it is ", "dark."])

    /// A request with everything an Anthropic client may send that the gateway must not touch.
    static func passThroughBody(stream: Bool) -> String {
        #"""
        {"model":"auto","max_tokens":2048,
         "system":[{"type":"text","text":"You are terse.","cache_control":{"type":"ephemeral"}},{"type":"text","text":"Answer in English."}],
         "thinking":{"type":"enabled","budget_tokens":1024},
         "messages":[
          {"role":"user","content":[
            {"type":"document","source":{"type":"text","media_type":"text/plain","data":"The sky is blue by day."},"title":"Sky","citations":{"enabled":true}},
            {"type":"text","text":"What colour is the sky?","cache_control":{"type":"ephemeral","ttl":"5m"}}]},
          {"role":"assistant","content":[
            {"type":"thinking","thinking":"The document says blue.","signature":"EqQBCkYIBxgCKkBPreviousTurnSignature=="},
            {"type":"redacted_thinking","data":"EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpPkNRj2YfWXGmKDxH4mPnZ5sQ7vB5URj"},
            {"type":"text","text":"Blue."}]},
          {"role":"user","content":"And at night?"}],
         "metadata":{"user_id":"u-123"},
         "top_k":5,
         "stream":\#(stream)}
        """#
    }

    func checkPassThroughRequest(_ clientBody: String, _ provider: ScriptedProvider) throws {
        let sent = try JSON.parse(clientBody)
        let received = try #require(provider.received.first, "nothing reached the upstream")
        #expect(provider.received.count == 1)
        #expect(received.path == "/v1/messages")
        #expect(received.headers[.init("x-api-key")!] == "sk-test-anthropic")
        #expect(received.body["model"] == .string("upstream-claude"))
        // Every block identical, byte for byte once serialised.
        let sentSystem = sent["system"]?.arrayValue ?? []
        let receivedSystem = received.body["system"]?.arrayValue ?? []
        #expect(receivedSystem.count == sentSystem.count, "system: \(received.body["system"] ?? .null)")
        for (index, (a, b)) in zip(sentSystem, receivedSystem).enumerated() {
            #expect(b.text == a.text, "system[\(index)]")
        }
        let sentMessages = sent["messages"]?.arrayValue ?? []
        let receivedMessages = received.body["messages"]?.arrayValue ?? []
        #expect(receivedMessages.count == sentMessages.count)
        for (m, (a, b)) in zip(sentMessages, receivedMessages).enumerated() {
            #expect(b["role"] == a["role"], "messages[\(m)].role")
            if case .array(let blocks) = a["content"] ?? .null {
                let got = b["content"]?.arrayValue ?? []
                #expect(got.count == blocks.count, "messages[\(m)].content: \(b["content"] ?? .null)")
                for (i, (x, y)) in zip(blocks, got).enumerated() {
                    #expect(y.text == x.text, "messages[\(m)].content[\(i)]")
                }
            } else {
                #expect(b["content"]?.text == a["content"]?.text, "messages[\(m)].content")
            }
        }
        // Only `model` differs: no field dropped, none added, none changed. (`"stream": false` is
        // Anthropic's default, so the gateway may leave it out; `true` must be sent.)
        let sentFields = sent.objectValue?.fields ?? []
        let optional: Set<String> = sent["stream"] == .bool(false) ? ["stream"] : []
        for field in sentFields where field.key != "model" && !(optional.contains(field.key) && received.body[field.key] == nil) {
            #expect(received.body[field.key]?.text == field.value.text, "field \(field.key)")
        }
        #expect(Set(received.body.objectValue?.keys ?? []).subtracting(optional) == Set(sent.objectValue?.keys ?? []).subtracting(optional),
                "fields sent upstream: \(received.body.objectValue?.keys ?? [])")
    }

    @Test("Anthropic target, whole: cache_control, thinking and signed thinking blocks reach the upstream unchanged; the signed answer reaches the client unchanged")
    func passThroughWhole() async throws {
        try await withScripted(Self.scriptedThinking, rules: "  - {name: main, serve: claude}") { gateway, provider in
            let body = Self.passThroughBody(stream: false)
            let response = try await gateway.messages(body)
            #expect(response.status == 200, "\(response.bodyText)")
            #expect(response.header("content-type")?.hasPrefix("application/json") == true)
            #expect(response.header("x-switchyard-route") == "cloud")
            #expect(response.header("x-switchyard-model") == "claude")
            #expect(response.header("x-switchyard-rule") == "main")
            #expect(response.header("x-switchyard-reason") != nil)
            #expect(response.header("x-switchyard-request-id")?.isEmpty == false)
            try checkPassThroughRequest(body, provider)

            let upstream = WireFormat.thinkingMessage(model: "upstream-claude", thinking: "The user asks about the night sky; it is dark.",
                                                      signature: Self.signature, text: "At night it is dark.")
            let message = response.json
            #expect(anthropicMessageProblems(message) == [], "\(response.bodyText)")
            #expect(message["content"] == upstream["content"], "\(message["content"] ?? .null)")
            #expect(message["content"]?.arrayValue?.first?["signature"] == .string(Self.signature))
            #expect(message["stop_reason"] == .string("end_turn"))
            #expect(message["usage"] == upstream["usage"], "usage: \(message["usage"] ?? .null)")
            #expect(message["usage"]?["cache_read_input_tokens"] == .int(1500))
            #expect(message["id"] == upstream["id"])
        }
    }

    @Test("Anthropic target, streamed: the request passes through, and the client gets the upstream's events (thinking_delta, signature_delta) unchanged")
    func passThroughStreamed() async throws {
        try await withScripted(Self.scriptedThinking, rules: "  - {name: main, serve: claude}") { gateway, provider in
            let body = Self.passThroughBody(stream: true)
            let response = try await gateway.messages(body)
            #expect(response.status == 200, "\(response.bodyText)")
            #expect(response.header("content-type")?.hasPrefix("text/event-stream") == true)
            #expect(response.header("x-switchyard-route") == "cloud")
            #expect(response.header("x-switchyard-model") == "claude")
            try checkPassThroughRequest(body, provider)

            let got = anthropicEvents(response.body)
            let upstream = anthropicEvents(provider.sentSSE)
            #expect(!upstream.isEmpty)
            #expect(got.map(\.name) == upstream.map(\.name), "\(got.map { $0.name ?? "-" })")
            for (index, (mine, theirs)) in zip(got, upstream).enumerated() {
                if theirs.name == "message_start", case .object(var expected) = theirs.data["message"] ?? .null,
                   case .object(var actual) = mine.data["message"] ?? .null {
                    // The model name may be the client's or the upstream's; everything else is the upstream's.
                    expected["model"] = nil
                    actual["model"] = nil
                    #expect(JSON.object(actual).text == JSON.object(expected).text, "message_start")
                } else {
                    #expect(mine.rawData == theirs.rawData || mine.data == theirs.data, "event \(index): \(mine) vs \(theirs)")
                }
            }
            let assembled = assembleAnthropicStream(got)
            #expect(assembled.problems == [], "\(assembled.problems)")
            let thinking = try #require(assembled.message["content"]?.arrayValue?.first)
            #expect(thinking == .object(["type": .string("thinking"), "thinking": .string("The user asks about the night sky; it is dark."),
                                         "signature": .string(Self.signature)]))
            #expect(assembled.text == "At night it is dark.")
            #expect(assembled.message["usage"]?["cache_read_input_tokens"] == .int(1500))
        }
    }

    // MARK: - OpenAI upstream: translation

    static let weatherTool = #"{"name":"get_weather","description":"Current weather","input_schema":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}"#

    static func toolConversation(stream: Bool) -> String {
        #"""
        {"model":"auto","max_tokens":64,"temperature":0.5,"stop_sequences":["END"],"stream":\#(stream),
         "system":"Be brief.",
         "tools":[\#(weatherTool)],
         "messages":[
          {"role":"user","content":"Weather in Oslo?"},
          {"role":"assistant","content":[{"type":"text","text":"Checking."},{"type":"tool_use","id":"toolu_01","name":"get_weather","input":{"city":"Oslo"}}]},
          {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_01","content":"4 C"},{"type":"text","text":"And tomorrow?"}]}]}
        """#
    }

    /// The text of an OpenAI message content: a string, or text parts.
    func openAIText(_ content: JSON?) -> String? {
        if let text = content?.stringValue { return text }
        return content?.arrayValue?.compactMap { $0["type"] == .string("text") ? $0["text"]?.stringValue : nil }.joined()
    }

    func checkOpenAIRequest(_ provider: ScriptedProvider, stream: Bool) throws {
        let received = try #require(provider.received.first, "nothing reached the upstream")
        #expect(received.path == "/v1/chat/completions")
        #expect(received.headers[.authorization] == "Bearer sk-test-openai")
        let body = received.body
        #expect(body["model"] == .string("upstream-gpt"))
        #expect(body["max_tokens"] == .int(64) || body["max_completion_tokens"] == .int(64), "\(body.text)")
        #expect(body["temperature"]?.doubleValue == 0.5)
        #expect(body["stop"] == .array([.string("END")]) || body["stop"] == .string("END"), "\(body["stop"] ?? .null)")
        #expect((body["stream"]?.boolValue ?? false) == stream)
        let messages = body["messages"]?.arrayValue ?? []
        #expect(messages.first?["role"] == .string("system"), "\(body.text)")
        #expect(openAIText(messages.first?["content"]) == "Be brief.")
        #expect(messages.dropFirst().first?["role"] == .string("user"))
        #expect(openAIText(messages.dropFirst().first?["content"]) == "Weather in Oslo?")
        let assistant = try #require(messages.first { $0["role"] == .string("assistant") }, "\(body.text)")
        #expect(openAIText(assistant["content"]) == "Checking.")
        let call = try #require(assistant["tool_calls"]?.arrayValue?.first, "\(assistant.text)")
        #expect(call["id"] == .string("toolu_01"))
        #expect(call["type"] == .string("function"))
        #expect(call["function"]?["name"] == .string("get_weather"))
        #expect(try JSON.parse(call["function"]?["arguments"]?.stringValue ?? "") == .object(["city": .string("Oslo")]))
        let tool = try #require(messages.firstIndex { $0["role"] == .string("tool") }, "\(body.text)")
        #expect(messages[tool]["tool_call_id"] == .string("toolu_01"))
        #expect(openAIText(messages[tool]["content"]) == "4 C")
        #expect(messages.count > tool + 1 && messages[tool + 1]["role"] == .string("user") && openAIText(messages[tool + 1]["content"]) == "And tomorrow?",
                "\(body.text)")
        let function = try #require(body["tools"]?.arrayValue?.first, "\(body.text)")
        #expect(function["type"] == .string("function"))
        #expect(function["function"]?["name"] == .string("get_weather"))
        #expect(function["function"]?["description"] == .string("Current weather"))
        #expect(function["function"]?["parameters"] == (try JSON.parse(Self.weatherTool))["input_schema"])
    }

    @Test("OpenAI target, whole: the upstream gets an OpenAI chat body; the client gets an Anthropic message")
    func openAITargetWhole() async throws {
        try await withScripted(.answer(pieces: ["Hello", " world"]), rules: "  - {name: main, serve: oai}") { gateway, provider in
            let response = try await gateway.messages(Self.toolConversation(stream: false))
            #expect(response.status == 200, "\(response.bodyText)")
            #expect(response.header("x-switchyard-route") == "cloud")
            #expect(response.header("x-switchyard-model") == "oai")
            #expect(response.header("x-switchyard-request-id")?.isEmpty == false)
            try checkOpenAIRequest(provider, stream: false)
            let message = response.json
            #expect(anthropicMessageProblems(message) == [], "\(response.bodyText)")
            #expect(message["content"] == .array([.object(["type": .string("text"), "text": .string("Hello world")])]), "\(response.bodyText)")
            #expect(message["stop_reason"] == .string("end_turn"))
            #expect(message["usage"]?["input_tokens"] == .int(11))
            #expect(message["usage"]?["output_tokens"] == .int(7))
        }
    }

    @Test("OpenAI target, streamed: a valid Anthropic event sequence with the upstream's text and usage")
    func openAITargetStreamed() async throws {
        try await withScripted(.answer(pieces: ["Hello", " wide", " world"]), rules: "  - {name: main, serve: oai}") { gateway, provider in
            let response = try await gateway.messages(Self.toolConversation(stream: true))
            #expect(response.status == 200, "\(response.bodyText)")
            #expect(response.header("content-type")?.hasPrefix("text/event-stream") == true)
            #expect(response.header("x-switchyard-route") == "cloud")
            try checkOpenAIRequest(provider, stream: true)
            let stream = assembleAnthropicStream(response.body)
            #expect(stream.problems == [], "\(stream.problems)\n\(stream.events)")
            #expect(stream.hasMessageStop)
            #expect(!stream.endsWithError)
            #expect(stream.text == "Hello wide world")
            #expect(stream.message["stop_reason"] == .string("end_turn"))
            #expect(stream.message["usage"]?["output_tokens"] == .int(7), "\(stream.message["usage"] ?? .null)")
        }
    }

    static let argumentPieces = [#"{"ci"#, #"ty": "Os"#, #"lo", "unit"#, #"s": "metric"}"#]
    static let arguments = JSON.object(["city": .string("Oslo"), "units": .string("metric")])

    @Test("OpenAI target, a tool call: a tool_use block whose input is the arguments, stop_reason tool_use", arguments: [false, true])
    func openAIToolCall(stream: Bool) async throws {
        let scenario = ScriptedProvider.Scenario.toolCall(id: "call_w1", name: "get_weather", argumentPieces: Self.argumentPieces, text: "Let me check.")
        try await withScripted(scenario, rules: "  - {name: main, serve: oai}") { gateway, _ in
            let body = #"{"model":"auto","max_tokens":64,"stream":\#(stream),"tools":[\#(Self.weatherTool)],"messages":[{"role":"user","content":"Weather in Oslo?"}]}"#
            let response = try await gateway.messages(body)
            #expect(response.status == 200, "\(response.bodyText)")
            let message: JSON
            if stream {
                let assembled = assembleAnthropicStream(response.body)
                #expect(assembled.problems == [], "\(assembled.problems)\n\(assembled.events)")
                #expect(assembled.hasMessageStop && !assembled.endsWithError)
                let toolIndex = try #require(assembled.message["content"]?.arrayValue?.firstIndex { $0["type"] == .string("tool_use") },
                                             "\(assembled.events)")
                let pieces = assembled.inputPieces[toolIndex] ?? []
                #expect(!pieces.isEmpty, "the input arrives as input_json_delta events")
                #expect(try JSON.parse(pieces.joined()) == Self.arguments, "\(pieces)")
                message = assembled.message
            } else {
                message = response.json
                #expect(anthropicMessageProblems(message) == [], "\(response.bodyText)")
            }
            let content = message["content"]?.arrayValue ?? []
            #expect(content.map { $0["type"]?.stringValue ?? "?" } == ["text", "tool_use"], "\(message.text)")
            #expect(content.first?["text"] == .string("Let me check."))
            let toolUse = try #require(content.last)
            #expect(toolUse["name"] == .string("get_weather"))
            #expect(toolUse["id"]?.stringValue?.isEmpty == false)
            #expect(toolUse["input"] == Self.arguments, "\(toolUse.text)")
            #expect(message["stop_reason"] == .string("tool_use"))
        }
    }

    // MARK: - The local engine

    @Test("local engine (SmolLM2), whole and streamed: valid messages and events, route local; count_tokens counts")
    func localEngine() async throws {
        try await Fixtures.withGateway(policy: "version: 1\nmodels:\n\(Fixtures.localModelYAML)\n") { gateway in
            let question = #"{"model":"auto","max_tokens":16,"temperature":0,"system":"Answer briefly.","messages":[{"role":"user","content":"What is the capital of France?"}]"#
            let whole = try await gateway.messages(question + "}")
            #expect(whole.status == 200, "\(whole.bodyText)")
            #expect(whole.header("x-switchyard-route") == "local")
            #expect(whole.header("x-switchyard-model") == "local")
            #expect(anthropicMessageProblems(whole.json) == [], "\(whole.bodyText)")
            #expect(whole.json["content"]?.arrayValue?.first?["type"] == .string("text"))
            #expect(["end_turn", "max_tokens"].contains(whole.json["stop_reason"]?.stringValue ?? ""))
            #expect((whole.json["usage"]?["input_tokens"]?.intValue ?? 0) > 0)
            #expect((whole.json["usage"]?["output_tokens"]?.intValue ?? 0) > 0)

            let streamed = try await gateway.messages(question + #","stream":true}"#)
            #expect(streamed.status == 200, "\(streamed.bodyText)")
            #expect(streamed.header("x-switchyard-route") == "local")
            #expect(streamed.header("content-type")?.hasPrefix("text/event-stream") == true)
            let stream = assembleAnthropicStream(streamed.body)
            #expect(stream.problems == [], "\(stream.problems)\n\(stream.events)")
            #expect(stream.hasMessageStop && !stream.endsWithError)
            #expect(!stream.text.isEmpty)
            #expect(["end_turn", "max_tokens"].contains(stream.message["stop_reason"]?.stringValue ?? ""))
            #expect((stream.message["usage"]?["output_tokens"]?.intValue ?? 0) > 0)

            let short = try await gateway.messages(#"{"model":"auto","messages":[{"role":"user","content":"Hi"}]}"#, path: "/v1/messages/count_tokens")
            #expect(short.status == 200, "\(short.bodyText)")
            let shortCount = try #require(short.json["input_tokens"]?.intValue, "\(short.bodyText)")
            #expect(shortCount > 0)
            let long = try await gateway.messages(#"{"model":"auto","system":"You are a helpful assistant who answers every question.","tools":[\#(Self.weatherTool)],"messages":[{"role":"user","content":"Hi, what is the weather in Oslo tomorrow, and the day after?"}]}"#,
                                                  path: "/v1/messages/count_tokens")
            #expect(long.status == 200, "\(long.bodyText)")
            #expect((long.json["input_tokens"]?.intValue ?? 0) > shortCount, "\(long.bodyText)")
        }
    }

    // MARK: - Broken streams

    @Test("a stream the upstream breaks after the 200 ends with an error event, never message_stop", arguments: ["oai", "claude"])
    func cutStream(_ target: String) async throws {
        try await withScripted(.cut(afterChunks: 2), rules: "  - {name: main, serve: \(target)}") { gateway, _ in
            let response = try await gateway.messages(#"{"model":"auto","max_tokens":32,"stream":true,"messages":[{"role":"user","content":"count"}]}"#)
            #expect(response.status == 200, "\(response.bodyText)")
            let stream = assembleAnthropicStream(response.body)
            #expect(stream.problems == [], "\(stream.problems)\n\(stream.events)")
            #expect(!stream.hasMessageStop, "\(stream.events)")
            #expect(stream.endsWithError, "\(stream.events)")
            #expect(stream.events.last?.data["error"]?["type"]?.stringValue?.isEmpty == false, "\(stream.events.last?.description ?? "")")
            #expect(stream.events.last?.data["error"]?["message"]?.stringValue?.isEmpty == false)
            #expect(stream.text == "piece0 piece1 ", "what arrived before the break is passed on")
        }
    }

    @Test("an upstream that answers 200 with garbage: an Anthropic 502, or a stream that ends with an error event; the garbage is not relayed as an event", arguments: ["oai", "claude"])
    func malformedUpstream(_ target: String) async throws {
        try await withScripted(.malformed, rules: "  - {name: main, serve: \(target)}") { gateway, _ in
            let whole = try await gateway.messages(#"{"model":"auto","max_tokens":8,"messages":[{"role":"user","content":"hi"}]}"#)
            #expect(anthropicErrorProblems(whole, status: 502, type: "api_error") == [], "\(whole.status) \(whole.bodyText)")
            let streamed = try await gateway.messages(#"{"model":"auto","max_tokens":8,"stream":true,"messages":[{"role":"user","content":"hi"}]}"#)
            // (The error message may quote the garbage; the garbage itself is not an event.)
            #expect(!anthropicEvents(streamed.body).contains { $0.rawData == "{not json" }, "\(streamed.bodyText)")
            if streamed.status == 200 {
                let stream = assembleAnthropicStream(streamed.body)
                #expect(stream.endsWithError && !stream.hasMessageStop, "\(stream.events)")
            } else {
                #expect(anthropicErrorProblems(streamed, status: 502, type: "api_error") == [], "\(streamed.status) \(streamed.bodyText)")
            }
        }
    }

    // MARK: - Privacy and deny

    static let privateBodies: [(String, String)] = [
        ("email in a tool_result", #"""
         "tools":[\#(weatherTool)],"messages":[{"role":"user","content":"Weather?"},
          {"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"city":"Oslo"}}]},
          {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"Reported by jane.doe@example.com: 4 C"}]}]
        """#),
        ("email in a tool_result's text blocks", #"""
         "messages":[{"role":"user","content":"Weather?"},
          {"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"city":"Oslo"}}]},
          {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":[{"type":"text","text":"ops@example.org says 4 C"}]}]}]
        """#),
        ("phone in the system prompt", #"""
         "system":"Call the user back at +1 415 555 0100 if needed.","messages":[{"role":"user","content":"Hello"}]
        """#),
        ("phone in a system block", #"""
         "system":[{"type":"text","text":"The caller's number is (415) 555-0100.","cache_control":{"type":"ephemeral"}}],"messages":[{"role":"user","content":"Hello"}]
        """#),
        ("card number in a tool_use input", #"""
         "messages":[{"role":"user","content":"Pay the bill."},
          {"role":"assistant","content":[{"type":"tool_use","id":"toolu_2","name":"pay","input":{"card":"4111 1111 1111 1111","amount":12}}]},
          {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_2","content":"done"}]}]
        """#),
        ("email in metadata", #"""
         "metadata":{"user_id":"jane.doe@example.com"},"messages":[{"role":"user","content":"Hello"}]
        """#),
        ("phone in a document", #"""
         "messages":[{"role":"user","content":[{"type":"document","source":{"type":"text","media_type":"text/plain","data":"Reach me on +1 415 555 0100."}},{"type":"text","text":"Summarise."}]}]
        """#),
        ("email in a previous thinking block", #"""
         "messages":[{"role":"user","content":"Hello"},
          {"role":"assistant","content":[{"type":"thinking","thinking":"The user is jane.doe@example.com.","signature":"EqQBsig=="},{"type":"text","text":"Hi."}]},
          {"role":"user","content":"Go on."}]
        """#),
        ("email in a text block", #"""
         "messages":[{"role":"user","content":[{"type":"text","text":"Write to bob@example.com"}]}]
        """#),
    ]

    @Test("private data anywhere in an Anthropic body never reaches a cloud target: served on the box or refused with an Anthropic 403")
    func privateDataStaysLocal() async throws {
        let constraint = "constraints:\n  private_data:\n    classes: [email, phone, credit_card]\n    allowed_targets: [local]"
        try await withScripted(.answer(pieces: ["from the cloud"]), local: true, rules: "  - {name: main, serve: oai}", head: constraint) { gateway, provider in
            for (name, fields) in Self.privateBodies {
                for model in ["auto", "oai", "claude"] {
                    for stream in [false, true] {
                        let body = #"{"model":"\#(model)","max_tokens":8,"stream":\#(stream),\#(fields)}"#
                        let label = "\(name), model \(model), stream \(stream)"
                        #expect((try? JSON.parse(body)) != nil, "\(label): the test body is not JSON")
                        let response = try await gateway.messages(body)
                        if response.status == 200 {
                            #expect(response.header("x-switchyard-route") == "local", "\(label)")
                            #expect(response.header("x-switchyard-model") == "local", "\(label)")
                        } else {
                            #expect(anthropicErrorProblems(response, status: 403, type: "permission_error") == [], "\(label): \(response.status) \(response.bodyText)")
                        }
                        #expect(!response.bodyText.contains("from the cloud"), "\(label)")
                    }
                }
            }
            #expect(provider.received.isEmpty, "sent to the cloud: \(provider.received.map(\.body.text))")
            // The control: the same shapes without private data do go to the cloud.
            let clean = try await gateway.messages(#"{"model":"auto","max_tokens":8,"system":"Call the user back if needed.","tools":[\#(Self.weatherTool)],"messages":[{"role":"user","content":"Weather?"},{"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"city":"Oslo"}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"4 C"}]}]}"#)
            #expect(clean.status == 200, "\(clean.bodyText)")
            #expect(clean.header("x-switchyard-route") == "cloud")
            #expect(provider.received.count == 1)
        }
    }

    @Test("a policy deny rule refuses /v1/messages with an Anthropic 403, named model or not, streamed or not")
    func denyRule() async throws {
        let rules = """
          - {name: legacy, when: 'header.app == "legacy"', deny: "this app is retired"}
          - {name: main, serve: oai}
        """
        try await withScripted(.answer(pieces: ["ok"]), rules: rules) { gateway, provider in
            for model in ["auto", "oai", "claude"] {
                for stream in [false, true] {
                    let response = try await gateway.messages(#"{"model":"\#(model)","max_tokens":8,"stream":\#(stream),"messages":[{"role":"user","content":"hi"}]}"#,
                                                              headers: [("x-switchyard-app", "legacy")])
                    #expect(anthropicErrorProblems(response, status: 403, type: "permission_error") == [], "\(model) \(stream): \(response.bodyText)")
                    #expect(response.json["error"]?["message"]?.stringValue?.contains("this app is retired") == true, "\(response.bodyText)")
                }
            }
            #expect(provider.received.isEmpty)
            let allowed = try await gateway.messages(#"{"model":"auto","max_tokens":8,"messages":[{"role":"user","content":"hi"}]}"#)
            #expect(allowed.status == 200, "\(allowed.bodyText)")
            #expect(provider.received.count == 1)
        }
    }

    // MARK: - Errors

    @Test("auth required: a missing or wrong key is an Anthropic 401; a valid key works as x-api-key and as a bearer token")
    func authentication() async throws {
        let admin = "sy-admin-anthropic-test"
        var environment = Self.keys
        environment["SWITCHYARD_ADMIN_KEY"] = admin
        try await withScripted(.answer(pieces: ["ok"]), rules: "  - {name: main, serve: oai}", head: "auth: {mode: required}",
                               environment: environment) { gateway, provider in
            let body = #"{"model":"auto","max_tokens":8,"messages":[{"role":"user","content":"hi"}]}"#
            let none = try await gateway.messages(body)
            #expect(anthropicErrorProblems(none, status: 401, type: "authentication_error") == [], "\(none.bodyText)")
            let wrong = try await gateway.messages(body, headers: [("x-api-key", "sy-not-a-key")])
            #expect(anthropicErrorProblems(wrong, status: 401, type: "authentication_error") == [], "\(wrong.bodyText)")
            let wrongStream = try await gateway.messages(#"{"model":"auto","max_tokens":8,"stream":true,"messages":[{"role":"user","content":"hi"}]}"#,
                                                         headers: [("x-api-key", "sy-not-a-key")])
            #expect(anthropicErrorProblems(wrongStream, status: 401, type: "authentication_error") == [], "\(wrongStream.bodyText)")
            let counted = try await gateway.messages(body, path: "/v1/messages/count_tokens", headers: [("x-api-key", "sy-not-a-key")])
            #expect(anthropicErrorProblems(counted, status: 401, type: "authentication_error") == [], "count_tokens: \(counted.bodyText)")
            #expect(provider.received.isEmpty)

            let created = try await gateway.post("/v1/switchyard/keys", #"{"name":"anthropic-app"}"#, headers: [("Authorization", "Bearer \(admin)")])
            #expect(created.status == 201, "\(created.bodyText)")
            let secret = try #require(created.json["secret"]?.stringValue)
            let viaHeader = try await gateway.messages(body, headers: [("x-api-key", secret)])
            #expect(viaHeader.status == 200, "\(viaHeader.bodyText)")
            let viaBearer = try await gateway.messages(body, headers: [("Authorization", "Bearer \(secret)")])
            #expect(viaBearer.status == 200, "\(viaBearer.bodyText)")
            #expect(provider.received.count == 2)
        }
    }

    @Test("invalid requests get Anthropic errors: 404 for an unknown model, 400 naming the field, 413 for a body too large")
    func requestErrors() async throws {
        try await withScripted(.answer(pieces: ["ok"]), rules: "  - {name: main, serve: oai}", head: "server: {max_body_bytes: 4096}") { gateway, provider in
            for stream in [false, true] {
                let unknown = try await gateway.messages(#"{"model":"no-such-model","max_tokens":8,"stream":\#(stream),"messages":[{"role":"user","content":"hi"}]}"#)
                #expect(anthropicErrorProblems(unknown, status: 404, type: "not_found_error") == [], "\(unknown.bodyText)")
                #expect(unknown.json["error"]?["message"]?.stringValue?.contains("model_not_found") == true, "\(unknown.bodyText)")
            }
            let invalid: [(String, String, String)] = [
                ("max_tokens of the wrong type", #"{"model":"auto","max_tokens":"lots","messages":[{"role":"user","content":"hi"}]}"#, "max_tokens"),
                ("no messages", #"{"model":"auto","max_tokens":8}"#, "messages"),
                ("empty messages", #"{"model":"auto","max_tokens":8,"messages":[]}"#, "messages"),
                ("a role that does not exist", #"{"model":"auto","max_tokens":8,"messages":[{"role":"robot","content":"hi"}]}"#, "role"),
                ("a content block without a type", #"{"model":"auto","max_tokens":8,"messages":[{"role":"user","content":[{"text":"hi"}]}]}"#, "type"),
                ("no model", #"{"max_tokens":8,"messages":[{"role":"user","content":"hi"}]}"#, "model"),
            ]
            for (name, body, field) in invalid {
                let response = try await gateway.messages(body)
                #expect(anthropicErrorProblems(response, status: 400, type: "invalid_request_error") == [], "\(name): \(response.bodyText)")
                #expect(response.json["error"]?["message"]?.stringValue?.contains(field) == true, "\(name): \(response.bodyText)")
            }
            let notJSON = try await gateway.messages(#"{"model":"auto","#)
            #expect(anthropicErrorProblems(notJSON, status: 400, type: "invalid_request_error") == [], "\(notJSON.bodyText)")
            let duplicate = try await gateway.messages(#"{"model":"auto","max_tokens":8,"messages":[{"role":"user","content":"hi"}],"messages":[{"role":"user","content":"x"}]}"#)
            #expect(anthropicErrorProblems(duplicate, status: 400, type: "invalid_request_error") == [], "\(duplicate.bodyText)")
            #expect(duplicate.json["error"]?["message"]?.stringValue?.contains("messages") == true)

            let large = #"{"model":"auto","max_tokens":8,"messages":[{"role":"user","content":"\#(String(repeating: "x", count: 8000))"}]}"#
            let tooLarge = try await gateway.messages(large)
            #expect(anthropicErrorProblems(tooLarge, status: 413, type: "request_too_large") == [], "\(tooLarge.bodyText)")
            let countTooLarge = try await gateway.messages(large, path: "/v1/messages/count_tokens")
            #expect(anthropicErrorProblems(countTooLarge, status: 413, type: "request_too_large") == [], "\(countTooLarge.bodyText)")
            #expect(provider.received.isEmpty, "no invalid request reaches the upstream")
        }
    }

    @Test("upstream failures before the answer are Anthropic errors", arguments: [
        (ScriptedProvider.Scenario.status(500, body: #"{"error":{"message":"boom"}}"#), "oai", 502, "api_error"),
        (.status(429, body: #"{"error":{"message":"rate limited"}}"#), "oai", 429, "rate_limit_error"),
        (.status(500, body: #"{"type":"error","error":{"type":"api_error","message":"boom"}}"#), "claude", 502, "api_error"),
        (.status(400, body: #"{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long"}}"#), "claude", 400, "invalid_request_error"),
        (.status(429, body: #"{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}"#), "claude", 429, "rate_limit_error"),
    ])
    func upstreamErrors(_ scenario: ScriptedProvider.Scenario, target: String, status: Int, type: String) async throws {
        try await withScripted(scenario, rules: "  - {name: main, serve: \(target)}") { gateway, _ in
            for stream in [false, true] {
                let response = try await gateway.messages(#"{"model":"auto","max_tokens":8,"stream":\#(stream),"messages":[{"role":"user","content":"hi"}]}"#)
                #expect(anthropicErrorProblems(response, status: status, type: type) == [], "stream \(stream): \(response.status) \(response.bodyText)")
                #expect(response.header("x-switchyard-request-id") != nil)
            }
        }
    }

    @Test("OpenAI target: tool_choice and image blocks are translated to their OpenAI forms")
    func openAITargetToolChoiceAndImages() async throws {
        try await withScripted(.answer(pieces: ["ok"]), rules: "  - {name: main, serve: oai}") { gateway, provider in
            let choices: [(String, JSON)] = [
                (#"{"type":"any"}"#, .string("required")),
                (#"{"type":"auto"}"#, .string("auto")),
                (#"{"type":"tool","name":"get_weather"}"#, .object(["type": .string("function"), "function": .object(["name": .string("get_weather")])])),
            ]
            for (choice, expected) in choices {
                let body = #"{"model":"auto","max_tokens":16,"tools":[\#(Self.weatherTool)],"tool_choice":\#(choice),"messages":[{"role":"user","content":[{"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgo="}},{"type":"text","text":"What is this?"}]}]}"#
                let response = try await gateway.messages(body)
                #expect(response.status == 200, "\(choice): \(response.bodyText)")
                let sent = try #require(provider.received.last?.body)
                #expect(sent["tool_choice"] == expected, "\(choice) became \(sent["tool_choice"] ?? .null)")
                let parts = sent["messages"]?.arrayValue?.last?["content"]?.arrayValue ?? []
                #expect(parts.first == .object(["type": .string("image_url"), "image_url": .object(["url": .string("data:image/png;base64,iVBORw0KGgo=")])]),
                        "\(sent["messages"] ?? .null)")
                #expect(parts.last == .object(["type": .string("text"), "text": .string("What is this?")]))
            }
            #expect(provider.received.count == 3)
        }
    }

    // MARK: - The cascade
    // MARK: - The cascade

    @Test("a cascade that always escalates: the client gets the escalated answer only, whole and streamed", arguments: ["oai", "claude"])
    func cascadeEscalates(_ target: String) async throws {
        let rules = """
          - name: cascade
            cascade: {first: local, escalate_to: \(target), when: "confidence <= 1", hold_tokens: 6, hold_time: 10s}
        """
        try await withScripted(.answer(pieces: ["The ", "sea ", "is ", "vast."]), local: true, rules: rules) { gateway, provider in
            let question = #"{"model":"auto","max_tokens":24,"temperature":0,"messages":[{"role":"user","content":"Tell me about the sea."}]"#
            let whole = try await gateway.messages(question + "}")
            #expect(whole.status == 200, "\(whole.bodyText)")
            #expect(whole.header("x-switchyard-route") == "cloud")
            #expect(whole.header("x-switchyard-model") == target)
            #expect(whole.header("x-switchyard-escalated")?.hasPrefix("confidence=") == true, "\(whole.header("x-switchyard-escalated") ?? "no header")")
            #expect(anthropicMessageProblems(whole.json) == [], "\(whole.bodyText)")
            #expect(whole.json["content"] == .array([.object(["type": .string("text"), "text": .string("The sea is vast.")])]), "\(whole.bodyText)")

            let streamed = try await gateway.messages(question + #","stream":true}"#)
            #expect(streamed.status == 200, "\(streamed.bodyText)")
            #expect(streamed.header("x-switchyard-route") == "cloud")
            #expect(streamed.header("x-switchyard-escalated")?.hasPrefix("confidence=") == true)
            let stream = assembleAnthropicStream(streamed.body)
            #expect(stream.problems == [], "\(stream.problems)\n\(stream.events)")
            #expect(stream.events.filter { $0.name == "message_start" }.count == 1)
            #expect(stream.hasMessageStop && !stream.endsWithError)
            #expect(stream.text == "The sea is vast.", "no local token reaches the client: \(stream.events)")

            #expect(provider.received.count == 2)
            #expect(provider.received.allSatisfy { $0.path == (target == "claude" ? "/v1/messages" : "/v1/chat/completions") })
            #expect(provider.received.last?.body["stream"] == .bool(true))
        }
    }

    @Test("a cascade whose escalated stream breaks: an error event ends it, with no local token and no message_stop", arguments: ["oai", "claude"])
    func cascadeEscalatedStreamBreaks(_ target: String) async throws {
        let rules = """
          - name: cascade
            cascade: {first: local, escalate_to: \(target), when: "confidence <= 1", hold_tokens: 6, hold_time: 10s}
        """
        try await withScripted(.cut(afterChunks: 2), local: true, rules: rules) { gateway, _ in
            let response = try await gateway.messages(#"{"model":"auto","max_tokens":24,"temperature":0,"stream":true,"messages":[{"role":"user","content":"Tell me about the sea."}]}"#)
            #expect(response.status == 200, "\(response.bodyText)")
            #expect(response.header("x-switchyard-route") == "cloud")
            let stream = assembleAnthropicStream(response.body)
            #expect(stream.problems == [], "\(stream.problems)")
            #expect(stream.endsWithError && !stream.hasMessageStop, "\(stream.events)")
            #expect(stream.events.filter { $0.name == "message_start" }.count == 1)
            #expect(stream.text == "piece0 piece1 ", "\(stream.events)")
        }
    }

    @Test("a cascade serves a request that offers tools (the local model is asked first, whole and streamed)", arguments: [false, true])
    func cascadeWithTools(stream: Bool) async throws {
        let rules = """
          - name: cascade
            cascade: {first: local, escalate_to: oai, when: "confidence < 0.0001", hold_tokens: 6, hold_time: 10s}
        """
        try await withScripted(.answer(pieces: ["cloud"]), local: true, rules: rules) { gateway, _ in
            let body = #"{"model":"auto","max_tokens":16,"temperature":0,"stream":\#(stream),"tools":[\#(Self.weatherTool)],"messages":[{"role":"user","content":"What is the weather in Paris?"}]}"#
            let response = try await gateway.messages(body)
            #expect(response.status == 200, "\(response.bodyText)")
            #expect(response.header("x-switchyard-route") == "local",
                    "escalated: \(response.header("x-switchyard-escalated") ?? "-"), fallback: \(response.header("x-switchyard-fallback") ?? "-")")
            // llama-server gives no log-probabilities with tools: the answer is kept, and says it was not scored.
            #expect(response.header("x-switchyard-escalated")?.hasPrefix("not-escalated(confidence=unknown(tools)") == true,
                    "\(response.header("x-switchyard-escalated") ?? "-")")
            if stream {
                let assembled = assembleAnthropicStream(response.body)
                #expect(assembled.problems == [], "\(assembled.problems)")
                #expect(assembled.hasMessageStop)
            } else {
                #expect(anthropicMessageProblems(response.json) == [], "\(response.bodyText)")
            }
            // The same on the OpenAI front, to tell a front's bug from the cascade's.
            let chat = try await gateway.post("/v1/chat/completions", #"{"model":"auto","max_tokens":16,"stream":\#(stream),"tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}],"messages":[{"role":"user","content":"What is the weather in Paris?"}]}"#)
            #expect(chat.status == 200, "OpenAI front: \(chat.bodyText)")
            #expect(chat.header("x-switchyard-route") == "local",
                    "OpenAI front: escalated: \(chat.header("x-switchyard-escalated") ?? "-"), fallback: \(chat.header("x-switchyard-fallback") ?? "-")")
        }
    }

    @Test("a cascade that escalates requests with tools by its condition serves them from the escalation target",
          arguments: [false, true])
    func cascadeEscalatesTools(stream: Bool) async throws {
        let rules = """
          - name: cascade
            cascade: {first: local, escalate_to: oai, when: "confidence < 0.0001 or tools", hold_tokens: 6, hold_time: 10s}
        """
        try await withScripted(.answer(pieces: ["cloud"]), local: true, rules: rules) { gateway, provider in
            let body = #"{"model":"auto","max_tokens":16,"stream":\#(stream),"tools":[\#(Self.weatherTool)],"messages":[{"role":"user","content":"What is the weather in Paris?"}]}"#
            let response = try await gateway.messages(body)
            #expect(response.status == 200, "\(response.bodyText)")
            #expect(response.header("x-switchyard-route") == "cloud")
            #expect(response.header("x-switchyard-escalated")?.contains("tools") == true, "\(response.header("x-switchyard-escalated") ?? "-")")
            #expect(provider.received.count == 1)
        }
    }
}
