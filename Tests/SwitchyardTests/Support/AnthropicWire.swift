import SwitchyardHTTP
import SwitchyardWire

/// One event of an Anthropic stream: its `event:` name and its data, parsed.
struct StreamedEvent: Sendable, CustomStringConvertible {
    var name: String?
    var data: JSON
    var rawData: String

    var type: String? { data["type"]?.stringValue }
    var description: String { "\(name ?? "-"): \(rawData)" }
}

/// The events of an Anthropic SSE body, in order (a data line that is not JSON is kept as `.null`).
func anthropicEvents(_ body: [UInt8]) -> [StreamedEvent] {
    var parser = SSEParser()
    var events = (try? parser.feed(body)) ?? []
    if let last = try? parser.finish() { events.append(last) }
    return events.map { StreamedEvent(name: $0.event, data: (try? JSON.parse($0.data)) ?? .null, rawData: $0.data) }
}

/// An Anthropic stream checked against the Messages streaming grammar and folded into the message
/// it describes (as the SDKs' accumulators do). `problems` lists every departure from the grammar.
struct AssembledStream: Sendable {
    var events: [StreamedEvent]
    var problems: [String] = []
    /// The message: message_start's, with the content blocks, stop_reason and usage of what followed.
    var message: JSON = .null
    /// The `partial_json` pieces of each tool_use block, by block index.
    var inputPieces: [Int: [String]] = [:]
    var names: [String?] { events.map(\.name) }
    var text: String {
        (message["content"]?.arrayValue ?? []).filter { $0["type"] == .string("text") }.compactMap { $0["text"]?.stringValue }.joined()
    }
    var endsWithError: Bool { events.last?.name == "error" && events.last?.type == "error" }
    var hasMessageStop: Bool { events.contains { $0.name == "message_stop" || $0.type == "message_stop" } }
}

func assembleAnthropicStream(_ body: [UInt8]) -> AssembledStream {
    assembleAnthropicStream(anthropicEvents(body))
}

func assembleAnthropicStream(_ events: [StreamedEvent]) -> AssembledStream {
    var out = AssembledStream(events: events)
    func problem(_ text: String) { out.problems.append(text) }
    guard let first = events.first else {
        problem("no events")
        return out
    }
    guard first.name == "message_start", case .object(var message) = first.data["message"] ?? .null else {
        problem("the first event is not message_start: \(first)")
        return out
    }
    if message["type"] != .string("message") { problem("message_start: message.type \(message["type"] ?? .null)") }
    if message["role"] != .string("assistant") { problem("message_start: role \(message["role"] ?? .null)") }
    if message["content"] != .array([]) { problem("message_start: content is not []") }
    if message["id"]?.stringValue?.isEmpty != false { problem("message_start: no id") }
    var blocks: [JSONObject] = []
    var partialJSON: [Int: String] = [:]
    var open: Int?
    var sawDelta = false
    var stopped = false
    for (position, event) in events.enumerated().dropFirst() {
        if stopped { problem("event after message_stop: \(event)") }
        if let name = event.name, name != event.type { problem("event name \(name) but data type \(event.type ?? "none")") }
        switch event.type {
        case "ping":
            break
        case "content_block_start":
            let index = event.data["index"]?.intValue
            if open != nil { problem("content_block_start while block \(open!) is open") }
            if index != blocks.count { problem("content_block_start index \(index.map(String.init) ?? "none"), expected \(blocks.count)") }
            if sawDelta { problem("content_block_start after message_delta") }
            guard case .object(let block) = event.data["content_block"] ?? .null, let type = block["type"]?.stringValue else {
                problem("content_block_start without a content_block: \(event)")
                continue
            }
            if !["text", "tool_use", "thinking", "redacted_thinking"].contains(type) { problem("unknown block type \(type)") }
            if type == "tool_use" {
                if block["id"]?.stringValue?.isEmpty != false { problem("tool_use block without id") }
                if block["name"]?.stringValue?.isEmpty != false { problem("tool_use block without name") }
                if block["input"]?.objectValue == nil { problem("tool_use block start without an input object") }
            }
            blocks.append(block)
            open = blocks.count - 1
        case "content_block_delta":
            let index = event.data["index"]?.intValue
            guard let current = open, index == current else {
                problem("content_block_delta for index \(index.map(String.init) ?? "none") with block \(open.map(String.init) ?? "none") open")
                continue
            }
            let delta = event.data["delta"] ?? .null
            let blockType = blocks[current]["type"]?.stringValue ?? ""
            switch (blockType, delta["type"]?.stringValue) {
            case ("text", "text_delta"):
                blocks[current]["text"] = .string((blocks[current]["text"]?.stringValue ?? "") + (delta["text"]?.stringValue ?? ""))
                if delta["text"]?.stringValue == nil { problem("text_delta without text") }
            case ("tool_use", "input_json_delta"):
                guard let piece = delta["partial_json"]?.stringValue else {
                    problem("input_json_delta without partial_json")
                    continue
                }
                partialJSON[current, default: ""] += piece
                out.inputPieces[current, default: []].append(piece)
            case ("thinking", "thinking_delta"):
                blocks[current]["thinking"] = .string((blocks[current]["thinking"]?.stringValue ?? "") + (delta["thinking"]?.stringValue ?? ""))
            case ("thinking", "signature_delta"):
                blocks[current]["signature"] = .string((blocks[current]["signature"]?.stringValue ?? "") + (delta["signature"]?.stringValue ?? ""))
            default:
                problem("delta \(delta["type"]?.stringValue ?? "none") in a \(blockType) block")
            }
        case "content_block_stop":
            let index = event.data["index"]?.intValue
            if open == nil || index != open { problem("content_block_stop index \(index.map(String.init) ?? "none") with block \(open.map(String.init) ?? "none") open") }
            if let current = open, blocks[current]["type"] == .string("tool_use") {
                let json = partialJSON[current] ?? ""
                if json.isEmpty {
                    blocks[current]["input"] = blocks[current]["input"] ?? .object([:])
                } else if let input = try? JSON.parse(json) {
                    blocks[current]["input"] = input
                } else {
                    problem("tool_use block \(current): the partial_json pieces do not make JSON: \(json)")
                }
            }
            open = nil
        case "message_delta":
            if open != nil { problem("message_delta while block \(open!) is open") }
            if sawDelta { problem("a second message_delta") }
            sawDelta = true
            guard let stopReason = event.data["delta"]?["stop_reason"]?.stringValue else {
                problem("message_delta without stop_reason: \(event)")
                continue
            }
            message["stop_reason"] = .string(stopReason)
            message["stop_sequence"] = event.data["delta"]?["stop_sequence"] ?? .null
            if case .object(var usage) = message["usage"] ?? .object([:]), case .object(let update) = event.data["usage"] ?? .null {
                for (key, value) in update.fields { usage[key] = value }
                message["usage"] = .object(usage)
            }
            if event.data["usage"]?["output_tokens"]?.intValue == nil { problem("message_delta without usage.output_tokens") }
        case "message_stop":
            if !sawDelta { problem("message_stop without message_delta") }
            if open != nil { problem("message_stop while block \(open!) is open") }
            stopped = true
        case "error":
            if position != events.count - 1 { problem("error event is not the last") }
        default:
            problem("unknown event \(event)")
        }
    }
    message["content"] = .array(blocks.map(JSON.object))
    out.message = .object(message)
    return out
}

/// Departures of a whole Anthropic message from the Messages API's shape.
func anthropicMessageProblems(_ message: JSON) -> [String] {
    var problems: [String] = []
    if message["type"] != .string("message") { problems.append("type \(message["type"] ?? .null)") }
    if message["role"] != .string("assistant") { problems.append("role \(message["role"] ?? .null)") }
    if message["id"]?.stringValue?.isEmpty != false { problems.append("no id") }
    if message["model"]?.stringValue == nil { problems.append("no model") }
    let content = message["content"]?.arrayValue
    if content == nil { problems.append("content is not an array") }
    var toolUses = 0
    for block in content ?? [] {
        switch block["type"]?.stringValue {
        case "text": if block["text"]?.stringValue == nil { problems.append("text block without text") }
        case "tool_use":
            toolUses += 1
            if block["id"]?.stringValue?.isEmpty != false { problems.append("tool_use without id") }
            if block["name"]?.stringValue?.isEmpty != false { problems.append("tool_use without name") }
            if block["input"]?.objectValue == nil { problems.append("tool_use input is not an object") }
        case "thinking": if block["signature"]?.stringValue == nil { problems.append("thinking block without signature") }
        case "redacted_thinking": break
        default: problems.append("block type \(block["type"] ?? .null)")
        }
    }
    let stop = message["stop_reason"]?.stringValue
    if !["end_turn", "max_tokens", "stop_sequence", "tool_use"].contains(stop ?? "") { problems.append("stop_reason \(message["stop_reason"] ?? .null)") }
    if (stop == "tool_use") != (toolUses > 0) { problems.append("stop_reason \(stop ?? "nil") with \(toolUses) tool_use blocks") }
    if message["stop_sequence"] == nil { problems.append("no stop_sequence field") }
    if message["usage"]?["input_tokens"]?.intValue == nil { problems.append("usage.input_tokens") }
    if message["usage"]?["output_tokens"]?.intValue == nil { problems.append("usage.output_tokens") }
    return problems
}

/// Departures of an error answer from Anthropic's error shape `{"type":"error","error":{"type","message"}}`.
func anthropicErrorProblems(_ response: HTTPResponse, status: Int, type: String) -> [String] {
    var problems: [String] = []
    if response.status != status { problems.append("status \(response.status), expected \(status)") }
    let json = response.json
    if json["type"] != .string("error") { problems.append("type \(json["type"] ?? .null)") }
    if json["error"]?["type"] != .string(type) { problems.append("error.type \(json["error"]?["type"] ?? .null), expected \(type)") }
    if json["error"]?["message"]?.stringValue?.isEmpty != false { problems.append("no error.message") }
    if response.header("content-type")?.hasPrefix("application/json") != true { problems.append("content-type \(response.header("content-type") ?? "none")") }
    return problems
}

extension RunningGateway {
    /// `POST /v1/messages` (or `path`) as an Anthropic client sends it.
    func messages(_ body: String, path: String = "/v1/messages", headers: [(name: String, value: String)] = [],
                  timeout: Duration = .seconds(60)) async throws -> HTTPResponse {
        try await post(path, body, headers: [("anthropic-version", "2023-06-01")] + headers, timeout: timeout)
    }
}
