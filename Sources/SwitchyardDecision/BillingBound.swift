import SwitchyardPolicy
import SwitchyardWire

/// The most one attempt can be billed for, in tokens, counted from the request as a target of
/// one kind will receive it, before it is sent. A budget reserves its price
/// (`Pricing.worstCase`); docs/cost.md lists what counts and why.
public struct BillableTokens: Sendable, Equatable {
    /// A token per byte of the request body (no tokenizer makes more), plus the tokens the
    /// upstream adds for the tools the request declares.
    public var promptTokens: Int
    /// Images, each billed by its pixels, not its bytes (a 40-byte URL can cost thousands of
    /// tokens): priced at the target's per-image worst case.
    public var images: Int
    /// The dearest rate the prompt may be billed at, as a multiple of the input price: an
    /// Anthropic prompt-cache write costs 1.25× (five minutes) or 2× (one hour).
    public var inputFactor: Double
    /// The output cap for every choice asked for, and a predicted output's rejected tokens.
    public var outputTokens: Int
}

/// Whether a request has a worst case on one kind of target.
public enum BillingBound: Sendable, Equatable {
    case bounded(BillableTokens)
    /// `what`, at `param`, is billed in a way nothing in the request bounds: audio at its own
    /// rate, files and PDFs by their pages, server tools by what they fetch and per call.
    case unbounded(what: String, param: String?)
}

/// A budgeted request's worst case on each kind of priced target, counted once.
public struct BillingBounds: Sendable, Equatable {
    /// OpenAI-compatible targets, which are sent the chat form.
    public var openAI: BillingBound
    /// Anthropic targets, which are sent the client's Anthropic body as it is, or the chat form translated.
    public var anthropic: BillingBound

    /// `request` as it will be sent (the gateway's own output cap already in it).
    public init(_ request: GatewayRequest) {
        let bytes = min(request.summary.sizeInBytes, TokenUsage.maxTokens)
        openAI = Self.chat(request.chat.body, bytes: bytes)
        anthropic = request.messages.map { Self.messages($0.body, bytes: bytes) } ?? Self.translatedToMessages(request.chat.body, bytes: bytes)
    }

    public func bound(for target: ModelTarget) -> BillingBound { target.isAnthropic ? anthropic : openAI }

    /// The largest tool-use system prompt Anthropic adds to a request with tools (Claude 3 Opus,
    /// `tool_choice: auto`; 346 tokens on the Claude 4 models).
    static let anthropicToolPromptTokens = 530
    /// What each Anthropic-defined client tool (bash, text editor, computer, memory) adds to the
    /// prompt: Anthropic documents 245 to 735 tokens, and computer use's own 466–499 on top.
    static let anthropicDefinedToolTokens = 2000

    /// OpenAI's chat form: content parts of text, images (priced per image) or nothing else;
    /// `n` (and `best_of`, which OpenAI-compatible servers may honour) choices of the output cap each.
    static func chat(_ body: JSONObject, bytes: Int) -> BillingBound {
        var images = 0
        for (m, message) in (body["messages"]?.arrayValue ?? []).enumerated() {
            for (p, part) in (message["content"]?.arrayValue ?? []).enumerated() {
                switch part["type"]?.stringValue {
                case "text", "refusal": break
                case "image_url", "input_image": images += 1
                // Audio is billed at an audio rate the policy's price does not know; a file (a PDF)
                // by its pages; a part type the gateway does not know, by nobody knows what.
                case let type: return .unbounded(what: "content part '\(type?.prefix(40) ?? "")'", param: "messages[\(m)].content[\(p)]")
                }
            }
        }
        if let modalities = body["modalities"], !modalities.isNull, modalities.arrayValue?.allSatisfy({ $0 == .string("text") }) != true {
            return .unbounded(what: "audio output", param: "modalities")
        }
        if let audio = body["audio"], !audio.isNull { return .unbounded(what: "audio output", param: "audio") }
        // Searches are billed per call, and the pages they bring back as input.
        if let search = body["web_search_options"], !search.isNull { return .unbounded(what: "web_search_options", param: "web_search_options") }
        // Priority processing is billed above the standard price the policy states.
        if let tier = body["service_tier"], !tier.isNull, !["auto", "default", "flex"].contains(tier.stringValue ?? "") {
            return .unbounded(what: "service_tier", param: "service_tier")
        }
        var choices = body["n"]?.intValue ?? 1
        if let bestOf = body["best_of"], !bestOf.isNull {
            guard let count = bestOf.intValue, (1...128).contains(count) else { return .unbounded(what: "best_of", param: "best_of") }
            choices = max(choices, count)
        }
        // Rejected predicted tokens are billed as output: no more of them than the prediction's bytes.
        let predicted = body["prediction"].map { $0.serialized().count } ?? 0
        return .bounded(BillableTokens(promptTokens: bytes, images: images, inputFactor: 1,
                                       outputTokens: outputCap(body) * choices + predicted))
    }

    /// The chat form as the Anthropic provider translates it: text, images and tools, one choice.
    static func translatedToMessages(_ body: JSONObject, bytes: Int) -> BillingBound {
        let images = (body["messages"]?.arrayValue ?? []).reduce(0) { count, message in
            count + (message["content"]?.arrayValue ?? []).filter { $0["type"] == .string("image_url") }.count
        }
        let tools = (body["tools"]?.arrayValue ?? []).isEmpty ? 0 : anthropicToolPromptTokens
        return .bounded(BillableTokens(promptTokens: bytes + tools, images: images, inputFactor: 1, outputTokens: outputCap(body)))
    }

    /// An Anthropic body, passed through: its images wherever they are (tool results and
    /// documents too), its tools, prompt-cache writes, and thinking.
    static func messages(_ body: JSONObject, bytes: Int) -> BillingBound {
        var walk = MessagesWalk()
        for (m, message) in (body["messages"]?.arrayValue ?? []).enumerated() {
            if let unbounded = walk.blocks(message["content"], path: "messages.\(m).content") { return unbounded }
        }
        var prompt = bytes
        let tools = body["tools"]?.arrayValue ?? []
        for (t, tool) in tools.enumerated() {
            let type = tool["type"]?.stringValue ?? "custom"
            if type == "custom" { continue }
            // Server tools (web search and fetch, code execution, …) bill per call and bring back
            // input of their own; only Anthropic-defined client tools have a known cost.
            guard ["bash_", "text_editor_", "computer_", "memory_"].contains(where: type.hasPrefix) else {
                return .unbounded(what: "server tool '\(type.prefix(60))'", param: "tools.\(t)")
            }
            prompt += anthropicDefinedToolTokens
        }
        if !tools.isEmpty { prompt += anthropicToolPromptTokens }
        if let servers = body["mcp_servers"]?.arrayValue, !servers.isEmpty { return .unbounded(what: "mcp_servers", param: "mcp_servers") }
        if let container = body["container"], !container.isNull { return .unbounded(what: "container", param: "container") }
        var output = outputCap(body)
        // With interleaved thinking, the thinking budget may exceed max_tokens.
        if body["thinking"]?["type"] == .string("enabled"), let thinking = body["thinking"]?["budget_tokens"]?.intValue {
            output = max(output, min(thinking, TokenUsage.maxTokens))
        }
        return .bounded(BillableTokens(promptTokens: prompt, images: walk.images, inputFactor: cacheWriteFactor(.object(body)),
                                       outputTokens: output))
    }

    /// Images in Anthropic content blocks, and what no bound holds: documents billed by pages
    /// (a PDF, inline or by URL, a Files API file), files uploaded to a container.
    private struct MessagesWalk {
        var images = 0

        mutating func blocks(_ content: JSON?, path: String) -> BillingBound? {
            for (index, block) in (content?.arrayValue ?? []).enumerated() {
                let at = "\(path).\(index)"
                switch block["type"]?.stringValue {
                case "image":
                    images += 1
                case "tool_result":
                    if let unbounded = blocks(block["content"], path: at + ".content") { return unbounded }
                case "document":
                    switch block["source"]?["type"]?.stringValue {
                    case "text": break
                    case "content": if let unbounded = blocks(block["source"]?["content"], path: at + ".source.content") { return unbounded }
                    default: return .unbounded(what: "document (a PDF or file, billed by its pages)", param: at)
                    }
                case "container_upload":
                    return .unbounded(what: "container_upload", param: at)
                default:
                    break
                }
            }
            return nil
        }
    }

    /// 2 when any `cache_control` asks for a one-hour cache, 1.25 for the five-minute one, else 1.
    static func cacheWriteFactor(_ json: JSON) -> Double {
        switch json {
        case .object(let object):
            var factor = 1.0
            for field in object.fields {
                if field.key == "cache_control", field.value.objectValue != nil {
                    factor = max(factor, field.value["ttl"] == .string("1h") ? 2 : 1.25)
                } else {
                    factor = max(factor, cacheWriteFactor(field.value))
                }
            }
            return factor
        case .array(let items):
            return items.reduce(1) { max($0, cacheWriteFactor($1)) }
        default:
            return 1
        }
    }

    /// `max_tokens` or `max_completion_tokens`, the larger when both are sent (an upstream may
    /// read either); a budgeted request always has one (the gateway adds it).
    static func outputCap(_ body: JSONObject) -> Int {
        let caps = ["max_tokens", "max_completion_tokens"].compactMap { body[$0]?.intValue }
        return min(caps.max() ?? defaultMaxOutputTokens, TokenUsage.maxTokens)
    }

    /// The output cap the gateway gives a budgeted request that sets none, so that its
    /// reservation bounds what it can spend.
    public static let defaultMaxOutputTokens = 4096
}
