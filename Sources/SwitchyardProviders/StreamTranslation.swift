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
    func chunks(from body: AsyncThrowingStream<[UInt8], any Error>) -> TranslatedChunks<Self> {
        TranslatedChunks(body: body, translator: self)
    }
}

/// The chunk sequence of a streamed completion. It ends normally only after the upstream's end
/// marker; a body that ends before it throws `ProviderError.truncated`. Dropping the iterator
/// drops the body stream, which cancels the upstream transfer.
struct TranslatedChunks<Translator: StreamTranslator>: AsyncSequence, Sendable {
    typealias Element = JSONObject

    let body: AsyncThrowingStream<[UInt8], any Error>
    let translator: Translator

    func makeAsyncIterator() -> Iterator {
        Iterator(body: body.makeAsyncIterator(), translator: translator)
    }

    struct Iterator: AsyncIteratorProtocol {
        var body: AsyncThrowingStream<[UInt8], any Error>.AsyncIterator
        var translator: Translator
        var parser = SSEParser()
        var pending: [JSONObject] = []
        var finished = false

        init(body: AsyncThrowingStream<[UInt8], any Error>.AsyncIterator, translator: Translator) {
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
                    if Task.isCancelled { return nil }
                    throw ProviderError.truncated("the upstream closed the stream before its end marker")
                }
                for event in parser.feed(bytes) where !finished {
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
            if case .timeout = error { self = .transport(error.description, timeout: true) } else { self = .transport(error.description, timeout: false) }
        case is CancellationError: self = .transport("cancelled", timeout: false)
        default: self = .transport("\(error)", timeout: false)
        }
    }
}

/// The message of an upstream error body: `error.message` for OpenAI and Anthropic, else the text.
func upstreamErrorMessage(_ body: [UInt8]) -> String {
    if let json = try? JSON.parse(body) {
        if let message = json["error"]?["message"]?.stringValue { return message }
        if let message = json["error"]?.stringValue { return message }
        if let message = json["message"]?.stringValue { return message }
    }
    let text = String(decoding: body.prefix(500), as: UTF8.self)
    return text.isEmpty ? "(empty body)" : text
}

/// Starts a streaming request upstream and returns its response if the status is 2xx;
/// otherwise reads the error body and throws it as `upstreamStatus`.
func executeStreamExpectingSuccess(_ client: HTTPClient, _ request: HTTPRequest) async throws(ProviderError) -> HTTPStreamingResponse {
    let response: HTTPStreamingResponse
    do {
        response = try await client.execute(request)
    } catch {
        throw ProviderError(error)
    }
    guard (200..<300).contains(response.status) else {
        let body = (try? await response.collect().body) ?? []
        throw .upstreamStatus(response.status, message: upstreamErrorMessage(body))
    }
    return response
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
        throw .upstreamStatus(response.status, message: upstreamErrorMessage(response.body))
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

extension TimeoutSettings {
    var http: HTTPTimeouts { HTTPTimeouts(connect: connect, firstByte: firstByte, stall: stall, total: total) }
}
