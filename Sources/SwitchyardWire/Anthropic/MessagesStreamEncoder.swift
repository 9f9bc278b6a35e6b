/// Turns an OpenAI chat stream (`chat.completion.chunk` objects) into an Anthropic Messages
/// stream, for a client of the Anthropic front served by an OpenAI-compatible target. Pure: the
/// caller feeds chunks and writes out the frames, so every sequence can be tested without I/O.
///
/// Anthropic streams content as numbered blocks, each opened, filled and closed before the next;
/// OpenAI streams text and tool calls as interleavable deltas. So a text delta after a tool call
/// (or the reverse) closes the open block and opens a new one. Argument pieces for a tool call
/// whose block is already closed (a server interleaving parallel calls) have no block left to go
/// to and are dropped: an Anthropic block cannot be reopened.
///
/// Chunks are an upstream's and unchecked: a missing or wrong-typed field is skipped, never fatal.
public struct MessagesStreamEncoder: Sendable {
    public let id: String
    public let model: String
    public let inputTokens: Int?

    private enum Block: Sendable {
        case text(index: Int)
        case tool(index: Int, openAIIndex: Int)
    }

    private var started = false
    private var finished = false
    private var nextIndex = 0
    private var open: Block?
    /// OpenAI tool-call indices that have had a block.
    private var toolIndices: Set<Int> = []
    private var lastToolIndex: Int?
    private var finishReason: String?

    public init(id: String, model: String, inputTokens: Int?) {
        self.id = id
        self.model = model
        self.inputTokens = inputTokens
    }

    public mutating func events(for chunk: JSONObject) -> [AnthropicEvent] {
        guard !finished else { return [] }
        var out = start()
        guard let choice = chunk["choices"]?.arrayValue?.first else { return out }
        let delta = choice["delta"]
        if let text = delta?["content"]?.stringValue, !text.isEmpty { out += appendText(text) }
        for call in delta?["tool_calls"]?.arrayValue ?? [] {
            if let call = call.objectValue { out += appendToolCall(call) }
        }
        if let reason = choice["finish_reason"]?.stringValue { finishReason = reason }
        return out
    }

    /// Ends the stream. `usage` is the upstream's final count, which OpenAI sends in a chunk of
    /// its own after the finish reason; the caller collects it (or estimates it) and passes it here.
    public mutating func finish(usage: TokenUsage?) -> [AnthropicEvent] {
        guard !finished else { return [] }
        var out = start()
        out += closeBlock()
        finished = true
        let reason = AnthropicMessages.stopReason(finishReason: finishReason, calledTools: !toolIndices.isEmpty)
        out.append(AnthropicEvent(type: "message_delta", data: [
            "delta": .object(["stop_reason": .string(reason), "stop_sequence": .null]),
            "usage": .object([
                "output_tokens": .int(usage?.completionTokens ?? 0),
                "input_tokens": .int(usage?.promptTokens ?? inputTokens ?? 0),
            ]),
        ]))
        out.append(AnthropicEvent(type: "message_stop"))
        return out
    }

    /// `message_start` and a `ping`, once, before anything else.
    private mutating func start() -> [AnthropicEvent] {
        guard !started else { return [] }
        started = true
        return [
            AnthropicEvent(type: "message_start", data: ["message": .object([
                "id": .string(id),
                "type": .string("message"),
                "role": .string("assistant"),
                "model": .string(model),
                "content": .array([]),
                "stop_reason": .null,
                "stop_sequence": .null,
                "usage": .object(["input_tokens": .int(inputTokens ?? 0), "output_tokens": .int(0)]),
            ])]),
            AnthropicEvent(type: "ping"),
        ]
    }

    private mutating func appendText(_ text: String) -> [AnthropicEvent] {
        var out: [AnthropicEvent] = []
        let index: Int
        if case .text(let current)? = open {
            index = current
        } else {
            out += closeBlock()
            index = openBlock(.object(["type": .string("text"), "text": .string("")]), into: &out)
            open = .text(index: index)
        }
        out.append(AnthropicEvent(type: "content_block_delta", data: [
            "index": .int(index),
            "delta": .object(["type": .string("text_delta"), "text": .string(text)]),
        ]))
        return out
    }

    /// One `delta.tool_calls[]` entry: the first entry of a new OpenAI index (it carries the id
    /// and name) opens a `tool_use` block; argument pieces fill the block open for that index.
    private mutating func appendToolCall(_ call: JSONObject) -> [AnthropicEvent] {
        var out: [AnthropicEvent] = []
        let function = call["function"]
        let openAIIndex = call["index"]?.intValue ?? lastToolIndex ?? 0
        if !toolIndices.contains(openAIIndex) {
            let callID = call["id"]?.stringValue
            let name = function?["name"]?.stringValue
            // Arguments before any id or name: nothing to open a block with.
            guard callID != nil || name != nil else { return out }
            toolIndices.insert(openAIIndex)
            out += closeBlock()
            let index = openBlock(.object([
                "type": .string("tool_use"),
                "id": .string(callID ?? "toolu_\(id)_\(openAIIndex)"),
                "name": .string(name ?? ""),
                "input": .object([:]),
            ]), into: &out)
            open = .tool(index: index, openAIIndex: openAIIndex)
        }
        lastToolIndex = openAIIndex
        guard case .tool(let index, let current)? = open, current == openAIIndex,
              let arguments = function?["arguments"]?.stringValue, !arguments.isEmpty else { return out }
        out.append(AnthropicEvent(type: "content_block_delta", data: [
            "index": .int(index),
            "delta": .object(["type": .string("input_json_delta"), "partial_json": .string(arguments)]),
        ]))
        return out
    }

    private mutating func openBlock(_ block: JSON, into out: inout [AnthropicEvent]) -> Int {
        let index = nextIndex
        nextIndex += 1
        out.append(AnthropicEvent(type: "content_block_start", data: ["index": .int(index), "content_block": block]))
        return index
    }

    private mutating func closeBlock() -> [AnthropicEvent] {
        let index: Int
        switch open {
        case nil: return []
        case .text(let i)?: index = i
        case .tool(let i, _)?: index = i
        }
        open = nil
        return [AnthropicEvent(type: "content_block_stop", data: ["index": .int(index)])]
    }
}
