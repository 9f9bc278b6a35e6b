import SwitchyardWire

/// Builds a whole `chat.completion` from the chunks of a streamed one.
///
/// The local engine is always asked to stream, even for a client that wants the whole answer:
/// llama-server notices a client leaving only while it is writing to it, so a whole-response
/// request from a client that hung up would otherwise keep a slot generating for nobody.
struct CompletionAssembler {
    private struct Choice {
        var role: JSON = .string("assistant")
        var content: String?
        var reasoning: String?
        var toolCalls: [Int: JSONObject] = [:]
        var logprobs: [JSON]?
        var finishReason: JSON = .null
    }

    private var head: JSONObject = [:]
    private var choices: [Int: Choice] = [:]
    private var usage: JSON?

    mutating func add(_ chunk: JSONObject) {
        if head.fields.isEmpty {
            for key in ["id", "created", "model", "system_fingerprint"] { if let value = chunk[key] { head[key] = value } }
        }
        if let reported = chunk["usage"], !reported.isNull { usage = reported }
        for item in chunk["choices"]?.arrayValue ?? [] {
            let index = item["index"]?.intValue ?? 0
            var choice = choices[index] ?? Choice()
            let delta = item["delta"]
            if let role = delta?["role"], !role.isNull { choice.role = role }
            if let text = delta?["content"]?.stringValue { choice.content = (choice.content ?? "") + text }
            if let text = delta?["reasoning_content"]?.stringValue { choice.reasoning = (choice.reasoning ?? "") + text }
            for call in delta?["tool_calls"]?.arrayValue ?? [] {
                let callIndex = call["index"]?.intValue ?? choice.toolCalls.count
                var merged = choice.toolCalls[callIndex] ?? ["type": .string("function")]
                if let id = call["id"], !id.isNull { merged["id"] = id }
                if let type = call["type"], !type.isNull { merged["type"] = type }
                if let function = call["function"] {
                    var fn = merged["function"]?.objectValue ?? ["name": .string(""), "arguments": .string("")]
                    if let name = function["name"]?.stringValue { fn["name"] = .string((fn["name"]?.stringValue ?? "") + name) }
                    if let arguments = function["arguments"]?.stringValue {
                        fn["arguments"] = .string((fn["arguments"]?.stringValue ?? "") + arguments)
                    }
                    merged["function"] = .object(fn)
                }
                choice.toolCalls[callIndex] = merged
            }
            if let tokens = item["logprobs"]?["content"]?.arrayValue { choice.logprobs = (choice.logprobs ?? []) + tokens }
            if let reason = item["finish_reason"], !reason.isNull { choice.finishReason = reason }
            choices[index] = choice
        }
    }

    func completion() -> JSONObject {
        var body = head
        body["object"] = .string("chat.completion")
        body["choices"] = .array(choices.keys.sorted().map { index in
            let choice = choices[index]!
            var message: JSONObject = ["role": choice.role, "content": choice.content.map(JSON.string) ?? .null]
            if let reasoning = choice.reasoning { message["reasoning_content"] = .string(reasoning) }
            if !choice.toolCalls.isEmpty {
                message["tool_calls"] = .array(choice.toolCalls.keys.sorted().map { i in
                    var call = choice.toolCalls[i]!
                    call["index"] = nil
                    return .object(call)
                })
            }
            return .object([
                "index": .int(index),
                "message": .object(message),
                "logprobs": choice.logprobs.map { .object(["content": .array($0)]) } ?? .null,
                "finish_reason": choice.finishReason,
            ])
        })
        if let usage { body["usage"] = usage }
        return body
    }
}
