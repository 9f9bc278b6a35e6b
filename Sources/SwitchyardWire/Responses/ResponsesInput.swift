/// Checks the items of a Responses `input` (and the parts of their content) field by field, as
/// OpenAI would, so a bad item is refused with a 400 naming it as OpenAI does (`input[2].content[0].text`) before
/// any upstream is tried. The items the gateway translates or routes on are checked in full;
/// OpenAI's other item types (the calls and outputs of its built-in tools) are checked to be one of
/// them and forwarded as they are to an OpenAI Responses target only (`ResponsesToChat` names them
/// when another target serves).
enum ResponsesInput {
    static let roles = ["user", "assistant", "system", "developer"]
    static let statuses = ["in_progress", "completed", "incomplete"]

    /// Item types only an OpenAI Responses target can act on: the calls and outputs of built-in
    /// tools (web and file search, computer use, code interpreter, shells, patches, MCP, custom
    /// tools, tool search) and compaction. A second request carries them back as the first answer
    /// held them.
    static let passThroughTypes: Set<String> = [
        "file_search_call", "computer_call", "computer_call_output", "web_search_call", "image_generation_call",
        "code_interpreter_call", "local_shell_call", "local_shell_call_output", "shell_call", "shell_call_output",
        "apply_patch_call", "apply_patch_call_output", "mcp_list_tools", "mcp_approval_request", "mcp_approval_response",
        "mcp_call", "custom_tool_call", "custom_tool_call_output", "tool_search_call", "tool_search_output",
        "additional_tools", "compaction", "compaction_trigger", "program", "program_output",
    ]

    static let translatedTypes = ["message", "function_call", "function_call_output", "reasoning"]

    /// Checks one item of `input` at `path` (`input[3]`).
    static func check(_ item: JSON, path: String) throws(GatewayError) {
        let fields = try FieldReader.element(item, path: path)
        // OpenAI's "easy" message form has no type: a role makes it a message.
        let type = try fields.string("type") ?? (fields.present("role") != nil ? "message" : nil)
        switch type {
        case "message"?:
            try checkMessage(fields)
        case "function_call"?:
            _ = try fields.requiredString("call_id")
            _ = try fields.requiredString("name")
            _ = try fields.requiredString("arguments")
            _ = try fields.string("id")
            _ = try fields.string("namespace")
            try checkStatus(fields)
        case "function_call_output"?:
            _ = try fields.requiredString("call_id")
            _ = try fields.string("id")
            try checkStatus(fields)
            switch fields.present("output") {
            case nil: throw fields.missing("output")
            case .string?: break
            case .array(let parts)?: try checkParts(parts, path: fields.path("output"), role: "tool")
            case let other?: throw fields.wrongType("output", "a string or an array of content parts", other)
            }
        case "reasoning"?:
            try checkReasoning(fields)
        case "item_reference"?:
            throw .invalidRequest("'\(path)': item references are not supported by this gateway: the item is stored at OpenAI, "
                                  + "where the gateway cannot read it to route on it. Send the item itself, or continue a response "
                                  + "with 'previous_response_id'.", param: fields.path("type"), code: "unsupported_parameter")
        case let other? where passThroughTypes.contains(other):
            break
        case let other?:
            throw .invalidRequest("Invalid value '\(other)' for '\(fields.path("type"))': expected an input item type (\(translatedTypes.joined(separator: ", ")), "
                                  + "or a built-in tool's call or output).", param: fields.path("type"))
        case nil:
            // Without a type or a role, OpenAI reads an item as a reference to a stored one.
            throw fields.missing("type")
        }
    }

    private static func checkMessage(_ fields: FieldReader) throws(GatewayError) {
        let role = try fields.requiredChoice("role", of: roles)
        _ = try fields.string("id")
        try checkStatus(fields)
        if let phase = fields.present("phase") {
            guard phase.stringValue == "commentary" || phase.stringValue == "final_answer" else {
                throw .invalidRequest("Invalid value for '\(fields.path("phase"))': expected commentary or final_answer.", param: fields.path("phase"))
            }
        }
        switch fields.present("content") {
        case nil: throw fields.missing("content")
        case .string?: break
        case .array(let parts)?: try checkParts(parts, path: fields.path("content"), role: role)
        case let other?: throw fields.wrongType("content", "a string or an array of content parts", other)
        }
    }

    private static func checkStatus(_ fields: FieldReader) throws(GatewayError) {
        guard fields.present("status") != nil else { return }
        _ = try fields.requiredChoice("status", of: statuses)
    }

    /// The parts of a message's content (or of a function call's output, `role` "tool"): input
    /// parts in what the client sends, output parts in what the model said.
    private static func checkParts(_ parts: [JSON], path: String, role: String) throws(GatewayError) {
        let allowed = role == "assistant" ? ["output_text", "refusal", "input_text"] : ["input_text", "input_image", "input_file"]
        for (index, part) in parts.enumerated() {
            let fields = try FieldReader.element(part, path: "\(path)[\(index)]")
            let type = try fields.requiredString("type")
            guard allowed.contains(type) else {
                let what = role == "tool" ? "a function call's output" : "\(role) messages"
                throw .invalidRequest("Invalid value '\(type)' for '\(fields.path("type"))': \(what) take \(allowed.joined(separator: ", ")) parts.",
                                      param: fields.path("type"))
            }
            switch type {
            case "input_text":
                _ = try fields.requiredString("text")
            case "output_text":
                _ = try fields.requiredString("text")
                _ = try fields.array("annotations")
                _ = try fields.array("logprobs")
            case "refusal":
                _ = try fields.requiredString("refusal")
            case "input_image":
                let url = try fields.string("image_url"), file = try fields.string("file_id")
                if url == nil && file == nil { throw fields.missing("image_url") }
                if fields.present("detail") != nil { _ = try fields.requiredChoice("detail", of: ["auto", "low", "high", "original"]) }
            default:  // input_file
                var given = 0
                for key in ["file_id", "file_data", "file_url"] {
                    if try fields.string(key) != nil { given += 1 }
                }
                _ = try fields.string("filename")
                if given == 0 { throw fields.missing("file_id") }
            }
        }
    }

    /// A reasoning item from an earlier answer: its summary and, for a stateless continuation, its
    /// encrypted content, which only the model that wrote it can read.
    private static func checkReasoning(_ fields: FieldReader) throws(GatewayError) {
        _ = try fields.string("id")
        _ = try fields.string("encrypted_content")
        try checkStatus(fields)
        guard let summary = try fields.array("summary") else { throw fields.missing("summary") }
        for (key, parts, type) in [("summary", summary, "summary_text"), ("content", try fields.array("content") ?? [], "reasoning_text")] {
            for (index, part) in parts.enumerated() {
                let partFields = try FieldReader.element(part, path: "\(fields.path(key))[\(index)]")
                _ = try partFields.requiredChoice("type", of: [type])
                _ = try partFields.requiredString("text")
            }
        }
    }
}
