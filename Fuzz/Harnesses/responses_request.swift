// Fuzzes the OpenAI Responses wire (Sources/SwitchyardWire/Responses/): every POST /v1/responses
// body reaches `ResponsesRequest.parse` first; what it accepts becomes a conversation (with earlier,
// stored items when it continues one), translated to OpenAI chat form, and answered through
// `ResponsesAnswer.response(from:envelope:)` or streamed through a `ResponsesStreamEncoder`.
//
// Oracles:
// - no trap; a refusal is a 400 invalid_request_error with a message, whose param, if any, is not
//   empty, in OpenAI's error shape;
// - an accepted body is sized as received, and its conversation is built (a bare continuation's
//   from stored items; every request's also continuing from its own items, as a stored response's
//   would be): the only refusal is a continuation of nothing;
// - the conversation's self-contained body (what the scan reads and an OpenAI Responses target is
//   sent) is accepted again from its bytes and reads the same to routing;
// - the chat translation is accepted again from its bytes, names the same model and stream, and
//   carries no class of private data the scan of the conversation's body did not find (a chat
//   cloud is sent the translation, the scan reads the Responses body): translation never makes
//   text the scan did not see;
// - what the translation could not carry is named by header-safe words, sorted, each once;
// - `response(from:)` always makes a well-formed response object;
// - the stream encoder's events are numbered 0, 1, 2, … (in the data too), framed as
//   `event: T\ndata: {...}\n\n`, start with response.created and response.in_progress, add items at
//   the next output index, fill only open items and parts at the right content index, close each
//   once, and end once: response.completed or response.incomplete with every item closed and the
//   output matching the stream, or (broken) response.failed with an error and never a
//   response.completed; no text or tool-call argument fed in is lost.
// Whatever the fuzzer makes is also fed as a hostile chat chunk and completion, and (an array) as
// hostile stored items a continuation prepends.
import SwitchyardSignals
import SwitchyardWire

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzResponsesRequest(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let input = inputBuffer(start, count)
    do {
        let request = try ResponsesRequest.parse(input)
        checkAccepted(request, count: count)
    } catch {
        checkRefusal(error)
    }
    switch try? JSON.parse(input) {
    case .object(let object)?:
        checkHostileChunk(object)
        checkResponse(ResponsesAnswer.response(from: object, envelope: envelope(for: nil)))
    case .array(let items)?:
        checkHostileEarlier(items)
    default:
        break
    }
    return 0
}

// MARK: - Requests

private func checkRefusal(_ error: GatewayError) {
    require(error.status == 400 && error.httpStatus == 400, "a refusal that is not a 400: \(error)")
    require(!error.message.isEmpty, "a refusal without a message: \(error)")
    if let param = error.param { require(!param.isEmpty, "a refusal whose param is empty: \(error)") }
    let body = error.openAIBody["error"]
    require(body?["type"] == .string("invalid_request_error") && body?["message"] == .string(error.message),
            "the OpenAI error body is not an invalid_request_error: \(show(error.openAIBody))")
}

/// What a stored response's items would hold before a bare continuation.
private let storedItems: [JSON] = [.object(["type": .string("message"), "role": .string("user"), "content": .string("earlier")])]

private func checkAccepted(_ request: ResponsesRequest, count: Int) {
    require(request.sizeInBytes == count, "sizeInBytes \(request.sizeInBytes) for \(count) bytes")
    let conversation: ResponsesConversation
    do {
        if request.inputItems.isEmpty {
            require((try? request.conversation()) == nil, "a continuation of nothing was accepted")
            conversation = try request.conversation(continuing: storedItems)
        } else {
            conversation = try request.conversation()
        }
    } catch {
        fail("accepted, but its conversation is refused: \(error)\nbody: \(show(text(request.body)))")
    }
    let summary = conversation.summary
    require(summary.model == request.model && summary.stream == request.stream && summary.maxTokens == request.maxOutputTokens,
            "the summary reads another model, stream or output cap")
    require(!summary.turns.isEmpty, "an accepted request with no turns")
    if request.previousResponseID == nil {
        require(summary.sizeInBytes == count && summary.body == request.body, "a request that continues nothing is not scanned as received")
    } else {
        require(summary.body["previous_response_id"] == nil && summary.sizeInBytes == summary.body.serialized().count,
                "a continuation's body still names what it continues, or is sized otherwise")
    }
    checkConversation(conversation, request: request)

    // A stored response's items continued by this request: prepended, read the same way.
    do {
        checkConversation(try request.conversation(continuing: conversation.items), request: request)
    } catch {
        fail("a continuation of the request's own items is refused: \(error)")
    }
}

private func checkConversation(_ conversation: ResponsesConversation, request: ResponsesRequest) {
    // The self-contained body: accepted again, and it reads the same to routing.
    let bytes = conversation.body.serialized()
    do {
        let again = try ResponsesRequest.parse(bytes).conversation()
        require(again.summary.turns == conversation.summary.turns && again.summary.hasTools == conversation.summary.hasTools
                && again.untranslatable == conversation.untranslatable,
                "the conversation's body reads differently:\n  \(show(conversation.summary.turns))\n  \(show(again.summary.turns))")
    } catch {
        fail("the conversation's body is refused: \(error)\n\(show(String(decoding: bytes, as: UTF8.self)))")
    }

    let chat = conversation.chat
    do {
        // The translation nests a tool's schema one level deeper (`function.parameters`).
        guard case .object(let again) = try JSON.parse(chat.body.serialized(), maxDepth: 256) else { fail("not an object") }
        _ = try ChatRequest(body: again)
    } catch {
        fail("the chat translation does not parse back from its own bytes: \(error)\n\(show(text(chat.body)))")
    }
    require(chat.model == request.model && chat.stream == request.stream, "the chat translation names another model or stream")
    checkKinds(conversation.untranslatable)

    // Privacy: the translation is what a chat cloud receives; the scan reads the Responses body.
    let scanned = PIIDetector.classes(inRequestBody: conversation.body)
    let sent = PIIDetector.classes(inRequestBody: chat.body)
    require(sent.isSubset(of: scanned),
            "the chat translation carries private data the scan of the Responses body missed: \(sent.subtracting(scanned).sorted())\n"
            + "Responses body: \(show(text(conversation.body)))\ntranslation: \(show(text(chat.body)))")

    checkAnswers(chat, request: request)
}

/// Names that go into `x-switchyard-dropped`: lowercase words, dots and underscores; sorted, each once.
private func checkKinds(_ kinds: [String]) {
    require(kinds == Array(Set(kinds)).sorted(), "untranslatable kinds not sorted and unique: \(kinds)")
    for kind in kinds {
        require(!kind.isEmpty && kind.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x5F || $0 == 0x2E },
                "an untranslatable kind that is not a header-safe word: \(show(kind))")
    }
}

/// Stored items are the gateway's records, but an upstream's output is hostile until read: a
/// continuation of anything is translated without a trap and names what it drops safely.
private func checkHostileEarlier(_ items: [JSON]) {
    let request: ResponsesRequest
    do {
        request = try ResponsesRequest.parse(Array(#"{"model":"m","previous_response_id":"resp_x","input":"next"}"#.utf8))
    } catch {
        fail("the fixed continuation is refused: \(error)")
    }
    let conversation: ResponsesConversation
    do {
        conversation = try request.conversation(continuing: items)
    } catch {
        fail("a continuation of hostile stored items is refused: \(error)")
    }
    checkKinds(conversation.untranslatable)
    let sent = PIIDetector.classes(inRequestBody: conversation.chat.body)
    require(sent.isSubset(of: PIIDetector.classes(inRequestBody: conversation.body)),
            "the translation of stored items carries private data their scan missed\nitems: \(show(items))")
}

// MARK: - Answers

private func envelope(for request: ResponsesRequest?) -> ResponseEnvelope {
    let fallback = try? ResponsesRequest.parse(Array(#"{"model":"m","input":"x"}"#.utf8))
    guard let request = request ?? fallback else { fail("the fixed request is refused") }
    return ResponseEnvelope(id: "resp_fuzz", createdAt: 1, model: "m", request: request)
}

/// Completions and chunks made of the translated messages (the model answering with what the
/// client sent), through the whole-answer translation and the stream encoder, whole and broken.
private func checkAnswers(_ chat: ChatRequest, request: ResponsesRequest) {
    let messages = chat.body["messages"]?.arrayValue ?? []
    let reasons = ["stop", "length", "tool_calls", "content_filter", "function_call", "weird"]
    let envelope = envelope(for: request)
    for (i, message) in messages.prefix(8).enumerated() {
        let completion: JSONObject = [
            "choices": .array([.object(["index": .int(0), "message": message, "finish_reason": .string(reasons[i % reasons.count])])]),
            "usage": .object(["prompt_tokens": .int(request.maxOutputTokens ?? 7), "completion_tokens": .int(i)]),
        ]
        checkResponse(ResponsesAnswer.response(from: completion, envelope: envelope))
    }

    // The stream: the translated messages as the answer (`FedChatStream`).
    let fed = FedChatStream(answering: messages, pieceLength: 1 + (request.maxOutputTokens ?? 3) % 7)
    var chunks = fed.chunks
    let texts = fed.texts, calls = fed.calls
    let reason = reasons[messages.count % reasons.count]
    chunks.append(chatChunk([:], finishReason: reason))

    var encoder = ResponsesStreamEncoder(envelope: envelope)
    var events: [ResponsesEvent] = []
    for chunk in chunks { events += encoder.events(for: chunk) }
    events += encoder.finish(usage: TokenUsage(promptTokens: 3, completionTokens: chunks.count))
    require(encoder.finish(usage: nil).isEmpty && encoder.events(for: chatChunk(["content": .string("late")])).isEmpty
            && encoder.fail(.upstream("late")).isEmpty, "the encoder wrote after its end")
    let items = checkStream(events, final: encoder.finalResponse)
    require(events.last?.type == (reason == "length" || reason == "content_filter" ? "response.incomplete" : "response.completed"),
            "a \(reason) finish ended with \(show(events.last?.type))")

    // Nothing lost: the message items hold every piece of text, the function calls every call.
    let streamedText = items.compactMap { $0.type == "message" ? $0.parts.map(\.text).joined() : nil }.joined()
    require(streamedText == texts.joined(), "streamed text differs from what was fed:\n  fed:  \(show(texts.joined()))\n  got:  \(show(streamedText))")
    let streamedCalls = items.filter { $0.type == "function_call" }
    require(streamedCalls.count == calls.count, "\(calls.count) tool calls fed, \(streamedCalls.count) function_call items streamed")
    for (item, call) in zip(streamedCalls, calls) {
        require(item.callID == call.id && item.name == call.name && item.arguments == call.arguments,
                "a tool call changed in the stream: fed \(show(call)), got \(show((item.callID, item.name, item.arguments)))")
    }

    // The same stream broken halfway: response.failed, never response.completed.
    var broken = ResponsesStreamEncoder(envelope: envelope)
    var brokenEvents: [ResponsesEvent] = []
    for chunk in chunks.prefix(chunks.count / 2) { brokenEvents += broken.events(for: chunk) }
    brokenEvents += broken.fail(.upstream("cut short"))
    require(broken.finish(usage: nil).isEmpty, "a failed stream completed afterwards")
    checkStream(brokenEvents, final: broken.finalResponse)
    require(brokenEvents.last?.type == "response.failed", "a broken stream ended with \(show(brokenEvents.last?.type))")
}

/// A response object: its envelope, a known status, output items of known shapes, usage that adds up.
private func checkResponse(_ response: JSONObject) {
    require(response["object"] == .string("response") && response["id"]?.stringValue != nil && response["model"]?.stringValue != nil,
            "not a response: \(show(text(response)))")
    let status = response["status"]?.stringValue ?? ""
    require(["completed", "incomplete", "failed", "in_progress"].contains(status), "an unknown status \(show(status))")
    require((status == "incomplete") == (response["incomplete_details"]?.objectValue != nil), "incomplete_details for status \(status)")
    require((status == "failed") == (response["error"]?.objectValue != nil), "an error for status \(status)")
    for item in response["output"]?.arrayValue ?? [.null] {
        switch item["type"]?.stringValue {
        case "message":
            require(item["role"] == .string("assistant") && item["id"]?.stringValue != nil, "a malformed message item: \(show(item))")
            for part in item["content"]?.arrayValue ?? [.null] {
                let type = part["type"]?.stringValue
                require((type == "output_text" && part["text"]?.stringValue != nil && part["annotations"] == .array([]))
                        || (type == "refusal" && part["refusal"]?.stringValue != nil), "a malformed part: \(show(part))")
            }
        case "function_call":
            require(item["call_id"]?.stringValue != nil && item["name"]?.stringValue != nil && item["arguments"]?.stringValue != nil
                    && item["id"]?.stringValue != nil, "a malformed function_call item: \(show(item))")
        default:
            fail("an output item of another type: \(show(item))")
        }
    }
    if status != "in_progress" && status != "failed" {
        let usage = response["usage"]
        let input = usage?["input_tokens"]?.intValue ?? -1, output = usage?["output_tokens"]?.intValue ?? -1
        let cached = usage?["input_tokens_details"]?["cached_tokens"]?.intValue ?? -1
        let reasoning = usage?["output_tokens_details"]?["reasoning_tokens"]?.intValue ?? -1
        require(input >= 0 && output >= 0 && usage?["total_tokens"]?.intValue == input + output && (0...input).contains(cached)
                && (0...output).contains(reasoning), "usage that does not add up: \(show(usage))")
    }
    do {
        _ = try JSON.parse(response.serialized())
    } catch {
        fail("the response does not parse back: \(error)")
    }
}

// MARK: - Streams

private struct StreamedItem {
    var type: String
    var id: String
    var callID: String?
    var name: String?
    var arguments = ""
    var parts: [(type: String, text: String, open: Bool)] = []
    var done = false
}

/// Checks the numbering, framing and order of a whole stream; returns its items.
@discardableResult
private func checkStream(_ events: [ResponsesEvent], final: JSONObject?) -> [StreamedItem] {
    var items: [StreamedItem] = []
    var ended = false
    for (position, event) in events.enumerated() {
        let data = checkFrame(event)
        require(event.sequenceNumber == position && data["sequence_number"] == .int(position),
                "event \(position) (\(event.type)) numbered \(event.sequenceNumber), \(show(data["sequence_number"]))")
        require(!ended, "an event after the end: \(event.type)")
        if position == 0 { require(event.type == "response.created", "the stream starts with \(event.type)") }
        if position == 1 { require(event.type == "response.in_progress", "the second event is \(event.type)") }
        let output = data["output_index"]?.intValue ?? -1
        let content = data["content_index"]?.intValue ?? -1
        func open(_ type: String) -> Int {
            guard items.indices.contains(output), items[output].type == type, !items[output].done else {
                fail("\(event.type) for output \(output), which is not an open \(type) item")
            }
            if data["item_id"] != nil { require(data["item_id"] == .string(items[output].id), "\(event.type) names another item_id") }
            return output
        }
        func openPart(_ type: String) -> Int {
            let index = open("message")
            guard content == items[index].parts.count - 1, items[index].parts.last?.open == true, items[index].parts.last?.type == type else {
                fail("\(event.type) for part \(content) of item \(index), which is not the open \(type) part")
            }
            return index
        }
        switch event.type {
        case "response.created", "response.in_progress":
            require(position < 2, "\(event.type) at \(position)")
            let response = data["response"]?.objectValue ?? [:]
            require(response["status"] == .string("in_progress") && response["output"] == .array([]), "a \(event.type) that is not a fresh response")
            checkResponse(response)
        case "response.output_item.added":
            require(output == items.count, "an item added at \(output); expected \(items.count)")
            let item = data["item"]
            let type = item?["type"]?.stringValue ?? ""
            require(item?["status"] == .string("in_progress"), "an item added \(show(item?["status"]))")
            switch type {
            case "message": require(item?["content"] == .array([]), "a message added with content")
            case "function_call": require(item?["arguments"] == .string("") && item?["call_id"]?.stringValue != nil, "a call added with arguments or no call_id")
            default: fail("an item of type \(show(type))")
            }
            items.append(StreamedItem(type: type, id: item?["id"]?.stringValue ?? "", callID: item?["call_id"]?.stringValue,
                                      name: item?["name"]?.stringValue))
        case "response.content_part.added":
            let index = open("message")
            require(content == items[index].parts.count && items[index].parts.last?.open != true, "a part added at \(content) while another is open")
            let type = data["part"]?["type"]?.stringValue ?? ""
            require(type == "output_text" || type == "refusal", "a part of type \(type)")
            items[index].parts.append((type, "", true))
        case "response.output_text.delta", "response.refusal.delta":
            let index = openPart(event.type == "response.output_text.delta" ? "output_text" : "refusal")
            let delta = data["delta"]?.stringValue ?? ""
            require(!delta.isEmpty, "an empty delta")
            items[index].parts[content].text += delta
        case "response.output_text.done", "response.refusal.done":
            let index = openPart(event.type == "response.output_text.done" ? "output_text" : "refusal")
            let field = event.type == "response.output_text.done" ? "text" : "refusal"
            require(data[field] == .string(items[index].parts[content].text), "\(event.type) differs from its deltas")
        case "response.content_part.done":
            let index = open("message")
            require(content == items[index].parts.count - 1 && items[index].parts.last?.open == true, "a part closed that is not open")
            let part = data["part"]
            let field = part?["type"] == .string("refusal") ? "refusal" : "text"
            require(part?[field] == .string(items[index].parts[content].text), "content_part.done differs from its deltas")
            items[index].parts[content].open = false
        case "response.function_call_arguments.delta":
            let index = open("function_call")
            items[index].arguments += data["delta"]?.stringValue ?? ""
        case "response.function_call_arguments.done":
            let index = open("function_call")
            require(data["arguments"] == .string(items[index].arguments), "function_call_arguments.done differs from its deltas")
            items[index].name = data["name"]?.stringValue
        case "response.output_item.done":
            let index = items.indices.contains(output) && !items[output].done ? output : -1
            require(index >= 0, "output_item.done for \(output), which is not an open item")
            require(items[index].parts.allSatisfy { !$0.open }, "an item closed with a part open")
            checkItem(data["item"], against: items[index])
            items[index].done = true
        case "response.completed", "response.incomplete", "response.failed":
            ended = true
            let response = data["response"]?.objectValue ?? [:]
            checkResponse(response)
            require(final == response, "the encoder's final response is not the last event's")
            let status = String(event.type.dropFirst("response.".count))
            require(response["status"] == .string(status), "\(event.type) with status \(show(response["status"]))")
            let outputItems = response["output"]?.arrayValue ?? []
            require(outputItems.count == items.count, "the final output has \(outputItems.count) items; the stream added \(items.count)")
            if status != "failed" { require(items.allSatisfy(\.done), "\(event.type) with an item still open") }
            for (item, streamed) in zip(outputItems, items) { checkItem(item, against: streamed) }
        default:
            fail("an event of another type: \(event.type)")
        }
    }
    require(ended, "the stream did not end: \(events.map(\.type).suffix(3))")
    return items
}

/// An item as done (or in the final output) holds what its deltas brought.
private func checkItem(_ item: JSON?, against streamed: StreamedItem) {
    require(item?["id"] == .string(streamed.id) && item?["type"] == .string(streamed.type), "an item changed its id or type")
    if streamed.type == "message" {
        let parts = item?["content"]?.arrayValue ?? []
        require(parts.count == streamed.parts.count, "an item with \(parts.count) parts; the stream had \(streamed.parts.count)")
        for (part, mine) in zip(parts, streamed.parts) {
            require(part["type"] == .string(mine.type) && part[mine.type == "refusal" ? "refusal" : "text"] == .string(mine.text),
                    "a part differs from its deltas: \(show(part))")
        }
    } else {
        require(item?["arguments"] == .string(streamed.arguments) && item?["call_id"]?.stringValue == streamed.callID,
                "a function call differs from its deltas: \(show(item))")
    }
}

/// Whatever the fuzzer made, as an upstream's chat chunk: a well-formed stream, never a trap.
private func checkHostileChunk(_ object: JSONObject) {
    var encoder = ResponsesStreamEncoder(envelope: envelope(for: nil))
    var events = encoder.events(for: object)
    events += encoder.events(for: object)
    events += encoder.finish(usage: TokenUsage(promptTokens: 1, completionTokens: 1))
    checkStream(events, final: encoder.finalResponse)
}

/// The frame is `event: T\ndata: JSON\n\n`, its data the event's own, with no other line break.
@discardableResult
private func checkFrame(_ event: ResponsesEvent) -> JSONObject {
    let frame = event.frame
    let lines = frame.split(separator: 0x0A, omittingEmptySubsequences: false)
    require(lines.count == 4 && lines[2].isEmpty && lines[3].isEmpty && !frame.contains(0x0D),
            "a frame that is not event, data, blank line: \(show(String(decoding: frame.prefix(300), as: UTF8.self)))")
    require(lines[0].elementsEqual("event: \(event.type)".utf8), "the event line does not name the event's type")
    require(lines[1].starts(with: "data: ".utf8), "no data line")
    do {
        guard case .object(let data) = try JSON.parse(lines[1].dropFirst(6)) else { fail("data that is not an object") }
        require(data == event.data && data["type"] == .string(event.type), "the data line is not the event's data")
        return data
    } catch {
        fail("data that does not parse: \(error)")
    }
}

private func text(_ object: JSONObject) -> String { JSON.object(object).text }
