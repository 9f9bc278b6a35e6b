// Fuzzes the Anthropic Messages wire (Sources/SwitchyardWire/Anthropic/): every POST /v1/messages
// and /v1/messages/count_tokens body reaches `MessagesRequest.parse` first, and what it accepts is
// translated to OpenAI chat form, answered through `AnthropicMessages.message(from:id:model:)` or
// streamed through a `MessagesStreamEncoder`.
//
// Oracles, for both `countingTokens` values:
// - no trap; a refusal is a 400 invalid_request_error with a message, whose param, if any, is not
//   empty, and whose Anthropic body says `invalid_request_error`;
// - an accepted body is sized as received (`summary.sizeInBytes`), accepted again as a token count,
//   and accepted again from what the gateway forwards to an Anthropic target (its own serialisation
//   with the upstream's model and `stream` set), which routing reads identically;
// - `chatRequest()` succeeds (the front translates every request it accepts); what it makes is
//   accepted again from its bytes,
//   and carries no class of private data that the scan of the client's body did not find (an
//   OpenAI-compatible cloud is sent the translation, the scan reads the original);
// - `message(from:)` always makes an Anthropic message: a non-empty content array of text and
//   tool_use blocks, a known stop reason, non-negative usage;
// - the stream encoder's frames are each exactly `event: T\ndata: {...}\n\n` (T the data's own
//   `type`, no other line break), block indices start at 0 and rise by one, each
//   content_block_start has exactly one content_block_stop before the next start and before
//   `message_delta`/`message_stop`, which end the stream once; and no text or tool-call argument
//   fed in is lost. Objects the fuzzer makes are also fed to an encoder as hostile chunks and
//   framed as a passthrough upstream's events.
import SwitchyardSignals
import SwitchyardWire

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzMessagesRequest(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let input = inputBuffer(start, count)
    var acceptedForMessages = false
    for countingTokens in [false, true] {
        let request: MessagesRequest
        do {
            request = try MessagesRequest.parse(input, countingTokens: countingTokens)
        } catch {
            checkRefusal(error, "parse(countingTokens: \(countingTokens))")
            require(!(countingTokens && acceptedForMessages), "accepted by /v1/messages, refused by count_tokens: \(error)")
            continue
        }
        if !countingTokens { acceptedForMessages = true }
        checkAccepted(request, count: count, countingTokens: countingTokens)
    }
    // Whatever the fuzzer made, as an upstream's chunk or event: never a trap, always a well-formed frame.
    if let json = try? JSON.parse(input), case .object(let object) = json {
        checkHostileChunk(object)
        checkPassthroughFrame(object)
        checkMessage(AnthropicMessages.message(from: object, id: "msg_fuzz", model: "m"), id: "msg_fuzz", model: "m")
    }
    return 0
}

// MARK: - Requests

private func checkRefusal(_ error: GatewayError, _ what: String) {
    require(error.status == 400 && error.httpStatus == 400, "\(what): a refusal that is not a 400: \(error)")
    require(!error.message.isEmpty, "\(what): a refusal without a message: \(error)")
    if let param = error.param { require(!param.isEmpty, "\(what): a refusal whose param is empty: \(error)") }
    let body = error.anthropicBody
    require(body["type"] == .string("error") && body["error"]?["type"] == .string("invalid_request_error")
            && (body["error"]?["message"]?.stringValue.map { !$0.isEmpty } ?? false),
            "\(what): the Anthropic error body is not an invalid_request_error: \(show(body))")
}

private func checkAccepted(_ request: MessagesRequest, count: Int, countingTokens: Bool) {
    let summary = request.summary
    require(summary.sizeInBytes == count, "summary.sizeInBytes \(summary.sizeInBytes) for \(count) bytes")
    require(summary.model == request.model && summary.stream == request.stream, "the summary reads another model or stream")
    if countingTokens {
        require(summary.maxTokens == nil, "a token count with a max_tokens in its summary: \(show(summary.maxTokens))")
    } else {
        require(request.maxTokens >= 1 && summary.maxTokens == request.maxTokens, "max_tokens \(request.maxTokens), summary \(show(summary.maxTokens))")
    }
    require(!summary.turns.isEmpty, "an accepted request with no turns")

    // What an Anthropic target is sent: the client's body, with the upstream's model and `stream`.
    var forwarded = request.body
    forwarded["model"] = .string("upstream-model")
    forwarded["stream"] = request.stream ? .bool(true) : nil
    let bytes = forwarded.serialized()
    do {
        let again = try MessagesRequest.parse(bytes, countingTokens: countingTokens)
        require(again.summary.turns == summary.turns && again.summary.hasTools == summary.hasTools
                && again.maxTokens == request.maxTokens && again.stream == request.stream,
                "the forwarded body reads differently:\n  \(show(summary.turns))\n  \(show(again.summary.turns))")
    } catch {
        fail("accepted, but the body forwarded to an Anthropic target is refused: \(error)")
    }

    let chat: ChatRequest
    do {
        chat = try request.chatRequest()
    } catch {
        // The front translates every request it accepts (Messages.parse): a refusal here would turn
        // away a valid request, even one for an Anthropic target, which is sent the original.
        fail("accepted, but its chat translation is refused: \(error)\nbody: \(show(text(request.body)))")
    }
    do {
        // The translation nests a tool's schema one level deeper (`function.parameters`): read
        // back with room for that, as the upstream it is for has its own limit.
        guard case .object(let again) = try JSON.parse(chat.body.serialized(), maxDepth: 256) else { fail("not an object") }
        _ = try ChatRequest(body: again)
    } catch {
        fail("the chat translation does not parse back from its own bytes: \(error)\n\(show(text(chat.body)))")
    }
    require(chat.model == request.model, "the chat translation names another model")
    require(chat.stream == request.stream, "the chat translation streams differently")

    // Privacy: the translation is what an OpenAI-compatible cloud receives; the scan reads the client's body.
    let scanned = PIIDetector.classes(inRequestBody: request.body)
    let sent = PIIDetector.classes(inRequestBody: chat.body)
    require(sent.isSubset(of: scanned),
            "the chat translation carries private data the scan of the client's body missed: \(sent.subtracting(scanned).sorted())\n"
            + "client body: \(show(text(request.body)))\ntranslation: \(show(text(chat.body)))")

    checkAnswers(chat, request: request)
}

// MARK: - Answers built from the request

/// Completions and chunks made of the translated messages (the model answering with what the
/// client sent), through the whole-answer translation and the stream encoder.
private func checkAnswers(_ chat: ChatRequest, request: MessagesRequest) {
    let messages = chat.body["messages"]?.arrayValue ?? []
    let reasons = ["stop", "length", "tool_calls", "content_filter", "function_call", "weird"]
    for (i, message) in messages.enumerated() {
        let completion: JSONObject = [
            "choices": .array([.object(["index": .int(0), "message": message, "finish_reason": .string(reasons[i % reasons.count])])]),
            "usage": .object(["prompt_tokens": .int(request.maxTokens), "completion_tokens": .int(i)]),
            "model": .string(request.model),
        ]
        checkMessage(AnthropicMessages.message(from: completion, id: "msg_\(i)", model: request.model), id: "msg_\(i)", model: request.model)
    }

    // The stream: the translated messages as the answer (`FedChatStream`).
    let fed = FedChatStream(answering: messages, pieceLength: 1 + request.maxTokens % 7)
    var chunks = fed.chunks
    let texts = fed.texts, tools = fed.calls
    chunks.append(chatChunk([:], finishReason: tools.isEmpty ? "stop" : "tool_calls"))
    var encoder = MessagesStreamEncoder(id: "msg_stream", model: request.model, inputTokens: request.summary.turns.count)
    var events: [AnthropicEvent] = []
    for chunk in chunks { events += encoder.events(for: chunk) }
    let usage = request.stream ? TokenUsage(promptTokens: request.maxTokens, completionTokens: chunks.count) : nil
    events += encoder.finish(usage: usage)
    require(encoder.finish(usage: usage).isEmpty && encoder.events(for: chatChunk(["content": .string("late")])).isEmpty,
            "the encoder wrote after its finish")
    let blocks = checkStream(events)

    // Nothing lost: the text blocks hold every piece of text, the tool_use blocks every call and its arguments.
    let streamedText = blocks.filter { $0.type == "text" }.map(\.text).joined()
    require(streamedText == texts.joined(), "streamed text differs from what was fed:\n  fed:  \(show(texts.joined()))\n  got:  \(show(streamedText))")
    let streamedTools = blocks.filter { $0.type == "tool_use" }
    require(streamedTools.count == tools.count, "\(tools.count) tool calls fed, \(streamedTools.count) tool_use blocks streamed")
    for (block, tool) in zip(streamedTools, tools) {
        require(block.id == tool.id && block.name == tool.name && block.text == tool.arguments,
                "a tool call changed in the stream: fed \(show(tool)), got \(show((block.id, block.name, block.text)))")
    }
}

private func checkMessage(_ message: JSONObject, id: String, model: String) {
    require(message["type"] == .string("message") && message["role"] == .string("assistant")
            && message["id"] == .string(id) && message["model"] == .string(model), "not an assistant message: \(show(text(message)))")
    guard let content = message["content"]?.arrayValue, !content.isEmpty else { fail("a message without content: \(show(text(message)))") }
    for block in content {
        switch block["type"]?.stringValue {
        case "text":
            require(block["text"]?.stringValue != nil, "a text block without text: \(show(block))")
        case "tool_use":
            require(block["id"]?.stringValue != nil && block["name"]?.stringValue != nil && block["input"]?.objectValue != nil,
                    "a malformed tool_use block: \(show(block))")
        default:
            fail("a content block of another type: \(show(block))")
        }
    }
    let reasons = ["end_turn", "max_tokens", "tool_use", "refusal", "stop_sequence", "pause_turn"]
    require(reasons.contains(message["stop_reason"]?.stringValue ?? ""), "an unknown stop_reason: \(show(message["stop_reason"]))")
    let input = message["usage"]?["input_tokens"]?.intValue, output = message["usage"]?["output_tokens"]?.intValue
    require((input ?? -1) >= 0 && (output ?? -1) >= 0, "usage that is not two counts: \(show(message["usage"]))")
    do {
        _ = try JSON.parse(message.serialized())
    } catch {
        fail("the message does not parse back: \(error)")
    }
}

// MARK: - Streams

private struct StreamedBlock {
    var type: String
    var id: String?
    var name: String?
    /// Text deltas, or the tool call's partial JSON, joined.
    var text = ""
}

/// Checks the framing of each event and the order of the whole stream; returns its blocks.
@discardableResult
private func checkStream(_ events: [AnthropicEvent]) -> [StreamedBlock] {
    var blocks: [StreamedBlock] = []
    var open: Int?
    var ended = false
    var delta = false
    for (position, event) in events.enumerated() {
        let data = checkFrame(event, requireEventLine: true)
        require(!ended, "an event after message_stop: \(event.type)")
        switch event.type {
        case "message_start":
            require(position == 0, "message_start at \(position)")
        case "ping":
            require(position == 1, "ping at \(position)")
        case "content_block_start":
            require(position >= 2 && !delta, "content_block_start at \(position), after message_delta \(delta)")
            require(open == nil, "content_block_start while block \(show(open)) is open")
            require(data["index"]?.intValue == blocks.count, "block index \(show(data["index"])); expected \(blocks.count)")
            let block = data["content_block"]
            let type = block?["type"]?.stringValue ?? ""
            require(type == "text" || type == "tool_use", "a block of type \(show(type))")
            blocks.append(StreamedBlock(type: type, id: block?["id"]?.stringValue, name: block?["name"]?.stringValue))
            open = blocks.count - 1
        case "content_block_delta":
            guard let index = open, data["index"]?.intValue == index else { fail("a delta for block \(show(data["index"])) while \(show(open)) is open") }
            let d = data["delta"]
            switch d?["type"]?.stringValue {
            case "text_delta":
                require(blocks[index].type == "text", "a text delta in a \(blocks[index].type) block")
                blocks[index].text += d?["text"]?.stringValue ?? ""
            case "input_json_delta":
                require(blocks[index].type == "tool_use", "an input_json delta in a \(blocks[index].type) block")
                blocks[index].text += d?["partial_json"]?.stringValue ?? ""
            default:
                fail("a delta of another type: \(show(d))")
            }
        case "content_block_stop":
            require(open != nil && data["index"]?.intValue == open, "content_block_stop for \(show(data["index"])) while \(show(open)) is open")
            open = nil
        case "message_delta":
            require(!delta && open == nil, "message_delta twice, or with block \(show(open)) open")
            delta = true
            let reason = data["delta"]?["stop_reason"]?.stringValue ?? ""
            require(["end_turn", "max_tokens", "tool_use", "refusal"].contains(reason), "stop_reason \(show(reason))")
            require((data["usage"]?["output_tokens"]?.intValue ?? -1) >= 0 && (data["usage"]?["input_tokens"]?.intValue ?? -1) >= 0,
                    "usage \(show(data["usage"]))")
        case "message_stop":
            require(delta && open == nil, "message_stop without message_delta, or with block \(show(open)) open")
            ended = true
        default:
            fail("an event of another type: \(show(event.type))")
        }
    }
    require(ended, "the stream did not end with message_stop: \(events.map(\.type))")
    return blocks
}

/// The frame is `event: T\ndata: JSON\n\n` (or, for a type that is not a header-safe word, just
/// `data: JSON\n\n`), its data the event's own, with no other line break; returns the data.
@discardableResult
private func checkFrame(_ event: AnthropicEvent, requireEventLine: Bool) -> JSONObject {
    let frame = event.frame
    require(!frame.contains(0x0D), "a frame holds a carriage return: \(show(String(decoding: frame, as: UTF8.self)))")
    let lines = frame.split(separator: 0x0A, omittingEmptySubsequences: false)
    // "event: T", "data: J", "", "" (or without the first).
    let withEvent = lines.count == 4
    require(lines.count == 4 || lines.count == 3, "a frame of \(lines.count - 2) lines: \(show(String(decoding: frame.prefix(300), as: UTF8.self)))")
    require(lines[lines.count - 1].isEmpty && lines[lines.count - 2].isEmpty, "a frame that does not end with a blank line")
    let dataLine = lines[withEvent ? 1 : 0]
    require(dataLine.starts(with: "data: ".utf8), "no data line: \(show(String(decoding: dataLine.prefix(100), as: UTF8.self)))")
    let object: JSONObject
    do {
        guard case .object(let o) = try JSON.parse(dataLine.dropFirst(6)) else { fail("data that is not an object") }
        object = o
    } catch {
        fail("data that does not parse: \(error)")
    }
    require(object == event.data, "the data line is not the event's data")
    if withEvent {
        let eventLine = lines[0]
        require(eventLine.starts(with: "event: ".utf8), "a first line that is not an event line")
        let type = String(decoding: eventLine.dropFirst(7), as: UTF8.self)
        require(!type.isEmpty && type == event.type, "event line \(show(type)) for an event of type \(show(event.type))")
        require(object["type"]?.stringValue == type, "the event line says \(show(type)), the data \(show(object["type"]))")
    } else {
        require(!requireEventLine, "the gateway's own event \(show(event.type)) framed without an event line")
        let type = object["type"]?.stringValue ?? ""
        require(type.isEmpty || type.utf8.contains(0x0A) || type.utf8.contains(0x0D),
                "an event of type \(show(type)) framed without its event line")
    }
    return object
}

// MARK: - Hostile upstream objects

/// The object as an OpenAI chunk (and wrapped as one's delta and choice) into a fresh encoder,
/// then finished: a well-formed stream whatever they held.
private func checkHostileChunk(_ object: JSONObject) {
    var encoder = MessagesStreamEncoder(id: "msg_hostile", model: "m", inputTokens: nil)
    var events = encoder.events(for: object)
    events += encoder.events(for: ["choices": .array([.object(object)])])
    events += encoder.events(for: ["choices": .array([.object(["delta": .object(object)])])])
    if let calls = object["tool_calls"] {
        events += encoder.events(for: ["choices": .array([.object(["delta": .object(["content": .string("x"), "tool_calls": calls])])])])
    }
    events += encoder.finish(usage: TokenUsage(openAI: object["usage"]))
    checkStream(events)
}

/// The object as a passthrough upstream's event: framed by its own `type`, its data intact.
private func checkPassthroughFrame(_ object: JSONObject) {
    checkFrame(AnthropicEvent.framing(object), requireEventLine: false)
    if let inner = object["error"]?.objectValue {
        let error = GatewayError(status: 500, message: inner["message"]?.stringValue ?? "x")
        checkFrame(AnthropicEvent.error(error), requireEventLine: true)
    }
}

private func text(_ object: JSONObject) -> String { JSON.object(object).text }
