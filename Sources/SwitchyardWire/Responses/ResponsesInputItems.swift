/// `GET /v1/responses/{id}/input_items`: the items a stored response was made from — the items of
/// the responses it continued, then its own input — a page at a time, as OpenAI lists them.
///
/// Items a client sent without an `id` are given one here, from the response's id and the item's
/// place (`resp_…_item_3`): stored items never change, so the id is stable and can be a cursor.
/// Ids are not written into the stored items, because those are what a continuation sends on, and
/// an OpenAI upstream reads an unknown item id as a reference to an item it does not have.
/// A message's string content is listed as content parts, as OpenAI lists it.
public struct ResponsesInputItems: Sendable, Equatable {
    public enum Order: String, Sendable { case ascending = "asc", descending = "desc" }

    /// The newest items first unless `order=asc`, as OpenAI's default is.
    public var order = Order.descending
    /// 1 to 100; 20 when not given.
    public var limit = 20
    /// The id of the item the page starts after.
    public var after: String?

    /// Reads the query, refusing what OpenAI refuses; `include` (extra fields of tool items,
    /// which this gateway does not keep) and other names are ignored.
    public init(query: [(name: String, value: String)]) throws(GatewayError) {
        for (name, value) in query {
            switch name {
            case "order":
                guard let order = Order(rawValue: value) else {
                    throw .invalidRequest("Invalid value for 'order': expected 'asc' or 'desc'.", param: "order")
                }
                self.order = order
            case "limit":
                guard let limit = Int(value), (1...100).contains(limit) else {
                    throw .invalidRequest("Invalid value for 'limit': expected an integer from 1 to 100.", param: "limit")
                }
                self.limit = limit
            case "after":
                guard !value.isEmpty else { throw .invalidRequest("'after' must not be empty.", param: "after") }
                after = value
            default:
                continue
            }
        }
    }

    /// The page of `items` (as stored for the response `responseID`) this query asks for, as a list object.
    public func page(of items: [JSON], responseID: String) throws(GatewayError) -> JSONObject {
        var listed = items.enumerated().map { Self.listed($0.element, id: "\(responseID)_item_\($0.offset)") }
        if order == .descending { listed.reverse() }
        var start = 0
        if let after {
            guard let index = listed.firstIndex(where: { $0["id"]?.stringValue == after }) else {
                throw .invalidRequest("'after': no input item with id '\(after)' in this response.", param: "after")
            }
            start = index + 1
        }
        let page = Array(listed[start..<min(listed.count, start + limit)])
        return [
            "object": .string("list"),
            "data": .array(page.map(JSON.object)),
            "first_id": page.first?["id"] ?? .null,
            "last_id": page.last?["id"] ?? .null,
            "has_more": .bool(start + page.count < listed.count),
        ]
    }

    /// An item as listed: its own id or the given one, a message typed and its text as parts.
    static func listed(_ item: JSON, id: String) -> JSONObject {
        guard case .object(var object) = item else { return ["id": .string(id), "type": .string("unknown")] }
        if object["id"]?.stringValue?.isEmpty != false { object["id"] = .string(id) }
        if object["type"] == nil, object["role"] != nil { object["type"] = .string("message") }
        if object["type"] == .string("message"), case .string(let text)? = object["content"] {
            let assistant = object["role"] == .string("assistant")
            var part: JSONObject = ["type": .string(assistant ? "output_text" : "input_text"), "text": .string(text)]
            if assistant { part["annotations"] = .array([]) }
            object["content"] = .array([.object(part)])
        }
        return object
    }
}
