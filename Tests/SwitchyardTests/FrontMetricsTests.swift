import Testing
import SwitchyardHTTP
import SwitchyardPolicy

/// Operators see which front their traffic comes through, in the binary's Prometheus metrics.
@Suite("Requests by front in /metrics")
struct FrontMetricsTests {
    @Test("one request through each front counts once under its own front label")
    func requestsByFront() async throws {
        try await ScriptedProvider.with(.answer(pieces: ["ok"])) { provider in
            try await TestProcesses.with { processes in
                let directory = try Fixtures.temporaryDirectory()
                let policy = directory + "/policy.yaml"
                try Fixtures.writeFile(policy, """
                version: 1
                models:
                  cloud: {kind: openai, base_url: "\(provider.baseURL)", model: m, api_key_env: SWITCHYARD_TEST_CLOUD_KEY}
                rules:
                  - {name: all, serve: cloud}
                """)
                let client = HTTPClient()
                defer { Task { await client.shutdown() } }
                let gateway = try await ServeProcess.start(policy: policy, stateDirectory: directory,
                                                           environment: ["SWITCHYARD_TEST_CLOUD_KEY": "scripted"],
                                                           log: directory + "/gateway.log", processes: processes, client: client)
                let timeouts = HTTPTimeouts(connect: .seconds(2), firstByte: .seconds(10), stall: .seconds(10), total: .seconds(20))
                let json = [("Content-Type", "application/json")]
                let chat = try await client.send(HTTPRequest(method: .post, url: gateway.baseURL + "/v1/chat/completions", headers: json,
                                                             body: Array(#"{"model":"auto","messages":[{"role":"user","content":"hi"}]}"#.utf8),
                                                             timeouts: timeouts))
                let messages = try await client.send(HTTPRequest(method: .post, url: gateway.baseURL + "/v1/messages", headers: json,
                                                                 body: Array(#"{"model":"auto","max_tokens":8,"messages":[{"role":"user","content":"hi"}]}"#.utf8),
                                                                 timeouts: timeouts))
                #expect(chat.status == 200 && messages.status == 200)
                let metrics = String(decoding: try await client.send(HTTPRequest(url: gateway.baseURL + "/metrics", timeouts: timeouts)).body, as: UTF8.self)
                #expect(metrics.contains(#"switchyard_requests_total{front="openai"} 1"#), "\(metrics.prefix(2000))")
                #expect(metrics.contains(#"switchyard_requests_total{front="anthropic"} 1"#))
                #expect(await gateway.stop() == .exited(0))
            }
        }
    }
}
