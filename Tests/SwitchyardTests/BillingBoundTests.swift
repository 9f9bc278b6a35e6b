import Testing
@testable import SwitchyardPolicy
@testable import SwitchyardProviders
@testable import SwitchyardDecision
@testable import SwitchyardExecution
@testable import SwitchyardSignals
@testable import SwitchyardWire

/// What a budgeted request can be billed on each kind of target, counted from the request
/// alone: every expectation here is worked out from the fields the request sends.
@Suite("What a budgeted request can be billed")
struct BillingBoundTests {
    static func chat(_ json: String) throws -> GatewayRequest { GatewayRequest(try ChatRequest.parse(Array(json.utf8))) }

    static func messages(_ json: String) throws -> GatewayRequest {
        let request = try MessagesRequest.parse(Array(json.utf8))
        return GatewayRequest(request, chat: try request.chatRequest())
    }

    @Test("OpenAI chat: the larger of both output caps for each of max(n, best_of) choices, a prediction's bytes, images by count; the Anthropic translation answers once")
    func chatBounds() throws {
        let prediction = #"{"type":"content","content":"let x = 1"}"#
        let body = #"{"model":"auto","max_tokens":100,"max_completion_tokens":50,"n":4,"best_of":6,"prediction":\#(prediction),"#
            + #""tools":[{"type":"function","function":{"name":"f","parameters":{}}}],"#
            + #""messages":[{"role":"user","content":[{"type":"text","text":"Compare."},{"type":"image_url","image_url":{"url":"https://a/1.png"}},"#
            + #"{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}}]}]}"#
        let bounds = BillingBounds(try Self.chat(body))
        #expect(bounds.openAI == .bounded(BillableTokens(promptTokens: body.utf8.count, images: 2, inputFactor: 1,
                                                         outputTokens: 100 * 6 + prediction.utf8.count)))
        #expect(bounds.anthropic == .bounded(BillableTokens(promptTokens: body.utf8.count + BillingBounds.anthropicToolPromptTokens, images: 2,
                                                            inputFactor: 1, outputTokens: 100)))
    }

    @Test("OpenAI chat: audio in or out, files, unknown parts, web search, priority tier and a malformed best_of have no bound on an OpenAI target; the Anthropic translation drops the first")
    func chatUnbounded() throws {
        let cases: [(fields: String, content: String, param: String)] = [
            ("", #"[{"type":"input_audio","input_audio":{"data":"UklGRg==","format":"wav"}}]"#, "messages[0].content[0]"),
            ("", #"[{"type":"text","text":"a"},{"type":"file","file":{"file_id":"file-1"}}]"#, "messages[0].content[1]"),
            ("", #"[{"type":"input_video","video_url":"https://v"}]"#, "messages[0].content[0]"),
            (#""modalities":["text","audio"],"#, #""hi""#, "modalities"),
            (#""audio":{"voice":"alloy","format":"wav"},"#, #""hi""#, "audio"),
            (#""web_search_options":{},"#, #""hi""#, "web_search_options"),
            (#""service_tier":"priority","#, #""hi""#, "service_tier"),
            (#""best_of":"3","#, #""hi""#, "best_of"),
        ]
        for item in cases {
            let bounds = BillingBounds(try Self.chat(#"{"model":"auto","max_tokens":10,\#(item.fields)"messages":[{"role":"user","content":\#(item.content)}]}"#))
            guard case .unbounded(_, let param) = bounds.openAI else {
                Issue.record("\(item.param): bounded \(bounds.openAI)")
                continue
            }
            #expect(param == item.param)
            if case .unbounded = bounds.anthropic { Issue.record("\(item.param): the Anthropic provider never sends it, yet unbounded") }
        }
        for tier in ["auto", "default", "flex"] {
            let body = #"{"model":"auto","max_tokens":10,"service_tier":"\#(tier)","messages":[{"role":"user","content":"hi"}]}"#
            #expect(BillingBounds(try Self.chat(body)).openAI == .bounded(BillableTokens(promptTokens: body.utf8.count, images: 0, inputFactor: 1,
                                                                                          outputTokens: 10)))
        }
    }

    @Test("Anthropic, passed through: images wherever they are, tool-use and client-tool prompts, the dearest cache write, a thinking budget over max_tokens")
    func messagesBounds() throws {
        let body = #"{"model":"auto","max_tokens":1024,"thinking":{"type":"enabled","budget_tokens":4096},"#
            + #""system":[{"type":"text","text":"Be brief.","cache_control":{"type":"ephemeral","ttl":"1h"}}],"#
            + #""tools":[{"name":"f","input_schema":{"type":"object"}},{"type":"bash_20250124","name":"bash"}],"#
            + #""messages":[{"role":"user","content":[{"type":"image","source":{"type":"url","url":"https://a/1.png"}},"#
            + #"{"type":"document","source":{"type":"content","content":[{"type":"image","source":{"type":"base64","media_type":"image/png","data":"AAAA"}}]}},"#
            + #"{"type":"document","source":{"type":"text","media_type":"text/plain","data":"plain"}},{"type":"text","text":"What is it?"}]},"#
            + #"{"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"f","input":{}}]},"#
            + #"{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":[{"type":"image","source":{"type":"url","url":"https://a/2.png"}}]}]}]}"#
        let bounds = BillingBounds(try Self.messages(body))
        let prompt = body.utf8.count + BillingBounds.anthropicToolPromptTokens + BillingBounds.anthropicDefinedToolTokens
        #expect(bounds.anthropic == .bounded(BillableTokens(promptTokens: prompt, images: 3, inputFactor: 2, outputTokens: 4096)))
        // The chat form keeps the top-level images (not those in documents or tool results), one function, and max_tokens.
        #expect(bounds.openAI == .bounded(BillableTokens(promptTokens: body.utf8.count, images: 1, inputFactor: 1, outputTokens: 1024)))
        let fiveMinutes = BillingBounds(try Self.messages(#"{"model":"auto","max_tokens":8,"messages":[{"role":"user","content":[{"type":"text","text":"hi","cache_control":{"type":"ephemeral"}}]}]}"#))
        guard case .bounded(let tokens) = fiveMinutes.anthropic else { throw BoundError() }
        #expect(tokens.inputFactor == 1.25)
    }

    @Test("Anthropic, passed through: server tools, MCP servers, a container, PDFs and files have no bound on an Anthropic target, and are not sent to an OpenAI one")
    func messagesUnbounded() throws {
        let cases: [(fields: String, content: String, param: String)] = [
            (#""tools":[{"name":"f","input_schema":{}},{"type":"web_search_20250305","name":"web_search"}],"#, #""hi""#, "tools.1"),
            (#""tools":[{"type":"code_execution_20250522","name":"code_execution"}],"#, #""hi""#, "tools.0"),
            (#""mcp_servers":[{"type":"url","url":"https://m","name":"m"}],"#, #""hi""#, "mcp_servers"),
            (#""container":"container_1","#, #""hi""#, "container"),
            ("", #"[{"type":"document","source":{"type":"base64","media_type":"application/pdf","data":"JVBERi0="}}]"#, "messages.0.content.0"),
            ("", #"[{"type":"text","text":"a"},{"type":"document","source":{"type":"url","url":"https://a.pdf"}}]"#, "messages.0.content.1"),
            ("", #"[{"type":"document","source":{"type":"file","file_id":"file_1"}}]"#, "messages.0.content.0"),
            ("", #"[{"type":"container_upload","file_id":"file_1"}]"#, "messages.0.content.0"),
        ]
        for item in cases {
            let bounds = BillingBounds(try Self.messages(#"{"model":"auto","max_tokens":10,\#(item.fields)"messages":[{"role":"user","content":\#(item.content)}]}"#))
            #expect(bounds.anthropic.unboundedParam == item.param, "\(item.param): \(bounds.anthropic)")
            #expect(bounds.openAI.unboundedParam == nil, "\(item.param): \(bounds.openAI)")
        }
    }

    @Test("A budgeted decision keeps the box and unpriced targets, drops the priced ones with no bound (a cascade becomes its local step), and is a 400 when nothing is left")
    func decisions() async throws {
        let policy = try PolicyLoader.parse("""
        version: 1
        models:
          local: {kind: local, context: 8192}
          free: {kind: openai, base_url: "http://127.0.0.1:9/v1", model: m}
          gpt: {kind: openai, base_url: "http://127.0.0.1:9/v1", model: m, price: {input: 1, output: 2}}
          claude: {kind: anthropic, base_url: "http://127.0.0.1:9/v1", model: m, price: {input: 1, output: 2}}
        rules:
          - {name: cascade, when: 'header.path == "cascade"', cascade: {first: local, escalate_to: gpt, when: "confidence < 0.5"}}
          - {name: mixed, when: 'header.path == "mixed"', serve: gpt, fallbacks: [claude, free, local]}
          - {name: cloud, serve: gpt}
        """, file: "bounds.yaml")
        let router = TestRouter(policy: policy, providers: [])
        let audio = try Self.chat(#"{"model":"auto","max_tokens":10,"messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{"data":"UklGRg==","format":"wav"}}]}]}"#)
        let bounds = BillingBounds(audio)
        let mixed = try await router.decide(audio.summary, headers: ["path": "mixed"], billing: bounds)
        #expect(mixed.action == .serve(["claude", "free", "local"]), "the Anthropic translation drops the audio: claude stays")
        #expect(mixed.reason.hasSuffix(" budget-unbounded=messages[0].content[0]"), "\(mixed.reason)")
        let cascade = try await router.decide(audio.summary, headers: ["path": "cascade"], billing: bounds)
        #expect(cascade.action == .serve(["local"]))
        do {
            _ = try await router.decide(audio.summary, billing: bounds)
            Issue.record("a decision with nothing left was not refused")
        } catch {
            #expect(error.status == 400 && error.code == "budget_unbounded" && error.param == "messages[0].content[0]", "\(error)")
        }
        let plain = try Self.chat(#"{"model":"auto","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}"#)
        let unchanged = try await router.decide(plain.summary)
        #expect(try await router.decide(plain.summary, billing: BillingBounds(plain)) == unchanged)
    }

    @Test("The per-image worst case: the kind's documented one by default, price.image_tokens when set, refused out of range")
    func imageTokensSetting() throws {
        let policy = try PolicyLoader.parse("""
        version: 1
        models:
          mini: {kind: openai, model: m, price: {input: 0.15, output: 0.6}}
          four: {kind: openai, model: m, price: {input: 2.5, output: 10, image_tokens: 1445}}
          claude: {kind: anthropic, model: m, price: {input: 3, output: 15}}
        """, file: "images.yaml")
        #expect(policy.model(named: "mini").map(Pricing.imageTokens) == 2833 + 8 * 5667)
        #expect(policy.model(named: "four").map(Pricing.imageTokens) == 1445)
        #expect(policy.model(named: "claude").map(Pricing.imageTokens) == 1600)
        // 10 prompt tokens and 2 images at 1,445 each, at $2.5 per million; 20 out at $10.
        let four = try #require(policy.model(named: "four"))
        let bound = BillingBound.bounded(BillableTokens(promptTokens: 10, images: 2, inputFactor: 1, outputTokens: 20))
        #expect(Pricing.worstCase(bound, on: four) == Int64((Double(10 + 2 * 1445) * 2.5 + 20 * 10) * 1000))
        #expect(Pricing.worstCase(.unbounded(what: "x", param: nil), on: four) > Int64(1e18), "more than the largest budget")
        for value in ["0", "-5", "many", "1e9"] {
            #expect(throws: PolicyError.self) {
                _ = try PolicyLoader.parse("version: 1\nmodels:\n  m: {kind: openai, model: m, price: {input: 1, output: 1, image_tokens: \(value)}}\n", file: "p.yaml")
            }
        }
    }

    @Test("Prompt-cache tokens survive the OpenAI shape both ways; an Anthropic stream's counts are the larger of message_start and message_delta")
    func cacheTokensInUsage() throws {
        var usage = TokenUsage(promptTokens: 130, completionTokens: 30)
        usage.cacheReadTokens = 100
        usage.cacheWriteTokens = 20
        #expect(TokenUsage(openAI: usage.json) == usage)
        #expect(usage.json["prompt_tokens_details"]?["cached_tokens"] == .int(100))
        // OpenAI's own cached tokens are charged in full; more cached than prompt is not plausible.
        #expect(TokenUsage(openAI: try JSON.parse(#"{"prompt_tokens":50,"completion_tokens":1,"prompt_tokens_details":{"cached_tokens":40}}"#))
            == TokenUsage(promptTokens: 50, completionTokens: 1))
        #expect(TokenUsage(openAI: try JSON.parse(#"{"prompt_tokens":5,"completion_tokens":1,"cache_read_input_tokens":6}"#)) == nil)

        var stream = StreamUsage()
        let start = try JSON.parse(#"{"type":"message_start","message":{"usage":{"input_tokens":10,"cache_read_input_tokens":100,"cache_creation_input_tokens":20,"output_tokens":1}}}"#)
        let delta = try JSON.parse(#"{"type":"message_delta","usage":{"input_tokens":0,"cache_read_input_tokens":0,"output_tokens":30}}"#)
        _ = stream.read(try #require(start.objectValue), format: .anthropic)
        #expect(stream.read(try #require(delta.objectValue), format: .anthropic))
        #expect(stream.usage == usage)
    }
}

private struct BoundError: Error {}

extension BillingBound {
    var unboundedParam: String? { if case .unbounded(_, let param) = self { param } else { nil } }
}
