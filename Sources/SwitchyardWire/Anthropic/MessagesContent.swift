/// Checks a message's content blocks and reads from them what routing needs. The block types
/// the gateway translates or counts are checked field by field, since a malformed one would
/// otherwise surface as a confusing upstream error (or be silently dropped by the translation);
/// types it only forwards (server tools, search results, future ones) pass unchecked, so a new
/// Anthropic feature is not refused by the gateway before Anthropic itself sees it.
enum MessagesContent {
    /// What one message contributes to the request summary.
    struct Reading: Sendable, Equatable {
        /// Text, tool results' text and tool inputs, in order: what is tokenized and scored.
        var texts: [String] = []
        var hasImages = false
        var toolResults = 0
        /// Blocks other than tool results (text, images, tool uses, …).
        var otherBlocks = 0
    }

    static let roles = ["user", "assistant"]

    /// Reads `content` (a string or an array of blocks) of a message with `role` at `path`.
    static func read(_ content: JSON?, path: String, role: String) throws(GatewayError) -> Reading {
        var reading = Reading()
        switch content {
        case .string(let s)?:
            reading.texts.append(s)
            reading.otherBlocks = 1
        case .array(let blocks)?:
            try read(blocks, path: path, role: role, into: &reading)
        case nil, .null?:
            throw .invalidRequest("Missing required parameter: '\(path)'.", param: path, code: "missing_required_parameter")
        case let other?:
            throw .invalidRequest("'\(path)' must be a string or an array of content blocks, not \(other.typeName).", param: path)
        }
        return reading
    }

    /// `role` is nil inside a tool result's content, where role rules do not apply.
    private static func read(_ blocks: [JSON], path: String, role: String?, into reading: inout Reading) throws(GatewayError) {
        for (index, block) in blocks.enumerated() {
            try readBlock(block, path: "\(path).\(index)", role: role, into: &reading)
        }
    }

    private static func readBlock(_ block: JSON, path: String, role: String?, into reading: inout Reading) throws(GatewayError) {
        let fields = try FieldReader.element(block, path: path)
        let type = try fields.requiredString("type")
        // Counted at the message's own level: a tool result's content belongs to the result.
        if role != nil {
            if type == "tool_result" { reading.toolResults += 1 } else { reading.otherBlocks += 1 }
        }
        switch type {
        case "text":
            reading.texts.append(try fields.requiredString("text"))
        case "image":
            reading.hasImages = true
            try checkImageSource(fields)
        case "document":
            // A plain-text document is read by the model like text, so it counts as text.
            let source = try fields.requiredObject("source")
            if source["type"]?.stringValue == "text", let data = source["data"]?.stringValue { reading.texts.append(data) }
        case "tool_use":
            // Only the model calls tools: the translation could not place a call in a user turn.
            if role == "user" { throw misplaced(type, path: path, role: "user") }
            _ = try fields.requiredString("id")
            _ = try fields.requiredString("name")
            reading.texts.append(JSON.object(try fields.requiredObject("input")).text)
        case "tool_result":
            if role == "assistant" { throw misplaced(type, path: path, role: "assistant") }
            _ = try fields.requiredString("tool_use_id")
            _ = try fields.bool("is_error")
            switch fields.present("content") {
            case nil: break
            case .string(let s)?: reading.texts.append(s)
            case .array(let nested)?: try read(nested, path: fields.path("content"), role: nil, into: &reading)
            case let other?:
                throw .invalidRequest("'\(fields.path("content"))' must be a string or an array of content blocks, not \(other.typeName).",
                                      param: fields.path("content"))
            }
        case "thinking":
            _ = try fields.requiredString("thinking")
            _ = try fields.requiredString("signature")
        case "redacted_thinking":
            _ = try fields.requiredString("data")
        default:
            break
        }
    }

    private static func checkImageSource(_ block: FieldReader) throws(GatewayError) {
        let source = FieldReader(try block.requiredObject("source"), path: block.path("source"))
        switch try source.requiredChoice("type", of: ["base64", "url", "file"]) {
        case "base64":
            _ = try source.requiredString("media_type")
            _ = try source.requiredString("data")
        case "url":
            _ = try source.requiredString("url")
        default:
            break  // a Files API reference: only Anthropic can resolve it
        }
    }

    private static func misplaced(_ type: String, path: String, role: String) -> GatewayError {
        .invalidRequest("'\(path)': \(type) blocks may not appear in \(role) messages.", param: path + ".type")
    }
}
