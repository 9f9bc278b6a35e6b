/// PLACEHOLDER until the Anthropic wire work lands.
public struct MessagesRequest: Sendable {
    public var body: JSONObject
    public let model: String
    public let maxTokens: Int
    public let stream: Bool
    public private(set) var summary: RequestSummary
}
