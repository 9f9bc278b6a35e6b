import Testing
import SwitchyardPolicy
import SwitchyardHTTP
import SwitchyardWire
@testable import SwitchyardEngine

#if canImport(Glibc)
import Glibc
#endif

/// Real peers: a second llama-server as an OpenAI-compatible "cloud", and the official
/// OpenAI Python SDK as the client.
@Suite("Interoperability with real peers", .serialized)
struct InteropTests {
    init() throws { try Fixtures.requireEngine() }

    @Test("a second llama-server, reached as an OpenAI cloud target with a bearer key")
    func llamaServerPeer() async throws {
        try await LlamaPeer.with(apiKey: "peer-secret") { peer in
            let policy = """
            version: 1
            models:
              peer:
                kind: openai
                base_url: \(peer.baseURL)/v1
                model: smollm2
                api_key_env: PEER_API_KEY
            """
            try await Fixtures.withGateway(policy: policy, environment: ["PEER_API_KEY": "peer-secret"]) { gateway in
                let whole = try await gateway.chat("What is 2 + 2?", maxTokens: 12)
                #expect(whole.status == 200, "\(whole.bodyText)")
                #expect(whole.header("x-switchyard-route") == "cloud")
                #expect(whole.header("x-switchyard-model") == "peer")
                #expect(whole.json["choices"]?.arrayValue?.first?["message"]?["content"]?.stringValue?.isEmpty == false)

                let streamed = try await gateway.chat("Name a fruit.", maxTokens: 12, stream: true)
                let events = sseEvents(streamed.body)
                #expect(events.last == "[DONE]")
                let text = events.dropLast().compactMap { try? JSON.parse($0)["choices"]?.arrayValue?.first?["delta"]?["content"]?.stringValue }.joined()
                #expect(!text.isEmpty)
            }
            // The same peer with the wrong key: its 401 is reported as an upstream failure.
            try await Fixtures.withGateway(policy: """
                version: 1
                models:
                  peer: {kind: openai, base_url: \(peer.baseURL)/v1, model: smollm2, api_key_env: PEER_API_KEY}
                """, environment: ["PEER_API_KEY": "wrong"]) { gateway in
                let response = try await gateway.chat("hi")
                #expect(response.status == 502)
                #expect(response.json["error"]?["message"]?.stringValue?.contains("401") == true, "\(response.bodyText)")
            }
        }
    }

    @Test("the official OpenAI Python SDK: create, stream, list models, and a 404")
    func openAISDK() async throws {
        let policy = "version: 1\nmodels:\n\(Fixtures.localModelYAML)\n"
        try await Fixtures.withGateway(policy: policy) { gateway in
            let (exit, output) = try await Fixtures.runSDKScript("openai_sdk_check.py", arguments: [gateway.baseURL + "/v1"], limit: .seconds(120))
            #expect(exit == .exited(0), "\(output)")
            let result = try JSON.parse(try #require(output.split(separator: "\n").last.map(String.init)))
            #expect(result["content"]?.stringValue?.isEmpty == false)
            #expect(result["route"] == .string("local"))
            #expect(result["stream_text"]?.stringValue?.isEmpty == false)
            #expect((result["stream_usage"]?.intValue ?? 0) > 0)
            #expect(result["models"] == .array([.string("auto"), .string("local")]))
            #expect(result["not_found"] == .string("NotFoundError"))
        }
    }
}

/// A llama-server started by the test itself, as an independent OpenAI-compatible server.
struct LlamaPeer: Sendable {
    let baseURL: String

    static func with<T: Sendable>(apiKey: String, _ body: (LlamaPeer) async throws -> T) async throws -> T {
        let directory = try Fixtures.temporaryDirectory()
        let port = try #require(freeLoopbackPort())
        let child = try ChildProcess.spawn(
            executable: try Fixtures.locator.llamaServer(explicit: nil),
            arguments: ["-m", try Fixtures.locator.modelFile("default"), "--host", "127.0.0.1", "--port", String(port),
                        "-c", "2048", "-np", "2", "-t", "1", "--api-key", apiKey],
            logPath: directory + "/peer.log")
        let peer = LlamaPeer(baseURL: "http://127.0.0.1:\(port)")
        let client = HTTPClient()
        do {
            let deadline = ContinuousClock.now + .seconds(60)
            while (try? await client.send(HTTPRequest(url: peer.baseURL + "/health")))?.status != 200 {
                guard ContinuousClock.now < deadline, child.poll() == nil else { throw FixtureError("peer llama-server did not start") }
                try await Task.sleep(for: .milliseconds(50))
            }
            let result = try await body(peer)
            _ = await child.terminate()
            await client.shutdown()
            return result
        } catch {
            _ = await child.terminate()
            await client.shutdown()
            throw error
        }
    }
}
