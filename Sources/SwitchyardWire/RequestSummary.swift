/// What the gateway decides on, whatever wire format the request came in: the text to scan and
/// count, tools, images, the output asked for. Each front end fills it from its own format, and
/// signals, the tokenizer and the cascade's features read only this, so a new front end is a
/// translation, not a fork.
public struct RequestSummary: Sendable {
    public enum Role: String, Sendable {
        /// System and developer instructions (OpenAI's `system`/`developer` messages, Anthropic's `system`).
        case system
        case user
        case assistant
        /// A tool's result sent back (OpenAI's `tool` messages, Anthropic's `tool_result` blocks).
        case tool
    }

    public struct Turn: Sendable, Equatable {
        public var role: Role
        /// The turn's text parts, joined by newlines: what is tokenized, scored and counted.
        public var text: String
        public var hasImages: Bool

        public init(role: Role, text: String, hasImages: Bool = false) {
            self.role = role
            self.text = text
            self.hasImages = hasImages
        }
    }

    /// The model the client named (`auto` or a policy model).
    public var model: String
    public var turns: [Turn]
    public var hasTools: Bool
    /// The output cap the client asked for, if any.
    public var maxTokens: Int?
    public var stream: Bool
    /// The body's size as received: no tokenizer makes more prompt tokens than the bytes they
    /// come from, so this bounds a cloud attempt's prompt cost from above (budget reservations).
    public var sizeInBytes: Int
    /// The body as received, in its own format: the private-data constraint scans every string
    /// and key of it, since any field may reach an upstream.
    public var body: JSONObject

    public init(model: String, turns: [Turn], hasTools: Bool, maxTokens: Int?, stream: Bool, sizeInBytes: Int, body: JSONObject) {
        self.model = model
        self.turns = turns
        self.hasTools = hasTools
        self.maxTokens = maxTokens
        self.stream = stream
        self.sizeInBytes = sizeInBytes
        self.body = body
    }

    public var hasImages: Bool { turns.contains { $0.hasImages } }
}
