import Testing
import SwitchyardHTTP
import SwitchyardWire

/// The Responses front end to end: the official SDK against the real SmolLM2, and a scripted
/// cloud for what the local model cannot show (docs/api.md, "The Responses front").
@Suite("Responses front", .serialized, .timeLimit(.minutes(5)))
struct ResponsesFrontTests {
    static let admin = "sy-admin-responses-test"

    func post(_ gateway: RunningGateway, _ body: String, key: String? = nil) async throws -> HTTPResponse {
        try await gateway.post("/v1/responses", body, headers: key.map { [("Authorization", "Bearer \($0)")] } ?? [])
    }

    /// The `type` of every event of a Responses stream, in order, and the events themselves.
    func events(_ response: HTTPResponse) -> [JSON] {
        response.bodyText.components(separatedBy: "\n").compactMap { line in
            line.hasPrefix("data: ") ? try? JSON.parse(String(line.dropFirst(6))) : nil
        }
    }

    @Test("the official OpenAI SDK: create, stream, a function tool round trip, a continuation, retrieve, its input items, delete, and its errors")
    func officialSDK() async throws {
        let policy = "version: 1\nmodels:\n\(Fixtures.localModelYAML)\n"
        try await Fixtures.withGateway(policy: policy) { gateway in
            let (exit, output) = try await Fixtures.runSDKScript("openai_responses_check.py", arguments: [gateway.baseURL + "/v1"],
                                                                 limit: .seconds(180))
            #expect(exit == .exited(0), "\(output)")
            let result = try JSON.parse(try #require(output.split(separator: "\n").last.map(String.init)))
            #expect(result["first_id"]?.stringValue?.hasPrefix("resp_") == true)
            #expect(result["first_text"]?.stringValue?.isEmpty == false)
            #expect((result["first_usage"]?.intValue ?? 0) > 0)
            #expect(result["stream_text"]?.stringValue?.isEmpty == false)
            #expect(result["stream_text"] == result["stream_final_text"], "the deltas make the final response's text")
            #expect(result["stream_first_events"] == .array([.string("response.created"), .string("response.in_progress")]))
            #expect(result["stream_last_event"] == .string("response.completed"))
            #expect(result["tools_echoed"] == .array([.string("get_weather")]))
            #expect(result["tool_result_text"]?.stringValue?.isEmpty == false)
            #expect(result["follow_previous"] == result["first_id"])
            #expect(result["retrieved_text"] == result["follow_text"])
            #expect(result["after_delete"] == .string("NotFoundError"))
            // The continuation was made from the first question, its answer and the new question.
            let items = try #require(result["input_items"]?.arrayValue)
            #expect(items.map { $0.arrayValue?.prefix(2).compactMap(\.stringValue) ?? [] }
                    == [["message", "user"], ["message", "assistant"], ["message", "user"]], "\(items)")
            let texts = items.map { $0.arrayValue?.last ?? .null }
            #expect(texts.first == .string("What is the capital of France?") && texts.last == .string("And of Italy?"))
            #expect(texts.dropFirst().first == result["first_text"], "the first answer, as it was stored")
            #expect(result["input_items_paged"] == result["input_items"], "one item a page, following the cursor, lists the same")
            #expect(result["input_items_newest"]?.arrayValue == Array(items.reversed()), "newest first by default, as OpenAI lists")
            #expect(result["bad_input"] == .string("BadRequestError"))
            #expect(result["unknown_model"] == .string("NotFoundError"))
            #expect(result["unknown_previous"] == .string("NotFoundError"))
        }
    }

    @Test("translated both ways for a chat target and an Anthropic target, whole and streamed; what the chat form cannot carry is named")
    func translation() async throws {
        try await ScriptedProvider.with(.answer(pieces: ["Par", "is"])) { cloud in
            for kind in ["openai", "anthropic"] {
                let policy = """
                    version: 1
                    models:
                      cloud: {kind: \(kind), base_url: "\(cloud.baseURL)", model: upstream, api_key_env: K}
                    """
                try await Fixtures.withGateway(policy: policy, environment: ["K": "k"]) { gateway in
                    let before = cloud.received.count
                    let whole = try await post(gateway, #"""
                        {"model":"auto","instructions":"Be brief.","input":"Capital of France?","tools":[{"type":"web_search"}],"max_output_tokens":20}
                        """#)
                    #expect(whole.status == 200, "\(whole.bodyText)")
                    #expect(whole.json["object"] == .string("response") && whole.json["status"] == .string("completed"))
                    #expect(whole.json["output"]?.arrayValue?.first?["content"]?.arrayValue?.first?["text"] == .string("Paris"), "\(whole.bodyText)")
                    #expect(whole.header("x-switchyard-dropped") == "web_search", "\(whole.header("x-switchyard-dropped") ?? "none")")
                    let sent = try #require(cloud.received.dropFirst(before).first)
                    #expect(sent.path == (kind == "openai" ? "/v1/chat/completions" : "/v1/messages"))
                    #expect(sent.body.text.contains("Capital of France?") && sent.body.text.contains("Be brief."))

                    let streamed = try await post(gateway, #"{"model":"auto","input":"Capital of France?","stream":true}"#)
                    #expect(streamed.status == 200)
                    let types = events(streamed).compactMap { $0["type"]?.stringValue }
                    #expect(types.first == "response.created" && types.last == "response.completed", "\(types)")
                    let text = events(streamed).filter { $0["type"] == .string("response.output_text.delta") }.compactMap { $0["delta"]?.stringValue }
                    #expect(text.joined() == "Paris")
                    let numbers = events(streamed).compactMap { $0["sequence_number"]?.intValue }
                    #expect(numbers == Array(0..<numbers.count), "sequence numbers from 0 up by one")
                }
            }
        }
    }

    @Test("an upstream stream that breaks ends with response.failed, never response.completed")
    func brokenStream() async throws {
        try await ScriptedProvider.with(.cut(afterChunks: 2)) { cloud in
            let policy = "version: 1\nmodels:\n  cloud: {kind: openai, base_url: \"\(cloud.baseURL)\", model: m, api_key_env: K}\n"
            try await Fixtures.withGateway(policy: policy, environment: ["K": "k"]) { gateway in
                let streamed = try await post(gateway, #"{"model":"auto","input":"hi","stream":true}"#)
                #expect(streamed.status == 200)
                let types = events(streamed).compactMap { $0["type"]?.stringValue }
                #expect(types.last == "response.failed" && !types.contains("response.completed"), "\(types)")
            }
        }
    }

    @Test("a streamed cascade that escalates: the client sees only the cloud's tokens, as Responses events")
    func streamedCascade() async throws {
        try await ScriptedProvider.with(.answer(pieces: ["CLOUD", "-ANSWER"])) { cloud in
            let policy = """
                version: 1
                models:
                \(Fixtures.localModelYAML)
                  cloud: {kind: openai, base_url: "\(cloud.baseURL)", model: m, api_key_env: K}
                rules:
                  - cascade: {first: local, escalate_to: cloud, when: "confidence <= 1"}
                """
            try await Fixtures.withGateway(policy: policy, environment: ["K": "k"]) { gateway in
                let streamed = try await post(gateway, #"{"model":"auto","input":"Say hello.","stream":true,"max_output_tokens":16}"#)
                #expect(streamed.status == 200)
                #expect(streamed.header("x-switchyard-route") == "cloud")
                let text = events(streamed).filter { $0["type"] == .string("response.output_text.delta") }.compactMap { $0["delta"]?.stringValue }
                #expect(text.joined() == "CLOUD-ANSWER")
            }
        }
    }

    @Test("a private-data turn stored earlier keeps its continuation on the box; another key cannot see, continue or delete it")
    func storedPrivacyAndOwnership() async throws {
        try await ScriptedProvider.with(.answer(pieces: ["cloud"])) { cloud in
            let policy = """
                version: 1
                auth: {mode: required}
                models:
                \(Fixtures.localModelYAML)
                  cloud: {kind: openai, base_url: "\(cloud.baseURL)", model: m, api_key_env: K}
                rules:
                  - {name: main, serve: cloud, fallbacks: [local]}
                constraints: {private_data: {allowed_targets: [local]}}
                """
            try await Fixtures.withGateway(policy: policy, environment: ["K": "k", "SWITCHYARD_ADMIN_KEY": Self.admin]) { gateway in
                var keys: [String] = []
                for name in ["owner", "other"] {
                    let created = try await gateway.post("/v1/switchyard/keys", #"{"name":"\#(name)"}"#,
                                                         headers: [("Authorization", "Bearer \(Self.admin)")])
                    keys.append(try #require(created.json["secret"]?.stringValue))
                }
                let first = try await post(gateway, #"{"model":"auto","input":"My card is 4111 1111 1111 1111. Remember it.","max_output_tokens":16}"#,
                                           key: keys[0])
                #expect(first.status == 200 && first.header("x-switchyard-route") == "local", "\(first.status) \(first.bodyText)")
                let id = try #require(first.json["id"]?.stringValue)
                // The continuation's own text is harmless; the conversation it makes is not.
                let follow = try await post(gateway, #"{"model":"auto","input":"Thanks. What else?","previous_response_id":"\#(id)","max_output_tokens":16}"#,
                                            key: keys[0])
                #expect(follow.status == 200 && follow.header("x-switchyard-route") == "local", "\(follow.bodyText)")
                #expect(cloud.received.isEmpty, "nothing of the conversation reached the cloud")
                // The control: a fresh harmless request of the same key goes to the cloud.
                let control = try await post(gateway, #"{"model":"auto","input":"Thanks. What else?"}"#, key: keys[0])
                #expect(control.header("x-switchyard-route") == "cloud")

                let stranger = [("Authorization", "Bearer \(keys[1])")]
                #expect(try await gateway.client.send(HTTPRequest(url: gateway.baseURL + "/v1/responses/\(id)", headers: stranger)).status == 404)
                #expect(try await gateway.client.send(HTTPRequest(method: .delete, url: gateway.baseURL + "/v1/responses/\(id)", headers: stranger)).status == 404)
                #expect(try await post(gateway, #"{"model":"auto","input":"x","previous_response_id":"\#(id)"}"#, key: keys[1]).status == 404)
                #expect(try await gateway.client.send(HTTPRequest(url: gateway.baseURL + "/v1/responses/\(id)/input_items", headers: stranger)).status == 404)
                let owner = [("Authorization", "Bearer \(keys[0])")]
                let read = try await gateway.client.send(HTTPRequest(url: gateway.baseURL + "/v1/responses/\(id)", headers: owner))
                #expect(read.status == 200 && read.json["id"] == .string(id))
                #expect(try await gateway.client.send(HTTPRequest(method: .delete, url: gateway.baseURL + "/v1/responses/\(id)", headers: owner)).status == 200)
                #expect(try await gateway.client.send(HTTPRequest(url: gateway.baseURL + "/v1/responses/\(id)", headers: owner)).status == 404)
            }
        }
    }

    /// A Responses upstream's answer: a reasoning item only its model can read, and a message.
    static let upstreamResponse = #"""
        {"id":"resp_upstream","object":"response","created_at":1,"status":"completed","model":"gpt-up","output":[
        {"type":"reasoning","id":"rs_1","summary":[],"encrypted_content":"ENC-ANSWER"},
        {"type":"message","id":"msg_1","role":"assistant","status":"completed","content":[{"type":"output_text","text":"Paris","annotations":[]}]}],
        "usage":{"input_tokens":12,"output_tokens":5,"total_tokens":17}}
        """#

    @Test("an OpenAI target that speaks Responses is passed the conversation with its items intact, whole and streamed, and continued")
    func passThrough() async throws {
        let events = [
            #"{"type":"response.created","sequence_number":0,"response":{"id":"resp_upstream","object":"response","status":"in_progress","output":[]}}"#,
            #"{"type":"response.output_text.delta","sequence_number":1,"item_id":"msg_1","output_index":0,"content_index":0,"delta":"Par"}"#,
            #"{"type":"response.output_text.delta","sequence_number":2,"item_id":"msg_1","output_index":0,"content_index":0,"delta":"is"}"#,
            "{\"type\":\"response.completed\",\"sequence_number\":3,\"response\":\(Self.upstreamResponse.replacingOccurrences(of: "\n", with: ""))}",
        ].map { "data: \($0)\n\n" }
        let scenario: ScriptedProvider.Scenario = .byRequest { body in
            body["stream"]?.boolValue == true ? .rawSSE(pieces: events, delay: .zero) : .rawJSON(Self.upstreamResponse)
        }
        try await ScriptedProvider.with(scenario) { cloud in
            let policy = "version: 1\nmodels:\n  cloud: {kind: openai, base_url: \"\(cloud.baseURL)\", model: gpt-up, api_key_env: K, responses: true}\n"
            try await Fixtures.withGateway(policy: policy, environment: ["K": "k"]) { gateway in
                let first = try await post(gateway, #"""
                    {"model":"auto","input":[{"type":"reasoning","id":"rs_0","summary":[],"encrypted_content":"ENC-INPUT"},
                    {"role":"user","content":"Capital of France?"}]}
                    """#)
                #expect(first.status == 200, "\(first.bodyText)")
                let id = try #require(first.json["id"]?.stringValue)
                #expect(id.hasPrefix("resp_") && id != "resp_upstream", "the gateway's own id, under which it keeps the response")
                #expect(first.json["output"]?.arrayValue?.first?["encrypted_content"] == .string("ENC-ANSWER"))
                #expect(first.header("x-switchyard-dropped") == nil, "nothing is dropped on a pass-through")
                let sent = try #require(cloud.received.last)
                #expect(sent.path == "/v1/responses" && sent.body["model"] == .string("gpt-up") && sent.body["store"] == .bool(false))
                #expect(sent.body["input"]?.arrayValue?.first?["encrypted_content"] == .string("ENC-INPUT"))

                // A continuation sends the whole conversation, the answer's reasoning item included.
                let follow = try await post(gateway, #"{"model":"auto","input":"And Italy?","previous_response_id":"\#(id)"}"#)
                #expect(follow.status == 200)
                let items = cloud.received.last?.body["input"]?.arrayValue ?? []
                #expect(items.compactMap { $0["encrypted_content"]?.stringValue } == ["ENC-INPUT", "ENC-ANSWER"], "\(items)")
                #expect(cloud.received.last?.body["previous_response_id"] == nil)

                let streamed = try await post(gateway, #"{"model":"auto","input":"Capital of France?","stream":true}"#)
                let received = self.events(streamed)
                #expect(received.compactMap { $0["sequence_number"]?.intValue } == [0, 1, 2, 3])
                #expect(received.filter { $0["type"] == .string("response.output_text.delta") }.compactMap { $0["delta"]?.stringValue }.joined() == "Paris")
                let completed = try #require(received.last)
                #expect(completed["type"] == .string("response.completed"))
                let streamedID = try #require(completed["response"]?["id"]?.stringValue)
                #expect(streamedID != "resp_upstream")
                let stored = try await gateway.get("/v1/responses/\(streamedID)")
                #expect(stored.status == 200 && stored.json["output"]?.arrayValue?.count == 2, "\(stored.bodyText)")
            }
        }
    }

    @Test("a passed-through stream that ends before its last event ends with an error event, not response.completed")
    func passThroughBroken() async throws {
        let events = [#"data: {"type":"response.created","sequence_number":0,"response":{"id":"r","object":"response","output":[]}}"# + "\n\n"]
        try await ScriptedProvider.with(.rawSSE(pieces: events, delay: .zero)) { cloud in
            let policy = "version: 1\nmodels:\n  cloud: {kind: openai, base_url: \"\(cloud.baseURL)\", model: m, api_key_env: K, responses: true}\n"
            try await Fixtures.withGateway(policy: policy, environment: ["K": "k"]) { gateway in
                let streamed = try await post(gateway, #"{"model":"auto","input":"hi","stream":true}"#)
                let types = self.events(streamed).compactMap { $0["type"]?.stringValue }
                #expect(types == ["response.created", "error"], "\(streamed.bodyText)")
                #expect(self.events(streamed).last?["sequence_number"]?.intValue == 1)
            }
        }
    }
}
