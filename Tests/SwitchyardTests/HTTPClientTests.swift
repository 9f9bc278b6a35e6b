import Testing
import SwitchyardWire
@testable import SwitchyardHTTP

/// The libcurl client against real servers on loopback: status, streaming cadence,
/// connection reuse, each timeout kind, broken peers, and cancellation.
@Suite("HTTP client")
struct HTTPClientTests {
    let client = HTTPClient()

    func post(_ url: String, stream: Bool = false, timeouts: HTTPTimeouts = .init()) -> HTTPRequest {
        let body = #"{"model":"m","stream":\#(stream),"messages":[{"role":"user","content":"hi"}]}"#
        return HTTPRequest(method: .post, url: url, headers: [("Content-Type", "application/json")], body: Array(body.utf8), timeouts: timeouts)
    }

    @Test("a whole response arrives with status, headers and body; connections are reused")
    func wholeResponse() async throws {
        try await ScriptedProvider.with(.answer(pieces: ["Hello", " there"])) { provider in
            var ports: [Int?] = []
            for _ in 0..<3 {
                let response = try await client.send(post(provider.baseURL + "/chat/completions"))
                #expect(response.status == 200)
                #expect(response.head.header("content-type") == "application/json")
                #expect(try JSON.parse(response.body)["choices"]?.arrayValue?.first?["message"]?["content"] == .string("Hello there"))
            }
            ports = provider.received.map(\.remotePort)
            #expect(ports.count == 3)
            #expect(Set(ports.compactMap { $0 }).count == 1, "three sequential requests should share one connection: \(ports)")
        }
        await client.shutdown()
    }

    @Test("a reused easy handle carries only its own transfer's method, body and headers (no reset between transfers)")
    func handleReuseAcrossMethods() async throws {
        try await EchoServer.with { url in
            // Sequential transfers on one client: each takes the handle the one before it left.
            let transfers: [(HTTPRequest, String)] = [
                (HTTPRequest(method: .post, url: url, headers: [("x-echo", "one")], body: Array("abc".utf8)), "POST 3 one"),
                (HTTPRequest(method: .post, url: url, body: []), "POST 0 -"),
                (HTTPRequest(method: .get, url: url), "GET 0 -"),
                (HTTPRequest(method: .delete, url: url, headers: [("x-echo", "two")]), "DELETE 0 two"),
                (HTTPRequest(method: .post, url: url, body: Array("hello".utf8)), "POST 5 -"),
                (HTTPRequest(method: .get, url: url), "GET 0 -"),
                (HTTPRequest(method: .post, url: url, body: Array("again".utf8)), "POST 5 -"),
            ]
            for (request, expected) in transfers {
                let response = try await client.send(request)
                #expect(response.status == 200)
                #expect(response.bodyText == expected)
            }
        }
        await client.shutdown()
    }

    @Test("an error status is a head, and ensureSuccess turns it into .status with the body")
    func errorStatus() async throws {
        try await ScriptedProvider.with(.status(429, body: #"{"error":{"message":"slow down"}}"#)) { provider in
            let response = try await client.send(post(provider.baseURL + "/chat/completions"))
            #expect(response.status == 429)
            #expect(throws: HTTPClientError.status(429, body: #"{"error":{"message":"slow down"}}"#)) { try response.ensureSuccess() }
        }
        await client.shutdown()
    }

    @Test("a streamed body arrives at the server's cadence, chunk by chunk")
    func streaming() async throws {
        try await ScriptedProvider.with(.answer(pieces: ["a", "b", "c", "d"], chunkDelay: .milliseconds(150))) { provider in
            let response = try await client.execute(post(provider.baseURL + "/chat/completions", stream: true))
            #expect(response.status == 200)
            var arrivals: [ContinuousClock.Instant] = []
            var parser = SSEParser()
            var events: [SSEEvent] = []
            for try await chunk in response.body {
                let new = try parser.feed(chunk)
                if !new.isEmpty { arrivals.append(.now) }
                events += new
            }
            #expect(events.last?.data == "[DONE]")
            let pieces = events.compactMap { try? JSON.parse($0.data)["choices"]?.arrayValue?.first?["delta"]?["content"]?.stringValue }
            #expect(pieces.joined() == "abcd")
            // Chunks were not buffered until the end: the first and last arrived ≥ 3 delays apart.
            #expect(try #require(arrivals.last) - #require(arrivals.first) >= .milliseconds(400))
        }
        await client.shutdown()
    }

    @Test("no answer before the first-byte deadline is a first-byte timeout")
    func firstByteTimeout() async throws {
        try await ScriptedProvider.with(.slowHead(.seconds(5))) { provider in
            let timeouts = HTTPTimeouts(connect: .seconds(1), firstByte: .milliseconds(300), stall: nil, total: .seconds(10))
            await #expect(throws: HTTPClientError.timeout(.firstByte)) {
                try await client.send(post(provider.baseURL + "/chat/completions", timeouts: timeouts))
            }
        }
        await client.shutdown()
    }

    @Test("silence mid-stream beyond the stall limit is a stall timeout")
    func stallTimeout() async throws {
        try await ScriptedProvider.with(.stall(afterChunks: 2, silence: .seconds(5))) { provider in
            let timeouts = HTTPTimeouts(connect: .seconds(1), firstByte: .seconds(2), stall: .milliseconds(300), total: .seconds(10))
            let response = try await client.execute(post(provider.baseURL + "/chat/completions", stream: true, timeouts: timeouts))
            await #expect(throws: HTTPClientError.timeout(.stall)) {
                for try await _ in response.body {}
            }
        }
        await client.shutdown()
    }

    @Test("a stream longer than the total limit is a total timeout")
    func totalTimeout() async throws {
        try await ScriptedProvider.with(.trickle(every: .milliseconds(50), limit: 200)) { provider in
            let timeouts = HTTPTimeouts(connect: .seconds(1), firstByte: .seconds(2), stall: .seconds(2), total: .milliseconds(500))
            let response = try await client.execute(post(provider.baseURL + "/chat/completions", stream: true, timeouts: timeouts))
            await #expect(throws: HTTPClientError.timeout(.total)) {
                for try await _ in response.body {}
            }
        }
        await client.shutdown()
    }

    @Test("a peer that drops the connection mid-body is a transfer error, not a short success")
    func cutStream() async throws {
        try await ScriptedProvider.with(.cut(afterChunks: 2)) { provider in
            let response = try await client.execute(post(provider.baseURL + "/chat/completions", stream: true))
            await #expect {
                for try await _ in response.body {}
            } throws: { error in
                if case .transfer = error as? HTTPClientError { return true }
                return false
            }
        }
        await client.shutdown()
    }

    @Test("nothing listening is a connect error")
    func connectRefused() async throws {
        let port = try #require(freeLoopbackPortForTests())
        await #expect {
            try await client.send(HTTPRequest(url: "http://127.0.0.1:\(port)/"))
        } throws: { error in
            if case .connect = error as? HTTPClientError { return true }
            return false
        }
        await client.shutdown()
    }

    @Test("TLS to a peer that does not speak it is a TLS error (verification stays on)")
    func tlsFailure() async throws {
        try await ScriptedProvider.with(.answer(pieces: ["x"])) { provider in
            await #expect {
                try await client.send(HTTPRequest(url: "https://127.0.0.1:\(provider.port)/v1/chat/completions"))
            } throws: { error in
                if case .tls = error as? HTTPClientError { return true }
                return false
            }
        }
        await client.shutdown()
    }

    @Test("only http and https URLs are fetched", arguments: ["file:///etc/passwd", "ftp://127.0.0.1/", "not a url"])
    func invalidURL(_ url: String) async throws {
        await #expect {
            try await client.send(HTTPRequest(url: url))
        } throws: { error in
            if case .invalidURL = error as? HTTPClientError { return true }
            return false
        }
        await client.shutdown()
    }

    @Test("cancelling the consumer aborts the transfer; the server sees the client leave")
    func cancellation() async throws {
        try await ScriptedProvider.with(.trickle(every: .milliseconds(50), limit: 400)) { provider in
            let client = client
            let url = provider.baseURL + "/chat/completions"
            let reader = Task {
                let response = try await client.execute(post(url, stream: true))
                for try await _ in response.body {}
            }
            try await Task.sleep(for: .milliseconds(300))
            let cancelledAt = ContinuousClock.now
            reader.cancel()
            _ = try? await reader.value
            // Not `#require`: a failure here must still reach the client's shutdown below (an
            // unshut client traps in a debug build, taking every other test down with it).
            let after = try await provider.clientLeft(since: cancelledAt)
            #expect(after.map { $0 < .seconds(1) } == true, "the upstream saw the client leave after \(String(describing: after))")
        }
        await client.shutdown()
    }

    @Test("cancelling a whole-response send aborts its transfer too")
    func cancelSend() async throws {
        try await ScriptedProvider.with(.trickle(every: .milliseconds(50), limit: 400)) { provider in
            let client = client
            let url = provider.baseURL + "/chat/completions"
            let sender = Task { try await client.send(post(url, stream: true)) }
            try await Task.sleep(for: .milliseconds(300))
            let cancelledAt = ContinuousClock.now
            sender.cancel()
            await #expect(throws: CancellationError.self) { try await sender.value }
            // Not `#require`: a failure here must still reach the client's shutdown below (an
            // unshut client traps in a debug build, taking every other test down with it).
            let after = try await provider.clientLeft(since: cancelledAt)
            #expect(after.map { $0 < .seconds(1) } == true, "the upstream saw the client leave after \(String(describing: after))")
        }
        await client.shutdown()
    }

    @Test("a shut-down client refuses new transfers")
    func shutdown() async throws {
        await client.shutdown()
        await #expect(throws: HTTPClientError.shutdown) { try await client.send(HTTPRequest(url: "http://127.0.0.1:1/")) }
    }
}

@testable import SwitchyardEngine

func freeLoopbackPortForTests() -> Int? { freeLoopbackPort() }

/// The header callback reads a status line as bytes (`Transfer.statusCode`).
@Suite("Status line")
struct StatusLineTests {
    @Test("a status line's code is read from its bytes; a line without a number is status 0", arguments: [
        ("HTTP/1.1 200 OK", 200), ("HTTP/2 429", 429), ("HTTP/1.1  503  Busy", 503), ("HTTP/1.1 100 Continue", 100),
        ("HTTP/1.1", 0), ("HTTP/1.1 ", 0), ("HTTP/1.1 2x0 OK", 0), ("HTTP/1.1 -200 OK", 0), ("HTTP/1.1 9999999999 OK", 0),
    ])
    func statusLine(_ line: String, _ code: Int) {
        let bytes = Array(line.utf8)
        #expect(bytes.withUnsafeBufferPointer { Transfer.statusCode($0) } == code)
    }
}
