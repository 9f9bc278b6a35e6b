import SwitchyardHTTP
import SwitchyardPolicy
import SwitchyardWire

/// Turns one upstream's server-sent events into OpenAI chunk objects.
protocol StreamTranslator: Sendable {
    /// Chunks for this event, and whether it was the upstream's end marker.
    mutating func translate(_ event: SSEEvent) throws(ProviderError) -> (chunks: [JSONObject], done: Bool)
}

extension StreamTranslator {
    /// Reads an upstream SSE body and yields translated chunks; the result ends normally
    /// only after the end marker. Cancelling its consumer cancels the upstream transfer.
    func chunks(from body: AsyncThrowingStream<[UInt8], any Error>) -> AsyncThrowingStream<JSONObject, any Error> {
        let (stream, continuation) = AsyncThrowingStream<JSONObject, any Error>.makeStream()
        let pump = Task {
            var translator = self
            var parser = SSEParser()
            do {
                for try await bytes in body {
                    for event in parser.feed(bytes) {
                        let (chunks, done) = try translator.translate(event)
                        for chunk in chunks { continuation.yield(chunk) }
                        if done {
                            continuation.finish()
                            return
                        }
                    }
                }
                if Task.isCancelled {
                    continuation.finish()
                } else {
                    continuation.finish(throwing: ProviderError.truncated("the upstream closed the stream before its end marker"))
                }
            } catch let error as HTTPClientError {
                continuation.finish(throwing: ProviderError.truncated(error.description))
            } catch {
                continuation.finish(throwing: error)
            }
        }
        continuation.onTermination = { _ in pump.cancel() }
        return stream
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

extension TimeoutSettings {
    var http: HTTPTimeouts { HTTPTimeouts(connect: connect, firstByte: firstByte, stall: stall, total: total) }
}
