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

    @Test("the official OpenAI SDK: create, stream, a function tool round trip, a continuation, retrieve, delete, and its errors")
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
                let owner = [("Authorization", "Bearer \(keys[0])")]
                let read = try await gateway.client.send(HTTPRequest(url: gateway.baseURL + "/v1/responses/\(id)", headers: owner))
                #expect(read.status == 200 && read.json["id"] == .string(id))
                #expect(try await gateway.client.send(HTTPRequest(method: .delete, url: gateway.baseURL + "/v1/responses/\(id)", headers: owner)).status == 200)
                #expect(try await gateway.client.send(HTTPRequest(url: gateway.baseURL + "/v1/responses/\(id)", headers: owner)).status == 404)
            }
        }
    }
}
