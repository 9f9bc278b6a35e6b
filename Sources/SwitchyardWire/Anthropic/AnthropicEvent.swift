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

    /// `event: TYPE\ndata: JSON\n\n`. A type that holds a line break (only a hostile upstream's
    /// could) would split the frame into lines of the attacker's choosing: it is left out, and the
    /// data, whose serialisation escapes line breaks, still carries it.
    public var frame: [UInt8] {
        var out: [UInt8] = []
        if !type.isEmpty, !type.utf8.contains(where: { $0 == 0x0A || $0 == 0x0D }) {
            out.append(contentsOf: "event: ".utf8)
            out.append(contentsOf: type.utf8)
            out.append(0x0A)
        }
        out.append(contentsOf: "data: ".utf8)
        data.write(into: &out)
        out.append(contentsOf: "\n\n".utf8)
        return out
    }
}
