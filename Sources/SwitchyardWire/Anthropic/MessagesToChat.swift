extension MessagesRequest {
    /// The same request in OpenAI chat form, for the local engine and OpenAI-compatible clouds.
    ///
    /// The mapping mirrors `AnthropicTranslation` (the provider's OpenAI → Anthropic direction),
    /// so a conversation that crosses both ways keeps its tool calls, results and roles. What
    /// OpenAI has no place for is dropped: thinking blocks (those targets cannot verify their
    /// signatures), non-text documents, server tools, cache_control.
    public func chatRequest() throws(GatewayError) -> ChatRequest {
        var chat: JSONObject = ["model": .string(model)]
        var messages: [JSON] = []
        if !system.isEmpty { messages.append(.object(["role": .string("system"), "content": .string(system)])) }
        for message in body["messages"]?.arrayValue ?? [] {
            if message["role"]?.stringValue == "assistant" {
                messages.append(.object(Self.assistantMessage(message["content"])))
            } else {
                messages += Self.userMessages(message["content"])
            }
        }
        chat["messages"] = .array(messages)
        if maxTokens > 0 { chat["max_tokens"] = .int(maxTokens) }
        for key in ["temperature", "top_p", "top_k"] {
            if let value = present(key) { chat[key] = value }
        }
        if let stop = present("stop_sequences") { chat["stop"] = stop }
        if let user = body["metadata"]?["user_id"], user.stringValue != nil { chat["user"] = user }
        if stream {
            chat["stream"] = .bool(true)
            chat["stream_options"] = .object(["include_usage": .bool(true)])
        }
        addTools(to: &chat)

        var request = try ChatRequest(body: chat)
        if chat["top_k"] != nil { request.localOnlyFields = ["top_k"] }
        return request
    }

    private func present(_ key: String) -> JSON? {
        guard let value = body[key], !value.isNull else { return nil }
        return value
    }

    /// Custom tools become functions. Server tools have no OpenAI form and are left out; so is a
    /// `tool_choice` that names one, and so are both when no function remains (OpenAI refuses
    /// `tool_choice` and `parallel_tool_calls` without `tools`).
    private func addTools(to chat: inout JSONObject) {
        var names: [String] = []
        var functions: [JSON] = []
        for tool in body["tools"]?.arrayValue ?? [] where (tool["type"]?.stringValue ?? "custom") == "custom" {
            guard let name = tool["name"]?.stringValue else { continue }
            var function: JSONObject = ["name": .string(name)]
            if let description = tool["description"], description.stringValue != nil { function["description"] = description }
            function["parameters"] = tool["input_schema"] ?? .object(["type": .string("object")])
            names.append(name)
            functions.append(.object(["type": .string("function"), "function": .object(function)]))
        }
        guard !functions.isEmpty else { return }
        chat["tools"] = .array(functions)
        guard let choice = body["tool_choice"]?.objectValue else { return }
        switch choice["type"]?.stringValue {
        case "auto": chat["tool_choice"] = .string("auto")
        case "any": chat["tool_choice"] = .string("required")
        case "none": chat["tool_choice"] = .string("none")
        case "tool":
            if let name = choice["name"]?.stringValue, names.contains(name) {
                chat["tool_choice"] = .object(["type": .string("function"), "function": .object(["name": .string(name)])])
            }
        default: break
        }
        if choice["disable_parallel_tool_use"]?.boolValue == true { chat["parallel_tool_calls"] = .bool(false) }
    }

    /// One Anthropic user message: its tool results as OpenAI `tool` messages, first, since
    /// OpenAI wants them right after the assistant message that made the calls; then the rest of
    /// its content as a user message, unless nothing is left.
    static func userMessages(_ content: JSON?) -> [JSON] {
        guard case .array(let blocks)? = content else {
            return [.object(["role": .string("user"), "content": content ?? .string("")])]
        }
        var toolMessages: [JSON] = []
        var parts: [JSON] = []
        for block in blocks {
            switch block["type"]?.stringValue {
            case "tool_result":
                var text = toolResultText(block["content"])
                if block["is_error"]?.boolValue == true { text = "Error: " + text }
                toolMessages.append(.object([
                    "role": .string("tool"),
                    "tool_call_id": block["tool_use_id"] ?? .string(""),
                    "content": .string(text),
                ]))
            case "image":
                if let url = imageURL(block["source"]) {
                    parts.append(.object(["type": .string("image_url"), "image_url": .object(["url": .string(url)])]))
                }
            default:
                if let text = chatText(of: block) { parts.append(textPart(text)) }
            }
        }
        // A turn of only blocks OpenAI has no place for (a Files API image, a search result) is
        // kept as an empty turn: dropping it could leave no message at all, and the request (valid
        // for an Anthropic target, which is sent the original) would be refused.
        guard !parts.isEmpty else { return toolMessages.isEmpty ? [.object(["role": .string("user"), "content": .string("")])] : toolMessages }
        // A lone text part is sent as a plain string, the form every OpenAI-compatible server reads.
        let single = parts.count == 1 ? parts[0]["text"] : nil
        return toolMessages + [.object(["role": .string("user"), "content": single ?? .array(parts)])]
    }

    /// An Anthropic assistant turn's content as an OpenAI assistant message: its text blocks as
    /// `content`, its `tool_use` blocks as `tool_calls`. For a client's earlier turns here, and for
    /// an Anthropic upstream's answer to an OpenAI client (`AnthropicTranslation.completion`).
    public static func assistantMessage(_ content: JSON?) -> JSONObject {
        guard case .array(let blocks)? = content else {
            return ["role": .string("assistant"), "content": content ?? .string("")]
        }
        var text = ""
        var calls: [JSON] = []
        for block in blocks {
            switch block["type"]?.stringValue {
            case "text":
                // Adjacent text blocks are one answer split (at citations, say): joined as they are.
                text += block["text"]?.stringValue ?? ""
            case "tool_use":
                calls.append(.object([
                    "id": block["id"] ?? .string(""),
                    "type": .string("function"),
                    "function": .object([
                        "name": block["name"] ?? .string(""),
                        "arguments": .string((block["input"] ?? .object([:])).text),
                    ]),
                ]))
            default:
                break  // thinking, redacted_thinking, server tool blocks
            }
        }
        var message: JSONObject = ["role": .string("assistant"), "content": text.isEmpty && !calls.isEmpty ? .null : .string(text)]
        if !calls.isEmpty { message["tool_calls"] = .array(calls) }
        return message
    }

    /// The text a content block becomes in the chat form, if it becomes text: a text block's text,
    /// a text document's data, and the text parts of OpenAI's formats (chat's `refusal` parts,
    /// Responses' `input_text`, `output_text` and `refusal`). The translations set these side by
    /// side, as the text parts of one user message (an assistant turn's text as one string, a tool
    /// result's joined by line breaks); the private-data scan reads them joined from this same
    /// function (`RequestText.addSideBySide`), so that the two cannot drift apart.
    public static func chatText(of block: JSON) -> String? {
        switch block["type"]?.stringValue {
        case "text", "input_text", "output_text": block["text"]?.stringValue
        case "refusal": block["refusal"]?.stringValue
        case "document" where block["source"]?["type"]?.stringValue == "text": block["source"]?["data"]?.stringValue
        default: nil
        }
    }

    /// A tool result's content as the text of an OpenAI tool message (which carries text only).
    static func toolResultText(_ content: JSON?) -> String {
        switch content {
        case .string(let s)?: s
        case .array(let blocks)?: blocks.compactMap { $0["type"]?.stringValue == "text" ? $0["text"]?.stringValue : nil }.joined(separator: "\n")
        default: ""
        }
    }

    static func textPart(_ text: String) -> JSON {
        .object(["type": .string("text"), "text": .string(text)])
    }

    /// Base64 images as data URLs, URL images as they are; file references have no OpenAI form.
    static func imageURL(_ source: JSON?) -> String? {
        switch source?["type"]?.stringValue {
        case "base64":
            guard let mediaType = source?["media_type"]?.stringValue, let data = source?["data"]?.stringValue else { return nil }
            return "data:\(mediaType);base64,\(data)"
        case "url":
            return source?["url"]?.stringValue
        default:
            return nil
        }
    }
}

extension MessagesRequest {
    /// What `chatRequest()` leaves out that the model would have read: documents other than text,
    /// images it cannot address (a Files API id), block types OpenAI has no form for, server
    /// tools, extended thinking. An answer served from the chat form says so
    /// (`x-switchyard-dropped`), so that a model answering "summarise this PDF" without the PDF is
    /// never a silent loss. Empty for most requests; sorted, each kind once.
    public var untranslatable: [String] {
        var kinds = Set<String>()
        for message in body["messages"]?.arrayValue ?? [] {
            guard case .array(let blocks)? = message["content"] else { continue }
            let assistant = message["role"]?.stringValue == "assistant"
            for block in blocks {
                let type = block["type"]?.stringValue ?? "block"
                switch type {
                case "text", "tool_use", "tool_result": break
                // Text documents (and text parts of OpenAI's shapes), carried as text.
                case _ where !assistant && Self.chatText(of: block) != nil: break
                case "thinking", "redacted_thinking" where assistant: break  // the model's own earlier reasoning, not the request's
                case "image" where !assistant && Self.imageURL(block["source"]) != nil: break
                default: kinds.insert(type)
                }
            }
        }
        for tool in body["tools"]?.arrayValue ?? [] where (tool["type"]?.stringValue ?? "custom") != "custom" {
            kinds.insert("server_tool")
        }
        if let thinking = body["thinking"], thinking["type"]?.stringValue == "enabled" { kinds.insert("thinking") }
        return kinds.sorted()
    }
}
