/// A Responses conversation in OpenAI chat form, for the local engine and OpenAI-compatible chat
/// targets (and, through the Anthropic provider's own chat translation, Anthropic targets).
///
/// - `instructions` become the first `system` message; `system` and `developer` messages become
///   `system` messages (their text parts joined by line breaks); user messages keep their text and
///   image parts (a lone text as a plain string).
/// - An assistant message's text (`output_text`, `refusal`) becomes its content, joined as it is;
///   the `function_call` items after it become its `tool_calls`, so that the tool messages follow
///   the message that made the calls, as chat servers require. `function_call_output` items become
///   `tool` messages (their text parts joined by line breaks).
/// - Function tools are nested (`{type, function: {name, description, parameters, strict}}`);
///   `tool_choice` and `parallel_tool_calls` follow them (`allowed_tools` as its mode, with only the
///   allowed functions offered); `text.format` becomes `response_format`; `max_output_tokens`
///   becomes `max_tokens`; `temperature`, `top_p` and `user` are copied; a stream asks for usage.
///
/// What the chat form has no place for is named in `dropped`, never silently lost: reasoning items
/// (their encrypted content only the model that wrote it can read), images given by file id and
/// files, built-in tools and their calls, and parameters only OpenAI's Responses API acts on.
/// Earlier items come from the gateway's records and may hold what a request could not: every
/// read is tolerant, and a kind outside the known ones is named by a generic word, since a name
/// goes into a header.
struct ResponsesToChat {
    private(set) var body: JSONObject = [:]
    private(set) var dropped: Set<String> = []
    private var messages: [JSON] = []
    /// The last message, while it is an assistant message: function calls join it, and so does
    /// the text of an assistant message when it has none yet.
    private var assistant: (index: Int, hasText: Bool)?

    init(request: ResponsesRequest, items: [JSON]) {
        let source = request.body
        if let instructions = source["instructions"]?.stringValue, !instructions.isEmpty {
            messages.append(.object(["role": .string("system"), "content": .string(instructions)]))
        }
        for item in items { add(item) }
        // A conversation of only what the chat form cannot carry is kept as one empty turn, so that
        // a request valid for an OpenAI Responses target still has a chat form.
        if messages.isEmpty { messages.append(.object(["role": .string("user"), "content": .string("")])) }

        body = ["model": .string(request.model), "messages": .array(messages)]
        if let max = request.maxOutputTokens { body["max_tokens"] = .int(max) }
        for key in ["temperature", "top_p"] where source[key]?.doubleValue != nil { body[key] = source[key] }
        if let user = source["user"], user.stringValue != nil { body["user"] = user }
        if request.stream {
            body["stream"] = .bool(true)
            body["stream_options"] = .object(["include_usage": .bool(true)])
        }
        addTools(source)
        addFormat(source["text"]?["format"])
        nameResponsesOnlyParameters(source)
    }

    // MARK: - Items

    private static let partKinds: Set<String> = ["input_text", "input_image", "input_file", "output_text", "refusal"]

    private mutating func add(_ item: JSON) {
        let type = item["type"]?.stringValue ?? (item["role"] != nil ? "message" : nil)
        switch type {
        case "message": addMessage(item)
        case "function_call": addCall(item)
        case "function_call_output": addOutput(item)
        case "reasoning": dropped.insert("reasoning")
        case let other? where ResponsesInput.passThroughTypes.contains(other): dropped.insert(other)
        default: dropped.insert("item")
        }
    }

    private mutating func addMessage(_ item: JSON) {
        let content = item["content"]
        switch item["role"]?.stringValue {
        case "user":
            append(.object(["role": .string("user"), "content": userContent(content)]))
        case "system", "developer":
            append(.object(["role": .string("system"), "content": .string(texts(content).joined(separator: "\n"))]))
        case "assistant":
            // Joined as it is, as one answer split into parts is (the scan reads them so too).
            let text = texts(content).joined()
            if let open = assistant, !open.hasText, case .object(var message) = messages[open.index] {
                message["content"] = .string(text)
                messages[open.index] = .object(message)
                assistant = (open.index, true)
            } else {
                append(.object(["role": .string("assistant"), "content": .string(text)]))
                assistant = (messages.count - 1, true)
            }
        default:
            dropped.insert("message")
        }
    }

    private mutating func addCall(_ item: JSON) {
        let call: JSON = .object([
            "id": .string(item["call_id"]?.stringValue ?? ""),
            "type": .string("function"),
            "function": .object([
                "name": .string(item["name"]?.stringValue ?? ""),
                "arguments": .string(item["arguments"]?.stringValue ?? "{}"),
            ]),
        ])
        guard let open = assistant, case .object(var message) = messages[open.index] else {
            append(.object(["role": .string("assistant"), "content": .null, "tool_calls": .array([call])]))
            assistant = (messages.count - 1, false)
            return
        }
        message["tool_calls"] = .array((message["tool_calls"]?.arrayValue ?? []) + [call])
        messages[open.index] = .object(message)
    }

    private mutating func addOutput(_ item: JSON) {
        let output = item["output"]
        let text = output?.stringValue ?? texts(output).joined(separator: "\n")
        append(.object(["role": .string("tool"), "tool_call_id": .string(item["call_id"]?.stringValue ?? ""), "content": .string(text)]))
    }

    private mutating func append(_ message: JSON) {
        messages.append(message)
        assistant = nil
    }

    /// A user message's content: a string as it is; parts as text and image parts (a lone text
    /// part as a string), the rest named. Nothing left is an empty string, so the turn stays.
    private mutating func userContent(_ content: JSON?) -> JSON {
        if let text = content?.stringValue { return .string(text) }
        var parts: [JSON] = []
        for part in content?.arrayValue ?? [] {
            if let text = MessagesRequest.chatText(of: part) {
                parts.append(.object(["type": .string("text"), "text": .string(text)]))
            } else if part["type"]?.stringValue == "input_image", let url = part["image_url"]?.stringValue {
                var image: JSONObject = ["url": .string(url)]
                if let detail = part["detail"]?.stringValue, ["auto", "low", "high"].contains(detail) { image["detail"] = .string(detail) }
                parts.append(.object(["type": .string("image_url"), "image_url": .object(image)]))
            } else {
                dropped.insert(Self.kind(of: part))
            }
        }
        if parts.count == 1, let text = parts[0]["text"] { return text }
        return parts.isEmpty ? .string("") : .array(parts)
    }

    /// The texts of a content string or of its text parts, in order; other parts are named.
    private mutating func texts(_ content: JSON?) -> [String] {
        if let text = content?.stringValue { return [text] }
        var texts: [String] = []
        for part in content?.arrayValue ?? [] {
            if let text = MessagesRequest.chatText(of: part) { texts.append(text) } else { dropped.insert(Self.kind(of: part)) }
        }
        return texts
    }

    private static func kind(of part: JSON) -> String {
        part["type"]?.stringValue.flatMap { partKinds.contains($0) ? $0 : nil } ?? "content_part"
    }

    // MARK: - Parameters

    /// Function tools, nested as chat nests them; built-in tools are named. `tool_choice` and
    /// `parallel_tool_calls` go only with tools (OpenAI refuses them without), and a choice the
    /// chat form cannot make (a built-in tool, a required call with no function left) is named.
    private mutating func addTools(_ source: JSONObject) {
        let choice = source["tool_choice"]
        var allowed: Set<String>?
        if choice?["type"]?.stringValue == "allowed_tools" {
            allowed = Set((choice?["tools"]?.arrayValue ?? []).compactMap { $0["type"]?.stringValue == "function" ? $0["name"]?.stringValue : nil })
        }
        var functions: [JSON] = []
        for tool in source["tools"]?.arrayValue ?? [] {
            guard let type = tool["type"]?.stringValue else { continue }
            guard type == "function", let name = tool["name"]?.stringValue else {
                dropped.insert(ResponsesRequest.builtInTools.contains(type) ? type : "tool")
                continue
            }
            guard allowed?.contains(name) ?? true else { continue }
            var function: JSONObject = ["name": .string(name)]
            if let description = tool["description"], description.stringValue != nil { function["description"] = description }
            if let parameters = tool["parameters"], parameters.objectValue != nil { function["parameters"] = parameters }
            if let strict = tool["strict"], strict.boolValue != nil { function["strict"] = strict }
            functions.append(.object(["type": .string("function"), "function": .object(function)]))
        }
        var chatChoice: JSON?
        switch choice {
        case .string(let mode)?: chatChoice = .string(mode)
        case .object(let object)?:
            switch object["type"]?.stringValue {
            case "function": chatChoice = object["name"].map { .object(["type": .string("function"), "function": .object(["name": $0])]) }
            case "allowed_tools": chatChoice = object["mode"]
            default: dropped.insert("tool_choice")
            }
        default: break
        }
        guard !functions.isEmpty else {
            if chatChoice == .string("required") { dropped.insert("tool_choice") }
            return
        }
        body["tools"] = .array(functions)
        if let chatChoice { body["tool_choice"] = chatChoice }
        if let parallel = source["parallel_tool_calls"], parallel.boolValue != nil { body["parallel_tool_calls"] = parallel }
    }

    /// `text.format` as chat's `response_format`; plain text needs none.
    private mutating func addFormat(_ format: JSON?) {
        switch format?["type"]?.stringValue {
        case "json_object":
            body["response_format"] = .object(["type": .string("json_object")])
        case "json_schema":
            var schema: JSONObject = ["name": format?["name"] ?? .string("response"), "schema": format?["schema"] ?? .object([:])]
            for key in ["strict", "description"] { if let value = format?[key], !value.isNull { schema[key] = value } }
            body["response_format"] = .object(["type": .string("json_schema"), "json_schema": .object(schema)])
        default:
            break
        }
    }

    /// Parameters only OpenAI's Responses API acts on, named when they ask for something: OpenAI's
    /// own caching, moderation, tiers and identifiers; reasoning settings (named by member, since the
    /// chat form's targets do not reason in OpenAI's form); extra output (`include`,
    /// `top_logprobs`); truncation of the input to fit; verbosity. `metadata` and `store` are the
    /// gateway's own (echoed in the answer, kept with it), so nothing is lost.
    private mutating func nameResponsesOnlyParameters(_ source: JSONObject) {
        func present(_ key: String) -> JSON? {
            guard let value = source[key], !value.isNull else { return nil }
            return value
        }
        for key in ["max_tool_calls", "moderation", "prompt_cache_key", "prompt_cache_options", "prompt_cache_retention", "safety_identifier"]
        where present(key) != nil {
            dropped.insert(key)
        }
        if let reasoning = present("reasoning")?.objectValue {
            for (key, _) in ResponsesRequest.reasoningMembers {
                guard let value = reasoning[key], !value.isNull, !(key == "effort" && value == .string("none")) else { continue }
                dropped.insert("reasoning.\(key)")
            }
        }
        if present("include")?.arrayValue?.isEmpty == false { dropped.insert("include") }
        if present("context_management")?.arrayValue?.isEmpty == false { dropped.insert("context_management") }
        if present("truncation") == .string("auto") { dropped.insert("truncation") }
        if let tier = present("service_tier")?.stringValue, tier != "auto", tier != "default" { dropped.insert("service_tier") }
        if (present("top_logprobs")?.intValue ?? 0) > 0 { dropped.insert("top_logprobs") }
        if let verbosity = source["text"]?["verbosity"], !verbosity.isNull { dropped.insert("text.verbosity") }
    }
}
