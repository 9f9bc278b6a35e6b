import Testing
@testable import SwitchyardPolicy
@testable import SwitchyardRouter
@testable import SwitchyardWire

/// The same conversation sent through either front is one request to the router: the same
/// summary, hence the same signals and the same decision.
@Suite("One conversation, either front")
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

    @Test("the summaries agree on turns, tools, output cap and private data; the decisions agree")
    func sameDecision() async throws {
        let chat = try ChatRequest.parse(Array(Self.openAI.utf8)).summary
        let messages = try MessagesRequest.parse(Array(Self.anthropic.utf8)).summary
        #expect(chat.turns.map(\.role) == messages.turns.map(\.role))
        #expect(chat.turns.map(\.text) == messages.turns.map(\.text))
        #expect(chat.hasTools == messages.hasTools && chat.maxTokens == messages.maxTokens)

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
        let router = RequestRouter(policy: policy, providers: [])
        let a = try await router.decide(chat)
        let b = try await router.decide(messages)
        #expect(a.rule == b.rule && a.action == b.action && a.privateData == b.privateData && a.reason == b.reason)
        #expect(a.signals.complexity == b.signals.complexity && a.signals.messages == b.signals.messages)
        #expect(a.privateData == ["email"])
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
