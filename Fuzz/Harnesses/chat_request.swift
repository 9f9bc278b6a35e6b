// Fuzzes ChatRequest.parse (Sources/SwitchyardWire/ChatRequest.swift): every
// POST /v1/chat/completions body reaches it before anything else looks at it.
// Oracles: no trap; a refusal is a 400 invalid_request_error with a message; a request that is
// accepted is accepted again, identically, from its own re-serialised body (the bytes the gateway
// forwards upstream), and read the same by an upstream that keeps the last of duplicate keys (as
// Python, Go and llama-server do), so what the router read is what the upstream will read.
import SwitchyardWire

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzChatRequest(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let input = inputBuffer(start, count)
    let request: ChatRequest
    do {
        request = try ChatRequest.parse(input)
    } catch {
        require(error.status == 400 && error.openAIBody["error"]?["type"] == .string("invalid_request_error") && !error.message.isEmpty,
                "a refusal that is not a 400 invalid_request_error: \(error)")
        return 0
    }
    let forwarded = request.body.serialized()
    let again: ChatRequest
    do {
        again = try ChatRequest.parse(forwarded)
    } catch {
        fail("accepted, but its forwarded body is refused: \(error)\nbody: \(show(String(decoding: forwarded, as: UTF8.self)))")
    }
    require(summary(request) == summary(again),
            "its forwarded body validates to another request:\n  \(summary(request))\n  \(summary(again))")
    require(again.body == request.body, "the body changed in a round trip")

    // JSON allows duplicate keys; the body keeps them and forwards them. Python's json, Go's
    // encoding/json and nlohmann::json (llama-server) all keep the *last* one, so that is what an
    // upstream reads: it must be the request that was validated and routed.
    let upstream: ChatRequest
    do {
        upstream = try ChatRequest(body: lastWins(request.body))
    } catch {
        fail("accepted, but an upstream that keeps the last of duplicate keys reads an invalid request: \(error)\nbody: \(show(request.body.serialized().count < 2000 ? String(decoding: request.body.serialized(), as: UTF8.self) : "(long)"))")
    }
    require(summary(upstream) == summary(request),
            "duplicate keys: the gateway routes one request, an upstream that keeps the last duplicate reads another:\n  gateway:  \(summary(request))\n  upstream: \(summary(upstream))")
    return 0
}

/// The object as parsers that keep the last of duplicate keys see it (each key once, where it first
/// appeared, with its last value), at every level.
private func lastWins(_ object: JSONObject) -> JSONObject {
    var result = JSONObject()
    for field in object.fields { result[field.key] = lastWins(field.value) }
    return result
}

private func lastWins(_ value: JSON) -> JSON {
    switch value {
    case .object(let object): .object(lastWins(object))
    case .array(let items): .array(items.map(lastWins))
    default: value
    }
}

/// Everything the router and the providers read from a request, as one comparable value.
private func summary(_ r: ChatRequest) -> String {
    let messages = r.messages.map { "\($0.role.rawValue)|\($0.text.debugDescription)|\($0.hasImages)|\($0.content.text)" }
    return [
        r.model.debugDescription, "\(messages)", "\(r.stream)", "\(r.includeUsage)", "\(r.maxTokens.map(String.init) ?? "-")",
        "\(r.temperature.map { "\($0)" } ?? "-")", "\(r.topP.map { "\($0)" } ?? "-")", "\(r.stop)", "\(r.logprobs)",
        "\(r.topLogprobs.map(String.init) ?? "-")", "\(r.hasTools)",
    ].joined(separator: " ")
}
