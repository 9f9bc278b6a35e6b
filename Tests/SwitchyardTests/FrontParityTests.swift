import Testing
@testable import SwitchyardPolicy
@testable import SwitchyardDecision
@testable import SwitchyardExecution
@testable import SwitchyardSignals
@testable import SwitchyardWire

/// The same conversation sent through any front is one request to the router: the same
/// summary, hence the same signals and the same decision.
@Suite("One conversation, any front")
struct FrontParityTests {
    static let openAI = #"""
    {"model":"auto","max_tokens":300,"messages":[
      {"role":"system","content":"You are terse."},
      {"role":"user","content":"What is 12*7? Explain why, step by step."},
      {"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"calc","arguments":"{\"x\":12}"}}]},
      {"role":"tool","tool_call_id":"c1","content":"84"},
      {"role":"user","content":"Thanks. Mail it to ann@example.com"}],
     "tools":[{"type":"function","function":{"name":"calc","parameters":{"type":"object"}}}]}
    """#

    static let anthropic = #"""
    {"model":"auto","max_tokens":300,"system":"You are terse.","messages":[
      {"role":"user","content":"What is 12*7? Explain why, step by step."},
      {"role":"assistant","content":[{"type":"tool_use","id":"c1","name":"calc","input":{"x":12}}]},
      {"role":"user","content":[{"type":"tool_result","tool_use_id":"c1","content":"84"}]},
      {"role":"user","content":"Thanks. Mail it to ann@example.com"}],
     "tools":[{"name":"calc","input_schema":{"type":"object"}}]}
    """#

    /// Responses' flat tools, its items for the call and its output, `instructions` for the system prompt.
    static let responses = #"""
    {"model":"auto","max_output_tokens":300,"instructions":"You are terse.","input":[
      {"role":"user","content":"What is 12*7? Explain why, step by step."},
      {"type":"function_call","call_id":"c1","name":"calc","arguments":"{\"x\":12}"},
      {"type":"function_call_output","call_id":"c1","output":"84"},
      {"type":"message","role":"user","content":[{"type":"input_text","text":"Thanks. Mail it to ann@example.com"}]}],
     "tools":[{"type":"function","name":"calc","parameters":{"type":"object"},"strict":false}]}
    """#

    /// The same conversation continued: its first turns stored as a response's items, the last one sent with `previous_response_id`.
    static let continuation = #"""
    {"model":"auto","max_output_tokens":300,"instructions":"You are terse.","previous_response_id":"resp_1",
     "input":[{"role":"user","content":"Thanks. Mail it to ann@example.com"}],
     "tools":[{"type":"function","name":"calc","parameters":{"type":"object"}}]}
    """#

    static let stored = #"""
    [{"type":"message","role":"user","content":"What is 12*7? Explain why, step by step."},
     {"id":"fc_1_0","type":"function_call","status":"completed","call_id":"c1","name":"calc","arguments":"{\"x\":12}"},
     {"type":"function_call_output","call_id":"c1","output":[{"type":"input_text","text":"84"}]}]
    """#

    @Test("the summaries agree on turns, tools, output cap and private data; the decisions agree")
    func sameDecision() async throws {
        let chat = try ChatRequest.parse(Array(Self.openAI.utf8)).summary
        let messages = try MessagesRequest.parse(Array(Self.anthropic.utf8)).summary
        let responses = try ResponsesRequest.parse(Array(Self.responses.utf8)).conversation().summary
        let earlier = try #require(JSON.parse(Self.stored).arrayValue)
        let continued = try ResponsesRequest.parse(Array(Self.continuation.utf8)).conversation(continuing: earlier).summary
        for other in [messages, responses, continued] {
            #expect(chat.turns.map(\.role) == other.turns.map(\.role))
            #expect(chat.turns.map(\.text) == other.turns.map(\.text))
            #expect(chat.hasTools == other.hasTools && chat.maxTokens == other.maxTokens && chat.stream == other.stream)
            #expect(chat.hasImages == other.hasImages)
        }

        let policy = try PolicyLoader.parse("""
        version: 1
        models:
          local: {kind: local, context: 8192}
          cloud: {kind: openai, base_url: "http://127.0.0.1:9/v1", model: m}
        constraints:
          private_data: {classes: [email], allowed_targets: [local]}
        rules:
          - {name: hard, when: complexity > 0.3 and messages >= 5 and tools, serve: cloud, fallbacks: [local]}
          - {name: rest, serve: local}
        """, file: "parity.yaml")
        let router = TestRouter(policy: policy, providers: [])
        let a = try await router.decide(chat)
        for other in [messages, responses, continued] {
            let b = try await router.decide(other)
            #expect(a.rule == b.rule && a.action == b.action && a.privateData == b.privateData && a.reason == b.reason)
            #expect(a.signals == b.signals && router.signal("complexity", in: a) != nil && router.signal("messages", in: a) != nil)
        }
        #expect(a.privateData == ["email"])
    }

    /// A continuation is routed as the whole conversation: private data in a stored turn counts
    /// though the request itself carries none.
    @Test("private data in an earlier, stored turn is found in the continuation")
    func storedPrivateData() async throws {
        let request = try ResponsesRequest.parse(Array(#"{"model":"auto","previous_response_id":"resp_1","input":"And now?"}"#.utf8))
        let earlier: [JSON] = [.object(["role": .string("user"), "content": .string("My card is 4111 1111 1111 1111.")])]
        let policy = try PolicyLoader.parse("""
        version: 1
        models:
          local: {kind: local, context: 8192}
          cloud: {kind: openai, base_url: "http://127.0.0.1:9/v1", model: m}
        constraints:
          private_data: {classes: [credit_card], allowed_targets: [local]}
        rules:
          - {name: rest, serve: cloud, fallbacks: [local]}
        """, file: "parity.yaml")
        let router = TestRouter(policy: policy, providers: [])
        let alone = try await router.decide(request.conversation().summary)
        #expect(alone.privateData.isEmpty && alone.action == .serve(["cloud", "local"]))
        let whole = try await router.decide(request.conversation(continuing: earlier).summary)
        #expect(whole.privateData == ["credit_card"] && whole.action == .serve(["local"]))
    }
}

@Suite("Prompt-cache pricing")
struct CachePricingTests {
    @Test("Anthropic's cache reads cost 0.1× the input price and writes 1.25×; the tokens all count as prompt")
    func cacheRates() throws {
        let usage = try #require(TokenUsage(anthropic: try JSON.parse(
            #"{"input_tokens":100,"cache_read_input_tokens":1000,"cache_creation_input_tokens":200,"output_tokens":10}"#)))
        #expect(usage.promptTokens == 1300 && usage.cacheReadTokens == 1000 && usage.cacheWriteTokens == 200)
        // $1 per million in and out: 100 + 1000 × 0.1 + 200 × 1.25 = 450 prompt-token equivalents, 10 out.
        #expect(Pricing.nanodollars(usage, Price(inputPerMillion: 1, outputPerMillion: 1)) == 460_000)
        #expect(TokenUsage(anthropic: try JSON.parse(#"{"input_tokens":1,"output_tokens":1,"cache_read_input_tokens":-5}"#)) == nil)
    }
}
