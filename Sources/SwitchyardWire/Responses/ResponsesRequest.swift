/// A validated OpenAI Responses `POST /v1/responses` body.
///
/// Strict, as OpenAI is: an unknown top-level parameter is refused (a field the gateway neither
/// routes on nor translates would otherwise be silently lost on every target but OpenAI's), and
/// every field the gateway reads, translates or forwards is type- and range-checked, each failure a
/// 400 naming the field as OpenAI does (`input[0].content[1].text`). Three parameters are refused
/// because they would hide the conversation from the gateway or need state it does not keep:
/// `conversation` and `prompt` (a conversation or a template stored at OpenAI, which the gateway
/// can neither route on nor scan for private data) and `background: true` (an answer to poll for).
///
/// The request's own items are only part of the conversation when it continues an earlier response
/// (`previous_response_id`): routing and translation work on `conversation(continuing:)`, which
/// prepends the stored items.
public struct ResponsesRequest: Sendable {
    /// The request exactly as received (keys in order).
    public var body: JSONObject
    public let model: String
    public let stream: Bool
    /// Whether the response is kept for `previous_response_id` and `GET /v1/responses/{id}`
    /// (the API's default).
    public let store: Bool
    /// The stored response this one continues.
    public let previousResponseID: String?
    public let maxOutputTokens: Int?
    /// `input` as items: a string is one user message; absent (a bare continuation) is none.
    public let inputItems: [JSON]
    /// The body's size as received (0 when built from an object rather than parsed from bytes).
    public private(set) var sizeInBytes = 0

    /// Parses and validates; every failure names the offending field as OpenAI does.
    public static func parse(_ bytes: some Collection<UInt8>) throws(GatewayError) -> ResponsesRequest {
        var request = try ResponsesRequest(body: .requestBody(bytes))
        request.sizeInBytes = bytes.count
        return request
    }

    public init(body: JSONObject) throws(GatewayError) {
        self.body = body
        let fields = FieldReader(body)
        if let unknown = body.keys.first(where: { !Self.parameters.contains($0) }) {
            // An empty key has no name to point at: the message says so, and no empty `param` is sent.
            throw unknown.isEmpty
                ? .invalidRequest("Unknown parameter: a key with an empty name.", code: "unknown_parameter")
                : .invalidRequest("Unknown parameter: '\(unknown)'.", param: unknown, code: "unknown_parameter")
        }
        try Self.refuseUnsupported(fields)
        model = try fields.requiredString("model")
        previousResponseID = try fields.string("previous_response_id")
        if previousResponseID?.isEmpty == true {
            throw .invalidRequest("'previous_response_id' must not be empty.", param: "previous_response_id")
        }
        inputItems = try Self.readInput(fields, continuing: previousResponseID != nil)
        _ = try fields.string("instructions")
        maxOutputTokens = try fields.int("max_output_tokens", minimum: 16)
        _ = try fields.int("max_tool_calls", minimum: 1)
        _ = try fields.double("temperature", range: 0...2)
        _ = try fields.double("top_p", range: 0...1)
        _ = try fields.int("top_logprobs", range: 0...20)
        for key in ["user", "safety_identifier", "prompt_cache_key", "service_tier"] { _ = try fields.string(key) }
        if fields.present("prompt_cache_retention") != nil { _ = try fields.requiredChoice("prompt_cache_retention", of: ["in_memory", "24h"]) }
        _ = try fields.object("prompt_cache_options")
        _ = try fields.object("moderation")
        _ = try fields.array("context_management")
        stream = try fields.bool("stream") ?? false
        if let options = try fields.object("stream_options") {
            let optionFields = FieldReader(options, path: "stream_options")
            try optionFields.onlyFields(["include_obfuscation"])
            _ = try optionFields.bool("include_obfuscation")
        }
        store = try fields.bool("store") ?? true
        _ = try fields.bool("parallel_tool_calls")
        if fields.present("truncation") != nil { _ = try fields.requiredChoice("truncation", of: ["auto", "disabled"]) }
        try Self.checkMetadata(fields)
        try Self.checkInclude(fields)
        try Self.checkReasoning(fields)
        try Self.checkText(fields)
        let functions = try Self.checkTools(fields)
        try Self.checkToolChoice(fields, functions: functions)
    }

    /// Every top-level parameter of the Responses API this gateway knows.
    static let parameters: Set<String> = [
        "model", "input", "instructions", "tools", "tool_choice", "max_output_tokens", "max_tool_calls", "temperature", "top_p",
        "top_logprobs", "metadata", "user", "safety_identifier", "prompt_cache_key", "prompt_cache_options", "prompt_cache_retention",
        "text", "stream", "stream_options", "store", "previous_response_id", "parallel_tool_calls", "truncation", "include",
        "reasoning", "service_tier", "background", "conversation", "prompt", "context_management", "moderation",
    ]

    /// `conversation`, `prompt` and `background: true`: see the type's comment.
    static func refuseUnsupported(_ fields: FieldReader) throws(GatewayError) {
        let why: [(key: String, reason: String)] = [
            ("conversation", "the conversation is stored at OpenAI, where the gateway cannot read it to route on it or scan it; "
                + "continue with 'previous_response_id' instead"),
            ("prompt", "the prompt template is stored at OpenAI, where the gateway cannot read it to route on it or scan it; "
                + "send the prompt as 'instructions' and 'input'"),
        ]
        for (key, reason) in why where fields.present(key) != nil {
            throw .invalidRequest("'\(key)' is not supported by this gateway: \(reason).", param: key, code: "unsupported_parameter")
        }
        if try fields.bool("background") == true {
            throw .invalidRequest("'background' is not supported by this gateway: answers are streamed or returned whole, "
                                  + "never queued to poll for.", param: "background", code: "unsupported_parameter")
        }
    }

    /// `input`: a string, or a list of items, each checked (`ResponsesInput`). It may be left out
    /// (or empty) only by a request that continues an earlier response.
    static func readInput(_ fields: FieldReader, continuing: Bool) throws(GatewayError) -> [JSON] {
        switch fields.present("input") {
        case nil where continuing:
            return []
        case nil:
            throw fields.missing("input")
        case .string(let text)?:
            return [.object(["type": .string("message"), "role": .string("user"), "content": .string(text)])]
        case .array(let items)?:
            guard !items.isEmpty || continuing else {
                throw .invalidRequest("'input' must contain at least one item.", param: "input")
            }
            for (index, item) in items.enumerated() { try ResponsesInput.check(item, path: "input[\(index)]") }
            return items
        case let other?:
            throw fields.wrongType("input", "a string or an array of input items", other)
        }
    }

    /// OpenAI's limits: at most 16 pairs, keys of at most 64 characters, string values of at most 512.
    static func checkMetadata(_ fields: FieldReader) throws(GatewayError) {
        guard let metadata = try fields.object("metadata") else { return }
        guard metadata.fields.count <= 16 else {
            throw .invalidRequest("'metadata' has \(metadata.fields.count) pairs; at most 16 are allowed.", param: "metadata")
        }
        for (key, value) in metadata.fields {
            guard key.count <= 64 else { throw .invalidRequest("A 'metadata' key is longer than 64 characters.", param: "metadata") }
            guard let text = value.stringValue else {
                throw .invalidRequest("'metadata.\(key)' must be a string, not \(value.typeName).", param: "metadata.\(key)")
            }
            guard text.count <= 512 else {
                throw .invalidRequest("'metadata.\(key)' is longer than 512 characters.", param: "metadata.\(key)")
            }
        }
    }

    static let includable = [
        "file_search_call.results", "web_search_call.results", "web_search_call.action.sources", "message.input_image.image_url",
        "computer_call_output.output.image_url", "code_interpreter_call.outputs", "reasoning.encrypted_content",
        "message.output_text.logprobs",
    ]

    static func checkInclude(_ fields: FieldReader) throws(GatewayError) {
        for (index, value) in (try fields.strings("include") ?? []).enumerated() where !includable.contains(value) {
            throw .invalidRequest("Invalid value '\(value)' for 'include[\(index)]': expected one of \(includable.joined(separator: ", ")).",
                                  param: "include[\(index)]")
        }
    }

    static let reasoningMembers: [(key: String, values: [String]?)] = [
        ("effort", ["none", "minimal", "low", "medium", "high", "xhigh", "max"]),
        ("summary", ["auto", "concise", "detailed"]),
        ("generate_summary", ["auto", "concise", "detailed"]),
        ("context", ["auto", "current_turn", "all_turns"]),
        ("mode", nil),
    ]

    static func checkReasoning(_ fields: FieldReader) throws(GatewayError) {
        guard let reasoning = try fields.object("reasoning") else { return }
        let members = FieldReader(reasoning, path: "reasoning")
        try members.onlyFields(reasoningMembers.map(\.key))
        for (key, values) in reasoningMembers where members.present(key) != nil {
            if let values { _ = try members.requiredChoice(key, of: values) } else { _ = try members.string(key) }
        }
    }

    /// `text.format` (`text`, `json_object`, or `json_schema` with a name and a schema) and `text.verbosity`.
    static func checkText(_ fields: FieldReader) throws(GatewayError) {
        guard let text = try fields.object("text") else { return }
        let textFields = FieldReader(text, path: "text")
        try textFields.onlyFields(["format", "verbosity"])
        if textFields.present("verbosity") != nil { _ = try textFields.requiredChoice("verbosity", of: ["low", "medium", "high"]) }
        guard let format = try textFields.object("format") else { return }
        let formatFields = FieldReader(format, path: "text.format")
        guard try formatFields.requiredChoice("type", of: ["text", "json_schema", "json_object"]) == "json_schema" else { return }
        let name = try formatFields.requiredString("name")
        guard (1...64).contains(name.utf8.count), name.utf8.allSatisfy(Self.isNameByte) else {
            throw .invalidRequest("'text.format.name' must be 1 to 64 letters, digits, '_' or '-'.", param: "text.format.name")
        }
        _ = try formatFields.requiredObject("schema")
        _ = try formatFields.bool("strict")
        _ = try formatFields.string("description")
    }

    static func isNameByte(_ byte: UInt8) -> Bool {
        (byte | 0x20) &- 0x61 < 26 || byte &- 0x30 < 10 || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
    }

    /// Tools OpenAI runs itself, or that only its Responses API defines: forwarded to an OpenAI
    /// Responses target, left out of the chat form (and named there).
    static let builtInTools: Set<String> = [
        "file_search", "web_search", "web_search_2025_08_26", "web_search_preview", "web_search_preview_2025_03_11", "computer",
        "computer_use", "computer_use_preview", "code_interpreter", "image_generation", "mcp", "local_shell", "shell", "custom",
        "namespace", "tool_search", "apply_patch", "programmatic_tool_calling",
    ]

    /// Checks `tools`; returns the names of the function tools. A function tool is flat here
    /// (`{type, name, description, parameters, strict}`), unlike chat's nested `function`.
    static func checkTools(_ fields: FieldReader) throws(GatewayError) -> [String] {
        var functions: [String] = []
        for (index, item) in (try fields.array("tools") ?? []).enumerated() {
            let tool = try FieldReader.element(item, path: "tools[\(index)]")
            let type = try tool.requiredString("type")
            if type == "function" {
                functions.append(try tool.requiredString("name"))
                _ = try tool.object("parameters")
                _ = try tool.bool("strict")
                _ = try tool.string("description")
            } else if !builtInTools.contains(type) {
                throw .invalidRequest("Invalid value '\(type)' for '\(tool.path("type"))': expected function or one of OpenAI's built-in tools "
                                      + "(\(builtInTools.sorted().joined(separator: ", "))).", param: tool.path("type"))
            }
        }
        return functions
    }

    static let toolChoiceTypes = [
        "function", "allowed_tools", "custom", "mcp", "file_search", "web_search_preview", "web_search_preview_2025_03_11", "computer",
        "computer_use", "computer_use_preview", "image_generation", "code_interpreter", "apply_patch", "shell", "programmatic_tool_calling",
    ]

    /// `tool_choice`: none, auto or required, or an object naming a function (one of `functions`),
    /// a set of allowed tools, or a built-in tool.
    static func checkToolChoice(_ fields: FieldReader, functions: [String]) throws(GatewayError) {
        switch fields.present("tool_choice") {
        case nil:
            return
        case .string?:
            _ = try fields.requiredChoice("tool_choice", of: ["none", "auto", "required"])
        case .object(let choice)?:
            let choiceFields = FieldReader(choice, path: "tool_choice")
            switch try choiceFields.requiredChoice("type", of: toolChoiceTypes) {
            case "function":
                let name = try choiceFields.requiredString("name")
                guard functions.contains(name) else {
                    throw .invalidRequest("'tool_choice.name' names '\(name)', which is not a function in 'tools'.", param: "tool_choice.name")
                }
            case "allowed_tools":
                _ = try choiceFields.requiredChoice("mode", of: ["auto", "required"])
                guard let tools = try choiceFields.array("tools") else { throw choiceFields.missing("tools") }
                for (index, tool) in tools.enumerated() {
                    _ = try FieldReader.element(tool, path: "tool_choice.tools[\(index)]").requiredString("type")
                }
            case "custom":
                _ = try choiceFields.requiredString("name")
            case "mcp":
                _ = try choiceFields.requiredString("server_label")
            default:
                break
            }
        case let other?:
            throw fields.wrongType("tool_choice", "a string or an object", other)
        }
    }
}
