import Testing
@testable import SwitchyardWire

private func object(_ text: String) throws -> JSONObject {
    try #require(JSON.parse(text).objectValue)
}

@Suite("Anthropic Messages request validation")
struct MessagesRequestTests {
    func parse(_ text: String, countingTokens: Bool = false) throws(GatewayError) -> MessagesRequest {
        try MessagesRequest.parse(Array(text.utf8), countingTokens: countingTokens)
    }

    func rejection(_ text: String) -> GatewayError? {
        do {
            _ = try parse(text)
            return nil
        } catch {
            return error
        }
    }

    static let ok = #""model":"auto","max_tokens":16"#
    static let hi = #""messages":[{"role":"user","content":"hi"}]"#

    @Test("each invalid field is named by its dotted path", arguments: [
        (#"not json"#, nil),
        (#"[1]"#, nil),
        (#"{"max_tokens":16,\#(hi)}"#, "model"),
        (#"{"model":7,"max_tokens":16,\#(hi)}"#, "model"),
        (#"{"model":"auto",\#(hi)}"#, "max_tokens"),
        (#"{"model":"auto","max_tokens":0,\#(hi)}"#, "max_tokens"),
        (#"{"model":"auto","max_tokens":1.5,\#(hi)}"#, "max_tokens"),
        (#"{"model":"auto","max_tokens":-3,\#(hi)}"#, "max_tokens"),
        (#"{"model":"auto","max_tokens":99999999999999999999999999,\#(hi)}"#, "max_tokens"),
        (#"{"model":"auto","max_tokens":1e400,\#(hi)}"#, "max_tokens"),
        (#"{\#(ok)}"#, "messages"),
        (#"{\#(ok),"messages":[]}"#, "messages"),
        (#"{\#(ok),"messages":{}}"#, "messages"),
        (#"{\#(ok),"messages":["hi"]}"#, "messages.0"),
        (#"{\#(ok),"messages":[{"role":"system","content":"x"}]}"#, "messages.0.role"),
        (#"{\#(ok),"messages":[{"content":"x"}]}"#, "messages.0.role"),
        (#"{\#(ok),"messages":[{"role":"user"}]}"#, "messages.0.content"),
        (#"{\#(ok),"messages":[{"role":"user","content":5}]}"#, "messages.0.content"),
        (#"{\#(ok),"messages":[{"role":"user","content":[{"text":"x"}]}]}"#, "messages.0.content.0.type"),
        (#"{\#(ok),"messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"text"}]}]}"#, "messages.0.content.1.text"),
        (#"{\#(ok),"messages":[{"role":"user","content":[{"type":"image","source":{"type":"base64","data":"AA"}}]}]}"#,
         "messages.0.content.0.source.media_type"),
        (#"{\#(ok),"messages":[{"role":"user","content":[{"type":"image","source":{"type":"ftp"}}]}]}"#, "messages.0.content.0.source.type"),
        (#"{\#(ok),"messages":[{"role":"user","content":[{"type":"image","source":{"type":"url"}}]}]}"#, "messages.0.content.0.source.url"),
        (#"{\#(ok),"messages":[{"role":"user","content":[{"type":"document"}]}]}"#, "messages.0.content.0.source"),
        (#"{\#(ok),"messages":[{"role":"user","content":"a"},{"role":"assistant","content":[{"type":"tool_use","id":"t","name":"f","input":"x"}]}]}"#,
         "messages.1.content.0.input"),
        (#"{\#(ok),"messages":[{"role":"user","content":"a"},{"role":"assistant","content":[{"type":"tool_use","name":"f","input":{}}]}]}"#,
         "messages.1.content.0.id"),
        (#"{\#(ok),"messages":[{"role":"user","content":[{"type":"tool_use","id":"t","name":"f","input":{}}]}]}"#, "messages.0.content.0.type"),
        (#"{\#(ok),"messages":[{"role":"user","content":[{"type":"tool_result","content":"x"}]}]}"#, "messages.0.content.0.tool_use_id"),
        (#"{\#(ok),"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":[{"type":"text"}]}]}]}"#,
         "messages.0.content.0.content.0.text"),
        (#"{\#(ok),"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":3}]}]}"#, "messages.0.content.0.content"),
        (#"{\#(ok),"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","is_error":"yes"}]}]}"#,
         "messages.0.content.0.is_error"),
        (#"{\#(ok),"messages":[{"role":"assistant","content":[{"type":"thinking","thinking":"hm"}]}]}"#, "messages.0.content.0.signature"),
        (#"{\#(ok),"messages":[{"role":"assistant","content":[{"type":"redacted_thinking"}]}]}"#, "messages.0.content.0.data"),
        (#"{\#(ok),\#(hi),"system":5}"#, "system"),
        (#"{\#(ok),\#(hi),"system":[{"type":"image"}]}"#, "system.0.type"),
        (#"{\#(ok),\#(hi),"system":[{"type":"text"}]}"#, "system.0.text"),
        (#"{\#(ok),\#(hi),"temperature":2}"#, "temperature"),
        (#"{\#(ok),\#(hi),"temperature":"hot"}"#, "temperature"),
        (#"{\#(ok),\#(hi),"top_p":1.5}"#, "top_p"),
        (#"{\#(ok),\#(hi),"top_k":-1}"#, "top_k"),
        (#"{\#(ok),\#(hi),"stop_sequences":["a","b","c","d","e"]}"#, "stop_sequences"),
        (#"{\#(ok),\#(hi),"stop_sequences":["a",1]}"#, "stop_sequences.1"),
        (#"{\#(ok),\#(hi),"stop_sequences":"a"}"#, "stop_sequences"),
        (#"{\#(ok),\#(hi),"stream":"yes"}"#, "stream"),
        (#"{\#(ok),\#(hi),"tools":{}}"#, "tools"),
        (#"{\#(ok),\#(hi),"tools":[{"input_schema":{}}]}"#, "tools.0.name"),
        (#"{\#(ok),\#(hi),"tools":[{"name":"f"}]}"#, "tools.0.input_schema"),
        (#"{\#(ok),\#(hi),"tools":[{"name":"f","type":"custom","input_schema":[]}]}"#, "tools.0.input_schema"),
        (#"{\#(ok),\#(hi),"tool_choice":"auto"}"#, "tool_choice"),
        (#"{\#(ok),\#(hi),"tool_choice":{"type":"some"}}"#, "tool_choice.type"),
        (#"{\#(ok),\#(hi),"tool_choice":{"type":"tool"}}"#, "tool_choice.name"),
        (#"{\#(ok),\#(hi),"tool_choice":{"type":"auto","disable_parallel_tool_use":1}}"#, "tool_choice.disable_parallel_tool_use"),
        (#"{\#(ok),\#(hi),"metadata":{"user_id":5}}"#, "metadata.user_id"),
        (#"{\#(ok),\#(hi),"metadata":[]}"#, "metadata"),
        (#"{\#(ok),\#(hi),"thinking":{"type":"on"}}"#, "thinking.type"),
        (#"{\#(ok),\#(hi),"thinking":{"type":"enabled"}}"#, "thinking.budget_tokens"),
        (#"{\#(ok),\#(hi),"thinking":{"type":"enabled","budget_tokens":1023}}"#, "thinking.budget_tokens"),
        (#"{\#(ok),\#(hi),"model":"again"}"#, "model"),
        (#"{\#(ok),"messages":[{"role":"user","content":"x","role":"assistant"}]}"#, "messages.0.role"),
    ] as [(String, String?)])
    func invalid(_ text: String, param: String?) throws {
        let error = try #require(rejection(text))
        #expect(error.status == 400)
        #expect(error.param == param)
        #expect(error.anthropicBody["error"]?["type"] == .string("invalid_request_error"))
        #expect(error.message.isEmpty == false)
    }

    @Test("duplicate keys are refused with their own code")
    func duplicateKey() throws {
        let error = try #require(rejection(#"{\#(Self.ok),\#(Self.hi),"max_tokens":17}"#))
        #expect(error.code == "duplicate_key")
    }

    @Test("the stop-sequence limit says why it is 4")
    func stopSequenceMessage() throws {
        let error = try #require(rejection(#"{\#(Self.ok),\#(Self.hi),"stop_sequences":["a","b","c","d","e"]}"#))
        #expect(error.message.contains("at most 4"))
        #expect(error.message.contains("OpenAI-compatible"))
    }

    @Test("valid requests: every known field, server tools and unknown blocks and fields pass")
    func valid() throws {
        let text = #"""
        {"model":"auto","max_tokens":64,"future_field":{"x":[1,2]},"system":[{"type":"text","text":"Be brief.","cache_control":{"type":"ephemeral"}}],
         "messages":[{"role":"user","content":[{"type":"text","text":"hi"},{"type":"search_result","anything":1},
           {"type":"image","source":{"type":"file","file_id":"f1"}},{"type":"document","source":{"type":"base64","media_type":"application/pdf","data":"AA"}}]},
          {"role":"assistant","content":[{"type":"thinking","thinking":"hm","signature":"sig"},{"type":"redacted_thinking","data":"xx"},
           {"type":"server_tool_use","id":"s","name":"web_search","input":{}}]}],
         "temperature":1,"top_p":0,"top_k":0,"stop_sequences":["a","b","c","d"],"stream":false,
         "tools":[{"name":"f","input_schema":{"type":"object"}},{"type":"web_search_20250305","name":"web_search","max_uses":3}],
         "tool_choice":{"type":"tool","name":"f","disable_parallel_tool_use":true},"metadata":{"user_id":null},
         "thinking":{"type":"enabled","budget_tokens":1024}}
        """#
        let request = try parse(text)
        #expect(request.model == "auto")
        #expect(request.maxTokens == 64)
        #expect(request.stream == false)
        #expect(request.body.keys.first == "model")
        #expect(request.body.keys.contains("future_field"))
        #expect(JSON.object(request.body) == (try JSON.parse(text)))
    }

    @Test("count_tokens bodies need no max_tokens, and their summary has no output cap")
    func countingTokens() throws {
        let request = try parse(#"{"model":"auto",\#(Self.hi)}"#, countingTokens: true)
        #expect(request.maxTokens == 0)
        #expect(request.summary.maxTokens == nil)
        #expect(throws: GatewayError.self) { try parse(#"{"model":"auto",\#(Self.hi)}"#) }
    }

    @Test("the summary reads system, turns, tool traffic, images, tools and size")
    func summary() throws {
        let text = #"""
        {"model":"auto","max_tokens":100,"stream":true,"system":[{"type":"text","text":"Be brief."},{"type":"text","text":"Use metric."}],
         "tools":[{"name":"weather","input_schema":{"type":"object"}}],
         "messages":[
          {"role":"user","content":[{"type":"text","text":"Weather?"},{"type":"image","source":{"type":"url","url":"http://x/y.png"}}]},
          {"role":"assistant","content":[{"type":"text","text":"Checking."},{"type":"tool_use","id":"t1","name":"weather","input":{"city":"Oslo"}}]},
          {"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":[{"type":"text","text":"4 C"},
            {"type":"image","source":{"type":"base64","media_type":"image/png","data":"AA"}}]}]},
          {"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":"5 C"},{"type":"text","text":"Tomorrow?"}]}]}
        """#
        let request = try parse(text)
        let summary = request.summary
        #expect(summary.model == "auto")
        #expect(summary.maxTokens == 100)
        #expect(summary.stream)
        #expect(summary.hasTools)
        #expect(summary.hasImages)
        #expect(summary.sizeInBytes == text.utf8.count)
        #expect(summary.turns == [
            RequestSummary.Turn(role: .system, text: "Be brief.\nUse metric."),
            RequestSummary.Turn(role: .user, text: "Weather?", hasImages: true),
            RequestSummary.Turn(role: .assistant, text: "Checking.\n{\"city\":\"Oslo\"}"),
            RequestSummary.Turn(role: .tool, text: "4 C", hasImages: true),
            RequestSummary.Turn(role: .user, text: "5 C\nTomorrow?"),
        ])
    }

    @Test("no system turn for an empty system prompt; no tools for an empty list")
    func summaryEmpty() throws {
        let request = try parse(#"{\#(Self.ok),\#(Self.hi),"system":"","tools":[]}"#)
        #expect(request.summary.turns == [RequestSummary.Turn(role: .user, text: "hi")])
        #expect(!request.summary.hasTools)
        #expect(!request.summary.hasImages)
    }
}

@Suite("Anthropic Messages to OpenAI chat")
struct MessagesToChatTests {
    @Test("a tool round trip becomes OpenAI messages in OpenAI's order")
    func toolRoundTrip() throws {
        let request = try MessagesRequest(body: object(#"""
        {"model":"auto","max_tokens":64,"system":"Be brief.","temperature":0.5,"top_p":0.9,"top_k":40,
         "stop_sequences":["END"],"metadata":{"user_id":"u1"},"stream":true,"thinking":{"type":"enabled","budget_tokens":2048},
         "messages":[
          {"role":"user","content":[{"type":"text","text":"Weather?"},{"type":"image","source":{"type":"base64","media_type":"image/png","data":"AAAA"}},
            {"type":"image","source":{"type":"url","url":"http://x/y.png"}}]},
          {"role":"assistant","content":[{"type":"thinking","thinking":"hm","signature":"s"},{"type":"text","text":"Checking."},
            {"type":"tool_use","id":"t1","name":"weather","input":{"city":"Oslo"}},{"type":"tool_use","id":"t2","name":"time","input":{}}]},
          {"role":"user","content":[{"type":"text","text":"Thanks."},{"type":"tool_result","tool_use_id":"t1","content":[{"type":"text","text":"4 C"},{"type":"text","text":"windy"}]},
            {"type":"tool_result","tool_use_id":"t2","content":"no clock","is_error":true},
            {"type":"document","source":{"type":"text","media_type":"text/plain","data":"Notes."}}]},
          {"role":"assistant","content":[{"type":"tool_use","id":"t3","name":"weather","input":{"city":"Bergen"}}]},
          {"role":"user","content":[{"type":"tool_result","tool_use_id":"t3"}]}],
         "tools":[{"name":"weather","description":"Current weather","input_schema":{"type":"object","properties":{"city":{"type":"string"}}}},
           {"name":"time","input_schema":{"type":"object"}},{"type":"web_search_20250305","name":"web_search"}],
         "tool_choice":{"type":"any","disable_parallel_tool_use":true}}
        """#))
        let chat = try request.chatRequest()
        let expected = try JSON.parse(#"""
        {"model":"auto",
         "messages":[
          {"role":"system","content":"Be brief."},
          {"role":"user","content":[{"type":"text","text":"Weather?"},{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}},
            {"type":"image_url","image_url":{"url":"http://x/y.png"}}]},
          {"role":"assistant","content":"Checking.","tool_calls":[
            {"id":"t1","type":"function","function":{"name":"weather","arguments":"{\"city\":\"Oslo\"}"}},
            {"id":"t2","type":"function","function":{"name":"time","arguments":"{}"}}]},
          {"role":"tool","tool_call_id":"t1","content":"4 C\nwindy"},
          {"role":"tool","tool_call_id":"t2","content":"Error: no clock"},
          {"role":"user","content":[{"type":"text","text":"Thanks."},{"type":"text","text":"Notes."}]},
          {"role":"assistant","content":null,"tool_calls":[{"id":"t3","type":"function","function":{"name":"weather","arguments":"{\"city\":\"Bergen\"}"}}]},
          {"role":"tool","tool_call_id":"t3","content":""}],
         "max_tokens":64,"temperature":0.5,"top_p":0.9,"top_k":40,"stop":["END"],"user":"u1",
         "stream":true,"stream_options":{"include_usage":true},
         "tools":[{"type":"function","function":{"name":"weather","description":"Current weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}},
           {"type":"function","function":{"name":"time","parameters":{"type":"object"}}}],
         "tool_choice":"required","parallel_tool_calls":false}
        """#)
        #expect(JSON.object(chat.body) == expected)
        #expect(chat.localOnlyFields == ["top_k"])
        #expect(chat.stream && chat.includeUsage)
        #expect(chat.maxTokens == 64)
        #expect(chat.messages.map(\.role) == [.system, .user, .assistant, .tool, .tool, .user, .assistant, .tool])
    }

    @Test("a lone text block is a plain string; simple requests stay simple")
    func simple() throws {
        let request = try MessagesRequest(body: object(#"""
        {"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"text","text":"hi"}]},{"role":"assistant","content":"yo"}]}
        """#))
        let chat = try request.chatRequest()
        #expect(JSON.object(chat.body) == (try JSON.parse(#"""
        {"model":"m","messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"yo"}],"max_tokens":5}
        """#)))
        #expect(chat.localOnlyFields.isEmpty)
    }

    @Test("tool_choice mappings, and server-only tools leave no tools behind")
    func toolChoice() throws {
        func chat(_ extra: String) throws -> JSONObject {
            try MessagesRequest(body: object(#"{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"x"}],\#(extra)}"#)).chatRequest().body
        }
        let tools = #""tools":[{"name":"f","input_schema":{"type":"object"}}]"#
        #expect(try chat(#"\#(tools),"tool_choice":{"type":"auto"}"#)["tool_choice"] == .string("auto"))
        #expect(try chat(#"\#(tools),"tool_choice":{"type":"none"}"#)["tool_choice"] == .string("none"))
        #expect(try chat(#"\#(tools),"tool_choice":{"type":"tool","name":"f"}"#)["tool_choice"]
                == .object(["type": .string("function"), "function": .object(["name": .string("f")])]))
        #expect(try chat(#"\#(tools),"tool_choice":{"type":"tool","name":"web"}"#)["tool_choice"] == nil)
        let serverOnly = try chat(#""tools":[{"type":"web_search_20250305","name":"web"}],"tool_choice":{"type":"any","disable_parallel_tool_use":true}"#)
        #expect(serverOnly["tools"] == nil && serverOnly["tool_choice"] == nil && serverOnly["parallel_tool_calls"] == nil)
    }

    @Test("a count_tokens body translates without max_tokens")
    func countingTokens() throws {
        let request = try MessagesRequest(body: object(#"{"model":"m","messages":[{"role":"user","content":"x"}]}"#), countingTokens: true)
        #expect(try request.chatRequest().body["max_tokens"] == nil)
    }
}

@Suite("OpenAI completions as Anthropic messages")
struct ChatToMessagesTests {
    @Test("text, tool calls and usage")
    func textAndTools() throws {
        let completion = try object(#"""
        {"id":"chatcmpl-1","object":"chat.completion","choices":[{"index":0,"finish_reason":"tool_calls",
          "message":{"role":"assistant","content":"Checking.","tool_calls":[
            {"id":"call_1","type":"function","function":{"name":"weather","arguments":"{\"city\":\"Oslo\"}"}},
            {"id":"call_2","type":"function","function":{"name":"time","arguments":"not json"}},
            {"id":"call_3","type":"function","function":{"name":"list","arguments":"[1]"}}]}}],
         "usage":{"prompt_tokens":20,"completion_tokens":9,"total_tokens":29}}
        """#)
        let message = AnthropicMessages.message(from: completion, id: "msg_1", model: "auto")
        #expect(JSON.object(message) == (try JSON.parse(#"""
        {"id":"msg_1","type":"message","role":"assistant","model":"auto",
         "content":[{"type":"text","text":"Checking."},
          {"type":"tool_use","id":"call_1","name":"weather","input":{"city":"Oslo"}},
          {"type":"tool_use","id":"call_2","name":"time","input":{}},
          {"type":"tool_use","id":"call_3","name":"list","input":{}}],
         "stop_reason":"tool_use","stop_sequence":null,"usage":{"input_tokens":20,"output_tokens":9}}
        """#)))
    }

    @Test("tool calls without text have no text block; a stop finish with calls is tool_use")
    func toolsOnly() throws {
        let completion = try object(#"""
        {"choices":[{"finish_reason":"stop","message":{"role":"assistant","content":null,
          "tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{}"}}]}}]}
        """#)
        let message = AnthropicMessages.message(from: completion, id: "m", model: "x")
        #expect(message["content"]?.arrayValue?.map { $0["type"] } == [.string("tool_use")])
        #expect(message["stop_reason"] == .string("tool_use"))
    }

    @Test("an empty or hostile completion still gives one text block and zero usage")
    func empty() throws {
        for text in [#"{}"#, #"{"choices":[]}"#, #"{"choices":[{"message":{"content":null}}],"usage":{"prompt_tokens":-1,"completion_tokens":"x"}}"#,
                     #"{"choices":"x","usage":7}"#] {
            let message = AnthropicMessages.message(from: try object(text), id: "m", model: "x")
            #expect(message["content"] == .array([.object(["type": .string("text"), "text": .string("")])]))
            #expect(message["stop_reason"] == .string("end_turn"))
            #expect(message["usage"] == .object(["input_tokens": .int(0), "output_tokens": .int(0)]))
        }
    }

    @Test("finish reasons map to stop reasons", arguments: [
        ("stop", "end_turn"), ("length", "max_tokens"), ("tool_calls", "tool_use"), ("function_call", "tool_use"),
        ("content_filter", "refusal"), ("something_new", "end_turn"), (nil, "end_turn"),
    ] as [(String?, String)])
    func stopReasons(_ finish: String?, _ stop: String) throws {
        #expect(AnthropicMessages.stopReason(finishReason: finish) == stop)
        var completion: JSONObject = ["choices": .array([.object(["message": .object(["content": .string("x")]),
                                                                   "finish_reason": finish.map(JSON.string) ?? .null])])]
        completion["usage"] = .object(["prompt_tokens": .int(1), "completion_tokens": .int(2)])
        #expect(AnthropicMessages.message(from: completion, id: "m", model: "x")["stop_reason"] == .string(stop))
    }
}

@Suite("Anthropic stream encoder")
struct MessagesStreamEncoderTests {
    static func chunk(content: String? = nil, toolCalls: [JSON]? = nil, finish: String? = nil) -> JSONObject {
        var delta: JSONObject = [:]
        if let content { delta["content"] = .string(content) }
        if let toolCalls { delta["tool_calls"] = .array(toolCalls) }
        return ["object": .string("chat.completion.chunk"),
                "choices": .array([.object(["index": .int(0), "delta": .object(delta), "finish_reason": finish.map(JSON.string) ?? .null])])]
    }

    static func call(_ index: Int, id: String? = nil, name: String? = nil, arguments: String? = nil) -> JSON {
        var function: JSONObject = [:]
        if let name { function["name"] = .string(name) }
        if let arguments { function["arguments"] = .string(arguments) }
        var call: JSONObject = ["index": .int(index)]
        if let id { call["id"] = .string(id); call["type"] = .string("function") }
        call["function"] = .object(function)
        return .object(call)
    }

    /// `type@index` for block events, `type` for the others.
    static func shape(_ events: [AnthropicEvent]) -> [String] {
        events.map { event in event.data["index"]?.intValue.map { "\(event.type)@\($0)" } ?? event.type }
    }

    static func text(_ events: [AnthropicEvent], index: Int, field: String) -> String {
        events.filter { $0.type == "content_block_delta" && $0.data["index"]?.intValue == index }
            .compactMap { $0.data["delta"]?[field]?.stringValue }.joined()
    }

    @Test("text only")
    func textOnly() {
        var encoder = MessagesStreamEncoder(id: "msg_1", model: "auto", inputTokens: 12)
        var events: [AnthropicEvent] = []
        for piece in ["", "Hel", "lo", "", " world"] { events += encoder.events(for: Self.chunk(content: piece)) }
        events += encoder.events(for: Self.chunk(finish: "stop"))
        events += encoder.events(for: ["choices": .array([]), "usage": .object(["prompt_tokens": .int(99), "completion_tokens": .int(99)])])
        events += encoder.finish(usage: TokenUsage(promptTokens: 12, completionTokens: 3))
        #expect(Self.shape(events) == ["message_start", "ping", "content_block_start@0", "content_block_delta@0", "content_block_delta@0",
                                       "content_block_delta@0", "content_block_stop@0", "message_delta", "message_stop"])
        #expect(Self.text(events, index: 0, field: "text") == "Hello world")
        #expect(events[0].data["message"]?["usage"] == .object(["input_tokens": .int(12), "output_tokens": .int(0)]))
        #expect(events[0].data["message"]?["content"] == .array([]))
        #expect(events[0].data["message"]?["stop_reason"] == .null)
        #expect(events[2].data["content_block"] == .object(["type": .string("text"), "text": .string("")]))
        let delta = events[events.count - 2].data
        #expect(delta["delta"] == .object(["stop_reason": .string("end_turn"), "stop_sequence": .null]))
        #expect(delta["usage"] == .object(["output_tokens": .int(3), "input_tokens": .int(12)]))
        #expect(encoder.finish(usage: nil).isEmpty)
        #expect(encoder.events(for: Self.chunk(content: "late")).isEmpty)
    }

    @Test("text, then two tool calls in pieces")
    func textThenTools() {
        var encoder = MessagesStreamEncoder(id: "msg_1", model: "auto", inputTokens: nil)
        var events: [AnthropicEvent] = []
        events += encoder.events(for: Self.chunk(content: "Let me check."))
        events += encoder.events(for: Self.chunk(toolCalls: [Self.call(0, id: "call_a", name: "weather", arguments: "")]))
        for piece in ["{\"ci", "ty\":", "\"Oslo\"}"] { events += encoder.events(for: Self.chunk(toolCalls: [Self.call(0, arguments: piece)])) }
        events += encoder.events(for: Self.chunk(toolCalls: [Self.call(1, id: "call_b", name: "time", arguments: "{")]))
        events += encoder.events(for: Self.chunk(toolCalls: [Self.call(1, arguments: "}")]))
        events += encoder.events(for: Self.chunk(finish: "tool_calls"))
        events += encoder.finish(usage: nil)
        #expect(Self.shape(events) == [
            "message_start", "ping",
            "content_block_start@0", "content_block_delta@0", "content_block_stop@0",
            "content_block_start@1", "content_block_delta@1", "content_block_delta@1", "content_block_delta@1", "content_block_stop@1",
            "content_block_start@2", "content_block_delta@2", "content_block_delta@2", "content_block_stop@2",
            "message_delta", "message_stop",
        ])
        #expect(Self.text(events, index: 0, field: "text") == "Let me check.")
        #expect(Self.text(events, index: 1, field: "partial_json") == "{\"city\":\"Oslo\"}")
        #expect(Self.text(events, index: 2, field: "partial_json") == "{}")
        #expect(events[5].data["content_block"] == .object(["type": .string("tool_use"), "id": .string("call_a"),
                                                            "name": .string("weather"), "input": .object([:])]))
        #expect(events[6].data["delta"]?["type"] == .string("input_json_delta"))
        #expect(events[10].data["content_block"]?["name"] == .string("time"))
        #expect(events[events.count - 2].data["delta"]?["stop_reason"] == .string("tool_use"))
        #expect(events[events.count - 2].data["usage"] == .object(["output_tokens": .int(0), "input_tokens": .int(0)]))
    }

    @Test("a tool call alone, finished with stop, announces tool_use")
    func toolOnly() {
        var encoder = MessagesStreamEncoder(id: "m", model: "x", inputTokens: 5)
        var events = encoder.events(for: Self.chunk(content: "", toolCalls: [Self.call(0, id: "c", name: "f", arguments: "{\"a\":1}")], finish: "stop"))
        events += encoder.finish(usage: TokenUsage(promptTokens: 7, completionTokens: 4))
        #expect(Self.shape(events) == ["message_start", "ping", "content_block_start@0", "content_block_delta@0", "content_block_stop@0",
                                       "message_delta", "message_stop"])
        #expect(Self.text(events, index: 0, field: "partial_json") == "{\"a\":1}")
        #expect(events[5].data["delta"]?["stop_reason"] == .string("tool_use"))
        #expect(events[5].data["usage"] == .object(["output_tokens": .int(4), "input_tokens": .int(7)]))
    }

    @Test("finish with no chunks at all is still a whole stream")
    func noChunks() {
        var encoder = MessagesStreamEncoder(id: "m", model: "x", inputTokens: 3)
        let events = encoder.finish(usage: nil)
        #expect(Self.shape(events) == ["message_start", "ping", "message_delta", "message_stop"])
        #expect(events[2].data["usage"] == .object(["output_tokens": .int(0), "input_tokens": .int(3)]))
    }

    @Test("text after a tool call opens a new block; max_tokens is reported")
    func textAfterTool() {
        var encoder = MessagesStreamEncoder(id: "m", model: "x", inputTokens: nil)
        var events = encoder.events(for: Self.chunk(toolCalls: [Self.call(0, id: "c", name: "f")]))
        events += encoder.events(for: Self.chunk(content: "more", finish: "length"))
        events += encoder.finish(usage: nil)
        #expect(Self.shape(events) == ["message_start", "ping", "content_block_start@0", "content_block_stop@0",
                                       "content_block_start@1", "content_block_delta@1", "content_block_stop@1", "message_delta", "message_stop"])
        #expect(events[7].data["delta"]?["stop_reason"] == .string("max_tokens"))
    }

    @Test("hostile chunks are skipped, never fatal")
    func hostile() throws {
        var encoder = MessagesStreamEncoder(id: "m", model: "x", inputTokens: nil)
        var events: [AnthropicEvent] = []
        for text in [#"{}"#, #"{"choices":7}"#, #"{"choices":[5]}"#, #"{"choices":[{"delta":3}]}"#, #"{"choices":[{"delta":{"content":4}}]}"#,
                     #"{"choices":[{"delta":{"tool_calls":"x"}}]}"#, #"{"choices":[{"delta":{"tool_calls":[1,null,{"index":"a"}]}}]}"#,
                     #"{"choices":[{"delta":{"tool_calls":[{"index":1e300,"function":{"arguments":"{"}}]}}]}"#,
                     #"{"choices":[{"delta":{"tool_calls":[{"index":-4,"id":5,"function":{"name":[]}}]}}]}"#,
                     #"{"choices":[{"finish_reason":12}]}"#] {
            events += encoder.events(for: try object(text))
        }
        events += encoder.finish(usage: nil)
        #expect(Self.shape(events) == ["message_start", "ping", "message_delta", "message_stop"])
    }

    @Test("frames are event: TYPE, data: JSON, blank line")
    func frames() throws {
        let event = AnthropicEvent(type: "content_block_stop", data: ["index": .int(0)])
        #expect(String(decoding: event.frame, as: UTF8.self) == "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n")
        let forwarded = AnthropicEvent.framing(try object(#"{"type":"ping"}"#))
        #expect(String(decoding: forwarded.frame, as: UTF8.self) == "event: ping\ndata: {\"type\":\"ping\"}\n\n")
        let hostile = AnthropicEvent.framing(try object(#"{"type":"a\nevent: b","x":1}"#))
        #expect(String(decoding: hostile.frame, as: UTF8.self) == "data: {\"type\":\"a\\nevent: b\",\"x\":1}\n\n")
        let error = AnthropicEvent.error(.invalidRequest("bad", param: "x"))
        #expect(error.type == "error")
        #expect(String(decoding: error.frame, as: UTF8.self)
                == "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"invalid_request_error\",\"message\":\"bad\"}}\n\n")
        // Every encoder frame parses back to its own data, under its own type.
        var encoder = MessagesStreamEncoder(id: "m", model: "x", inputTokens: 1)
        for event in encoder.events(for: Self.chunk(content: "hi")) + encoder.finish(usage: nil) {
            var parser = SSEParser()
            let parsed = try parser.feed(event.frame)
            #expect(parsed == [SSEEvent(event: event.type, data: JSON.object(event.data).text)])
            #expect(event.data["type"] == .string(event.type))
        }
    }
}
