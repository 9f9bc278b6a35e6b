import Testing
import SwitchyardWire
@testable import SwitchyardProviders

@Suite("Anthropic translation")
struct AnthropicTranslationTests {
    @Test("system prompts, tool calls and results, and parameters map to the Messages API")
    func request() throws {
        let chat = try ChatRequest.parse(Array(#"""
        {"model":"auto","temperature":1.6,"top_p":0.9,"stop":["END"],"user":"u1","max_tokens":64,
         "messages":[
          {"role":"system","content":"Be brief."},
          {"role":"developer","content":"Use metric units."},
          {"role":"user","content":[{"type":"text","text":"Weather?"},{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}}]},
          {"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"weather","arguments":"{\"city\":\"Oslo\"}"}}]},
          {"role":"tool","tool_call_id":"call_1","content":"4 C"},
          {"role":"user","content":"And tomorrow?"}],
         "tools":[{"type":"function","function":{"name":"weather","description":"Current weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}],
         "tool_choice":"required"}
        """#.utf8))
        let body = try AnthropicTranslation.request(chat, model: "claude-x", stream: true, defaultMaxTokens: 4096)
        let expected = try JSON.parse(#"""
        {"model":"claude-x","max_tokens":64,
         "messages":[
          {"role":"user","content":[{"type":"text","text":"Weather?"},{"type":"image","source":{"type":"base64","media_type":"image/png","data":"AAAA"}}]},
          {"role":"assistant","content":[{"type":"tool_use","id":"call_1","name":"weather","input":{"city":"Oslo"}}]},
          {"role":"user","content":[{"type":"tool_result","tool_use_id":"call_1","content":"4 C"},{"type":"text","text":"And tomorrow?"}]}],
         "system":"Be brief.\n\nUse metric units.",
         "temperature":1,"top_p":0.9,"stop_sequences":["END"],"metadata":{"user_id":"u1"},"stream":true,
         "tools":[{"name":"weather","input_schema":{"type":"object","properties":{"city":{"type":"string"}}},"description":"Current weather"}],
         "tool_choice":{"type":"any"}}
        """#)
        #expect(JSON.object(body) == expected)
    }

    @Test("max_tokens is always sent, since Anthropic requires it")
    func defaultMaxTokens() throws {
        let chat = try ChatRequest.parse(Array(#"{"model":"auto","messages":[{"role":"user","content":"hi"}]}"#.utf8))
        #expect(try AnthropicTranslation.request(chat, model: "m", stream: false, defaultMaxTokens: 777)["max_tokens"] == .int(777))
    }

    @Test("a message with text and a tool call becomes an OpenAI completion")
    func completion() throws {
        let message = try #require(JSON.parse(#"""
        {"id":"msg_1","type":"message","role":"assistant","model":"claude-x",
         "content":[{"type":"text","text":"Checking."},{"type":"tool_use","id":"tu_1","name":"weather","input":{"city":"Oslo"}}],
         "stop_reason":"tool_use","usage":{"input_tokens":20,"output_tokens":9}}
        """#).objectValue)
        let completion = try AnthropicTranslation.completion(message, requestID: "abc")
        #expect(completion["id"] == .string("chatcmpl-abc"))
        #expect(completion["model"] == .string("claude-x"))
        let choice = try #require(completion["choices"]?.arrayValue?.first)
        #expect(choice["finish_reason"] == .string("tool_calls"))
        #expect(choice["message"]?["content"] == .string("Checking."))
        let call = try #require(choice["message"]?["tool_calls"]?.arrayValue?.first)
        #expect(call["id"] == .string("tu_1"))
        #expect(call["function"]?["name"] == .string("weather"))
        #expect(try JSON.parse(#require(call["function"]?["arguments"]?.stringValue)) == .object(["city": .string("Oslo")]))
        #expect(completion["usage"] == .object(["prompt_tokens": .int(20), "completion_tokens": .int(9), "total_tokens": .int(29)]))
    }

    @Test("stop reasons map to OpenAI finish reasons", arguments: [
        ("end_turn", "stop"), ("stop_sequence", "stop"), ("max_tokens", "length"), ("tool_use", "tool_calls"), ("refusal", "content_filter"),
    ])
    func stopReasons(_ anthropic: String, _ openAI: String) {
        #expect(AnthropicTranslation.finishReason(anthropic) == .string(openAI))
    }

    @Test("stream events become chunks: role, text, tool-call deltas, finish reason, usage, end")
    func streamEvents() throws {
        var translator = AnthropicStreamTranslator(id: "chatcmpl-x", created: 1)
        let events: [(String, String)] = [
            ("message_start", #"{"type":"message_start","message":{"model":"claude-x","usage":{"input_tokens":25,"output_tokens":1}}}"#),
            ("content_block_start", #"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#),
            ("content_block_delta", #"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}"#),
            ("ping", #"{"type":"ping"}"#),
            ("content_block_start", #"{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"tu_1","name":"f","input":{}}}"#),
            ("content_block_delta", #"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"a\":"}}"#),
            ("message_delta", #"{"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":15}}"#),
            ("message_stop", #"{"type":"message_stop"}"#),
        ]
        var chunks: [JSONObject] = []
        var ended = false
        for (name, data) in events {
            let (out, done) = try translator.translate(SSEEvent(event: name, data: data))
            chunks += out
            ended = done
        }
        #expect(ended)
        let deltas = chunks.compactMap { $0["choices"]?.arrayValue?.first?["delta"] }
        #expect(deltas[0] == .object(["role": .string("assistant"), "content": .string("")]))
        #expect(deltas[1] == .object(["content": .string("Hi")]))
        #expect(deltas[2]["tool_calls"]?.arrayValue?.first?["id"] == .string("tu_1"))
        #expect(deltas[3]["tool_calls"]?.arrayValue?.first?["function"]?["arguments"] == .string(#"{"a":"#))
        #expect(chunks[4]["choices"]?.arrayValue?.first?["finish_reason"] == .string("tool_calls"))
        #expect(chunks[5]["usage"] == .object(["prompt_tokens": .int(25), "completion_tokens": .int(15), "total_tokens": .int(40)]))
        #expect(chunks.allSatisfy { $0["model"] == .string("claude-x") && $0["object"] == .string("chat.completion.chunk") })
    }

    @Test("an error event in the stream is an upstream error, not an end")
    func streamError() {
        var translator = AnthropicStreamTranslator(id: "x", created: 1)
        #expect(throws: ProviderError.upstreamStatus(529, message: "Overloaded")) {
            try translator.translate(SSEEvent(event: "error", data: #"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#))
        }
    }
}
