// Fuzzes JSON.parse (Sources/SwitchyardWire/JSON.swift), the parser every request body goes through.
// Oracles: no trap; an error's offset is inside the input; whatever parses serialises to JSON that
// parses back to an equal value and serialises to the same bytes again (the gateway forwards the
// re-serialised body upstream, so a difference here is a difference between what was routed and
// what was sent); the indented form parses back to the same value too.
import SwitchyardWire

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSON(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let input = inputBuffer(start, count)
    let value: JSON
    do {
        value = try JSON.parse(input)
    } catch {
        require(error.offset >= 0 && error.offset <= count, "error offset \(error.offset) outside the \(count)-byte input: \(error)")
        return 0
    }
    let bytes = value.serialized()
    let again: JSON
    do {
        again = try JSON.parse(bytes)
    } catch {
        fail("the serialised value does not parse: \(error)\nserialised: \(show(value.text))")
    }
    require(again == value, "round trip changed the value:\n  \(show(value))\n  \(show(again))")
    require(again.serialized() == bytes, "serialising twice gave different bytes:\n  \(show(value.text))\n  \(show(again.text))")
    do {
        let pretty = try JSON.parse(value.prettyText())
        require(pretty == value, "the indented form parses to another value:\n  \(show(value))\n  \(show(pretty))")
    } catch {
        fail("the indented form does not parse: \(error)\n\(show(value.prettyText()))")
    }
    visit(value)
    return 0
}

/// Exercises the accessors the request validator uses on every node: none may trap.
private func visit(_ value: JSON) {
    _ = value.typeName
    switch value {
    case .number:
        let int = value.intValue
        let double = value.doubleValue
        if let int, let double, double.isFinite, abs(double) < 9e15 {
            require(Double(int) == double,
                    "intValue \(int) disagrees with doubleValue \(double) for \(value.text)")
        }
    case .array(let items):
        items.forEach(visit)
    case .object(let object):
        for field in object.fields {
            require(object[field.key] != nil, "key \(show(field.key)) listed but not found by subscript")
            visit(field.value)
        }
    default:
        break
    }
}
