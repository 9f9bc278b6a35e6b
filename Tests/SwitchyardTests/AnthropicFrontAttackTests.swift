import Testing
import SwitchyardHTTP
import SwitchyardDecision
import SwitchyardExecution
import SwitchyardSignals
import SwitchyardWire

#if canImport(Glibc)
import Glibc
#endif

/// The Anthropic front (`POST /v1/messages`, `/v1/messages/count_tokens`) tried as an attacker
/// would: private data smuggled in every field an Anthropic body has, hostile bodies, hostile
/// Anthropic upstreams whose events are passed through, and a client that hangs up mid-stream.
/// No real engine: cloud targets are ScriptedProviders on 127.0.0.1, and the one local model is
/// a stand-in that never becomes ready, so a request that may only be served locally is refused.
@Suite("Anthropic front under attack", .serialized)
struct AnthropicFrontAttackTests {
    static let environment = ["K": "key"]

    /// A rule that serves `cloud` (a scripted upstream of `kind`), optionally with a price and a
    /// private-data constraint that allows only the (never ready) local model.
    func policy(_ provider: ScriptedProvider, kind: String, privateData: Bool = false) throws -> String {
        var models = """
          cloud:
            kind: \(kind)
            base_url: "\(provider.baseURL)"
            model: m
            api_key_env: K
            price: {input: 1, output: 2}
            timeouts: {first_byte: 2s, stall: 2s, total: 20s}
        """
        var constraints = ""
        if privateData {
            let directory = try Fixtures.temporaryDirectory()
            let fake = directory + "/llama-server"
            try Fixtures.writeFile(fake, "#!/bin/sh\nexec sleep 300\n", mode: 0o755)
            models = "  local: {kind: local, binary: \(fake), context: 2048, slots: 1}\n" + models
            constraints = "constraints:\n  private_data: {allowed_targets: [local]}\n"
        }
        return "version: 1\nmodels:\n\(models)\nrules:\n  - {name: main, serve: cloud}\n\(constraints)"
    }

    func withGateway<T: Sendable>(_ scenario: ScriptedProvider.Scenario, kind: String, privateData: Bool = false,
                                  _ body: (RunningGateway, ScriptedProvider) async throws -> T) async throws -> T {
        try await ScriptedProvider.with(scenario) { provider in
            try await Fixtures.withGateway(policy: try policy(provider, kind: kind, privateData: privateData),
                                           environment: Self.environment, waitForEngine: false) { gateway in
                try await body(gateway, provider)
            }
        }
    }

    // MARK: - Privacy

    /// Anthropic bodies each carrying private data in one place only.
    static let smuggled: [(name: String, body: String)] = [
        ("email in a cached system block",
         #"{"model":"auto","max_tokens":20,"system":[{"type":"text","text":"Be brief."},{"type":"text","text":"Reply to jane.doe@example.com","cache_control":{"type":"ephemeral"}}],"messages":[{"role":"user","content":"hi"}]}"#),
        ("card in a tool_result's nested text block",
         #"{"model":"auto","max_tokens":20,"messages":[{"role":"user","content":"pay"},{"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"lookup","input":{}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":[{"type":"text","text":"card on file: 4111 1111 1111 1111"}]}]}]}"#),
        ("card as a JSON number in tool_use.input",
         #"{"model":"auto","max_tokens":20,"messages":[{"role":"user","content":"pay"},{"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"charge","input":{"card":4111111111111111}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":"ok"}]}]}"#),
        ("email in metadata.user_id",
         #"{"model":"auto","max_tokens":20,"metadata":{"user_id":"jane.doe@example.com"},"messages":[{"role":"user","content":"hi"}]}"#),
        ("phone in a text document source",
         #"{"model":"auto","max_tokens":20,"messages":[{"role":"user","content":[{"type":"document","source":{"type":"text","media_type":"text/plain","data":"Call me on +44 20 7946 0958 tomorrow."}},{"type":"text","text":"Summarise"}]}]}"#),
        ("IBAN in a tool's description",
         #"{"model":"auto","max_tokens":20,"tools":[{"name":"pay","description":"Pays into GB82 WEST 1234 5698 7654 32","input_schema":{"type":"object"}}],"messages":[{"role":"user","content":"hi"}]}"#),
        ("email in a tool's input_schema",
         #"{"model":"auto","max_tokens":20,"tools":[{"name":"mail","input_schema":{"type":"object","properties":{"to":{"type":"string","default":"jane.doe@example.com"}}}}],"messages":[{"role":"user","content":"hi"}]}"#),
        ("fullwidth digits",
         #"{"model":"auto","max_tokens":20,"messages":[{"role":"user","content":"my card: ４１１１ １１１１ １１１１ １１１１"}]}"#),
        ("zero-width characters inside an email",
         #"{"model":"auto","max_tokens":20,"messages":[{"role":"user","content":"write to jane\u200b.doe@exam\u200dple.com"}]}"#),
        ("zero-width characters inside a card",
         #"{"model":"auto","max_tokens":20,"messages":[{"role":"user","content":"4111\u200b1111\u200c1111\ufeff1111"}]}"#),
        ("an escaped @ in an unknown top-level field",
         #"{"model":"auto","max_tokens":20,"x_note":"jane.doe\u0040example.com","messages":[{"role":"user","content":"hi"}]}"#),
        ("email as an object key in tool_use.input",
         #"{"model":"auto","max_tokens":20,"messages":[{"role":"user","content":"x"},{"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"n","input":{"jane.doe@example.com":true}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1"}]}]}"#),
        // Found by the messages_request fuzzer: the translation to OpenAI chat joins an assistant
        // turn's text blocks as they are, spelling what no single block held.
        ("email split across two assistant text blocks",
         #"{"model":"auto","max_tokens":20,"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":[{"type":"text","text":"jane.doe"},{"type":"text","text":"@example.com"}]},{"role":"user","content":"ok"}]}"#),
        ("card split across assistant text blocks around a tool call",
         #"{"model":"auto","max_tokens":20,"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":[{"type":"text","text":"card 4111 1111"},{"type":"tool_use","id":"t1","name":"n","input":{}},{"type":"text","text":" 1111 1111"}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":"ok"}]}]}"#),
        // Issue 13: ordinary text.
        ("an email after an id in a pasted link",
         #"{"model":"auto","max_tokens":20,"messages":[{"role":"user","content":"open https://crm.example.com/c?id=5f3a9c&email=jane.doe@example.com"}]}"#),
        ("an email after an ordinal",
         #"{"model":"auto","max_tokens":20,"messages":[{"role":"user","content":"the 3rd:jane.doe@example.com"}]}"#),
        ("a percent-encoded email",
         #"{"model":"auto","max_tokens":20,"messages":[{"role":"user","content":"?to=jane.doe%40example.com"}]}"#),
        ("an AWS key id before a full stop",
         #"{"model":"auto","max_tokens":20,"messages":[{"role":"user","content":"My key is AKIAIOSFODNN7EXAMPLE."}]}"#),
        ("an email split between a text block and a text document",
         #"{"model":"auto","max_tokens":20,"messages":[{"role":"user","content":[{"type":"text","text":"mail jane.doe"},{"type":"document","source":{"type":"text","media_type":"text/plain","data":"@example.com"}}]}]}"#),
        ("a card split across a tool result's text blocks at line breaks",
         #"{"model":"auto","max_tokens":20,"messages":[{"role":"user","content":"pay"},{"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"lookup","input":{}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":[{"type":"text","text":"card\n4111\n1111"},{"type":"text","text":"1111\n1111"}]}]}]}"#),
        ("a card under a key named seed in tool_use.input",
         #"{"model":"auto","max_tokens":20,"messages":[{"role":"user","content":"pay"},{"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"charge","input":{"seed":4111111111111111}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":"ok"}]}]}"#),
    ]

    @Test("private data in any field of an Anthropic body never reaches a cloud target (Anthropic or OpenAI kind)",
          arguments: ["anthropic", "openai"])
    func privacySmuggling(_ kind: String) async throws {
        try await withGateway(.answer(pieces: ["leaked"]), kind: kind, privateData: true) { gateway, provider in
            for (name, body) in Self.smuggled {
                for stream in [false, true] {
                    let sent = stream ? body.replacingFirst(#""max_tokens":20"#, with: #""max_tokens":20,"stream":true"#) : body
                    let response = try await gateway.post("/v1/messages", sent, timeout: .seconds(20))
                    let label = "\(name) (\(kind), stream \(stream))"
                    #expect(response.status == 403, "\(label): \(response.status) \(response.bodyText.prefix(300))")
                    expectAnthropicError(response, type: "permission_error", label)
                    #expect(provider.received.isEmpty, "\(label): the cloud received \(provider.received.map(\.body))")
                }
            }
            #expect(provider.received.isEmpty)
        }
    }

    @Test("the scan of an Anthropic body finds every class its OpenAI translation carries")
    func translationCarriesNoUnscannedData() throws {
        for (name, body) in Self.smuggled {
            let request = try MessagesRequest.parse(Array(body.utf8))
            let scanned = PIIDetector.classes(inRequestBody: request.body)
            let sent = PIIDetector.classes(inRequestBody: try request.chatRequest().body)
            #expect(!scanned.isEmpty, "\(name): nothing found")
            #expect(sent.isSubset(of: scanned), "\(name): the translation carries \(sent.subtracting(scanned)) unscanned")
        }
    }

    // MARK: - Hostile bodies

    static let deep = String(repeating: "[", count: 200) + String(repeating: "]", count: 200)
    static let deepInput = String(repeating: #"{"a":"#, count: 100) + "1" + String(repeating: "}", count: 100)

    /// (name, body, expected status or nil for "any 2xx/4xx", text the error message must contain)
    static let hostileBodies: [(String, String, Int?, String?)] = [
        ("duplicate top-level key", #"{"model":"auto","model":"other","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}"#, 400, "'model'"),
        ("a repeated empty key", #"{"model":"auto","max_tokens":5,"":1,"":2,"messages":[{"role":"user","content":"hi"}]}"#, 400, "repeats the key ''"),
        ("duplicate content", #"{"model":"auto","max_tokens":5,"messages":[{"role":"user","content":"hi","content":"secret"}]}"#, 400, "messages.0.content"),
        ("duplicate key in a block", #"{"model":"auto","max_tokens":5,"messages":[{"role":"user","content":[{"type":"text","text":"a","text":"b"}]}]}"#, 400, "messages.0.content.0.text"),
        ("duplicate key in tool_use.input", #"{"model":"auto","max_tokens":5,"messages":[{"role":"user","content":"x"},{"role":"assistant","content":[{"type":"tool_use","id":"t","name":"n","input":{"a":1,"a":2}}]}]}"#, 400, "messages.1.content.0.input.a"),
        ("max_tokens 1e30", #"{"model":"auto","max_tokens":1e30,"messages":[{"role":"user","content":"hi"}]}"#, 400, "max_tokens"),
        ("max_tokens 2^63", #"{"model":"auto","max_tokens":9223372036854775808,"messages":[{"role":"user","content":"hi"}]}"#, 400, "max_tokens"),
        ("max_tokens Int.max", #"{"model":"auto","max_tokens":9223372036854775807,"messages":[{"role":"user","content":"hi"}]}"#, nil, nil),
        ("max_tokens negative", #"{"model":"auto","max_tokens":-1,"messages":[{"role":"user","content":"hi"}]}"#, 400, "max_tokens"),
        ("max_tokens zero", #"{"model":"auto","max_tokens":0,"messages":[{"role":"user","content":"hi"}]}"#, 400, "max_tokens"),
        ("max_tokens fractional", #"{"model":"auto","max_tokens":1.5,"messages":[{"role":"user","content":"hi"}]}"#, 400, "max_tokens"),
        ("max_tokens as a string", #"{"model":"auto","max_tokens":"5","messages":[{"role":"user","content":"hi"}]}"#, 400, "max_tokens"),
        ("max_tokens missing", #"{"model":"auto","messages":[{"role":"user","content":"hi"}]}"#, 400, "max_tokens"),
        ("nesting past the parser's limit", #"{"model":"auto","max_tokens":5,"messages":[{"role":"user","content":\#(deep)}]}"#, 400, nil),
        ("deep tool input within the limit", #"{"model":"auto","max_tokens":5,"messages":[{"role":"user","content":"x"},{"role":"assistant","content":[{"type":"tool_use","id":"t","name":"n","input":\#(deepInput)}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":"ok"}]}]}"#, nil, nil),
        ("2 MB in one text block", #"{"model":"auto","max_tokens":5,"messages":[{"role":"user","content":[{"type":"text","text":"\#(String(repeating: "lorem ipsum ", count: 2 << 20 / 12))"}]}]}"#, nil, nil),
        ("unknown block type beside text", #"{"model":"auto","max_tokens":5,"messages":[{"role":"user","content":[{"type":"hologram","data":{"x":1}},{"type":"text","text":"hi"}]}]}"#, 200, nil),
        ("content as a number", #"{"model":"auto","max_tokens":5,"messages":[{"role":"user","content":42}]}"#, 400, "messages.0.content"),
        ("content as an object", #"{"model":"auto","max_tokens":5,"messages":[{"role":"user","content":{"type":"text","text":"hi"}}]}"#, 400, "messages.0.content"),
        ("block without a type", #"{"model":"auto","max_tokens":5,"messages":[{"role":"user","content":[{"text":"hi"}]}]}"#, 400, "messages.0.content.0.type"),
        ("escaped NUL bytes in strings", #"{"model":"auto\u0000","max_tokens":5,"system":"a\u0000b","messages":[{"role":"user","content":"hi\u0000there"}]}"#, nil, nil),
        ("a raw NUL byte in a string", "{\"model\":\"auto\",\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":\"hi\u{0}\"}]}", 400, nil),
        ("a lone surrogate escape", #"{"model":"auto","max_tokens":5,"messages":[{"role":"user","content":"\ud800"}]}"#, nil, nil),
        ("a system role in messages", #"{"model":"auto","max_tokens":5,"messages":[{"role":"system","content":"hi"}]}"#, 400, "messages.0.role"),
        ("tool_use in a user turn", #"{"model":"auto","max_tokens":5,"messages":[{"role":"user","content":[{"type":"tool_use","id":"t","name":"n","input":{}}]}]}"#, 400, "messages.0.content.0"),
        ("five stop sequences", #"{"model":"auto","max_tokens":5,"stop_sequences":["a","b","c","d","e"],"messages":[{"role":"user","content":"hi"}]}"#, 400, "stop_sequences"),
        ("temperature 2", #"{"model":"auto","max_tokens":5,"temperature":2,"messages":[{"role":"user","content":"hi"}]}"#, 400, "temperature"),
        ("thinking budget below 1024", #"{"model":"auto","max_tokens":5,"thinking":{"type":"enabled","budget_tokens":10},"messages":[{"role":"user","content":"hi"}]}"#, 400, "thinking.budget_tokens"),
        ("empty messages", #"{"model":"auto","max_tokens":5,"messages":[]}"#, 400, "messages"),
        ("a JSON array", #"[{"model":"auto"}]"#, 400, nil),
        ("an empty body", "", 400, nil),
        ("truncated JSON", #"{"model":"auto","max_tokens":5,"messages":[{"role":"user","content":"hi"#, 400, nil),
    ]

    @Test("hostile bodies: a clear 4xx in Anthropic's shape, or a normal answer; never a 5xx or a dropped connection",
          arguments: ["openai", "anthropic"])
    func hostileBodies(_ kind: String) async throws {
        try await withGateway(.answer(pieces: ["ok"]), kind: kind) { gateway, _ in
            for (name, body, expected, mentions) in Self.hostileBodies {
                for path in ["/v1/messages", "/v1/messages/count_tokens"] {
                    let label = "\(name) on \(path) (\(kind))"
                    let response = try await gateway.post(path, body, timeout: .seconds(30))
                    #expect(response.status < 500, "\(label): \(response.status) \(response.bodyText.prefix(300))")
                    // count_tokens takes no max_tokens, so only the other refusals apply there.
                    let mustBe = path.hasSuffix("count_tokens") && (expected == 400 && mentions == "max_tokens") ? nil : expected
                    if let mustBe { #expect(response.status == mustBe, "\(label): \(response.status) \(response.bodyText.prefix(300))") }
                    if response.status >= 400 {
                        expectAnthropicError(response, type: nil, label)
                        if let mentions, mustBe != nil {
                            let message = response.json["error"]?["message"]?.stringValue ?? ""
                            #expect(message.contains(mentions), "\(label): the message does not name \(mentions): \(message)")
                        }
                    } else if path == "/v1/messages" {
                        #expect(response.json["type"] == .string("message"), "\(label): \(response.bodyText.prefix(300))")
                    } else {
                        #expect(response.json["input_tokens"]?.intValue != nil, "\(label): \(response.bodyText.prefix(300))")
                    }
                }
            }
            #expect(try await gateway.get("/healthz").status == 200)
        }
    }

    @Test("a request of only blocks the OpenAI form has no place for is still served by an Anthropic target")
    func untranslatableOnlyBlocks() async throws {
        let body = #"{"model":"auto","max_tokens":5,"messages":[{"role":"user","content":[{"type":"image","source":{"type":"file","file_id":"file_011CNha8iCJcU1wXNR6q4V8w"}}]}]}"#
        try await withGateway(.answer(pieces: ["a cat"]), kind: "anthropic") { gateway, provider in
            let response = try await gateway.post("/v1/messages", body)
            #expect(response.status == 200, "\(response.status) \(response.bodyText.prefix(300))")
            #expect(provider.received.count == 1)
        }
    }

    @Test("anthropic-beta reaches an Anthropic target only as feature names: anything else in it is a 400, sent nowhere")
    func betaHeader() async throws {
        let body = #"{"model":"auto","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}"#
        try await withGateway(.answer(pieces: ["ok"]), kind: "anthropic") { gateway, provider in
            let good = try await gateway.post("/v1/messages", body, headers: [("anthropic-beta", "prompt-caching-2024-07-31, token-efficient-tools-2025-02-19")])
            #expect(good.status == 200, "\(good.bodyText)")
            #expect(provider.received.first?.headers[.init("anthropic-beta")!] == "prompt-caching-2024-07-31,token-efficient-tools-2025-02-19")
            for hostile in ["x, jane.doe@example.com", "a b", "x,,y", String(repeating: "f", count: 65)] {
                let refused = try await gateway.post("/v1/messages", body, headers: [("anthropic-beta", hostile)])
                #expect(refused.status == 400, "\(hostile): \(refused.status)")
                #expect(refused.json["error"]?["type"] == .string("invalid_request_error"))
            }
            #expect(provider.received.count == 1)
            // Any anthropic-version is accepted (the provider sends its own upstream).
            let future = try await gateway.post("/v1/messages", body, headers: [("anthropic-version", "2099-12-31")])
            #expect(future.status == 200, "\(future.bodyText)")
            #expect(provider.received.last?.headers[.init("anthropic-version")!] == "2023-06-01")
        }
    }

    @Test("what the chat form cannot carry is named in x-switchyard-dropped when a non-Anthropic target serves, never silently lost",
          arguments: ["openai", "anthropic"])
    func droppedInTranslation(kind: String) async throws {
        let body = #"""
        {"model":"auto","max_tokens":8,"tools":[{"type":"web_search_20250305","name":"web_search"}],
         "messages":[{"role":"user","content":[
           {"type":"document","source":{"type":"base64","media_type":"application/pdf","data":"JVBERi0xLjQK"}},
           {"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgo="}},
           {"type":"text","text":"Summarise the PDF."}]}]}
        """#
        try await withGateway(.answer(pieces: ["ok"]), kind: kind) { gateway, _ in
            let response = try await gateway.post("/v1/messages", body)
            #expect(response.status == 200, "\(response.bodyText)")
            #expect(response.header("x-switchyard-dropped") == (kind == "openai" ? "document,server_tool" : nil),
                    "\(response.header("x-switchyard-dropped") ?? "-")")
        }
    }

    // MARK: - Hostile Anthropic upstreams (passed through)

    static func event(_ type: String, _ json: String) -> String { "event: \(type)\ndata: \(json)\n\n" }
    static let start = [
        event("message_start", #"{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[],"stop_reason":null,"usage":{"input_tokens":5,"output_tokens":1}}}"#),
        event("content_block_start", #"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#),
        event("content_block_delta", #"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"partial answer"}}"#),
    ]
    static let end = [
        event("content_block_stop", #"{"type":"content_block_stop","index":0}"#),
        event("message_delta", #"{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":3}}"#),
        event("message_stop", #"{"type":"message_stop"}"#),
    ]

    static let streamRequest = #"{"model":"auto","max_tokens":50,"stream":true,"messages":[{"role":"user","content":"hi"}]}"#

    /// Streams that break after their first events: the client's stream must end with an `error`
    /// event and no `message_stop`, and keep what came before.
    static let brokenStreams: [(String, ScriptedProvider.Scenario)] = [
        ("an error event mid-way", .rawSSE(pieces: start + [event("error", #"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#)] + end)),
        ("a stream ended without message_stop", .rawSSE(pieces: start)),
        ("a connection cut mid-stream", .cut(afterChunks: 2)),
        ("a non-JSON event", .rawSSE(pieces: start + ["event: content_block_delta\ndata: {not json\n\n"] + end)),
        ("an event that is JSON but not an object", .rawSSE(pieces: start + ["data: [1,2]\n\n"] + end)),
        ("an event without a type", .rawSSE(pieces: start + [#"data: {"index":0}"# + "\n\n"] + end)),
    ]

    @Test("a passthrough stream that breaks ends with an error event and no message_stop, its start delivered")
    func brokenPassthroughStreams() async throws {
        for (name, scenario) in Self.brokenStreams {
            try await withGateway(scenario, kind: "anthropic") { gateway, _ in
                let response = try await gateway.post("/v1/messages", Self.streamRequest, timeout: .seconds(30))
                #expect(response.status == 200, "\(name): \(response.status) \(response.bodyText.prefix(300))")
                let events = namedSSEEvents(response.body)
                #expect(events.first?.event == "message_start", "\(name): \(events.map(\.event))")
                #expect(events.last?.event == "error", "\(name): \(events.map(\.event))")
                #expect(!events.contains { $0.event == "message_stop" }, "\(name): \(events.map(\.event))")
                if let last = events.last, let data = try? JSON.parse(last.data) {
                    #expect(data["type"] == .string("error") && data["error"]?["message"]?.stringValue != nil, "\(name): \(last.data)")
                } else {
                    Issue.record("\(name): the error event's data is not JSON")
                }
                if name != "a connection cut mid-stream" {
                    #expect(response.bodyText.contains("partial answer"), "\(name): the text before the break was lost")
                }
                expectWellFramed(response.body, name)
            }
        }
    }

    @Test("an upstream event whose type holds a line break cannot inject an event line into the client's stream")
    func eventTypeInjection() async throws {
        let hostile = [
            #"data: {"type":"ping\nevent: message_stop\ndata: {}\n\nevent: error","x":1}"# + "\n\n",
            #"data: {"type":"ping\r\nevent: message_stop","y":2}"# + "\n\n",
            #"data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"}}"# + "\n\n",
        ]
        try await withGateway(.rawSSE(pieces: Self.start + hostile + Self.end), kind: "anthropic") { gateway, _ in
            let response = try await gateway.post("/v1/messages", Self.streamRequest, timeout: .seconds(30))
            #expect(response.status == 200, "\(response.bodyText.prefix(300))")
            let lines = response.bodyText.split(separator: "\n", omittingEmptySubsequences: true)
            let eventLines = lines.filter { $0.hasPrefix("event:") }
            #expect(eventLines.filter { $0 == "event: message_stop" }.count == 1, "\(eventLines)")
            #expect(!eventLines.contains("event: error"), "\(eventLines)")
            #expect(lines.last == #"data: {"type":"message_stop"}"#, "\(lines.suffix(3))")
            let events = namedSSEEvents(response.body)
            #expect(events.last?.event == "message_stop")
            #expect(events.count == Self.start.count + hostile.count + Self.end.count, "\(events.map(\.event))")
            expectWellFramed(response.body, "injection")
        }
    }

    @Test("a passthrough upstream that answers a stream with JSON, or a message with no content, is a 502 in Anthropic's shape")
    func malformedAnthropicAnswers() async throws {
        try await withGateway(.notSSE, kind: "anthropic") { gateway, _ in
            let response = try await gateway.post("/v1/messages", Self.streamRequest, timeout: .seconds(30))
            #expect(response.status == 502, "\(response.status) \(response.bodyText.prefix(300))")
            expectAnthropicError(response, type: "api_error", "JSON for a stream")
        }
        let noContent = #"{"id":"msg_1","type":"message","role":"assistant","model":"m","stop_reason":"end_turn","usage":{"input_tokens":1,"output_tokens":1}}"#
        for body in [noContent, #"{"type":"message","content":"a string"}"#, "[]", "null"] {
            try await withGateway(.rawJSON(body), kind: "anthropic") { gateway, _ in
                let response = try await gateway.post("/v1/messages", #"{"model":"auto","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}"#)
                #expect(response.status == 502, "\(body): \(response.status) \(response.bodyText.prefix(300))")
                expectAnthropicError(response, type: "api_error", body)
            }
        }
    }

    @Test("usage that is negative or absurd: no crash, a sane cost, and counts that are counts", arguments: ["anthropic", "openai"])
    func hostileUsage(_ kind: String) async throws {
        let cases = [
            (#"{"prompt_tokens":-5,"completion_tokens":-9,"total_tokens":-14}"#, #"{"input_tokens":-5,"output_tokens":-9}"#),
            (#"{"prompt_tokens":9223372036854775807,"completion_tokens":1e400}"#,
             #"{"input_tokens":9223372036854775807,"output_tokens":1e400,"cache_read_input_tokens":-1}"#),
            (#"{"prompt_tokens":"many","completion_tokens":null}"#, #"{"input_tokens":1e9,"output_tokens":1e9,"cache_creation_input_tokens":1e9}"#),
        ]
        for (openAI, anthropic) in cases {
            try await withGateway(.hostileUsage(openAI: openAI, anthropic: anthropic), kind: kind) { gateway, _ in
                let whole = try await gateway.post("/v1/messages", #"{"model":"auto","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}"#)
                #expect(whole.status == 200, "\(whole.status) \(whole.bodyText.prefix(300))")
                #expect(whole.json["type"] == .string("message"))
                let cost = whole.header("x-switchyard-cost-usd").flatMap(Double.init)
                // 1e9 + 1e9 + 1e9 tokens at $1/$2 per million would be thousands of dollars; a sane
                // gateway estimates (a few tokens) or takes the plausible counts.
                #expect(cost.map { $0 >= 0 && $0 < 10_000 } == true, "cost \(whole.header("x-switchyard-cost-usd") ?? "none")")
                if kind == "openai" {
                    // Encoded by the gateway: its counts are counts.
                    #expect((whole.json["usage"]?["input_tokens"]?.intValue ?? -1) >= 0)
                    #expect((whole.json["usage"]?["output_tokens"]?.intValue ?? -1) >= 0)
                }
                let streamed = try await gateway.post("/v1/messages", Self.streamRequest)
                #expect(streamed.status == 200)
                let events = namedSSEEvents(streamed.body)
                #expect(events.last?.event == "message_stop", "\(events.map(\.event))")
                if kind == "openai", let delta = events.first(where: { $0.event == "message_delta" }), let data = try? JSON.parse(delta.data) {
                    #expect((data["usage"]?["output_tokens"]?.intValue ?? -1) >= 0, "\(delta.data)")
                    #expect((data["usage"]?["input_tokens"]?.intValue ?? -1) >= 0, "\(delta.data)")
                }
                expectWellFramed(streamed.body, "usage \(kind)")
                #expect(try await gateway.get("/healthz").status == 200)
            }
        }
    }

    // MARK: - Client hang-up

    @Test("a client that hangs up mid-stream on /v1/messages closes the upstream within a second", arguments: ["anthropic", "openai"])
    func hangupMidStream(_ kind: String) async throws {
        try await withGateway(.trickle(every: .milliseconds(50), limit: 400), kind: kind) { gateway, provider in
            let client = try RawClient(port: gateway.port, readTimeout: .seconds(2))
            let body = Self.streamRequest
            try client.send("POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
            let deadline = ContinuousClock.now + .seconds(5)
            while provider.received.isEmpty, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
            try await Task.sleep(for: .milliseconds(400))
            let leftAt = ContinuousClock.now
            client.close()
            let after = try #require(try await provider.clientLeft(since: leftAt), "the upstream never saw the gateway leave")
            #expect(after < .seconds(1))
        }
    }
}

// MARK: - Helpers

/// The events of an SSE body, with their `event:` names.
func namedSSEEvents(_ body: [UInt8]) -> [SSEEvent] {
    var parser = SSEParser()
    var events = (try? parser.feed(body)) ?? []
    if let last = try? parser.finish() { events.append(last) }
    return events
}

/// Every frame is `event: T\ndata: {...}\n\n` (or a data line alone), T the data's own type,
/// with no carriage return.
func expectWellFramed(_ body: [UInt8], _ label: String) {
    #expect(!body.contains(0x0D), "\(label): a carriage return in the stream")
    let text = String(decoding: body, as: UTF8.self)
    #expect(text.hasSuffix("\n\n"), "\(label): the stream does not end with a blank line")
    for frame in text.split(separator: "\n\n", omittingEmptySubsequences: true) {
        let lines = frame.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.count <= 2, "\(label): a frame of \(lines.count) lines: \(frame.prefix(200))")
        guard let dataLine = lines.last, dataLine.hasPrefix("data: ") else {
            Issue.record("\(label): a frame without a data line: \(frame.prefix(200))")
            continue
        }
        let data = try? JSON.parse(Array(dataLine.dropFirst(6).utf8))
        #expect(data?.objectValue != nil, "\(label): data that is not an object: \(dataLine.prefix(200))")
        if lines.count == 2 {
            #expect(lines[0].hasPrefix("event: "), "\(label): \(lines[0])")
            #expect(data?["type"]?.stringValue == String(lines[0].dropFirst(7)), "\(label): event line and type differ: \(frame.prefix(200))")
        }
    }
}

func expectAnthropicError(_ response: HTTPResponse, type: String?, _ label: String) {
    let json = response.json
    #expect(json["type"] == .string("error"), "\(label): not an Anthropic error body: \(response.bodyText.prefix(300))")
    let message = json["error"]?["message"]?.stringValue ?? ""
    #expect(message.count > 0, "\(label): no message")
    if let type { #expect(json["error"]?["type"] == .string(type), "\(label): \(response.bodyText.prefix(300))") }
    #expect(response.header("content-type")?.hasPrefix("application/json") == true, "\(label)")
}

extension String {
    func replacingFirst(_ target: String, with replacement: String) -> String {
        guard let range = firstRange(of: target) else { return self }
        var copy = self
        copy.replaceSubrange(range, with: replacement)
        return copy
    }
}
