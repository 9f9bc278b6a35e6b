import Hummingbird
import Synchronization
import SwitchyardEval
import SwitchyardWire

/// A real HTTP server on 127.0.0.1 that plays a cloud provider: OpenAI (`/v1/chat/completions`)
/// and Anthropic (`/v1/messages`) wire formats, streaming or not, and the failures the gateway
/// must survive. It records what it received, so tests check what the gateway sent.
final class ScriptedProvider: Sendable {
    enum Scenario: Sendable {
        /// Answers with `pieces` joined (streamed one piece per chunk), in the wire format of the path asked.
        case answer(pieces: [String], chunkDelay: Duration = .zero, promptTokens: Int = 11, completionTokens: Int = 7)
        /// Answers with this status and body.
        case status(Int, body: String)
        /// Waits before sending the head.
        case slowHead(Duration)
        /// Streams `chunks` pieces, then goes silent for `silence` without closing.
        case stall(afterChunks: Int, silence: Duration)
        /// Streams `afterChunks` pieces, then drops the connection without an end marker.
        case cut(afterChunks: Int)
        /// 200 with a body that is not the promised format.
        case malformed
        /// Streams one piece every `every`, up to `limit` pieces, recording when the client leaves.
        case trickle(every: Duration, limit: Int)
        /// A normal answer whose usage object is this raw JSON (OpenAI or Anthropic field names,
        /// by the path asked), streamed or not: negative, fractional, absurd numbers.
        case hostileUsage(openAI: String, anthropic: String)
        /// An error status with a `Retry-After` header.
        case statusRetryAfter(Int, retryAfter: String)
        /// A 200 whose body is `bytes` long (a JSON document for whole requests, SSE events for
        /// streams), written as fast as the client takes it; `bytesWritten` tells how far it got.
        case huge(bytes: Int)
        /// A stream was asked for; the answer is a whole JSON completion (`application/json`).
        case notSSE
        /// A whole completion that repeats a key (two `choices`).
        case duplicateKeys
        /// An answer after `delay` (to test concurrency limits); records the peak of concurrent requests.
        case slowAnswer(delay: Duration)
        /// Anthropic: a `thinking` block (its text in `thinking` pieces, then `signature`) and a text
        /// block (`text` pieces), usage with cache fields; streamed as thinking_delta, signature_delta
        /// and text_delta events. OpenAI: the text alone. `sentSSE` keeps the events written.
        case thinking(thinking: [String], signature: String, text: [String])
        /// A tool call, after an optional text: OpenAI `tool_calls` (streamed with the arguments in
        /// `argumentPieces`, finish_reason `tool_calls`), Anthropic `tool_use` (streamed as
        /// input_json_delta pieces, stop_reason `tool_use`). `sentSSE` keeps the events written.
        case toolCall(id: String, name: String, argumentPieces: [String], text: String? = nil)

        // --- Hostile Anthropic upstreams (AnthropicFrontAttackTests) ---------------------------
        /// A 200 `text/event-stream` whose body is `pieces` written as they are, `delay` apart,
        /// then ended cleanly (whether or not the pieces hold a `message_stop`).
        case rawSSE(pieces: [String], delay: Duration = .milliseconds(50))
        /// A 200 `application/json` whose body is `body` as it is.
        case rawJSON(String)

        /// The first request gets the first scenario, the second the second, and so on; every
        /// later request gets the last (retries and breakers: fail, then recover).
        case sequence([Scenario])

        // --- Memory (MemoryTests) -----------------------------------------------------------------
        /// Reads each body and drops it (nothing is recorded but the peak of requests in flight),
        /// holds every request of a megabyte or more until `holdUntil` are in flight or `atMost`
        /// passed, then answers "ok" whole: the gateway holds that many bodies at once. Smaller
        /// requests (a warm-up) are answered at once.
        case drain(holdUntil: Int, atMost: Duration)
        /// The scenario this request's body chooses (a judge's request and an answer's, told apart).
        case byRequest(@Sendable (JSON) -> Scenario)
    }

    struct Received: Sendable {
        var path: String
        var headers: HTTPFields
        var body: JSON
        var remotePort: Int?
        /// When its head arrived (the gaps between retries).
        var at: ContinuousClock.Instant = .now
    }

    private struct Record {
        var received: [Received] = []
        var clientLeftAt: ContinuousClock.Instant?
        var bytesWritten = 0
        var inFlight = 0
        var peakInFlight = 0
        var sentSSE: [UInt8] = []
    }

    let scenario: Scenario
    private let record = Mutex(Record())
    private let server = Mutex<LoopbackServer?>(nil)

    private init(scenario: Scenario) {
        self.scenario = scenario
    }

    var received: [Received] { record.withLock { $0.received } }
    var bytesWritten: Int { record.withLock { $0.bytesWritten } }
    var peakInFlight: Int { record.withLock { $0.peakInFlight } }
    var clientLeftAt: ContinuousClock.Instant? { record.withLock { $0.clientLeftAt } }
    /// The SSE bytes written by the `thinking` and `toolCall` scenarios, every stream in order.
    var sentSSE: [UInt8] { record.withLock { $0.sentSSE } }

    /// How long after `since` a streaming client was seen leaving; nil if not within `limit`.
    func clientLeft(since: ContinuousClock.Instant, limit: Duration = .seconds(3)) async throws -> Duration? {
        while clientLeftAt == nil, ContinuousClock.now < since + limit { try await Task.sleep(for: .milliseconds(20)) }
        return clientLeftAt.map { $0 - since }
    }
    var port: Int { server.withLock { $0?.port ?? 0 } }
    var baseURL: String { "http://127.0.0.1:\(port)/v1" }

    /// Runs `body` with a started provider and stops it afterwards, whatever happens.
    @discardableResult
    static func with<T: Sendable>(_ scenario: Scenario, _ body: (ScriptedProvider) async throws -> T) async throws -> T {
        let provider = ScriptedProvider(scenario: scenario)
        try await provider.start()
        return try await finally({ try await body(provider) }, then: provider.stop)
    }

    private func start() async throws {
        let router = Router(context: ScriptContext.self)
        router.post("/v1/chat/completions") { request, context in try await self.respond(request, context, anthropic: false) }
        router.post("/v1/messages") { request, context in try await self.respond(request, context, anthropic: true) }
        // An OpenAI Responses upstream: scripted with `rawJSON` and `rawSSE`.
        router.post("/v1/responses") { request, context in try await self.respond(request, context, anthropic: false) }
        let started = await LoopbackServer.start(router, label: "scripted-provider")
        server.withLock { $0 = started }
    }

    private func stop() async {
        await server.withLock { $0 }?.stop()
    }

    private func respond(_ request: Request, _ context: ScriptContext, anthropic: Bool) async throws -> Response {
        let arrived = ContinuousClock.now

        if case .drain(let count, let limit) = scenario { return try await drain(request, holdUntil: count, atMost: limit, anthropic: anthropic) }
        let bytes = try await request.body.collect(upTo: 1 << 22)
        let json = (try? JSON.parse(bytes.readableBytesView)) ?? .null
        let number = record.withLock {
            $0.received.append(Received(path: request.uri.path, headers: request.headers, body: json, remotePort: context.remotePort, at: arrived))
            return $0.received.count - 1
        }
        var scenario = self.scenario
        if case .sequence(let steps) = scenario, !steps.isEmpty { scenario = steps[min(number, steps.count - 1)] }
        if case .byRequest(let choose) = scenario { scenario = choose(json) }
        let streaming = json["stream"]?.boolValue ?? false
        let model = json["model"]?.stringValue ?? "scripted"
        let wire: WireFormat = anthropic ? .anthropic(model: model) : .openAI(model: model)

        switch scenario {
        case .answer(let pieces, let delay, let prompt, let completion):
            if !streaming { return jsonResponse(wire.completion(pieces.joined(), prompt: prompt, completion: completion)) }
            return sse { writer in
                for event in wire.streamStart() { try await writer.write(event) }
                for piece in pieces {
                    if delay > .zero { try await Task.sleep(for: delay) }
                    try await writer.write(wire.streamPiece(piece))
                }
                for event in wire.streamEnd(prompt: prompt, completion: completion) { try await writer.write(event) }
            }
        case .status(let code, let body):
            return Response(status: .init(code: code), headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: body)))
        case .slowHead(let delay):
            try await Task.sleep(for: delay)
            return jsonResponse(wire.completion("late", prompt: 1, completion: 1))
        case .stall(let count, let silence):
            return sse { writer in
                for event in wire.streamStart() { try await writer.write(event) }
                for i in 0..<count { try await writer.write(wire.streamPiece("piece\(i) ")) }
                try await Task.sleep(for: silence)
            }
        case .cut(let count):
            return sse { writer in
                for event in wire.streamStart() { try await writer.write(event) }
                for i in 0..<count { try await writer.write(wire.streamPiece("piece\(i) ")) }
                throw CutConnection()
            }
        case .malformed:
            if streaming {
                return sse { writer in try await writer.write(ByteBuffer(string: "data: {not json\n\n")) }
            }
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: "<html>oops</html>")))
        case .hostileUsage(let openAIUsage, let anthropicUsage):
            let usage = (try? JSON.parse(anthropic ? anthropicUsage : openAIUsage)) ?? .null
            if !streaming {
                guard case .object(var completion) = wire.completion("ok", prompt: 1, completion: 1) else { return jsonResponse(.null) }
                completion["usage"] = usage
                return jsonResponse(.object(completion))
            }
            return sse { writer in
                for event in wire.streamStart(usage: anthropic ? usage : nil) { try await writer.write(event) }
                try await writer.write(wire.streamPiece("ok"))
                for event in wire.streamEnd(usage: usage) { try await writer.write(event) }
            }
        case .statusRetryAfter(let code, let retryAfter):
            return Response(status: .init(code: code), headers: [.contentType: "application/json", .retryAfter: retryAfter],
                            body: .init(byteBuffer: ByteBuffer(string: #"{"error":{"message":"slow down","type":"rate_limit"}}"#)))
        case .huge(let total):
            let piece = String(repeating: "x", count: 16 << 10)
            if !streaming {
                return Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody { writer in
                    var sent = try await self.write(#"{"choices":[{"index":0,"message":{"role":"assistant","content":""#, to: &writer)
                    while sent < total { sent += try await self.write(piece, to: &writer) }
                    _ = try await self.write(#""}}]}"#, to: &writer)
                    try await writer.finish(nil)
                })
            }
            return sse { writer in
                for event in wire.streamStart() { try await writer.write(event) }
                var sent = 0
                while sent < total {
                    let event = wire.streamPiece(piece)
                    sent += event.readableBytes
                    self.record.withLock { $0.bytesWritten += event.readableBytes }
                    try await writer.write(event)
                }
                for event in wire.streamEnd(prompt: 1, completion: 1) { try await writer.write(event) }
            }
        case .notSSE:
            return jsonResponse(wire.completion("not a stream", prompt: 1, completion: 1))
        case .duplicateKeys:
            let text = #"{"id":"x","object":"chat.completion","choices":[],"choices":[{"index":0,"message":{"role":"assistant","content":"dup"},"finish_reason":"stop"}]}"#
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: text)))
        case .slowAnswer(let delay):
            record.withLock {
                $0.inFlight += 1
                $0.peakInFlight = max($0.peakInFlight, $0.inFlight)
            }
            try? await Task.sleep(for: delay)
            record.withLock { $0.inFlight -= 1 }
            return jsonResponse(wire.completion("slow", prompt: 1, completion: 1))
        case .thinking(let thinking, let signature, let text):
            guard anthropic else {
                if !streaming { return jsonResponse(wire.completion(text.joined(), prompt: 21, completion: 9)) }
                return sse { writer in
                    for event in wire.streamStart() { try await writer.write(event) }
                    for piece in text { try await writer.write(wire.streamPiece(piece)) }
                    for event in wire.streamEnd(prompt: 21, completion: 9) { try await writer.write(event) }
                }
            }
            if !streaming { return jsonResponse(WireFormat.thinkingMessage(model: model, thinking: thinking.joined(), signature: signature, text: text.joined())) }
            let events = WireFormat.thinkingEvents(model: model, thinking: thinking, signature: signature, text: text)
            return sse { writer in
                for event in events { try await self.emit(event, &writer) }
            }
        case .toolCall(let id, let name, let pieces, let text):
            if !streaming {
                return jsonResponse(anthropic
                    ? WireFormat.toolUseMessage(model: model, id: id, name: name, arguments: pieces.joined(), text: text)
                    : WireFormat.toolCallCompletion(model: model, id: id, name: name, arguments: pieces.joined(), text: text))
            }
            let events = anthropic
                ? WireFormat.toolUseEvents(model: model, id: id, name: name, argumentPieces: pieces, text: text)
                : WireFormat.toolCallChunks(model: model, id: id, name: name, argumentPieces: pieces, text: text)
            return sse { writer in
                for event in events { try await self.emit(event, &writer) }
            }
        case .trickle(let every, let limit):
            return sse { writer in
                for event in wire.streamStart() { try await writer.write(event) }
                do {
                    for i in 0..<limit {
                        try await writer.write(wire.streamPiece("tick\(i) "))
                        try await Task.sleep(for: every)
                    }
                } catch {
                    self.record.withLock { $0.clientLeftAt = $0.clientLeftAt ?? .now }
                    throw error
                }
                for event in wire.streamEnd(prompt: 1, completion: limit) { try await writer.write(event) }
            }

        // --- Hostile Anthropic upstreams (AnthropicFrontAttackTests) -------------------------------
        case .rawSSE(let pieces, let delay):
            return sse { writer in
                for (i, piece) in pieces.enumerated() {
                    if i > 0, delay > .zero { try await Task.sleep(for: delay) }
                    try await writer.write(ByteBuffer(string: piece))
                }
            }
        case .rawJSON(let body):
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: body)))
        case .sequence, .byRequest:
            // A sequence within a sequence, or an empty one: not a script.
            return Response(status: .notImplemented)

        case .drain:
            preconditionFailure("answered before its body was read")
        }
    }

    /// `drain`: the body read and dropped, a large request held until `count` are in flight at
    /// once (or `limit` passed), then a whole "ok".
    private func drain(_ request: Request, holdUntil count: Int, atMost limit: Duration, anthropic: Bool) async throws -> Response {
        let wire: WireFormat = anthropic ? .anthropic(model: "scripted") : .openAI(model: "scripted")
        var bytes = 0
        for try await chunk in request.body { bytes += chunk.readableBytes }
        guard bytes >= 1 << 20 else { return jsonResponse(wire.completion("ok", prompt: 1, completion: 1)) }
        record.withLock {
            $0.inFlight += 1
            $0.peakInFlight = max($0.peakInFlight, $0.inFlight)
        }
        let deadline = ContinuousClock.now + limit
        while peakInFlight < count, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        record.withLock { $0.inFlight -= 1 }
        return jsonResponse(wire.completion("ok", prompt: 1, completion: 1))
    }

    /// Writes one SSE event and keeps a copy in `sentSSE`.
    private func emit(_ event: ByteBuffer, _ writer: inout any ResponseBodyWriter) async throws {
        record.withLock { $0.sentSSE += Array(event.readableBytesView) }
        try await writer.write(event)
    }

    private func write(_ text: String, to writer: inout any ResponseBodyWriter) async throws -> Int {
        record.withLock { $0.bytesWritten += text.utf8.count }
        try await writer.write(ByteBuffer(string: text))
        return text.utf8.count
    }

    private func jsonResponse(_ json: JSON) -> Response {
        Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: json.serialized())))
    }

    private func sse(_ write: @escaping @Sendable (inout any ResponseBodyWriter) async throws -> Void) -> Response {
        Response(status: .ok, headers: [.contentType: "text/event-stream"], body: ResponseBody { writer in
            try await write(&writer)
            try await writer.finish(nil)
        })
    }
}

struct CutConnection: Error {}

/// A request context that knows the client's port, to tell reused connections from new ones.
struct ScriptContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let remotePort: Int?

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remotePort = source.channel.remoteAddress?.port
    }
}

/// The two wire formats, written out by hand from the providers' documentation (not from the
/// gateway's own translation code, which the tests check against them).
enum WireFormat {
    case openAI(model: String)
    case anthropic(model: String)

    func completion(_ text: String, prompt: Int, completion: Int) -> JSON {
        switch self {
        case .openAI(let model):
            return .object([
                "id": .string("chatcmpl-scripted"), "object": .string("chat.completion"), "created": .int(1_700_000_000),
                "model": .string(model),
                "choices": .array([.object(["index": .int(0), "message": .object(["role": .string("assistant"), "content": .string(text)]),
                                            "finish_reason": .string("stop")])]),
                "usage": .object(["prompt_tokens": .int(prompt), "completion_tokens": .int(completion), "total_tokens": .int(prompt + completion)]),
            ])
        case .anthropic(let model):
            return .object([
                "id": .string("msg_scripted"), "type": .string("message"), "role": .string("assistant"), "model": .string(model),
                "content": .array([.object(["type": .string("text"), "text": .string(text)])]),
                "stop_reason": .string("end_turn"), "stop_sequence": .null,
                "usage": .object(["input_tokens": .int(prompt), "output_tokens": .int(completion)]),
            ])
        }
    }

    func streamStart(usage: JSON? = nil) -> [ByteBuffer] {
        switch self {
        case .openAI(let model):
            return [data(["id": .string("chatcmpl-scripted"), "object": .string("chat.completion.chunk"), "created": .int(1_700_000_000),
                          "model": .string(model),
                          "choices": .array([.object(["index": .int(0), "delta": .object(["role": .string("assistant"), "content": .string("")]),
                                                      "finish_reason": .null])])])]
        case .anthropic(let model):
            return [
                event("message_start", ["type": .string("message_start"), "message": .object([
                    "id": .string("msg_scripted"), "type": .string("message"), "role": .string("assistant"), "model": .string(model),
                    "content": .array([]), "stop_reason": .null, "usage": usage ?? .object(["input_tokens": .int(11), "output_tokens": .int(1)]),
                ])]),
                event("content_block_start", ["type": .string("content_block_start"), "index": .int(0),
                                              "content_block": .object(["type": .string("text"), "text": .string("")])]),
                event("ping", ["type": .string("ping")]),
            ]
        }
    }

    func streamPiece(_ text: String) -> ByteBuffer {
        switch self {
        case .openAI(let model):
            return data(["id": .string("chatcmpl-scripted"), "object": .string("chat.completion.chunk"), "created": .int(1_700_000_000),
                         "model": .string(model),
                         "choices": .array([.object(["index": .int(0), "delta": .object(["content": .string(text)]), "finish_reason": .null])])])
        case .anthropic:
            return event("content_block_delta", ["type": .string("content_block_delta"), "index": .int(0),
                                                 "delta": .object(["type": .string("text_delta"), "text": .string(text)])])
        }
    }

    func streamEnd(prompt: Int, completion: Int) -> [ByteBuffer] {
        switch self {
        case .openAI:
            return streamEnd(usage: .object(["prompt_tokens": .int(prompt), "completion_tokens": .int(completion),
                                             "total_tokens": .int(prompt + completion)]))
        case .anthropic:
            return streamEnd(usage: .object(["output_tokens": .int(completion)]))
        }
    }

    /// The end of a stream whose usage is `usage` as given (OpenAI's final chunk, Anthropic's message_delta).
    func streamEnd(usage: JSON) -> [ByteBuffer] {
        switch self {
        case .openAI(let model):
            return [
                data(["id": .string("chatcmpl-scripted"), "object": .string("chat.completion.chunk"), "created": .int(1_700_000_000),
                      "model": .string(model),
                      "choices": .array([.object(["index": .int(0), "delta": .object([:]), "finish_reason": .string("stop")])])]),
                data(["id": .string("chatcmpl-scripted"), "object": .string("chat.completion.chunk"), "created": .int(1_700_000_000),
                      "model": .string(model), "choices": .array([]), "usage": usage]),
                ByteBuffer(string: "data: [DONE]\n\n"),
            ]
        case .anthropic:
            return [
                event("content_block_stop", ["type": .string("content_block_stop"), "index": .int(0)]),
                event("message_delta", ["type": .string("message_delta"), "delta": .object(["stop_reason": .string("end_turn"), "stop_sequence": .null]),
                                        "usage": usage]),
                event("message_stop", ["type": .string("message_stop")]),
            ]
        }
    }

    private func data(_ object: JSONObject) -> ByteBuffer {
        ByteBuffer(bytes: SSE.frame(.object(object)))
    }

    private func event(_ name: String, _ object: JSONObject) -> ByteBuffer {
        ByteBuffer(string: "event: \(name)\ndata: \(JSON.object(object).text)\n\n")
    }
}

// MARK: - Thinking and tool calls, as the providers document them

extension WireFormat {
    static let chunkHead: JSONObject = ["id": .string("chatcmpl-scripted"), "object": .string("chat.completion.chunk"), "created": .int(1_700_000_000)]

    /// An Anthropic message with a thinking block (signed) and a text block, usage with cache fields.
    static func thinkingMessage(model: String, thinking: String, signature: String, text: String) -> JSON {
        .object([
            "id": .string("msg_thinking"), "type": .string("message"), "role": .string("assistant"), "model": .string(model),
            "content": .array([
                .object(["type": .string("thinking"), "thinking": .string(thinking), "signature": .string(signature)]),
                .object(["type": .string("text"), "text": .string(text)]),
            ]),
            "stop_reason": .string("end_turn"), "stop_sequence": .null,
            "usage": .object(["input_tokens": .int(21), "cache_creation_input_tokens": .int(0), "cache_read_input_tokens": .int(1500),
                              "output_tokens": .int(9)]),
        ])
    }

    /// The same message streamed: thinking_delta pieces, one signature_delta, then text_delta pieces.
    static func thinkingEvents(model: String, thinking: [String], signature: String, text: [String]) -> [ByteBuffer] {
        var events = [
            anthropicEvent("message_start", ["type": .string("message_start"), "message": .object([
                "id": .string("msg_thinking"), "type": .string("message"), "role": .string("assistant"), "model": .string(model),
                "content": .array([]), "stop_reason": .null, "stop_sequence": .null,
                "usage": .object(["input_tokens": .int(21), "cache_creation_input_tokens": .int(0), "cache_read_input_tokens": .int(1500),
                                  "output_tokens": .int(1)]),
            ])]),
            anthropicEvent("content_block_start", ["type": .string("content_block_start"), "index": .int(0),
                                                   "content_block": .object(["type": .string("thinking"), "thinking": .string("")])]),
            anthropicEvent("ping", ["type": .string("ping")]),
        ]
        for piece in thinking {
            events.append(anthropicEvent("content_block_delta", ["type": .string("content_block_delta"), "index": .int(0),
                                                                 "delta": .object(["type": .string("thinking_delta"), "thinking": .string(piece)])]))
        }
        events.append(anthropicEvent("content_block_delta", ["type": .string("content_block_delta"), "index": .int(0),
                                                             "delta": .object(["type": .string("signature_delta"), "signature": .string(signature)])]))
        events.append(anthropicEvent("content_block_stop", ["type": .string("content_block_stop"), "index": .int(0)]))
        events.append(anthropicEvent("content_block_start", ["type": .string("content_block_start"), "index": .int(1),
                                                             "content_block": .object(["type": .string("text"), "text": .string("")])]))
        for piece in text {
            events.append(anthropicEvent("content_block_delta", ["type": .string("content_block_delta"), "index": .int(1),
                                                                 "delta": .object(["type": .string("text_delta"), "text": .string(piece)])]))
        }
        events.append(anthropicEvent("content_block_stop", ["type": .string("content_block_stop"), "index": .int(1)]))
        events.append(anthropicEvent("message_delta", ["type": .string("message_delta"),
                                                       "delta": .object(["stop_reason": .string("end_turn"), "stop_sequence": .null]),
                                                       "usage": .object(["output_tokens": .int(9)])]))
        events.append(anthropicEvent("message_stop", ["type": .string("message_stop")]))
        return events
    }

    /// An OpenAI completion whose message calls one tool (after an optional text).
    static func toolCallCompletion(model: String, id: String, name: String, arguments: String, text: String?) -> JSON {
        .object([
            "id": .string("chatcmpl-tool"), "object": .string("chat.completion"), "created": .int(1_700_000_000), "model": .string(model),
            "choices": .array([.object([
                "index": .int(0),
                "message": .object([
                    "role": .string("assistant"), "content": text.map(JSON.string) ?? .null,
                    "tool_calls": .array([.object(["id": .string(id), "type": .string("function"),
                                                   "function": .object(["name": .string(name), "arguments": .string(arguments)])])]),
                ]),
                "finish_reason": .string("tool_calls"),
            ])]),
            "usage": .object(["prompt_tokens": .int(30), "completion_tokens": .int(12), "total_tokens": .int(42)]),
        ])
    }

    /// The same streamed: the call's id and name first, then its arguments in pieces.
    static func toolCallChunks(model: String, id: String, name: String, argumentPieces: [String], text: String?) -> [ByteBuffer] {
        func chunk(_ delta: JSONObject, finish: JSON = .null) -> ByteBuffer {
            var object = chunkHead
            object["model"] = .string(model)
            object["choices"] = .array([.object(["index": .int(0), "delta": .object(delta), "finish_reason": finish])])
            return ByteBuffer(bytes: SSE.frame(.object(object)))
        }
        var events = [chunk(["role": .string("assistant"), "content": .string("")])]
        if let text { events.append(chunk(["content": .string(text)])) }
        events.append(chunk(["tool_calls": .array([.object([
            "index": .int(0), "id": .string(id), "type": .string("function"),
            "function": .object(["name": .string(name), "arguments": .string("")]),
        ])])]))
        for piece in argumentPieces {
            events.append(chunk(["tool_calls": .array([.object(["index": .int(0), "function": .object(["arguments": .string(piece)])])])]))
        }
        events.append(chunk([:], finish: .string("tool_calls")))
        var usage = chunkHead
        usage["model"] = .string(model)
        usage["choices"] = .array([])
        usage["usage"] = .object(["prompt_tokens": .int(30), "completion_tokens": .int(12), "total_tokens": .int(42)])
        events.append(ByteBuffer(bytes: SSE.frame(.object(usage))))
        events.append(ByteBuffer(string: "data: [DONE]\n\n"))
        return events
    }

    /// An Anthropic message that uses one tool (after an optional text block).
    static func toolUseMessage(model: String, id: String, name: String, arguments: String, text: String?) -> JSON {
        var content: [JSON] = text.map { [.object(["type": .string("text"), "text": .string($0)])] } ?? []
        content.append(.object(["type": .string("tool_use"), "id": .string(id), "name": .string(name),
                                "input": (try? JSON.parse(arguments)) ?? .object([:])]))
        return .object([
            "id": .string("msg_tool"), "type": .string("message"), "role": .string("assistant"), "model": .string(model),
            "content": .array(content), "stop_reason": .string("tool_use"), "stop_sequence": .null,
            "usage": .object(["input_tokens": .int(30), "output_tokens": .int(12)]),
        ])
    }

    /// The same streamed: input_json_delta pieces.
    static func toolUseEvents(model: String, id: String, name: String, argumentPieces: [String], text: String?) -> [ByteBuffer] {
        var events = [anthropicEvent("message_start", ["type": .string("message_start"), "message": .object([
            "id": .string("msg_tool"), "type": .string("message"), "role": .string("assistant"), "model": .string(model),
            "content": .array([]), "stop_reason": .null, "stop_sequence": .null,
            "usage": .object(["input_tokens": .int(30), "output_tokens": .int(1)]),
        ])])]
        var index = 0
        if let text {
            events.append(anthropicEvent("content_block_start", ["type": .string("content_block_start"), "index": .int(0),
                                                                 "content_block": .object(["type": .string("text"), "text": .string("")])]))
            events.append(anthropicEvent("content_block_delta", ["type": .string("content_block_delta"), "index": .int(0),
                                                                 "delta": .object(["type": .string("text_delta"), "text": .string(text)])]))
            events.append(anthropicEvent("content_block_stop", ["type": .string("content_block_stop"), "index": .int(0)]))
            index = 1
        }
        events.append(anthropicEvent("content_block_start", ["type": .string("content_block_start"), "index": .int(index),
                                                             "content_block": .object(["type": .string("tool_use"), "id": .string(id),
                                                                                       "name": .string(name), "input": .object([:])])]))
        for piece in argumentPieces {
            events.append(anthropicEvent("content_block_delta", ["type": .string("content_block_delta"), "index": .int(index),
                                                                 "delta": .object(["type": .string("input_json_delta"), "partial_json": .string(piece)])]))
        }
        events.append(anthropicEvent("content_block_stop", ["type": .string("content_block_stop"), "index": .int(index)]))
        events.append(anthropicEvent("message_delta", ["type": .string("message_delta"),
                                                       "delta": .object(["stop_reason": .string("tool_use"), "stop_sequence": .null]),
                                                       "usage": .object(["output_tokens": .int(12)])]))
        events.append(anthropicEvent("message_stop", ["type": .string("message_stop")]))
        return events
    }

    static func anthropicEvent(_ name: String, _ object: JSONObject) -> ByteBuffer {
        ByteBuffer(string: "event: \(name)\ndata: \(JSON.object(object).text)\n\n")
    }
}
