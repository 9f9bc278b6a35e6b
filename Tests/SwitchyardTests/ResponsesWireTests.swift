import Testing
@testable import SwitchyardWire

private func object(_ text: String) throws -> JSONObject {
    try #require(JSON.parse(text).objectValue)
}

/// The value with every object's keys sorted: answers are compared for what they hold, not for
/// the order the encoder happens to write keys in.
private func unordered(_ value: JSON) -> JSON {
    switch value {
    case .object(let o): .object(JSONObject(o.fields.sorted { $0.key < $1.key }.map { ($0.key, unordered($0.value)) }))
    case .array(let items): .array(items.map(unordered))
    default: value
    }
}

private func parse(_ text: String) throws(GatewayError) -> ResponsesRequest {
    try ResponsesRequest.parse(Array(text.utf8))
}

@Suite("Responses request validation")
struct ResponsesRequestTests {
    func rejection(_ text: String) -> GatewayError? {
        do {
            _ = try parse(text)
            return nil
        } catch {
            return error
        }
    }

    static let ok = #""model":"auto""#
    static let hi = #""model":"auto","input":"hi""#

    @Test("each invalid field is a 400 naming it as OpenAI does", arguments: [
        (#"not json"#, nil),
        (#"[1]"#, nil),
        (#"{"input":"hi"}"#, "model"),
        (#"{"model":7,"input":"hi"}"#, "model"),
        (#"{\#(ok)}"#, "input"),
        (#"{\#(ok),"input":[]}"#, "input"),
        (#"{\#(ok),"input":5}"#, "input"),
        (#"{\#(ok),"input":["hi"]}"#, "input[0]"),
        (#"{\#(ok),"input":[{"content":"x"}]}"#, "input[0].type"),
        (#"{\#(ok),"input":[{"role":"robot","content":"x"}]}"#, "input[0].role"),
        (#"{\#(ok),"input":[{"type":"message","content":"x"}]}"#, "input[0].role"),
        (#"{\#(ok),"input":[{"role":"user"}]}"#, "input[0].content"),
        (#"{\#(ok),"input":[{"role":"user","content":7}]}"#, "input[0].content"),
        (#"{\#(ok),"input":[{"role":"user","content":"x","status":"done"}]}"#, "input[0].status"),
        (#"{\#(ok),"input":[{"role":"assistant","content":"x","phase":"draft"}]}"#, "input[0].phase"),
        (#"{\#(ok),"input":[{"role":"user","content":[{"text":"x"}]}]}"#, "input[0].content[0].type"),
        (#"{\#(ok),"input":[{"role":"user","content":[{"type":"input_text","text":"a"},{"type":"input_text"}]}]}"#, "input[0].content[1].text"),
        (#"{\#(ok),"input":[{"role":"user","content":[{"type":"output_text","text":"x"}]}]}"#, "input[0].content[0].type"),
        (#"{\#(ok),"input":[{"role":"assistant","content":[{"type":"input_image","image_url":"http://x/y.png"}]}]}"#, "input[0].content[0].type"),
        (#"{\#(ok),"input":[{"role":"assistant","content":[{"type":"refusal"}]}]}"#, "input[0].content[0].refusal"),
        (#"{\#(ok),"input":[{"role":"user","content":[{"type":"input_image"}]}]}"#, "input[0].content[0].image_url"),
        (#"{\#(ok),"input":[{"role":"user","content":[{"type":"input_image","image_url":"u","detail":"max"}]}]}"#, "input[0].content[0].detail"),
        (#"{\#(ok),"input":[{"role":"user","content":[{"type":"input_file","filename":"a.pdf"}]}]}"#, "input[0].content[0].file_id"),
        (#"{\#(ok),"input":[{"role":"user","content":[{"type":"input_audio","data":"x"}]}]}"#, "input[0].content[0].type"),
        (#"{\#(ok),"input":[{"type":"function_call","name":"f","arguments":"{}"}]}"#, "input[0].call_id"),
        (#"{\#(ok),"input":[{"type":"function_call","call_id":"c","arguments":"{}"}]}"#, "input[0].name"),
        (#"{\#(ok),"input":[{"type":"function_call","call_id":"c","name":"f","arguments":{}}]}"#, "input[0].arguments"),
        (#"{\#(ok),"input":[{"type":"function_call_output","call_id":"c"}]}"#, "input[0].output"),
        (#"{\#(ok),"input":[{"type":"function_call_output","call_id":"c","output":5}]}"#, "input[0].output"),
        (#"{\#(ok),"input":[{"type":"function_call_output","call_id":"c","output":[{"type":"output_text","text":"x"}]}]}"#, "input[0].output[0].type"),
        (#"{\#(ok),"input":[{"type":"reasoning","id":"rs"}]}"#, "input[0].summary"),
        (#"{\#(ok),"input":[{"type":"reasoning","summary":[{"type":"summary_text"}]}]}"#, "input[0].summary[0].text"),
        (#"{\#(ok),"input":[{"type":"reasoning","summary":[{"type":"text","text":"x"}]}]}"#, "input[0].summary[0].type"),
        (#"{\#(ok),"input":[{"type":"reasoning","summary":[],"encrypted_content":5}]}"#, "input[0].encrypted_content"),
        (#"{\#(ok),"input":[{"type":"item_reference","id":"msg_1"}]}"#, "input[0].type"),
        (#"{\#(ok),"input":[{"type":"teleport"}]}"#, "input[0].type"),
        (#"{\#(hi),"instructions":5}"#, "instructions"),
        (#"{\#(hi),"max_output_tokens":15}"#, "max_output_tokens"),
        (#"{\#(hi),"max_output_tokens":1.5}"#, "max_output_tokens"),
        (#"{\#(hi),"max_output_tokens":1e400}"#, "max_output_tokens"),
        (#"{\#(hi),"max_output_tokens":"64"}"#, "max_output_tokens"),
        (#"{\#(hi),"max_tool_calls":0}"#, "max_tool_calls"),
        (#"{\#(hi),"temperature":2.5}"#, "temperature"),
        (#"{\#(hi),"top_p":-0.1}"#, "top_p"),
        (#"{\#(hi),"top_logprobs":21}"#, "top_logprobs"),
        (#"{\#(hi),"metadata":{"a":1}}"#, "metadata.a"),
        (#"{\#(hi),"metadata":[]}"#, "metadata"),
        (#"{\#(hi),"user":7}"#, "user"),
        (#"{\#(hi),"service_tier":1}"#, "service_tier"),
        (#"{\#(hi),"prompt_cache_retention":"forever"}"#, "prompt_cache_retention"),
        (#"{\#(hi),"stream":"yes"}"#, "stream"),
        (#"{\#(hi),"stream_options":{"include_usage":true}}"#, "stream_options.include_usage"),
        (#"{\#(hi),"store":1}"#, "store"),
        (#"{\#(hi),"previous_response_id":""}"#, "previous_response_id"),
        (#"{\#(hi),"previous_response_id":5}"#, "previous_response_id"),
        (#"{\#(hi),"parallel_tool_calls":"no"}"#, "parallel_tool_calls"),
        (#"{\#(hi),"truncation":"sometimes"}"#, "truncation"),
        (#"{\#(hi),"include":["everything"]}"#, "include[0]"),
        (#"{\#(hi),"include":"reasoning.encrypted_content"}"#, "include"),
        (#"{\#(hi),"reasoning":{"effort":"extreme"}}"#, "reasoning.effort"),
        (#"{\#(hi),"reasoning":{"budget":5}}"#, "reasoning.budget"),
        (#"{\#(hi),"text":{"format":{"type":"xml"}}}"#, "text.format.type"),
        (#"{\#(hi),"text":{"format":{"type":"json_schema","schema":{}}}}"#, "text.format.name"),
        (#"{\#(hi),"text":{"format":{"type":"json_schema","name":"a b","schema":{}}}}"#, "text.format.name"),
        (#"{\#(hi),"text":{"format":{"type":"json_schema","name":"a"}}}"#, "text.format.schema"),
        (#"{\#(hi),"text":{"verbosity":"loud"}}"#, "text.verbosity"),
        (#"{\#(hi),"text":{"response_format":{}}}"#, "text.response_format"),
        (#"{\#(hi),"tools":{}}"#, "tools"),
        (#"{\#(hi),"tools":[{"name":"f"}]}"#, "tools[0].type"),
        (#"{\#(hi),"tools":[{"type":"function"}]}"#, "tools[0].name"),
        (#"{\#(hi),"tools":[{"type":"function","function":{"name":"f"}}]}"#, "tools[0].name"),
        (#"{\#(hi),"tools":[{"type":"function","name":"f","parameters":"{}"}]}"#, "tools[0].parameters"),
        (#"{\#(hi),"tools":[{"type":"function","name":"f","strict":"yes"}]}"#, "tools[0].strict"),
        (#"{\#(hi),"tools":[{"type":"laser"}]}"#, "tools[0].type"),
        (#"{\#(hi),"tool_choice":"any"}"#, "tool_choice"),
        (#"{\#(hi),"tool_choice":7}"#, "tool_choice"),
        (#"{\#(hi),"tool_choice":{"type":"function","name":"g"},"tools":[{"type":"function","name":"f"}]}"#, "tool_choice.name"),
        (#"{\#(hi),"tool_choice":{"type":"allowed_tools","mode":"auto"}}"#, "tool_choice.tools"),
        (#"{\#(hi),"tool_choice":{"type":"allowed_tools","mode":"sometimes","tools":[]}}"#, "tool_choice.mode"),
        (#"{\#(hi),"unknown_field":1}"#, "unknown_field"),
        (#"{\#(hi),"messages":[]}"#, "messages"),
        (#"{\#(hi),"conversation":"conv_1"}"#, "conversation"),
        (#"{\#(hi),"prompt":{"id":"pmpt_1"}}"#, "prompt"),
        (#"{\#(hi),"background":true}"#, "background"),
        (#"{\#(ok),"input":[{"role":"user","content":"x","role":"assistant"}]}"#, "input[0].role"),
        (#"{\#(hi),"model":"again"}"#, "model"),
    ] as [(String, String?)])
    func invalid(_ text: String, param: String?) throws {
        let error = try #require(rejection(text))
        #expect(error.status == 400)
        #expect(error.param == param)
        #expect(error.message.isEmpty == false)
        let body = error.openAIBody["error"]
        #expect(body?["type"] == .string("invalid_request_error"))
        #expect(body?["param"] == (param.map(JSON.string) ?? .null))
    }

    @Test("codes say why: a repeated key, an unknown parameter, one this gateway does not support", arguments: [
        (#"{\#(hi),"input":"again"}"#, "duplicate_key"),
        (#"{\#(hi),"frequency_penalty":0.5}"#, "unknown_parameter"),
        (#"{\#(hi),"conversation":{"id":"conv_1"}}"#, "unsupported_parameter"),
        (#"{\#(hi),"prompt":{"id":"pmpt_1","variables":{"a":"b"}}}"#, "unsupported_parameter"),
        (#"{\#(hi),"background":true}"#, "unsupported_parameter"),
        (#"{\#(ok),"input":[{"type":"item_reference","id":"msg_1"}]}"#, "unsupported_parameter"),
        (#"{\#(ok),"input":[{"role":"user"}]}"#, "missing_required_parameter"),
    ])
    func codes(_ text: String, code: String) throws {
        let error = try #require(rejection(text))
        #expect(error.code == code)
        if code == "unsupported_parameter" { #expect(error.message.contains("not supported by this gateway")) }
    }

    @Test("the minimum of max_output_tokens is OpenAI's, 16")
    func outputMinimum() throws {
        #expect(try parse(#"{\#(Self.hi),"max_output_tokens":16}"#).maxOutputTokens == 16)
        let error = try #require(rejection(#"{\#(Self.hi),"max_output_tokens":15}"#))
        #expect(error.message.contains("at least 16"))
    }

    @Test("metadata limits: 16 pairs, keys of 64 characters, values of 512")
    func metadataLimits() throws {
        func metadata(_ pairs: [(String, String)]) -> String {
            #"{\#(Self.hi),"metadata":"# + JSON.object(JSONObject(pairs.map { ($0.0, JSON.string($0.1)) })).text + "}"
        }
        _ = try parse(metadata((0..<16).map { ("k\($0)", String(repeating: "v", count: 512)) } + []))
        _ = try parse(metadata([(String(repeating: "k", count: 64), "v")]))
        #expect(rejection(metadata((0..<17).map { ("k\($0)", "v") }))?.param == "metadata")
        #expect(rejection(metadata([(String(repeating: "k", count: 65), "v")]))?.param == "metadata")
        #expect(rejection(metadata([("k", String(repeating: "v", count: 513))]))?.param == "metadata.k")
    }

    @Test("valid requests: every parameter, every item type, nulls as absent")
    func valid() throws {
        let text = #"""
        {"model":"auto","instructions":"Be brief.","max_output_tokens":64,"max_tool_calls":3,"temperature":2,"top_p":0,"top_logprobs":20,
         "metadata":{"k":"v"},"user":"u","safety_identifier":"s","prompt_cache_key":"p","prompt_cache_retention":"24h",
         "prompt_cache_options":{"mode":"implicit"},"moderation":{"model":"omni-moderation-latest"},"context_management":[{"type":"compaction"}],
         "stream":true,"stream_options":{"include_obfuscation":false},"store":false,"previous_response_id":"resp_1",
         "parallel_tool_calls":false,"truncation":"auto","include":["reasoning.encrypted_content","message.output_text.logprobs"],
         "reasoning":{"effort":"xhigh","summary":"auto","generate_summary":null,"context":"all_turns","mode":"pro"},"service_tier":"flex",
         "background":false,"conversation":null,"prompt":null,
         "text":{"format":{"type":"json_schema","name":"a-b_c","schema":{"type":"object"},"strict":true,"description":"d"},"verbosity":"low"},
         "tools":[{"type":"function","name":"f","description":"d","parameters":{"type":"object"},"strict":true,"defer_loading":false},
           {"type":"function","name":"g","parameters":null,"strict":null},{"type":"web_search"},{"type":"mcp","server_label":"x"}],
         "tool_choice":{"type":"function","name":"g"},
         "input":[
          {"role":"system","content":"s"},{"role":"developer","content":[{"type":"input_text","text":"d"}]},
          {"type":"message","role":"user","content":[{"type":"input_text","text":"t"},{"type":"input_image","image_url":"http://x/y.png","detail":"original"},
            {"type":"input_image","file_id":"file_1"},{"type":"input_file","file_url":"http://x/a.pdf"},{"type":"input_file","file_data":"AA","filename":"a.pdf"}]},
          {"type":"reasoning","id":"rs_1","summary":[{"type":"summary_text","text":"thought"}],"content":[{"type":"reasoning_text","text":"r"}],
           "encrypted_content":"gAAAA","status":"completed"},
          {"type":"message","role":"assistant","id":"msg_1","status":"completed","phase":"final_answer",
           "content":[{"type":"output_text","text":"a","annotations":[],"logprobs":[]},{"type":"refusal","refusal":"no"}]},
          {"type":"function_call","call_id":"c","name":"f","arguments":"{}","id":"fc_1","status":"completed"},
          {"type":"function_call_output","call_id":"c","output":[{"type":"input_text","text":"out"},{"type":"input_image","image_url":"http://x/z.png"}]},
          {"type":"web_search_call","id":"ws_1","status":"completed","action":{"type":"search"}},
          {"type":"custom_tool_call_output","call_id":"c2","output":"x"}]}
        """#
        let request = try parse(text)
        #expect(request.model == "auto" && request.stream && !request.store && request.previousResponseID == "resp_1")
        #expect(request.maxOutputTokens == 64 && request.sizeInBytes == text.utf8.count)
        #expect(request.inputItems.count == 9)
        #expect(JSON.object(request.body) == (try JSON.parse(text)))
    }

    @Test("defaults: not streamed, stored; a string input is one user message; a bare continuation has no input")
    func defaults() throws {
        let request = try parse(#"{\#(Self.hi)}"#)
        #expect(!request.stream && request.store && request.previousResponseID == nil && request.maxOutputTokens == nil)
        #expect(request.inputItems == [.object(["type": .string("message"), "role": .string("user"), "content": .string("hi")])])
        #expect(try parse(#"{"model":"m","previous_response_id":"resp_1"}"#).inputItems.isEmpty)
        #expect(try parse(#"{"model":"m","previous_response_id":"resp_1","input":[]}"#).inputItems.isEmpty)
    }
}

@Suite("Responses summary and conversation")
struct ResponsesSummaryTests {
    @Test("the summary reads instructions, turns, tool traffic, images, tools, output cap, stream and size")
    func summary() throws {
        let text = #"""
        {"model":"auto","max_output_tokens":100,"stream":true,"instructions":"Be brief.",
         "tools":[{"type":"web_search"}],
         "input":[
          {"role":"developer","content":[{"type":"input_text","text":"Use metric."},{"type":"input_text","text":"No emoji."}]},
          {"role":"user","content":[{"type":"input_text","text":"Weather?"},{"type":"input_image","image_url":"http://x/y.png"}]},
          {"type":"reasoning","summary":[],"encrypted_content":"gAAAA"},
          {"role":"assistant","content":[{"type":"output_text","text":"Checking."}]},
          {"type":"function_call","call_id":"t1","name":"weather","arguments":"{\"city\":\"Oslo\"}"},
          {"type":"function_call_output","call_id":"t1","output":"4 C"},
          {"role":"user","content":"Tomorrow?"}]}
        """#
        let summary = try parse(text).conversation().summary
        #expect(summary.model == "auto" && summary.maxTokens == 100 && summary.stream)
        #expect(summary.hasTools, "a built-in tool is a tool to routing, as Anthropic's server tools are")
        #expect(summary.hasImages)
        #expect(summary.sizeInBytes == text.utf8.count)
        #expect(JSON.object(summary.body) == (try JSON.parse(text)), "the scan reads the client's body as received")
        #expect(summary.turns == [
            RequestSummary.Turn(role: .system, text: "Be brief."),
            RequestSummary.Turn(role: .system, text: "Use metric.\nNo emoji."),
            RequestSummary.Turn(role: .user, text: "Weather?", hasImages: true),
            RequestSummary.Turn(role: .assistant, text: "Checking.\n{\"city\":\"Oslo\"}"),
            RequestSummary.Turn(role: .tool, text: "4 C"),
            RequestSummary.Turn(role: .user, text: "Tomorrow?"),
        ])
    }

    @Test("a continuation is the whole conversation: earlier items first, sized and scanned whole, without previous_response_id")
    func continuation() throws {
        let request = try parse(#"{"model":"auto","previous_response_id":"resp_1","store":true,"input":"And tomorrow?"}"#)
        let earlier: [JSON] = [
            .object(["role": .string("user"), "content": .string("Weather in Oslo?")]),
            .object(["id": .string("msg_1_0"), "type": .string("message"), "role": .string("assistant"), "status": .string("completed"),
                     "content": .array([.object(["type": .string("output_text"), "text": .string("4 C."), "annotations": .array([])])])]),
        ]
        let conversation = try request.conversation(continuing: earlier)
        #expect(conversation.items == earlier + request.inputItems)
        #expect(conversation.body["previous_response_id"] == nil)
        #expect(conversation.body["input"] == .array(conversation.items))
        #expect(conversation.body["store"] == .bool(true) && conversation.body["model"] == .string("auto"))
        #expect(conversation.summary.body == conversation.body)
        #expect(conversation.summary.sizeInBytes == conversation.body.serialized().count)
        #expect(conversation.summary.turns.map(\.text) == ["Weather in Oslo?", "4 C.", "And tomorrow?"])
        #expect(conversation.chat.messages.map(\.role) == [.user, .assistant, .user])
    }

    @Test("continuing nothing with no input is the only conversation refused")
    func emptyContinuation() throws {
        let request = try parse(#"{"model":"auto","previous_response_id":"resp_1"}"#)
        #expect(throws: GatewayError.self) { try request.conversation() }
        let conversation = try request.conversation(continuing: [.object(["role": .string("user"), "content": .string("hi")])])
        #expect(conversation.summary.turns == [RequestSummary.Turn(role: .user, text: "hi")])
    }
}

@Suite("Responses to OpenAI chat")
struct ResponsesToChatTests {
    @Test("the translation table: instructions, roles, parts, assistant text with its calls, outputs, tools, format, parameters")
    func table() throws {
        let request = try parse(#"""
        {"model":"auto","instructions":"Be brief.","max_output_tokens":64,"temperature":0.5,"top_p":0.9,"user":"u1","stream":true,
         "metadata":{"k":"v"},"store":false,
         "input":[
          {"role":"developer","content":[{"type":"input_text","text":"Use metric."},{"type":"input_text","text":"No emoji."}]},
          {"role":"user","content":[{"type":"input_text","text":"Weather?"},{"type":"input_image","image_url":"data:image/png;base64,AAAA","detail":"low"},
            {"type":"input_image","file_id":"file_1"},{"type":"input_file","file_id":"file_2"}]},
          {"type":"reasoning","id":"rs_1","summary":[],"encrypted_content":"gAAAA"},
          {"type":"message","role":"assistant","id":"msg_1","status":"completed",
           "content":[{"type":"output_text","text":"Checking","annotations":[]},{"type":"output_text","text":" now."}]},
          {"type":"function_call","call_id":"call_a","name":"weather","arguments":"{\"city\":\"Oslo\"}"},
          {"type":"function_call","call_id":"call_b","name":"time","arguments":"{}"},
          {"type":"function_call_output","call_id":"call_a","output":"4 C"},
          {"type":"function_call_output","call_id":"call_b","output":[{"type":"input_text","text":"12:00"},{"type":"input_text","text":"CET"}]},
          {"type":"web_search_call","id":"ws_1","status":"completed","action":{"type":"search","query":"x"}},
          {"role":"user","content":"Thanks."}],
         "tools":[{"type":"function","name":"weather","description":"Current weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}},"strict":true},
           {"type":"function","name":"time","parameters":null,"strict":null},{"type":"web_search"}],
         "tool_choice":"required","parallel_tool_calls":false,
         "text":{"format":{"type":"json_schema","name":"answer","schema":{"type":"object"},"strict":true},"verbosity":"low"},
         "reasoning":{"effort":"high","summary":"auto"},"include":["reasoning.encrypted_content"],"truncation":"auto"}
        """#).conversation()
        let expected = try JSON.parse(#"""
        {"model":"auto","messages":[
          {"role":"system","content":"Be brief."},
          {"role":"system","content":"Use metric.\nNo emoji."},
          {"role":"user","content":[{"type":"text","text":"Weather?"},{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA","detail":"low"}}]},
          {"role":"assistant","content":"Checking now.","tool_calls":[
            {"id":"call_a","type":"function","function":{"name":"weather","arguments":"{\"city\":\"Oslo\"}"}},
            {"id":"call_b","type":"function","function":{"name":"time","arguments":"{}"}}]},
          {"role":"tool","tool_call_id":"call_a","content":"4 C"},
          {"role":"tool","tool_call_id":"call_b","content":"12:00\nCET"},
          {"role":"user","content":"Thanks."}],
         "max_tokens":64,"temperature":0.5,"top_p":0.9,"user":"u1","stream":true,"stream_options":{"include_usage":true},
         "tools":[{"type":"function","function":{"name":"weather","description":"Current weather",
                   "parameters":{"type":"object","properties":{"city":{"type":"string"}}},"strict":true}},
                  {"type":"function","function":{"name":"time"}}],
         "tool_choice":"required","parallel_tool_calls":false,
         "response_format":{"type":"json_schema","json_schema":{"name":"answer","schema":{"type":"object"},"strict":true}}}
        """#)
        #expect(unordered(.object(request.chat.body)) == unordered(expected))
        #expect(request.chat.messages.map(\.role) == [.system, .system, .user, .assistant, .tool, .tool, .user])
        #expect(request.chat.stream && request.chat.includeUsage && request.chat.maxTokens == 64)
        #expect(request.untranslatable == ["include", "input_file", "input_image", "reasoning", "reasoning.effort", "reasoning.summary",
                                           "text.verbosity", "truncation", "web_search", "web_search_call"])
    }

    @Test("a string input stays simple")
    func simple() throws {
        let conversation = try parse(#"{"model":"m","input":"hi"}"#).conversation()
        #expect(conversation.chat.body == (try object(#"{"model":"m","messages":[{"role":"user","content":"hi"}]}"#)))
        #expect(conversation.untranslatable.isEmpty)
    }

    @Test("tool_choice and parallel_tool_calls follow the function tools", arguments: [
        (#""tool_choice":"auto""#, #""auto""#, [String]()),
        (#""tool_choice":"none""#, #""none""#, []),
        (#""tool_choice":{"type":"function","name":"g"}"#, #"{"type":"function","function":{"name":"g"}}"#, []),
        (#""tool_choice":{"type":"allowed_tools","mode":"required","tools":[{"type":"function","name":"g"},{"type":"mcp","server_label":"x"}]}"#,
         #""required""#, []),
        (#""tool_choice":{"type":"file_search"}"#, nil, ["tool_choice"]),
        (#""tool_choice":{"type":"custom","name":"c"}"#, nil, ["tool_choice"]),
    ] as [(String, String?, [String])])
    func toolChoice(_ choice: String, expected: String?, dropped: [String]) throws {
        let conversation = try parse(#"""
        {"model":"m","input":"x","parallel_tool_calls":true,"tools":[{"type":"function","name":"f"},{"type":"function","name":"g"},{"type":"file_search","vector_store_ids":["v"]}],\#(choice)}
        """#).conversation()
        #expect(conversation.chat.body["tool_choice"] == (try expected.map { try JSON.parse($0) }))
        #expect(conversation.chat.body["parallel_tool_calls"] == .bool(true))
        let offered = conversation.chat.body["tools"]?.arrayValue?.compactMap { $0["function"]?["name"]?.stringValue }
        #expect(offered == (choice.contains("allowed_tools") ? ["g"] : ["f", "g"]))
        #expect(conversation.untranslatable == (["file_search"] + dropped).sorted())
    }

    @Test("without a function tool no tools, choice or parallel flag go; a required call that cannot be made is named")
    func builtInOnly() throws {
        let conversation = try parse(#"""
        {"model":"m","input":"x","tools":[{"type":"web_search"}],"tool_choice":"required","parallel_tool_calls":false}
        """#).conversation()
        for key in ["tools", "tool_choice", "parallel_tool_calls"] { #expect(conversation.chat.body[key] == nil) }
        #expect(conversation.untranslatable == ["tool_choice", "web_search"])
    }

    @Test("text formats become response_format", arguments: [
        (#"{"format":{"type":"text"}}"#, nil),
        (#"{"format":{"type":"json_object"}}"#, #"{"type":"json_object"}"#),
        (#"{"format":{"type":"json_schema","name":"n","schema":{"type":"object"},"description":"d"}}"#,
         #"{"type":"json_schema","json_schema":{"name":"n","schema":{"type":"object"},"description":"d"}}"#),
    ] as [(String, String?)])
    func formats(_ text: String, expected: String?) throws {
        let chat = try parse(#"{"model":"m","input":"x","text":\#(text)}"#).conversation().chat
        #expect(chat.body["response_format"].map(unordered) == (try expected.map { unordered(try JSON.parse($0)) }))
    }

    @Test("Responses-only parameters are named when they ask for something", arguments: [
        (#""reasoning":{"effort":"none"}"#, [String]()),
        (#""reasoning":{"effort":"low","context":"auto"}"#, ["reasoning.context", "reasoning.effort"]),
        (#""include":[]"#, []),
        (#""include":["message.input_image.image_url"]"#, ["include"]),
        (#""truncation":"disabled""#, []),
        (#""truncation":"auto""#, ["truncation"]),
        (#""service_tier":"auto""#, []),
        (#""service_tier":"priority""#, ["service_tier"]),
        (#""top_logprobs":0"#, []),
        (#""top_logprobs":5"#, ["top_logprobs"]),
        (#""text":{"verbosity":"high"}"#, ["text.verbosity"]),
        (#""max_tool_calls":2,"safety_identifier":"s","prompt_cache_key":"k""#, ["max_tool_calls", "prompt_cache_key", "safety_identifier"]),
        (#""prompt_cache_retention":"24h","prompt_cache_options":{},"moderation":{}"#, ["moderation", "prompt_cache_options", "prompt_cache_retention"]),
        (#""context_management":[{"type":"compaction"}]"#, ["context_management"]),
        (#""metadata":{"a":"b"},"store":false,"stream_options":{"include_obfuscation":true}"#, []),
    ] as [(String, [String])])
    func parameters(_ extra: String, dropped: [String]) throws {
        #expect(try parse(#"{"model":"m","input":"x",\#(extra)}"#).conversation().untranslatable == dropped)
    }

    @Test("an assistant message after its calls still carries them; two texts make two messages")
    func assistantOrder() throws {
        let chat = try parse(#"""
        {"model":"m","input":[{"role":"user","content":"x"},
          {"type":"function_call","call_id":"c","name":"f","arguments":"{}"},
          {"type":"reasoning","summary":[]},
          {"role":"assistant","content":"Calling f."},
          {"role":"assistant","content":"Again."},
          {"type":"function_call","call_id":"d","name":"f","arguments":"{}"},
          {"type":"function_call_output","call_id":"c","output":"1"},{"type":"function_call_output","call_id":"d","output":"2"}]}
        """#).conversation().chat
        let messages = try #require(chat.body["messages"]?.arrayValue)
        #expect(messages.count == 5)
        #expect(messages[1]["content"] == .string("Calling f.") && messages[1]["tool_calls"]?.arrayValue?.count == 1)
        #expect(messages[2]["content"] == .string("Again.") && messages[2]["tool_calls"]?.arrayValue?.count == 1)
        #expect(chat.messages.map(\.role) == [.user, .assistant, .assistant, .tool, .tool])
    }

    @Test("a conversation of only what chat cannot carry keeps one empty user turn, and names it all")
    func nothingTranslatable() throws {
        let conversation = try parse(#"""
        {"model":"m","input":[{"type":"reasoning","summary":[]},{"type":"compaction","encrypted_content":"x"},
          {"role":"user","content":[{"type":"input_file","file_id":"f"}]}]}
        """#).conversation()
        #expect(conversation.chat.body["messages"] == .array([.object(["role": .string("user"), "content": .string("")])]))
        #expect(conversation.untranslatable == ["compaction", "input_file", "reasoning"])
    }

    @Test("earlier items are read tolerantly: a kind outside the known ones is named by a generic word")
    func tolerantEarlier() throws {
        let request = try parse(#"{"model":"m","previous_response_id":"resp_1","input":"x"}"#)
        let earlier = try #require(JSON.parse(#"""
        [{"type":"hologram\r\nx-evil: 1"},{"role":"robot","content":"?"},{"role":"user","content":[{"type":"smell"},{"type":"input_text","text":"a"}]},
         {"type":"function_call"},{"type":"function_call_output","output":7},5,{"role":"assistant","content":[{"type":"output_text"}]}]
        """#).arrayValue)
        let conversation = try request.conversation(continuing: earlier)
        #expect(conversation.untranslatable == ["content_part", "item", "message", "output_text"])
        #expect(conversation.chat.messages.map(\.role) == [.user, .assistant, .tool, .assistant, .user])
    }
}

@Suite("OpenAI completions as Responses answers")
struct ChatToResponsesTests {
    static let request = #"""
    {"model":"auto","input":"hi","metadata":{"k":"v"},"temperature":0.5,"tools":[{"type":"function","name":"weather","parameters":{"type":"object"}}]}
    """#

    static func envelope(_ text: String = request) throws -> ResponseEnvelope {
        ResponseEnvelope(id: "resp_abc", createdAt: 1_700_000_000, model: "smol", request: try parse(text))
    }

    @Test("text, tool calls and usage, with the request's settings echoed and OpenAI's defaults for the rest")
    func textAndTools() throws {
        let completion = try object(#"""
        {"id":"chatcmpl-1","object":"chat.completion","model":"smol","choices":[{"index":0,"finish_reason":"tool_calls",
          "message":{"role":"assistant","content":"Checking.","tool_calls":[
            {"id":"call_1","type":"function","function":{"name":"weather","arguments":"{\"city\":\"Oslo\"}"}},
            {"id":"call_2","type":"function","function":{"name":"time","arguments":"{}"}}]}}],
         "usage":{"prompt_tokens":20,"completion_tokens":9,"total_tokens":29,"prompt_tokens_details":{"cached_tokens":5},
                  "completion_tokens_details":{"reasoning_tokens":2}}}
        """#)
        let response = ResponsesAnswer.response(from: completion, envelope: try Self.envelope())
        let expected = try JSON.parse(#"""
        {"id":"resp_abc","object":"response","created_at":1700000000,"status":"completed","background":false,"error":null,
         "incomplete_details":null,"model":"smol",
         "output":[
          {"id":"msg_abc_0","type":"message","status":"completed","role":"assistant",
           "content":[{"type":"output_text","text":"Checking.","annotations":[],"logprobs":[]}]},
          {"id":"fc_abc_1","type":"function_call","status":"completed","arguments":"{\"city\":\"Oslo\"}","call_id":"call_1","name":"weather"},
          {"id":"fc_abc_2","type":"function_call","status":"completed","arguments":"{}","call_id":"call_2","name":"time"}],
         "instructions":null,"max_output_tokens":null,"max_tool_calls":null,"parallel_tool_calls":true,"previous_response_id":null,
         "prompt_cache_key":null,"reasoning":{"effort":null,"summary":null},"safety_identifier":null,"service_tier":"default",
         "store":true,"temperature":0.5,"text":{"format":{"type":"text"}},"tool_choice":"auto",
         "tools":[{"type":"function","name":"weather","parameters":{"type":"object"}}],"top_logprobs":0,"top_p":1.0,
         "truncation":"disabled","user":null,"metadata":{"k":"v"},
         "usage":{"input_tokens":20,"input_tokens_details":{"cached_tokens":5},"output_tokens":9,
                  "output_tokens_details":{"reasoning_tokens":2},"total_tokens":29}}
        """#)
        #expect(unordered(.object(response)) == unordered(expected))
    }

    @Test("a cut-short answer is incomplete, and says why", arguments: [
        ("length", "max_output_tokens"), ("content_filter", "content_filter"),
    ])
    func incomplete(_ finish: String, reason: String) throws {
        let completion = try object(#"{"choices":[{"finish_reason":"\#(finish)","message":{"content":"Once upon"}}]}"#)
        let response = ResponsesAnswer.response(from: completion, envelope: try Self.envelope())
        #expect(response["status"] == .string("incomplete"))
        #expect(response["incomplete_details"] == .object(["reason": .string(reason)]))
        #expect(response["output"]?.arrayValue?.map { $0["status"] } == [.string("incomplete")])
    }

    @Test("a refusal is a refusal part; other finish reasons complete", arguments: ["stop", "tool_calls", "function_call", "new_reason"])
    func refusal(_ finish: String) throws {
        let completion = try object(#"{"choices":[{"finish_reason":"\#(finish)","message":{"content":null,"refusal":"I can't."}}]}"#)
        let response = ResponsesAnswer.response(from: completion, envelope: try Self.envelope())
        #expect(response["status"] == .string("completed") && response["incomplete_details"] == .null)
        #expect(response["output"]?.arrayValue?.first?["content"] == .array([.object(["type": .string("refusal"), "refusal": .string("I can't.")])]))
    }

    @Test("an empty or hostile completion gives no items and zero usage, never a trap")
    func empty() throws {
        for text in [#"{}"#, #"{"choices":[]}"#, #"{"choices":[{"message":{"content":null}}],"usage":{"prompt_tokens":-1,"completion_tokens":"x"}}"#,
                     #"{"choices":"x","usage":7}"#, #"{"choices":[{"message":{"content":"","tool_calls":[{"function":{"arguments":"{}"}},5]}}]}"#] {
            let response = ResponsesAnswer.response(from: try object(text), envelope: try Self.envelope())
            #expect(response["output"] == .array([]) && response["status"] == .string("completed"))
            #expect(response["usage"]?["input_tokens"] == .int(0) && response["usage"]?["total_tokens"] == .int(0))
        }
    }

    @Test("cache reads: Anthropic's count when the upstream was Anthropic, never more than the input")
    func cacheCounts() throws {
        let envelope = try Self.envelope()
        let anthropic = try object(#"""
        {"choices":[{"message":{"content":"x"}}],"usage":{"prompt_tokens":100,"completion_tokens":1,"cache_read_input_tokens":60,"cache_creation_input_tokens":10}}
        """#)
        #expect(ResponsesAnswer.response(from: anthropic, envelope: envelope)["usage"]?["input_tokens_details"]?["cached_tokens"] == .int(60))
        let inflated = try object(#"""
        {"choices":[{"message":{"content":"x"}}],"usage":{"prompt_tokens":10,"completion_tokens":1,"prompt_tokens_details":{"cached_tokens":50},
         "completion_tokens_details":{"reasoning_tokens":9}}}
        """#)
        let usage = ResponsesAnswer.response(from: inflated, envelope: envelope)["usage"]
        #expect(usage?["input_tokens_details"]?["cached_tokens"] == .int(10) && usage?["output_tokens_details"]?["reasoning_tokens"] == .int(1))
    }

    @Test("the echo keeps what the request set, and item ids follow any response id")
    func echo() throws {
        let envelope = ResponseEnvelope(id: "custom", createdAt: 1, model: "m", request: try parse(#"""
        {"model":"auto","input":"x","instructions":"Be brief.","max_output_tokens":32,"store":false,"previous_response_id":"resp_0",
         "tool_choice":"none","text":{"format":{"type":"json_object"}},"reasoning":{"effort":"low"},"user":"u","top_p":0.5,"truncation":"auto"}
        """#))
        let response = ResponsesAnswer.response(from: try object(#"{"choices":[{"message":{"content":"{}"}}]}"#), envelope: envelope)
        for (key, value) in [("instructions", #""Be brief.""#), ("max_output_tokens", "32"), ("store", "false"), ("previous_response_id", #""resp_0""#),
                             ("tool_choice", #""none""#), ("text", #"{"format":{"type":"json_object"}}"#), ("reasoning", #"{"effort":"low"}"#),
                             ("user", #""u""#), ("top_p", "0.5"), ("truncation", #""auto""#)] {
            #expect(response[key] == (try JSON.parse(value)), "\(key)")
        }
        #expect(response["output"]?.arrayValue?.first?["id"] == .string("msg_custom_0"))
    }
}

@Suite("Responses stream encoder")
struct ResponsesStreamEncoderTests {
    static func chunk(content: String? = nil, refusal: String? = nil, toolCalls: [JSON]? = nil, finish: String? = nil) -> JSONObject {
        var delta: JSONObject = [:]
        if let content { delta["content"] = .string(content) }
        if let refusal { delta["refusal"] = .string(refusal) }
        if let toolCalls { delta["tool_calls"] = .array(toolCalls) }
        return ["object": .string("chat.completion.chunk"),
                "choices": .array([.object(["index": .int(0), "delta": .object(delta), "finish_reason": finish.map(JSON.string) ?? .null])])]
    }

    /// A `delta.tool_calls[]` entry, as the Anthropic encoder's tests build them.
    static func call(_ index: Int, id: String? = nil, name: String? = nil, arguments: String? = nil) -> JSON {
        MessagesStreamEncoderTests.call(index, id: id, name: name, arguments: arguments)
    }

    static func encoder(_ request: String = #"{"model":"auto","input":"hi"}"#) throws -> ResponsesStreamEncoder {
        ResponsesStreamEncoder(envelope: ResponseEnvelope(id: "resp_1", createdAt: 7, model: "smol", request: try parse(request)))
    }

    /// `type@output_index/content_index`, as far as the event has them.
    static func shape(_ events: [ResponsesEvent]) -> [String] {
        events.map { event in
            var text = event.type
            if let output = event.data["output_index"]?.intValue { text += "@\(output)" }
            if let content = event.data["content_index"]?.intValue { text += "/\(content)" }
            return text
        }
    }

    /// Every event numbered from 0 up by one, in its data as well as its field, under its own type.
    static func checkNumbering(_ events: [ResponsesEvent]) {
        #expect(events.map(\.sequenceNumber) == Array(0..<events.count))
        for (i, event) in events.enumerated() {
            #expect(event.data["sequence_number"] == .int(i) && event.data["type"] == .string(event.type))
            #expect(event.data.keys.prefix(2) == ["type", "sequence_number"])
        }
    }

    static func joined(_ events: [ResponsesEvent], _ type: String, output: Int) -> String {
        events.filter { $0.type == type && $0.data["output_index"] == .int(output) }.compactMap { $0.data["delta"]?.stringValue }.joined()
    }

    static func response(_ event: ResponsesEvent?) -> JSONObject? { event?.data["response"]?.objectValue }

    static let opening = ["response.created", "response.in_progress"]

    @Test("text only: one message item with one output_text part; usage from the finish, details from the usage chunk")
    func textOnly() throws {
        var encoder = try Self.encoder()
        var events: [ResponsesEvent] = []
        events += encoder.events(for: ["choices": .array([.object(["index": .int(0), "delta": .object(["role": .string("assistant"), "content": .string("")])])])])
        for piece in ["Hel", "lo", "", " world"] { events += encoder.events(for: Self.chunk(content: piece)) }
        events += encoder.events(for: Self.chunk(finish: "stop"))
        events += encoder.events(for: ["choices": .array([]), "usage": .object([
            "prompt_tokens": .int(12), "completion_tokens": .int(3), "prompt_tokens_details": .object(["cached_tokens": .int(4)]),
        ])])
        events += encoder.finish(usage: TokenUsage(promptTokens: 12, completionTokens: 3))
        #expect(Self.shape(events) == Self.opening + [
            "response.output_item.added@0", "response.content_part.added@0/0",
            "response.output_text.delta@0/0", "response.output_text.delta@0/0", "response.output_text.delta@0/0",
            "response.output_text.done@0/0", "response.content_part.done@0/0", "response.output_item.done@0",
            "response.completed",
        ])
        Self.checkNumbering(events)

        let created = try #require(Self.response(events[0]))
        #expect(created["id"] == .string("resp_1") && created["status"] == .string("in_progress") && created["output"] == .array([])
                && created["usage"] == .null && created["created_at"] == .int(7) && created["model"] == .string("smol"))
        #expect(Self.response(events[1]) == created)
        #expect(unordered(events[2].data["item"] ?? .null)
                == unordered(try JSON.parse(#"{"id":"msg_1_0","type":"message","status":"in_progress","role":"assistant","content":[]}"#)))
        #expect(events[3].data["item_id"] == .string("msg_1_0"))
        #expect(unordered(events[3].data["part"] ?? .null) == unordered(try JSON.parse(#"{"type":"output_text","text":"","annotations":[],"logprobs":[]}"#)))
        #expect(events[4].data["item_id"] == .string("msg_1_0") && events[4].data["logprobs"] == .array([]))
        #expect(Self.joined(events, "response.output_text.delta", output: 0) == "Hello world")
        #expect(events[7].data["text"] == .string("Hello world"))
        #expect(events[8].data["part"]?["text"] == .string("Hello world"))
        let done = try #require(events[9].data["item"])
        #expect(done["status"] == .string("completed") && done["content"]?.arrayValue?.first?["text"] == .string("Hello world"))

        let completed = try #require(Self.response(events.last))
        #expect(completed["status"] == .string("completed") && completed["output"] == .array([done]))
        #expect(unordered(completed["usage"] ?? .null) == unordered(try JSON.parse(#"""
        {"input_tokens":12,"input_tokens_details":{"cached_tokens":4},"output_tokens":3,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":15}
        """#)))
        #expect(encoder.finalResponse == completed)
        #expect(encoder.finish(usage: nil).isEmpty && encoder.events(for: Self.chunk(content: "late")).isEmpty)
        #expect(encoder.fail(.upstream("late")).isEmpty, "a completed stream cannot fail afterwards")
    }

    @Test("tools only: one function_call item, its arguments in pieces")
    func toolsOnly() throws {
        var encoder = try Self.encoder()
        var events = encoder.events(for: Self.chunk(toolCalls: [Self.call(0, id: "call_a", name: "weather", arguments: "")]))
        for piece in ["{\"ci", "ty\":", "\"Oslo\"}"] { events += encoder.events(for: Self.chunk(toolCalls: [Self.call(0, arguments: piece)])) }
        events += encoder.events(for: Self.chunk(finish: "tool_calls"))
        events += encoder.finish(usage: nil)
        #expect(Self.shape(events) == Self.opening + [
            "response.output_item.added@0",
            "response.function_call_arguments.delta@0", "response.function_call_arguments.delta@0", "response.function_call_arguments.delta@0",
            "response.function_call_arguments.done@0", "response.output_item.done@0",
            "response.completed",
        ])
        Self.checkNumbering(events)
        #expect(unordered(events[2].data["item"] ?? .null) == unordered(try JSON.parse(#"""
        {"id":"fc_1_0","type":"function_call","status":"in_progress","arguments":"","call_id":"call_a","name":"weather"}
        """#)))
        #expect(events[3].data["item_id"] == .string("fc_1_0") && events[3].data["content_index"] == nil)
        #expect(events[6].data["arguments"] == .string("{\"city\":\"Oslo\"}") && events[6].data["name"] == .string("weather"))
        #expect(unordered(events[7].data["item"] ?? .null) == unordered(try JSON.parse(#"""
        {"id":"fc_1_0","type":"function_call","status":"completed","arguments":"{\"city\":\"Oslo\"}","call_id":"call_a","name":"weather"}
        """#)))
        #expect(Self.response(events.last)?["usage"]?["total_tokens"] == .int(0))
    }

    @Test("text, then two tool calls: the message closes when the first call opens; the calls close in order at the end")
    func textThenTools() throws {
        var encoder = try Self.encoder()
        var events = encoder.events(for: Self.chunk(content: "Let me check."))
        events += encoder.events(for: Self.chunk(toolCalls: [Self.call(0, id: "call_a", name: "weather", arguments: "")]))
        for piece in ["{\"ci", "ty\":", "\"Oslo\"}"] { events += encoder.events(for: Self.chunk(toolCalls: [Self.call(0, arguments: piece)])) }
        events += encoder.events(for: Self.chunk(toolCalls: [Self.call(1, id: "call_b", name: "time", arguments: "{")]))
        events += encoder.events(for: Self.chunk(toolCalls: [Self.call(1, arguments: "}")]))
        events += encoder.events(for: Self.chunk(finish: "tool_calls"))
        events += encoder.finish(usage: nil)
        #expect(Self.shape(events) == Self.opening + [
            "response.output_item.added@0", "response.content_part.added@0/0", "response.output_text.delta@0/0",
            "response.output_text.done@0/0", "response.content_part.done@0/0", "response.output_item.done@0",
            "response.output_item.added@1",
            "response.function_call_arguments.delta@1", "response.function_call_arguments.delta@1", "response.function_call_arguments.delta@1",
            "response.output_item.added@2", "response.function_call_arguments.delta@2", "response.function_call_arguments.delta@2",
            "response.function_call_arguments.done@1", "response.output_item.done@1",
            "response.function_call_arguments.done@2", "response.output_item.done@2",
            "response.completed",
        ])
        Self.checkNumbering(events)
        let output = try #require(Self.response(events.last)?["output"]?.arrayValue)
        #expect(output.map { $0["id"] } == [.string("msg_1_0"), .string("fc_1_1"), .string("fc_1_2")])
        #expect(output.map { $0["status"] } == Array(repeating: .string("completed"), count: 3))
        #expect(output[1]["arguments"] == .string("{\"city\":\"Oslo\"}") && output[2]["arguments"] == .string("{}"))
        #expect(output[2]["call_id"] == .string("call_b") && output[2]["name"] == .string("time"))
    }

    @Test("two tool calls interleaved: every piece reaches its own item")
    func interleaved() throws {
        var encoder = try Self.encoder()
        var events = encoder.events(for: Self.chunk(toolCalls: [Self.call(0, id: "a", name: "f", arguments: "{\"x\""),
                                                                  Self.call(1, id: "b", name: "g", arguments: "{\"y\"")]))
        events += encoder.events(for: Self.chunk(toolCalls: [Self.call(0, arguments: ":1}")]))
        events += encoder.events(for: Self.chunk(toolCalls: [Self.call(1, arguments: ":2}")]))
        events += encoder.finish(usage: nil)
        #expect(Self.shape(events) == Self.opening + [
            "response.output_item.added@0", "response.function_call_arguments.delta@0",
            "response.output_item.added@1", "response.function_call_arguments.delta@1",
            "response.function_call_arguments.delta@0", "response.function_call_arguments.delta@1",
            "response.function_call_arguments.done@0", "response.output_item.done@0",
            "response.function_call_arguments.done@1", "response.output_item.done@1",
            "response.completed",
        ])
        Self.checkNumbering(events)
        #expect(Self.joined(events, "response.function_call_arguments.delta", output: 0) == "{\"x\":1}")
        #expect(Self.joined(events, "response.function_call_arguments.delta", output: 1) == "{\"y\":2}")
        let output = try #require(Self.response(events.last)?["output"]?.arrayValue)
        #expect(output.map { $0["arguments"] } == [.string("{\"x\":1}"), .string("{\"y\":2}")])
        #expect(output.map { $0["status"] } == [.string("completed"), .string("completed")])
    }

    @Test("finished by length: response.incomplete, its reason, the open item incomplete")
    func length() throws {
        var encoder = try Self.encoder()
        var events = encoder.events(for: Self.chunk(content: "Once upon"))
        events += encoder.events(for: Self.chunk(content: " a time", finish: "length"))
        events += encoder.finish(usage: TokenUsage(promptTokens: 5, completionTokens: 16))
        #expect(Self.shape(events) == Self.opening + [
            "response.output_item.added@0", "response.content_part.added@0/0",
            "response.output_text.delta@0/0", "response.output_text.delta@0/0",
            "response.output_text.done@0/0", "response.content_part.done@0/0", "response.output_item.done@0",
            "response.incomplete",
        ])
        Self.checkNumbering(events)
        #expect(events[8].data["item"]?["status"] == .string("incomplete"))
        let response = try #require(Self.response(events.last))
        #expect(response["status"] == .string("incomplete") && response["incomplete_details"] == .object(["reason": .string("max_output_tokens")]))
        #expect(response["output"]?.arrayValue?.first?["status"] == .string("incomplete"))
        #expect(response["usage"]?["output_tokens"] == .int(16))
        #expect(!events.contains { $0.type == "response.completed" })
    }

    @Test("broken mid-text: response.failed with the error and the text so far, never response.completed")
    func brokenMidText() throws {
        var encoder = try Self.encoder()
        var events = encoder.events(for: Self.chunk(content: "Half"))
        events += encoder.events(for: Self.chunk(content: " an answer"))
        events += encoder.fail(.upstream("upstream stream cut short: no [DONE]"))
        #expect(Self.shape(events) == Self.opening + [
            "response.output_item.added@0", "response.content_part.added@0/0",
            "response.output_text.delta@0/0", "response.output_text.delta@0/0",
            "response.failed",
        ])
        Self.checkNumbering(events)
        let failed = try #require(Self.response(events.last))
        #expect(failed["status"] == .string("failed") && failed["usage"] == .null)
        #expect(failed["error"] == .object(["code": .string("server_error"), "message": .string("upstream_error: upstream stream cut short: no [DONE]")]))
        let item = try #require(failed["output"]?.arrayValue?.first)
        #expect(item["status"] == .string("incomplete") && item["content"]?.arrayValue?.first?["text"] == .string("Half an answer"))
        #expect(encoder.finalResponse == failed)
        #expect(encoder.finish(usage: nil).isEmpty && encoder.events(for: Self.chunk(content: "more")).isEmpty,
                "nothing, and above all no response.completed, after a failure")
    }

    @Test("broken before anything: created, in_progress, failed; a rate limit says so")
    func brokenAtOnce() throws {
        var encoder = try Self.encoder()
        let events = encoder.fail(GatewayError(status: 429, code: "upstream_rate_limited", message: "slow down"))
        #expect(Self.shape(events) == Self.opening + ["response.failed"])
        Self.checkNumbering(events)
        #expect(Self.response(events.last)?["error"]?["code"] == .string("rate_limit_exceeded"))
        #expect(Self.response(events.last)?["output"] == .array([]))
    }

    @Test("an empty answer: no items, completed")
    func emptyAnswer() throws {
        var encoder = try Self.encoder()
        var events = encoder.events(for: Self.chunk(content: "", finish: "stop"))
        events += encoder.finish(usage: TokenUsage(promptTokens: 3, completionTokens: 0))
        #expect(Self.shape(events) == Self.opening + ["response.completed"])
        Self.checkNumbering(events)
        #expect(Self.response(events.last)?["output"] == .array([]))
        var silent = try Self.encoder()
        #expect(Self.shape(silent.finish(usage: nil)) == Self.opening + ["response.completed"])
    }

    @Test("a refusal streams as a refusal part after the text part")
    func refusal() throws {
        var encoder = try Self.encoder()
        var events = encoder.events(for: Self.chunk(content: "Well."))
        events += encoder.events(for: Self.chunk(refusal: "I can't"))
        events += encoder.events(for: Self.chunk(refusal: " help."))
        events += encoder.finish(usage: nil)
        #expect(Self.shape(events) == Self.opening + [
            "response.output_item.added@0", "response.content_part.added@0/0", "response.output_text.delta@0/0",
            "response.output_text.done@0/0", "response.content_part.done@0/0",
            "response.content_part.added@0/1", "response.refusal.delta@0/1", "response.refusal.delta@0/1",
            "response.refusal.done@0/1", "response.content_part.done@0/1", "response.output_item.done@0",
            "response.completed",
        ])
        Self.checkNumbering(events)
        #expect(events[7].data["part"] == .object(["type": .string("refusal"), "refusal": .string("")]))
        #expect(events[10].data["refusal"] == .string("I can't help."))
        #expect(Self.response(events.last)?["output"]?.arrayValue?.first?["content"]?.arrayValue?.map { $0["type"] }
                == [.string("output_text"), .string("refusal")])
    }

    @Test("text after a tool call opens a second message item; the call stays open until the end")
    func textAfterTool() throws {
        var encoder = try Self.encoder()
        var events = encoder.events(for: Self.chunk(toolCalls: [Self.call(0, id: "c", name: "f", arguments: "{}")]))
        events += encoder.events(for: Self.chunk(content: "more"))
        events += encoder.finish(usage: nil)
        #expect(Self.shape(events) == Self.opening + [
            "response.output_item.added@0", "response.function_call_arguments.delta@0",
            "response.output_item.added@1", "response.content_part.added@1/0", "response.output_text.delta@1/0",
            "response.function_call_arguments.done@0", "response.output_item.done@0",
            "response.output_text.done@1/0", "response.content_part.done@1/0", "response.output_item.done@1",
            "response.completed",
        ])
        Self.checkNumbering(events)
    }

    @Test("a name sent after the id still names the call; arguments before any id or name have no item to go to")
    func lateName() throws {
        var encoder = try Self.encoder()
        var events = encoder.events(for: Self.chunk(toolCalls: [Self.call(0, arguments: "lost")]))
        events += encoder.events(for: Self.chunk(toolCalls: [Self.call(0, id: "c")]))
        events += encoder.events(for: Self.chunk(toolCalls: [Self.call(0, name: "f", arguments: "{}")]))
        events += encoder.finish(usage: nil)
        Self.checkNumbering(events)
        let item = try #require(Self.response(events.last)?["output"]?.arrayValue?.first)
        #expect(item["name"] == .string("f") && item["call_id"] == .string("c") && item["arguments"] == .string("{}"))
        #expect(events.first { $0.type == "response.function_call_arguments.done" }?.data["name"] == .string("f"))
    }

    @Test("hostile chunks are skipped, never fatal")
    func hostile() throws {
        var encoder = try Self.encoder()
        var events: [ResponsesEvent] = []
        for text in [#"{}"#, #"{"choices":7}"#, #"{"choices":[5]}"#, #"{"choices":[{"delta":3}]}"#, #"{"choices":[{"delta":{"content":4}}]}"#,
                     #"{"choices":[{"delta":{"tool_calls":"x"}}]}"#, #"{"choices":[{"delta":{"tool_calls":[1,null,{"index":"a"}]}}]}"#,
                     #"{"choices":[{"delta":{"tool_calls":[{"index":1e300,"function":{"arguments":"{"}}]}}]}"#,
                     #"{"choices":[{"delta":{"tool_calls":[{"index":-4,"id":5,"function":{"name":[]}}]}}]}"#,
                     #"{"choices":[{"finish_reason":12}]}"#, #"{"usage":"lots"}"#] {
            events += encoder.events(for: try object(text))
        }
        events += encoder.finish(usage: nil)
        #expect(Self.shape(events) == Self.opening + ["response.completed"])
        Self.checkNumbering(events)
    }

    @Test("frames are event: TYPE, data: JSON, blank line, and parse back")
    func frames() throws {
        var encoder = try Self.encoder()
        let events = encoder.events(for: Self.chunk(content: "hi")) + encoder.finish(usage: nil)
        #expect(String(decoding: events[2].frame, as: UTF8.self).hasPrefix("event: response.output_item.added\ndata: {\"type\":\"response.output_item.added\",\"sequence_number\":2,"))
        for event in events {
            var parser = SSEParser()
            #expect(try parser.feed(event.frame) == [SSEEvent(event: event.type, data: JSON.object(event.data).text)])
        }
    }
}

@Suite("Responses input items")
struct ResponsesInputItemsTests {
    /// Seven stored items: two of them with ids of their own (an answer's output, a call).
    static let stored: [JSON] = (0..<7).map { index in
        switch index {
        case 2: .object(["type": .string("message"), "id": .string("msg_answer"), "role": .string("assistant"), "content": .string("A")])
        case 4: .object(["type": .string("function_call"), "id": .string("fc_own"), "call_id": .string("c"), "name": .string("f"), "arguments": .string("{}")])
        default: .object(["role": .string("user"), "content": .string("q\(index)")])
        }
    }

    func list(_ query: [(String, String)], of items: [JSON] = Self.stored) throws -> JSONObject {
        try ResponsesInputItems(query: query.map { (name: $0.0, value: $0.1) }).page(of: items, responseID: "resp_x")
    }

    /// Every id, page after page, following `after` while `has_more`; each page names its own
    /// first and last ids and holds at most `limit` items.
    func walk(_ items: [JSON] = Self.stored, order: String, limit: Int) throws -> [String] {
        var seen: [String] = [], after: String?
        for _ in 0...items.count {
            var query = [("order", order), ("limit", "\(limit)")]
            if let after { query.append(("after", after)) }
            let page = try list(query, of: items)
            #expect(page["first_id"]?.stringValue == ids(page).first && page["last_id"]?.stringValue == ids(page).last)
            #expect(ids(page).count <= limit)
            seen += ids(page)
            guard page["has_more"] == .bool(true) else { break }
            after = page["last_id"]?.stringValue
        }
        return seen
    }

    func ids(_ page: JSONObject) -> [String] { page["data"]?.arrayValue?.compactMap { $0["id"]?.stringValue } ?? [] }

    @Test("following the cursor from page to page lists every item once, in either order, whatever the page size")
    func paging() throws {
        let all = try list([("order", "asc"), ("limit", "100")])
        #expect(all["has_more"] == .bool(false) && ids(all).count == 7 && Set(ids(all)).count == 7, "ids are unique")
        #expect(ids(all)[2] == "msg_answer" && ids(all)[4] == "fc_own", "an item's own id is kept")
        for order in ["asc", "desc"] {
            let expected = order == "asc" ? ids(all) : ids(all).reversed()
            for limit in 1...8 {
                #expect(try walk(order: order, limit: limit) == expected, "order \(order), limit \(limit)")
            }
        }
        #expect(ids(try list([])) == Array(ids(all).reversed().prefix(20)), "newest first, 20 at most, by default")
        #expect(ids(try list([("after", ids(all)[6]), ("order", "asc")])).isEmpty)
    }

    @Test("paging back with before lists every item once too, and pages between two cursors")
    func pagingBack() throws {
        let all = ids(try list([("order", "asc"), ("limit", "100")]))
        for limit in 1...8 {
            var seen: [String] = [], before = all.last!
            seen.append(before)
            for _ in 0..<10 {
                let page = try list([("order", "asc"), ("limit", "\(limit)"), ("before", before)])
                #expect(ids(page).count <= limit)
                seen = ids(page) + seen
                guard page["has_more"] == .bool(true), let first = page["first_id"]?.stringValue else { break }
                before = first
            }
            #expect(seen == all, "limit \(limit)")
        }
        #expect(ids(try list([("order", "asc"), ("after", all[1]), ("before", all[5])])) == Array(all[2..<5]))
        #expect(ids(try list([("order", "asc"), ("after", all[5]), ("before", all[1])])).isEmpty)
    }

    @Test("items sent twice with one id are listed under distinct ids, so the cursor walks past both")
    func repeatedIDs() throws {
        let twice = JSON.object(["type": .string("message"), "id": .string("msg_same"), "role": .string("user"), "content": .string("again")])
        let clash = JSON.object(["role": .string("user"), "content": .string("c"), "id": .string("resp_x_item_3")])
        let items = Self.stored + [twice, twice, clash, .object(["role": .string("user"), "content": .string("d")])]
        let seen = try walk(items, order: "asc", limit: 1)
        #expect(seen.count == items.count && Set(seen).count == items.count, "\(seen)")
        #expect(seen[7] == "msg_same" && seen[8] != "msg_same")
    }

    @Test("a message is listed typed, its string content as a part; a response's listing is the same on every read")
    func shape() throws {
        let page = try list([("order", "asc")])
        let first = try #require(page["data"]?.arrayValue?.first)
        #expect(first["type"] == .string("message"))
        #expect(first["content"] == .array([.object(["type": .string("input_text"), "text": .string("q0")])]))
        let answer = try #require(page["data"]?.arrayValue?[2])
        #expect(answer["content"]?.arrayValue?.first?["type"] == .string("output_text"))
        #expect(ids(try list([("order", "asc")])) == ids(page))
    }

    @Test("bad queries are 400s naming the parameter; unknown names are ignored", arguments: [
        ("limit", "0"), ("limit", "101"), ("limit", "ten"), ("limit", ""), ("order", "up"), ("order", ""), ("after", ""), ("after", "msg_nowhere"),
        ("before", ""), ("before", "msg_nowhere"),
    ])
    func badQueries(_ name: String, _ value: String) {
        #expect {
            _ = try list([(name, value)])
        } throws: { error in
            (error as? GatewayError)?.status == 400 && (error as? GatewayError)?.param == name
        }
        #expect((try? list([("include[]", "x"), ("starting_after", "y")])) != nil)
    }
}
