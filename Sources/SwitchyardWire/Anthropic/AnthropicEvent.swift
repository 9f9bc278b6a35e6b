/// One event of an Anthropic Messages stream. Anthropic names every event twice, in the SSE
/// `event:` line and in the data's `type` field, and its SDKs dispatch on the former; so the
/// frame is built from the data, and the two can never disagree.
public struct AnthropicEvent: Sendable, Equatable {
    public var type: String
    public var data: JSONObject

    /// An event whose data has `type` set to `type` (first, as Anthropic writes it).
    public init(type: String, data: JSONObject = [:]) {
        var fields = data
        fields["type"] = nil
        fields.fields.insert(("type", .string(type)), at: 0)
        self.type = type
        self.data = fields
    }

    /// Frames any data object by its own `type` field: the gateway's events and a real Anthropic
    /// upstream's, forwarded as they came. Data without a string `type` is framed without an
    /// `event:` line.
    public static func framing(_ data: JSONObject) -> AnthropicEvent {
        AnthropicEvent(framed: data["type"]?.stringValue ?? "", data: data)
    }

    private init(framed type: String, data: JSONObject) {
        self.type = type
        self.data = data
    }

    /// An error reported in the stream once its headers are sent, in the shape the SDKs raise.
    public static func error(_ error: GatewayError) -> AnthropicEvent {
        framing(error.anthropicBody.objectValue ?? ["type": .string("error")])
    }

    /// `event: TYPE\ndata: JSON\n\n` (`SSE.frame(event:data:)`).
    public var frame: [UInt8] { SSE.frame(event: type, data: data) }
}
