import SwitchyardHTTP
import SwitchyardPolicy
import SwitchyardWire

/// Turns one upstream's server-sent events into OpenAI chunk objects.
protocol StreamTranslator: Sendable {
    /// Chunks for this event, and whether it was the upstream's end marker.
    mutating func translate(_ event: SSEEvent) throws(ProviderError) -> (chunks: [JSONObject], done: Bool)
}

extension StreamTranslator {
    /// Translated chunks of an upstream SSE body, translated in whatever task iterates them,
    /// with no task of its own: one handoff per chunk fewer on the path of every token.
    func chunks(from body: HTTPBody) -> TranslatedChunks<Self> {
        TranslatedChunks(body: body, translator: self)
    }
}

/// The chunk sequence of a streamed completion. It ends normally only after the upstream's end
/// marker; a body that ends before it throws `ProviderError.truncated`, one that is not SSE (or
/// whose events are too long) throws `.malformedResponse`. Dropping the iterator drops the body,
/// which cancels the upstream transfer.
struct TranslatedChunks<Translator: StreamTranslator>: AsyncSequence, Sendable {
    typealias Element = JSONObject

    let body: HTTPBody
    let translator: Translator

    func makeAsyncIterator() -> Iterator {
        Iterator(body: body.makeAsyncIterator(), translator: translator)
    }

    struct Iterator: AsyncIteratorProtocol {
        var body: HTTPBody.AsyncIterator
        var translator: Translator
        var parser = SSEParser()
        var pending: [JSONObject] = []
        var finished = false

        init(body: HTTPBody.AsyncIterator, translator: Translator) {
            self.body = body
            self.translator = translator
        }

        mutating func next() async throws -> JSONObject? {
            while pending.isEmpty {
                if finished { return nil }
                let bytes: [UInt8]?
                do {
                    bytes = try await body.next()
                } catch let error as HTTPClientError {
                    throw ProviderError.truncated(error.description)
                }
                guard let bytes else {
                    finished = true
                    throw ProviderError.truncated("the upstream closed the stream before its end marker")
                }
                let events: [SSEEvent]
                do {
                    events = try parser.feed(bytes)
                } catch {
                    throw ProviderError.malformedResponse(error.description)
                }
                for event in events where !finished {
                    let (chunks, done) = try translator.translate(event)
                    pending += chunks
                    if done { finished = true }
                }
            }
            return pending.removeFirst()
        }
    }
}

extension ProviderError {
    init(_ error: any Error) {
        switch error {
        case let error as ProviderError: self = error
        case let error as HTTPClientError:
            switch error {
            case .timeout: self = .transport(error.description, timeout: true)
            case .dns, .connect: self = .unreachable(error.description)
            case .responseTooLarge(let limit): self = .responseTooLarge(limit: limit)
            default: self = .transport(error.description, timeout: false)
            }
        case is CancellationError: self = .transport("cancelled", timeout: false)
        default: self = .transport("\(error)", timeout: false)
        }
    }
}

/// The message of an upstream error body: `error.message` for OpenAI and Anthropic, else the text.
func upstreamErrorMessage(_ body: [UInt8]) -> String {
    if let json = try? JSON.parse(body) {
        if let message = json["error"]?["message"]?.stringValue { return String(message.prefix(1000)) }
        if let message = json["error"]?.stringValue { return String(message.prefix(1000)) }
        if let message = json["message"]?.stringValue { return String(message.prefix(1000)) }
    }
    let text = String(decoding: body.prefix(500), as: UTF8.self)
    return text.isEmpty ? "(empty body)" : text
}

/// An error body is read for its message only, never whole.
private let maxErrorBodyBytes = 64 << 10

/// The upstream's `Retry-After` in seconds, bounded to 1 s…1 h (an HTTP date is not honoured:
/// the gateway's default applies). An absurd value from a hostile upstream cannot park clients.
func retryAfterSeconds(_ head: HTTPResponseHead) -> Int? {
    guard let value = head.header("retry-after"), let seconds = Double(value.trimmingSpaces), seconds.isFinite else { return nil }
    return Int(min(3600, max(1, seconds.rounded(.up))))
}

/// Starts a streaming request upstream and returns its first chunk and the rest, once the status
/// is 2xx and the body has proven to be the promised event stream: a 200 whose body is not SSE
/// is a failed attempt (another target can still be tried), not a broken stream sent to the client.
/// Otherwise reads (a bounded part of) the error body and throws it as `upstreamStatus`.
func executeStream(_ client: HTTPClient, _ request: HTTPRequest, format: AnswerFormat = .openAI,
                   _ translate: (HTTPBody) -> some AsyncSequence<JSONObject, any Error> & Sendable) async throws(ProviderError) -> CompletionStream {
    let response: HTTPStreamingResponse
    do {
        response = try await client.execute(request)
    } catch {
        throw ProviderError(error)
    }
    guard (200..<300).contains(response.status) else {
        let body = (try? await response.collect(upTo: maxErrorBodyBytes).body) ?? []
        throw .upstreamStatus(response.status, message: upstreamErrorMessage(body), retryAfterSeconds: retryAfterSeconds(response.head))
    }
    if let type = response.head.header("content-type"), !type.lowercased().hasPrefix("text/event-stream") {
        throw .malformedResponse("a stream was asked for, but the upstream answered \(type)")
    }
    return try await CompletionStream.primed(translate(response.body), format: format)
}

/// Sends a non-streaming request and returns its JSON object if the status is 2xx;
/// otherwise throws the upstream's error as `upstreamStatus`.
func sendExpectingJSONObject(_ client: HTTPClient, _ request: HTTPRequest) async throws(ProviderError) -> JSONObject {
    let response: HTTPResponse
    do {
        response = try await client.send(request)
    } catch {
        throw ProviderError(error)
    }
    guard (200..<300).contains(response.status) else {
        throw .upstreamStatus(response.status, message: upstreamErrorMessage(Array(response.body.prefix(maxErrorBodyBytes))),
                              retryAfterSeconds: retryAfterSeconds(response.head))
    }
    guard let json = try? JSON.parse(response.body), case .object(let object) = json else {
        throw .malformedResponse("expected a JSON object, got: \(String(decoding: response.body.prefix(200), as: UTF8.self))")
    }
    return object
}

extension RemoteSettings {
    /// The policy's extra request headers, in a stable order.
    var extraHeaders: [(name: String, value: String)] { headers.sorted { $0.key < $1.key }.map { ($0.key, $0.value) } }
}

extension ModelTarget {
    /// How much of this target's answers the gateway holds (`limits.max_response_bytes`).
    var httpLimits: HTTPLimits { HTTPLimits(maxResponseBytes: limits.maxResponseBytes) }
}

extension TimeoutSettings {
    var http: HTTPTimeouts { HTTPTimeouts(connect: connect, firstByte: firstByte, stall: stall, total: total) }
}

private extension String {
    var trimmingSpaces: Substring {
        var s = self[...]
        while s.first == " " || s.first == "\t" { s = s.dropFirst() }
        while s.last == " " || s.last == "\t" { s = s.dropLast() }
        return s
    }
}
