/// Type and range checks on the fields of one object of a request body, every error a 400 naming
/// the field. At the top level a field is named by its key, as both fronts do; deeper, by its
/// dotted path (`messages.0.content.1.text`), the form Anthropic's own errors use, so a client's
/// existing error handling and logs point at the right place.
///
/// A field that is `null` counts as absent: SDKs serialise unset optionals either way.
public struct FieldReader {
    let object: JSONObject
    /// The object's own path; empty at the top level.
    let path: String

    public init(_ object: JSONObject, path: String = "") {
        self.object = object
        self.path = path
    }

    public func path(_ key: String) -> String { path.isEmpty ? key : path + "." + key }

    public func present(_ key: String) -> JSON? {
        guard let value = object[key], !value.isNull else { return nil }
        return value
    }

    public func missing(_ key: String) -> GatewayError {
        .invalidRequest("Missing required parameter: '\(path(key))'.", param: path(key), code: "missing_required_parameter")
    }

    public func wrongType(_ key: String, _ expected: String, _ value: JSON) -> GatewayError {
        .invalidRequest("'\(path(key))' must be \(expected), not \(value.typeName).", param: path(key))
    }

    public func requiredString(_ key: String) throws(GatewayError) -> String {
        guard let value = present(key) else { throw missing(key) }
        guard let s = value.stringValue else { throw wrongType(key, "a string", value) }
        return s
    }

    public func string(_ key: String) throws(GatewayError) -> String? {
        guard let value = present(key) else { return nil }
        guard let s = value.stringValue else { throw wrongType(key, "a string", value) }
        return s
    }

    public func bool(_ key: String) throws(GatewayError) -> Bool? {
        guard let value = present(key) else { return nil }
        guard let b = value.boolValue else { throw wrongType(key, "a boolean", value) }
        return b
    }

    public func requiredObject(_ key: String) throws(GatewayError) -> JSONObject {
        guard let value = present(key) else { throw missing(key) }
        guard let o = value.objectValue else { throw wrongType(key, "an object", value) }
        return o
    }

    public func object(_ key: String) throws(GatewayError) -> JSONObject? {
        guard let value = present(key) else { return nil }
        guard let o = value.objectValue else { throw wrongType(key, "an object", value) }
        return o
    }

    public func array(_ key: String) throws(GatewayError) -> [JSON]? {
        guard let value = present(key) else { return nil }
        guard let a = value.arrayValue else { throw wrongType(key, "an array", value) }
        return a
    }

    /// Refuses a field not in `known`: for the gateway's own APIs, where a misspelt field silently
    /// ignored would leave a setting at its default (a key with no budget).
    public func onlyFields(_ known: [String]) throws(GatewayError) {
        guard let unknown = object.keys.first(where: { !known.contains($0) }) else { return }
        throw .invalidRequest("Unknown field '\(path(unknown))'; the fields are \(known.joined(separator: ", ")).", param: path(unknown),
                              code: "unknown_field")
    }

    /// An array of strings, each checked, named by its path (`models.1`) when it is not one.
    public func strings(_ key: String) throws(GatewayError) -> [String]? {
        guard let items = try array(key) else { return nil }
        var strings: [String] = []
        for (index, item) in items.enumerated() {
            guard let s = item.stringValue else {
                throw .invalidRequest("'\(path(key)).\(index)' must be a string, not \(item.typeName).", param: "\(path(key)).\(index)")
            }
            strings.append(s)
        }
        return strings
    }

    /// An integer of at least `minimum`. `intValue` turns huge, fractional and non-finite
    /// numbers into nil, so they are refused here rather than trapping on conversion.
    public func int(_ key: String, minimum: Int) throws(GatewayError) -> Int? {
        guard let value = present(key) else { return nil }
        guard let i = value.intValue else { throw wrongType(key, "an integer", value) }
        guard i >= minimum else { throw .invalidRequest("'\(path(key))' must be at least \(minimum); got \(i).", param: path(key)) }
        return i
    }

    public func int(_ key: String, range: ClosedRange<Int>) throws(GatewayError) -> Int? {
        guard let value = present(key) else { return nil }
        guard let i = value.intValue else { throw wrongType(key, "an integer", value) }
        guard range.contains(i) else {
            throw .invalidRequest("'\(path(key))' must be between \(range.lowerBound) and \(range.upperBound); got \(i).", param: path(key))
        }
        return i
    }

    public func double(_ key: String, range: ClosedRange<Double>) throws(GatewayError) -> Double? {
        guard let value = present(key) else { return nil }
        guard let d = value.doubleValue else { throw wrongType(key, "a number", value) }
        guard range.contains(d) else {
            throw .invalidRequest("'\(path(key))' must be between \(range.lowerBound) and \(range.upperBound); got \(d).", param: path(key))
        }
        return d
    }

    /// A string from a fixed set; the error lists the accepted values.
    public func requiredChoice(_ key: String, of choices: [String]) throws(GatewayError) -> String {
        let s = try requiredString(key)
        guard choices.contains(s) else {
            throw .invalidRequest("Invalid value '\(s)' for '\(path(key))': expected one of \(choices.joined(separator: ", ")).", param: path(key))
        }
        return s
    }

    /// The array element at `index` as an object, for per-element checks.
    public static func element(_ value: JSON, path: String) throws(GatewayError) -> FieldReader {
        guard let o = value.objectValue else {
            throw .invalidRequest("'\(path)' must be an object, not \(value.typeName).", param: path)
        }
        return FieldReader(o, path: path)
    }
}
