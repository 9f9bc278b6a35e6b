import Logging
import Testing
import SwitchyardHTTP
import SwitchyardLedger
import SwitchyardWire

/// A graceful shutdown whose `shutdown_grace` runs out with streams still open: each ends with an
/// explicit error event in its client's format (never a silent cut, never the format's end
/// marker), and its attempt is recorded `interrupted` (the gateway stopped it), not `cancelled`
/// (which says the client left).
@Suite("Streams cut by the shutdown grace", .serialized)
struct ShutdownCutoffTests {
    @Test("a stream open when the grace runs out ends with an error event and is recorded interrupted", arguments: ["openai", "anthropic"])
    func cutStream(front: String) async throws {
        try await ScriptedProvider.with(.trickle(every: .milliseconds(100), limit: 600)) { provider in
            let policy = """
            version: 1
            server: {shutdown_grace: 1s}
            models:
              cloud: {kind: openai, base_url: "\(provider.baseURL)", model: m, api_key_env: SWITCHYARD_TEST_CLOUD_KEY}
            rules:
              - {name: all, serve: cloud}
            """
            try await Fixtures.withGateway(policy: policy, environment: ["SWITCHYARD_TEST_CLOUD_KEY": "k"]) { gateway in
                let (path, body) = front == "openai"
                    ? ("/v1/chat/completions", #"{"model":"auto","stream":true,"messages":[{"role":"user","content":"hi"}]}"#)
                    : ("/v1/messages", #"{"model":"auto","stream":true,"max_tokens":50,"messages":[{"role":"user","content":"hi"}]}"#)
                let timeouts = HTTPTimeouts(connect: .seconds(2), firstByte: .seconds(10), stall: .seconds(10), total: .seconds(30))
                let response = try await gateway.client.execute(HTTPRequest(method: .post, url: gateway.baseURL + path,
                                                                            headers: [("Content-Type", "application/json")],
                                                                            body: Array(body.utf8), timeouts: timeouts))
                #expect(response.status == 200)
                let requestID = try #require(response.head.header("x-switchyard-request-id"))
                var received: [UInt8] = []
                var shutdown: Task<Void, Never>?
                do {
                    for try await chunk in response.body {
                        received += chunk
                        // A few events in, the gateway is asked to stop; the stream goes on for the grace.
                        if shutdown == nil, received.count > 200 { shutdown = Task { await gateway.gateway.shutdown() } }
                    }
                } catch {
                    Issue.record("the stream was cut without an ending: \(error)")
                }
                await shutdown?.value
                let text = String(decoding: received, as: UTF8.self)
                #expect(text.contains("tick"), "the stream had started: \(text.prefix(300))")
                #expect(text.contains("gateway_shutting_down"), "an explicit error ends it: \(text.suffix(500))")
                if front == "openai" {
                    #expect(!text.contains("[DONE]"), "\(text.suffix(300))")
                } else {
                    #expect(text.contains("event: error") && text.contains("overloaded_error"), "\(text.suffix(300))")
                    #expect(!text.contains("message_stop"), "\(text.suffix(300))")
                }

                // The attempt's record: the gateway interrupted it; its client did not leave.
                let ledger = try await Ledger.sqlite(path: gateway.directory + "/ledger.sqlite", logger: Logger(label: "test"))
                let attempts = try await ledger.committedAttempts(requestID: requestID)
                try await ledger.close()
                #expect(attempts.map(\.outcome) == [.interrupted], "\(attempts)")
            }
        }
    }
}
