import Testing
@testable import SwitchyardWire

@Suite("JSON")
struct JSONTests {
    @Test("round-trips keys in order and numbers as written")
    func roundTrip() throws {
        let text = #"{"z":1,"a":[true,false,null],"seed":12345678901234567890,"t":1.50,"s":"é\n\"q\""}"#
        let value = try JSON.parse(text)
        #expect(value.text == text)
        #expect(value.objectValue?.keys == ["z", "a", "seed", "t", "s"])
        #expect(value["s"]?.stringValue == "é\n\"q\"")
    }

    @Test("decodes escapes, including surrogate pairs")
    func escapes() throws {
        #expect(try JSON.parse(#""\u00e9\ud83d\ude00\/\t""#).stringValue == "é😀/\t")
    }

    @Test("rejects malformed documents with a position", arguments: [
        "{", #"{"a" 1}"#, "[1,]", "01", "1.", "-", "tru", #""\ud800""#, "{} x", #""a\qb""#, "\"\u{01}\"",
    ])
    func rejects(_ text: String) {
        #expect(throws: JSONParseError.self) { try JSON.parse(text) }
    }

    @Test("refuses nesting deeper than the limit")
    func depth() {
        let deep = String(repeating: "[", count: 200) + String(repeating: "]", count: 200)
        #expect(throws: JSONParseError.self) { try JSON.parse(Array(deep.utf8), maxDepth: 128) }
        #expect((try? JSON.parse(Array(deep.utf8), maxDepth: 256)) != nil)
    }

    @Test("integers read from integral numbers only")
    func integers() throws {
        #expect(JSON.number("3.0").intValue == 3)
        #expect(JSON.number("3.5").intValue == nil)
        #expect(JSON.double(0.25).text == "0.25")
        #expect(JSON.double(2).text == "2")
    }
}

@Suite("Chat request validation")
struct ChatRequestTests {
    func parse(_ text: String) throws(GatewayError) -> ChatRequest { try ChatRequest.parse(Array(text.utf8)) }

    func rejection(_ text: String) -> GatewayError? {
        do {
            _ = try parse(text)
            return nil
        } catch {
            return error
        }
    }

    @Test("reads what routing needs and keeps the rest")
    func valid() throws {
        let request = try parse(#"""
        {"model":"auto","messages":[{"role":"system","content":"Be brief."},
         {"role":"user","content":[{"type":"text","text":"Hi"},{"type":"image_url","image_url":{"url":"http://x/y.png"}}]}],
         "max_completion_tokens":5,"max_tokens":9,"stream":true,"stream_options":{"include_usage":true},
         "stop":"END","tools":[{"type":"function","function":{"name":"f"}}],"vendor_field":{"x":1}}
        """#)
        #expect(request.model == "auto")
        #expect(request.messages.map(\.role) == [.system, .user])
        #expect(request.messages[1].text == "Hi")
        #expect(request.messages[1].hasImages)
        #expect(request.maxTokens == 5)
        #expect(request.stream && request.includeUsage)
        #expect(request.stop == ["END"])
        #expect(request.hasTools)
        #expect(request.body["vendor_field"] == .object(["x": .int(1)]))
    }

    @Test("each invalid field is named in the error", arguments: [
        (#"not json"#, nil, "invalid_json"),
        (#"[1]"#, nil, nil),
        (#"{"messages":[{"role":"user","content":"x"}]}"#, "model", "missing_required_parameter"),
        (#"{"model":"auto"}"#, "messages", "missing_required_parameter"),
        (#"{"model":"auto","messages":[]}"#, "messages", nil),
        (#"{"model":7,"messages":[{"role":"user","content":"x"}]}"#, "model", nil),
        (#"{"model":"auto","messages":[{"role":"robot","content":"x"}]}"#, "messages[0].role", nil),
        (#"{"model":"auto","messages":[{"content":"x"}]}"#, "messages[0].role", "missing_required_parameter"),
        (#"{"model":"auto","messages":[{"role":"user"}]}"#, "messages[0].content", "missing_required_parameter"),
        (#"{"model":"auto","messages":[{"role":"user","content":5}]}"#, "messages[0].content", nil),
        (#"{"model":"auto","messages":[{"role":"user","content":[{"type":"text"}]}]}"#, "messages[0].content[0].text", nil),
        (#"{"model":"auto","messages":[{"role":"user","content":"x"}],"temperature":3}"#, "temperature", nil),
        (#"{"model":"auto","messages":[{"role":"user","content":"x"}],"top_p":"high"}"#, "top_p", nil),
        (#"{"model":"auto","messages":[{"role":"user","content":"x"}],"max_tokens":0}"#, "max_tokens", nil),
        (#"{"model":"auto","messages":[{"role":"user","content":"x"}],"max_tokens":1.5}"#, "max_tokens", nil),
        (#"{"model":"auto","messages":[{"role":"user","content":"x"}],"stream":"yes"}"#, "stream", nil),
        (#"{"model":"auto","messages":[{"role":"user","content":"x"}],"stop":["a","b","c","d","e"]}"#, "stop", nil),
        (#"{"model":"auto","messages":[{"role":"user","content":"x"}],"top_logprobs":21}"#, "top_logprobs", nil),
        (#"{"model":"auto","messages":[{"role":"user","content":"x"}],"stream_options":{"include_usage":1}}"#, "stream_options.include_usage", nil),
        (#"{"model":"auto","messages":[{"role":"user","content":"x"}],"tools":{}}"#, "tools", nil),
    ] as [(String, String?, String?)])
    func invalid(_ text: String, param: String?, code: String?) throws {
        let error = try #require(rejection(text))
        #expect(error.status == 400)
        #expect(error.openAIBody["error"]?["type"] == .string("invalid_request_error"))
        #expect(error.param == param)
        if let code { #expect(error.code == code) }
        #expect(error.openAIBody["error"]?["message"]?.stringValue?.isEmpty == false)
    }

    @Test("an assistant message may carry tool calls and no content")
    func assistantToolCall() throws {
        let request = try parse(#"{"model":"auto","messages":[{"role":"assistant","content":null,"tool_calls":[]},{"role":"tool","tool_call_id":"c1","content":"42"}]}"#)
        #expect(request.messages.map(\.role) == [.assistant, .tool])
    }
}

@Suite("SSE parser")
struct SSEParserTests {
    @Test("events split anywhere across chunks come out whole")
    func splitAnywhere() throws {
        let stream = "event: a\ndata: {\"x\":1}\n\n: keep-alive\n\ndata: line1\r\ndata: line2\r\n\r\ndata: [DONE]\n\n"
        let bytes = Array(stream.utf8)
        let expected = [SSEEvent(event: "a", data: #"{"x":1}"#), SSEEvent(data: "line1\nline2"), SSEEvent(data: "[DONE]")]
        for split in 1..<bytes.count {
            var parser = SSEParser()
            var events = try parser.feed(Array(bytes[..<split]))
            events += try parser.feed(Array(bytes[split...]))
            #expect(events == expected, "split at \(split)")
        }
    }

    @Test("a last event without its blank line is returned by finish")
    func finish() throws {
        var parser = SSEParser()
        #expect(try parser.feed(Array("data: tail".utf8)).isEmpty)
        #expect(try parser.finish() == SSEEvent(data: "tail"))
    }

    @Test("a line that never ends is refused at the limit, and is scanned once, not again per chunk")
    func endlessLine() throws {
        var parser = SSEParser(maxEventBytes: 1000)
        var fed = 0
        var refused = false
        while fed < 10_000 {
            do {
                _ = try parser.feed(Array(repeating: UInt8(ascii: "x"), count: 100))
                fed += 100
            } catch {
                refused = true
                break
            }
        }
        #expect(refused)
        #expect(fed <= 1000)
    }

    @Test("an event of many data lines is refused past the limit")
    func endlessEvent() {
        var parser = SSEParser(maxEventBytes: 1000)
        #expect(throws: SSEParseError.self) {
            for _ in 0..<100 { _ = try parser.feed(Array("data: 0123456789012345678901234567890123456789\n".utf8)) }
        }
    }
}
