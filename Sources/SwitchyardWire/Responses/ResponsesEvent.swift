/// One event of a Responses stream: `type` and `sequence_number` first in its data, as OpenAI
/// writes them, and the type again in the SSE `event:` line.
public struct ResponsesEvent: Sendable, Equatable {
    public var type: String
    public var sequenceNumber: Int
    public var data: JSONObject

    init(type: String, sequenceNumber: Int, data: JSONObject = [:]) {
        self.type = type
        self.sequenceNumber = sequenceNumber
        var fields: JSONObject = ["type": .string(type), "sequence_number": .int(sequenceNumber)]
        fields.fields += data.fields.filter { $0.key != "type" && $0.key != "sequence_number" }
        self.data = fields
    }

    /// `event: TYPE\ndata: JSON\n\n`.
    public var frame: [UInt8] { SSE.frame(event: type, data: data) }
}
