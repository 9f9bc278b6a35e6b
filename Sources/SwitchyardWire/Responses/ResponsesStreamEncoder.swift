/// Turns an OpenAI chat stream (`chat.completion.chunk` objects) into a Responses stream, for a
/// client of the Responses front served by the local engine or a chat target. Pure: the caller
/// feeds chunks and writes out the frames, so every sequence can be tested without I/O.
///
/// The stream OpenAI documents: `response.created` and `response.in_progress`; for each output
/// item `response.output_item.added`, its content (a message's parts: `response.content_part.added`,
/// `response.output_text.delta`… or `response.refusal.delta`…, their `.done`,
/// `response.content_part.done`; a function call's `response.function_call_arguments.delta`… and
/// `.done`) and `response.output_item.done`; then `response.completed`, or `response.incomplete`
/// when the answer was cut short. Every event has a `sequence_number`, from 0 up by one.
///
/// Text opens a message item, which a tool call closes (text after it opens another). Each tool
/// call is its own `function_call` item, open from its first piece to the end of the answer: an
/// OpenAI-compatible server may interleave the argument pieces of parallel calls, and each piece
/// still reaches its own item (a Responses item, unlike an Anthropic block, need not be the last
/// one opened to take a delta). The open items are closed in output order when the answer ends.
///
/// A stream that breaks ends with `response.failed` and its error (`fail`), never with a
/// `response.completed`. Chunks are an upstream's and unchecked: a missing or wrong-typed field is
/// skipped, never fatal.
public struct ResponsesStreamEncoder: Sendable {
    public let envelope: ResponseEnvelope
    /// The last `response` object sent (`completed`, `incomplete` or `failed`): what the server
    /// stores. Nil until the stream has ended.
    public private(set) var finalResponse: JSONObject?

    private enum Content: Sendable {
        case message(parts: [(type: String, text: String)], open: Bool)
        case functionCall(callID: String?, name: String, arguments: String)
    }

    private struct Item: Sendable {
        var content: Content
        /// The status it was closed with; nil while open.
        var closed: String?
    }

    private var nextSequence = 0
    private var started = false
    private var items: [Item] = []
    /// The output index of the open message item.
    private var openMessage: Int?
    /// Output indices of the function-call items, by the chat stream's tool-call index.
    private var toolItems: [Int: Int] = [:]
    private var lastToolIndex: Int?
    private var finishReason: String?
    /// The last chat `usage` object a chunk carried: its cache and reasoning details.
    private var usageDetails: JSON?

    public init(envelope: ResponseEnvelope) {
        self.envelope = envelope
    }

    public mutating func events(for chunk: JSONObject) -> [ResponsesEvent] {
        guard finalResponse == nil else { return [] }
        var out = start()
        if let usage = chunk["usage"], usage.objectValue != nil { usageDetails = usage }
        guard let choice = chunk["choices"]?.arrayValue?.first else { return out }
        let delta = choice["delta"]
        if let text = delta?["content"]?.stringValue, !text.isEmpty { out += appendText(text, type: "output_text") }
        if let refusal = delta?["refusal"]?.stringValue, !refusal.isEmpty { out += appendText(refusal, type: "refusal") }
        for call in delta?["tool_calls"]?.arrayValue ?? [] {
            if let call = call.objectValue { out += appendToolCall(call) }
        }
        if let reason = choice["finish_reason"]?.stringValue { finishReason = reason }
        return out
    }

    /// Ends the stream: closes the open items and sends `response.completed` (or
    /// `response.incomplete`). `usage` is the upstream's final count, which OpenAI sends in a chunk
    /// of its own after the finish reason; the caller collects it (or estimates it) and passes it here.
    public mutating func finish(usage: TokenUsage?) -> [ResponsesEvent] {
        guard finalResponse == nil else { return [] }
        var out = start()
        let status = ResponseEnvelope.Status.of(finishReason: finishReason)
        for index in items.indices where items[index].closed == nil { out += close(index, status: status.itemStatus) }
        let response = envelope.response(status: status, output: output(status), usage: ResponseEnvelope.usage(usage, details: usageDetails))
        finalResponse = response
        let type = status == .completed ? "response.completed" : "response.incomplete"
        out.append(event(type, ["response": .object(response)]))
        return out
    }

    /// Ends a stream that broke after it began: `response.failed` with `error`, the items so far
    /// left as they are (`incomplete`), and no `response.completed`.
    public mutating func fail(_ error: GatewayError) -> [ResponsesEvent] {
        guard finalResponse == nil else { return [] }
        var out = start()
        let status = ResponseEnvelope.Status.failed(error)
        let response = envelope.response(status: status, output: output(status), usage: nil)
        finalResponse = response
        out.append(event("response.failed", ["response": .object(response)]))
        return out
    }

    // MARK: - Events

    private mutating func event(_ type: String, _ data: JSONObject) -> ResponsesEvent {
        defer { nextSequence += 1 }
        return ResponsesEvent(type: type, sequenceNumber: nextSequence, data: data)
    }

    /// `response.created` and `response.in_progress`, once, before anything else.
    private mutating func start() -> [ResponsesEvent] {
        guard !started else { return [] }
        started = true
        let response = JSON.object(envelope.response(status: .inProgress, output: [], usage: nil))
        return [event("response.created", ["response": response]), event("response.in_progress", ["response": response])]
    }

    private mutating func appendText(_ text: String, type: String) -> [ResponsesEvent] {
        var out: [ResponsesEvent] = []
        let index: Int
        if let open = openMessage {
            index = open
        } else {
            index = items.count
            items.append(Item(content: .message(parts: [], open: false)))
            openMessage = index
            out.append(event("response.output_item.added", ["output_index": .int(index), "item": addedItem(index)]))
        }
        guard case .message(var parts, let partOpen) = items[index].content else { return out }
        if !partOpen || parts.last?.type != type {
            if partOpen { out += closePart(index) }
            parts.append((type, ""))
            out.append(event("response.content_part.added", partFields(index, content: parts.count - 1, ["part": Self.part(type, "")])))
        }
        parts[parts.count - 1].text += text
        items[index].content = .message(parts: parts, open: true)
        var fields = partFields(index, content: parts.count - 1, ["delta": .string(text)])
        if type == "output_text" { fields["logprobs"] = .array([]) }
        out.append(event(type == "output_text" ? "response.output_text.delta" : "response.refusal.delta", fields))
        return out
    }

    /// One `delta.tool_calls[]` entry: the first entry of a new chat index (it carries the id and
    /// name) opens a `function_call` item; argument pieces go to that index's item.
    private mutating func appendToolCall(_ call: JSONObject) -> [ResponsesEvent] {
        var out: [ResponsesEvent] = []
        let function = call["function"]
        let chatIndex = call["index"]?.intValue ?? lastToolIndex ?? 0
        let name = function?["name"]?.stringValue
        let index: Int
        if let existing = toolItems[chatIndex] {
            index = existing
            // A server that sends the name after the id: the item is named when it is done.
            if case .functionCall(let id, "", let arguments) = items[index].content, let name, !name.isEmpty {
                items[index].content = .functionCall(callID: id, name: name, arguments: arguments)
            }
        } else {
            let callID = call["id"]?.stringValue
            // Arguments before any id or name: nothing to open an item with.
            guard callID != nil || name != nil else { return out }
            if let open = openMessage { out += close(open, status: "completed") }
            index = items.count
            items.append(Item(content: .functionCall(callID: callID, name: name ?? "", arguments: "")))
            toolItems[chatIndex] = index
            out.append(event("response.output_item.added", ["output_index": .int(index), "item": addedItem(index)]))
        }
        lastToolIndex = chatIndex
        guard let piece = function?["arguments"]?.stringValue, !piece.isEmpty,
              case .functionCall(let id, let currentName, let arguments) = items[index].content else { return out }
        items[index].content = .functionCall(callID: id, name: currentName, arguments: arguments + piece)
        out.append(event("response.function_call_arguments.delta",
                         ["item_id": .string(itemID(index)), "output_index": .int(index), "delta": .string(piece)]))
        return out
    }

    /// Closes an item: a message's open part, then the item; a function call's arguments, then the item.
    private mutating func close(_ index: Int, status: String) -> [ResponsesEvent] {
        var out: [ResponsesEvent] = []
        switch items[index].content {
        case .message(_, let partOpen):
            if partOpen { out += closePart(index) }
            openMessage = nil
        case .functionCall(_, let name, let arguments):
            out.append(event("response.function_call_arguments.done",
                             ["item_id": .string(itemID(index)), "output_index": .int(index), "name": .string(name), "arguments": .string(arguments)]))
        }
        items[index].closed = status
        out.append(event("response.output_item.done", ["output_index": .int(index), "item": item(index, status: status)]))
        return out
    }

    private mutating func closePart(_ index: Int) -> [ResponsesEvent] {
        let parts = messageParts(index)
        guard let last = parts.last else { return [] }
        items[index].content = .message(parts: parts, open: false)
        let content = parts.count - 1
        var done: JSONObject = last.type == "output_text" ? ["text": .string(last.text), "logprobs": .array([])] : ["refusal": .string(last.text)]
        done = partFields(index, content: content, done)
        return [
            event(last.type == "output_text" ? "response.output_text.done" : "response.refusal.done", done),
            event("response.content_part.done", partFields(index, content: content, ["part": Self.part(last.type, last.text)])),
        ]
    }

    // MARK: - Items

    private func messageParts(_ index: Int) -> [(type: String, text: String)] {
        if case .message(let parts, _) = items[index].content { return parts }
        return []
    }

    private func itemID(_ index: Int) -> String {
        if case .message = items[index].content { return envelope.itemID("msg", index: index) }
        return envelope.itemID("fc", index: index)
    }

    private func partFields(_ index: Int, content: Int, _ rest: JSONObject) -> JSONObject {
        var fields: JSONObject = ["item_id": .string(itemID(index)), "output_index": .int(index), "content_index": .int(content)]
        fields.fields += rest.fields
        return fields
    }

    private static func part(_ type: String, _ text: String) -> JSON {
        type == "output_text" ? ResponseEnvelope.textPart(text) : ResponseEnvelope.refusalPart(text)
    }

    /// An item as `response.output_item.added` announces it: in progress, with nothing in it yet.
    private func addedItem(_ index: Int) -> JSON {
        switch items[index].content {
        case .message: envelope.message(index: index, parts: [], status: "in_progress")
        case .functionCall(let callID, let name, _): envelope.functionCall(index: index, callID: callID, name: name, arguments: "", status: "in_progress")
        }
    }

    /// An item with all it holds, and `status`.
    private func item(_ index: Int, status: String) -> JSON {
        switch items[index].content {
        case .message(let parts, _): envelope.message(index: index, parts: parts.map { Self.part($0.type, $0.text) }, status: status)
        case .functionCall(let callID, let name, let arguments): envelope.functionCall(index: index, callID: callID, name: name, arguments: arguments, status: status)
        }
    }

    /// The output of an ended stream: every item as it was closed, or (a failure's open items) with
    /// the status of the end.
    private func output(_ status: ResponseEnvelope.Status) -> [JSON] {
        items.indices.map { item($0, status: items[$0].closed ?? status.itemStatus) }
    }
}
