import Testing
import SwitchyardHTTP
import SwitchyardWire
@testable import SwitchyardEngine
import SwitchyardPolicy

#if canImport(Glibc)
import Glibc
#endif

/// The gateway's promises, tried as an attacker would: the request checked is the request sent,
/// work ends with its client, oversize bodies are answered, and an engine restart is reported as
/// such. (Upstream misbehaviour is in FaultInjectionTests; privacy in the PII and routing tests.)
@Suite("Promises under attack", .serialized)
struct PromisesUnderAttackTests {
    func cloudPolicy(_ provider: ScriptedProvider, extra: String = "") -> String {
        """
        version: 1
        models:
          cloud: {kind: openai, base_url: "\(provider.baseURL)", model: m, api_key_env: K}
        rules:
          - {name: main, serve: cloud}
        \(extra)
        """
    }

    @Test("duplicate keys anywhere in a request body are refused with the key and its path", arguments: [
        (#"{"model":"auto","messages":[{"role":"user","content":"hi"}],"messages":[{"role":"user","content":"jane@example.com 4111 1111 1111 1111"}]}"#, "messages"),
        (#"{"model":"auto","model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}"#, "model"),
        (#"{"model":"auto","messages":[{"role":"user","content":"hi","content":"secret"}]}"#, "messages[0].content"),
        (#"{"model":"auto","messages":[{"role":"user","content":[{"type":"text","text":"a","text":"b"}]}]}"#, "messages[0].content[0].text"),
    ])
    func duplicateKeys(_ body: String, _ path: String) async throws {
        try await ScriptedProvider.with(.answer(pieces: ["ok"])) { provider in
            try await Fixtures.withGateway(policy: cloudPolicy(provider), environment: ["K": "k"]) { gateway in
                let response = try await gateway.post("/v1/chat/completions", body)
                #expect(response.status == 400)
                #expect(response.json["error"]?["code"] == .string("duplicate_key"))
                #expect(response.json["error"]?["param"] == .string(path))
                #expect(provider.received.isEmpty, "nothing may reach the upstream")
            }
        }
    }

    /// Chat requests whose private data sits in ordinary text (issue 13), for a policy that lets
    /// only the box see private data. The box's engine is a stand-in that never becomes ready, so
    /// such a request can only be refused; the cloud must receive nothing.
    static let ordinaryText: [(name: String, content: String)] = [
        ("an email after an id in a pasted link", "open https://crm.example.com/c?id=5f3a9c&email=jane.doe@example.com"),
        ("an SSN in a key=value log", "ref=1a;ssn=078-05-1120"),
        ("a card after a UUID", "550e8400-e29b-41d4-a716-446655440000:4111111111111111"),
        ("a percent-encoded email", "?to=jane.doe%40example.com"),
        ("an AWS key id in a shell line", "export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE;"),
    ]

    @Test("private data in ordinary text never reaches the cloud (OpenAI front): refused when only the box may see it")
    func ordinaryTextStaysLocal() async throws {
        let directory = try Fixtures.temporaryDirectory()
        let fake = directory + "/llama-server"
        try Fixtures.writeFile(fake, "#!/bin/sh\nexec sleep 300\n", mode: 0o755)
        try await ScriptedProvider.with(.answer(pieces: ["leaked"])) { provider in
            let policy = """
            version: 1
            models:
              local: {kind: local, binary: \(fake), context: 2048, slots: 1}
              cloud: {kind: openai, base_url: "\(provider.baseURL)", model: m, api_key_env: K}
            rules:
              - {name: main, serve: cloud}
            constraints:
              private_data: {allowed_targets: [local]}
            """
            try await Fixtures.withGateway(policy: policy, environment: ["K": "k"], waitForEngine: false) { gateway in
                func chat(_ content: String, metadata: String = "{}", stream: Bool = false) -> String {
                    #"{"model":"auto","stream":\#(stream),"metadata":\#(metadata),"messages":[{"role":"user","content":\#(JSON.string(content).text)}]}"#
                }
                var bodies = Self.ordinaryText.map { ($0.name, chat($0.content)) }
                bodies.append(("a card under a nested seed", chat("hi", metadata: #"{"seed":4111111111111111}"#)))
                for (name, body) in bodies {
                    for stream in [false, true] {
                        let sent = stream ? body.replacingFirst(#""stream":false"#, with: #""stream":true"#) : body
                        let response = try await gateway.post("/v1/chat/completions", sent, timeout: .seconds(20))
                        #expect(response.status == 403, "\(name), stream \(stream): \(response.status) \(response.bodyText.prefix(300))")
                        #expect(provider.received.isEmpty, "\(name): the cloud received \(provider.received.map(\.body))")
                    }
                }
                // The control: the same request without private data does reach the recording cloud.
                let response = try await gateway.post("/v1/chat/completions", chat("open https://crm.example.com/c?id=5f3a9c&page=2"))
                #expect(response.status == 200, "\(response.bodyText.prefix(300))")
                #expect(provider.received.count == 1)
            }
        }
    }

    @Test("a whole-response client that hangs up cancels the cloud transfer at once")
    func hangupCancelsCloud() async throws {
        try await ScriptedProvider.with(.trickle(every: .milliseconds(100), limit: 200)) { provider in
            try await Fixtures.withGateway(policy: cloudPolicy(provider), environment: ["K": "k"]) { gateway in
                let client = try RawClient(port: gateway.port)
                let body = #"{"model":"auto","messages":[{"role":"user","content":"hi"}]}"#
                try client.send("POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
                let deadline = ContinuousClock.now + .seconds(5)
                while provider.received.isEmpty, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
                try await Task.sleep(for: .milliseconds(300))
                let leftAt = ContinuousClock.now
                client.close()
                let after = try #require(try await provider.clientLeft(since: leftAt), "the upstream never saw the gateway leave")
                #expect(after < .seconds(1))
            }
        }
    }

    @Test("a whole-response client that hangs up frees the local engine's slot within a second")
    func hangupFreesLocalSlot() async throws {
        try Fixtures.requireEngine()
        try await Fixtures.withGateway(policy: "version: 1\nmodels:\n\(Fixtures.localModelYAML)\n") { gateway in
            let engine = try #require(gateway.gateway.engine?.readyEndpoint)
            let client = try RawClient(port: gateway.port)
            let body = #"{"model":"auto","max_tokens":400,"messages":[{"role":"user","content":"Write a very long story about the sea."}]}"#
            try client.send("POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
            func busy() async throws -> Bool {
                let slots = try await gateway.client.send(HTTPRequest(url: engine.baseURL + "/slots", headers: [engine.authorization]))
                return (try JSON.parse(slots.body)).arrayValue?.contains { $0["is_processing"] == .bool(true) } ?? true
            }
            let started = ContinuousClock.now
            while try await !busy(), ContinuousClock.now < started + .seconds(5) { try await Task.sleep(for: .milliseconds(20)) }
            #expect(try await busy(), "the engine should be generating")
            client.close()
            let leftAt = ContinuousClock.now
            var polls: [Duration] = []
            while try await busy(), ContinuousClock.now < leftAt + .seconds(5) {
                polls.append(ContinuousClock.now - leftAt)
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(ContinuousClock.now - leftAt < .seconds(1), "400 tokens would take seconds; the slot must be freed at once: \(polls)")
        }
    }

    @Test("a client that sends a whole 64 MB body before reading (Python's urllib) still gets its 413")
    func oversizeBodyUrllib() async throws {
        try await ScriptedProvider.with(.answer(pieces: ["ok"])) { provider in
            try await Fixtures.withGateway(policy: cloudPolicy(provider), environment: ["K": "k"]) { gateway in
                let script = """
                import urllib.request, urllib.error, sys
                body = b'{"model":"auto","messages":[{"role":"user","content":"' + b'x' * (64 << 20) + b'"}]}'
                request = urllib.request.Request("http://127.0.0.1:\(gateway.port)/v1/chat/completions", data=body,
                                                 headers={"Content-Type": "application/json"})
                try:
                    urllib.request.urlopen(request, timeout=30)
                    print("no error")
                except urllib.error.HTTPError as error:
                    print(error.code, error.headers.get("Connection"))
                """
                let output = try await runPython(script)
                #expect(output.hasPrefix("413"), "urllib saw: \(output)")
                #expect(provider.received.isEmpty)
            }
        }
    }

    @Test("while the engine cannot serve, the default-style cascade answers 503 engine_unavailable with Retry-After, not 'no API key'")
    func engineRestartingUnderCascade() async throws {
        let directory = try Fixtures.temporaryDirectory()
        let fake = directory + "/llama-server"
        try Fixtures.writeFile(fake, "#!/bin/sh\nexec sleep 300\n", mode: 0o755)
        let policy = """
        version: 1
        models:
          local: {kind: local, binary: \(fake), context: 2048, slots: 1}
          cloud: {kind: openai, model: gpt-4o-mini, api_key_env: SWITCHYARD_TEST_UNSET_KEY}
        rules:
          - name: default
            cascade: {first: local, escalate_to: cloud, when: "confidence < 0.5"}
        """
        try await Fixtures.withGateway(policy: policy, waitForEngine: false) { gateway in
            for stream in [false, true] {
                let response = try await gateway.chat("hi", stream: stream)
                #expect(response.status == 503)
                #expect(response.json["error"]?["code"] == .string("engine_unavailable"), "\(response.bodyText)")
                #expect(response.header("retry-after") != nil)
            }
        }
    }

    @Test("a killed engine is reported as unavailable (503, Retry-After) until it is back, never as a 502")
    func killedEngine() async throws {
        try Fixtures.requireEngine()
        try await Fixtures.withGateway(policy: "version: 1\nmodels:\n\(Fixtures.localModelYAML)\n") { gateway in
            let engine = try #require(gateway.gateway.engine)
            let pid = try #require(engine.status.pid)
            kill(pid, SIGKILL)
            let response = try await gateway.chat("hi")
            #expect(response.status == 503 || response.status == 200, "\(response.status) \(response.bodyText)")
            if response.status == 503 {
                #expect(response.json["error"]?["code"] == .string("engine_unavailable"))
                #expect(response.header("retry-after") != nil)
            }
            // Back once the supervisor has restarted it (a new pid, ready again).
            let deadline = ContinuousClock.now + .seconds(60)
            while engine.status.pid == pid || engine.readyEndpoint == nil, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(try await gateway.chat("hi").status == 200)
        }
    }
}

/// Runs a Python script with the set-up environment's interpreter (or the system's), returning stdout.
func runPython(_ script: String, timeout: Duration = .seconds(120)) async throws -> String {
    let directory = try Fixtures.temporaryDirectory()
    try Fixtures.writeFile(directory + "/script.py", script)
    let python = Fixtures.pythonPath ?? "/usr/bin/python3"
    return try await runProcess(python, [directory + "/script.py"], timeout: timeout)
}

/// Runs a program to completion (bounded), returning what it printed.
func runProcess(_ executable: String, _ arguments: [String], timeout: Duration) async throws -> String {
    let directory = try Fixtures.temporaryDirectory()
    let child = try ChildProcess.spawn(executable: executable, arguments: arguments, logPath: directory + "/out")
    let deadline = ContinuousClock.now + timeout
    while child.poll() == nil {
        guard ContinuousClock.now < deadline else {
            child.signal(SIGKILL)
            throw FixtureError("\(executable) did not finish in \(timeout)")
        }
        try await Task.sleep(for: .milliseconds(50))
    }
    return TextFile.read(directory + "/out") ?? ""
}

/// Load is bounded: per-target concurrency with a bounded queue, and a listener that a slow or
/// idle client cannot hold.
@Suite("Bounded load", .serialized)
struct BoundedLoadTests {
    func policy(_ slow: ScriptedProvider, _ spare: ScriptedProvider, fallback: Bool, server: String = "") -> String {
        """
        version: 1
        \(server)
        models:
          slow:
            kind: openai
            base_url: "\(slow.baseURL)"
            model: m
            api_key_env: K
            limits: {max_concurrency: 2, queue: 1, queue_timeout: 8s}
          spare: {kind: openai, base_url: "\(spare.baseURL)", model: m, api_key_env: K}
        rules:
          - name: main
            serve: slow
            \(fallback ? "fallbacks: [spare]" : "")
        """
    }

    @Test("past its concurrency limit and queue, a target turns requests away at once (429 with Retry-After) or its fallback serves them")
    func concurrencyLimit() async throws {
        try await ScriptedProvider.with(.slowAnswer(delay: .seconds(3))) { slow in
            try await ScriptedProvider.with(.answer(pieces: ["spare"])) { spare in
                for fallback in [false, true] {
                    try await Fixtures.withGateway(policy: policy(slow, spare, fallback: fallback), environment: ["K": "k"]) { gateway in
                        let started = ContinuousClock.now
                        let responses = try await withThrowingTaskGroup(of: HTTPResponse.self) { group in
                            for _ in 0..<8 {
                                group.addTask {
                                    try await gateway.post("/v1/chat/completions", #"{"model":"auto","messages":[{"role":"user","content":"hi"}]}"#)
                                }
                            }
                            return try await group.reduce(into: []) { $0.append($1) }
                        }
                        #expect(slow.peakInFlight <= 2, "the upstream saw \(slow.peakInFlight) at once")
                        // Two batches of the slow answer (3 s each), not eight in a row.
                        #expect(ContinuousClock.now - started < .seconds(8))
                        let servedBySlow = responses.filter { $0.status == 200 && $0.header("x-switchyard-model") == "slow" }
                        // Two run, one waits in the queue and runs after them; the other five are turned away.
                        #expect(servedBySlow.count == 3, "\(responses.map { "\($0.status) \($0.header("x-switchyard-model") ?? "")" })")
                        if fallback {
                            #expect(responses.allSatisfy { $0.status == 200 })
                            #expect(responses.filter { $0.header("x-switchyard-model") == "spare" }.count == 5)
                        } else {
                            let refused = responses.filter { $0.status == 429 }
                            #expect(refused.count == 5)
                            #expect(refused.allSatisfy { $0.header("retry-after") != nil && $0.json["error"]?["code"] == .string("target_busy") })
                        }
                    }
                }
            }
        }
    }

    @Test("a client that trickles its request head is disconnected after header_timeout")
    func slowloris() async throws {
        try await ScriptedProvider.with(.answer(pieces: ["ok"])) { provider in
            let server = "server: {header_timeout: 1s, body_timeout: 1s, idle_timeout: 2s}"
            try await Fixtures.withGateway(policy: policy(provider, provider, fallback: false, server: server), environment: ["K": "k"]) { gateway in
                let client = try RawClient(port: gateway.port, readTimeout: .seconds(1))
                let started = ContinuousClock.now
                var closed = false
                // One header byte every 200 ms: never a complete head.
                for byte in "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ".utf8 {
                    if (try? client.send(String(UnicodeScalar(byte)))) == nil { closed = true; break }
                    try await Task.sleep(for: .milliseconds(200))
                    if ContinuousClock.now - started > .seconds(4) { break }
                }
                if !closed { closed = client.peerClosed() }
                #expect(closed, "the gateway kept a trickling client for \(ContinuousClock.now - started)")
                #expect(ContinuousClock.now - started < .seconds(4))
                // A body that never completes is cut too.
                let bodyClient = try RawClient(port: gateway.port, readTimeout: .seconds(3))
                try bodyClient.send("POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
                let bodyStarted = ContinuousClock.now
                #expect(bodyClient.peerClosed())
                #expect(ContinuousClock.now - bodyStarted < .seconds(3))
                #expect(try await gateway.get("/healthz").status == 200)
            }
        }
    }

    @Test("the listener accepts at most max_connections: idle connections cannot lock out others forever")
    func connectionLimit() async throws {
        try await ScriptedProvider.with(.answer(pieces: ["ok"])) { provider in
            let server = "server: {max_connections: 3, header_timeout: 2s, idle_timeout: 2s}"
            try await Fixtures.withGateway(policy: policy(provider, provider, fallback: false, server: server), environment: ["K": "k"]) { gateway in
                let idle = try (0..<3).map { _ in try RawClient(port: gateway.port) }
                try await Task.sleep(for: .milliseconds(200))
                // The fourth waits in the backlog until an idle one is dropped by its timeout.
                let started = ContinuousClock.now
                let response = try await gateway.get("/healthz")
                let waited = ContinuousClock.now - started
                #expect(response.status == 200)
                #expect(waited > .milliseconds(1000), "served after \(waited): the limit did not apply")
                #expect(waited < .seconds(6))
                idle.forEach { $0.close() }
            }
        }
    }
}
