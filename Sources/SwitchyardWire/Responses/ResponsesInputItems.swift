/// `GET /v1/responses/{id}/input_items`: the items a stored response was made from — the items of
/// the responses it continued, then its own input — a page at a time, as OpenAI lists them.
///
/// Every listed item has an id unique in its list, so that it can be a cursor: its own, or, for an
/// item sent without one or with one an earlier item already has (a client may send an item back
/// twice), one made from the response's id and the item's place (`resp_…_item_3`). Stored items
/// never change, so a response's listing is the same on every read. Ids are not written into the
/// stored items, because those are what a continuation sends on, and an OpenAI upstream reads an
/// unknown item id as a reference to an item it does not have. A message's string content is
/// listed as content parts, as OpenAI lists it.
public struct ResponsesInputItems: Sendable {
    public enum Order: String, Sendable { case ascending = "asc", descending = "desc" }

    /// The newest items first unless `order=asc`, as OpenAI's default is.
    public var order = Order.descending
    /// 1 to 100; 20 when not given.
    public var limit = 20
    /// The id of the item the page starts after, in the list's order.
    public var after: String?
    /// The id of the item the page ends before: the `limit` items just before it.
    public var before: String?

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
            case "after", "before":
                guard !value.isEmpty else { throw .invalidRequest("'\(name)' must not be empty.", param: name) }
                if name == "after" { after = value } else { before = value }
            default:
                continue
            }
        }
    }

    /// The page of `items` (as stored for the response `responseID`) this query asks for, as a list
    /// object. Only the page's items are rewritten for listing; the rest are only read for their ids.
    public func page(of items: [JSON], responseID: String) throws(GatewayError) -> JSONObject {
        var ids = Self.listedIDs(items, responseID: responseID)
        var places = Array(items.indices)
        if order == .descending {
            ids.reverse()
            places.reverse()
        }
        func index(of cursor: String?, _ name: String) throws(GatewayError) -> Int? {
            guard let cursor else { return nil }
            guard let index = ids.firstIndex(of: cursor) else {
                throw .invalidRequest("'\(name)': no input item with id '\(cursor)' in this response.", param: name)
            }
            return index
        }
        let lower = try index(of: after, "after").map { $0 + 1 } ?? 0
        let upper = max(lower, try index(of: before, "before") ?? ids.count)
        // Paging back from `before` takes the items just before it; otherwise those just after `after`.
        let range = before != nil && after == nil ? max(lower, upper - limit)..<upper : lower..<min(upper, lower + limit)
        let page = range.map { Self.listed(items[places[$0]], id: ids[$0]) }
        return [
            "object": .string("list"),
            "data": .array(page.map(JSON.object)),
            "first_id": page.first?["id"] ?? .null,
            "last_id": page.last?["id"] ?? .null,
            "has_more": .bool(before != nil && after == nil ? range.lowerBound > lower : range.upperBound < upper),
        ]
    }

    /// Each item's id as listed, in stored order: its own when it has one not already taken.
    private static func listedIDs(_ items: [JSON], responseID: String) -> [String] {
        var taken = Set<String>()
        return items.enumerated().map { place, item in
            if let own = item["id"]?.stringValue, !own.isEmpty, taken.insert(own).inserted { return own }
            var made = "\(responseID)_item_\(place)"
            while !taken.insert(made).inserted { made += "_" }
            return made
        }
    }

    /// An item as listed: the given id, a message typed and its text as parts.
    private static func listed(_ item: JSON, id: String) -> JSONObject {
        guard case .object(var object) = item else { return ["id": .string(id), "type": .string("unknown")] }
        object["id"] = .string(id)
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
