import Testing
import SwitchyardPolicy
import SwitchyardProviders
import SwitchyardWire
@testable import SwitchyardDecision
@testable import SwitchyardExecution
@testable import SwitchyardSignals

/// A provider whose availability and answers the test sets, to check routing on its own.
struct StubProvider: Provider {
    let target: ModelTarget
    var availability: ProviderAvailability = .available
    var failure: ProviderError?

    func complete(_ request: GatewayRequest, context: ProviderContext) async throws(ProviderError) -> Completion {
        if let failure { throw failure }
        return Completion(body: ["model": .string(target.name), "choices": .array([])])
    }

    func stream(_ request: GatewayRequest, context: ProviderContext) async throws(ProviderError) -> CompletionStream {
        if let failure { throw failure }
        return CompletionStream(chunks: AsyncThrowingStream { $0.finish() })
    }
}

@Suite("Router")
struct RouterTests {
    let policy = try! PolicyLoader.parse("""
    version: 1
    models:
      box: {kind: local}
      cloud: {kind: openai, model: gpt-x, api_key_env: CLOUD_KEY}
      backup: {kind: anthropic, model: claude-x, api_key_env: BACKUP_KEY}
    # One attempt per target: retries have their own tests (ResilienceRoutingTests).
    resilience: {retry: {max_retries: 0}}
    rules:
      - name: main
        serve: cloud
        fallbacks: [backup]
    """, file: "p.yaml")

    func router(_ stubs: [String: (ProviderAvailability, ProviderError?)] = [:]) -> TestRouter {
        TestRouter(policy: policy, providers: policy.models.map { target in
            let stub = stubs[target.name] ?? (.available, nil)
            return StubProvider(target: target, availability: stub.0, failure: stub.1)
        })
    }

    func request(model: String) throws -> ChatRequest {
        try ChatRequest.parse(Array(#"{"model":"\#(model)","messages":[{"role":"user","content":"hi"}]}"#.utf8))
    }

    @Test("auto follows the first rule with its fallbacks")
    func auto() async throws {
        let decision = try await router().decide(request(model: "auto"))
        #expect(decision.rule == "main")
        #expect(decision.action == .serve(["cloud", "backup"]))
        #expect(decision.reason == "rule:main")
    }

    @Test("a policy model asked by name is served by that model")
    func named() async throws {
        let decision = try await router().decide(request(model: "backup"))
        #expect(decision.action == .serve(["backup"]))
        #expect(decision.rule == "model:backup")
    }

    @Test("a deny rule cannot be stepped around by naming a model")
    func denyForNamedModels() async throws {
        let policy = try PolicyLoader.parse("""
        version: 1
        models:
          box: {kind: local}
          cloud: {kind: openai, model: gpt-x}
        rules:
          - {name: blocked, when: 'tenant == "blocked"', deny: "not for you"}
          - {name: main, serve: cloud}
        """, file: "p.yaml")
        let r = TestRouter(policy: policy, providers: [])
        for model in ["auto", "box", "cloud"] {
            let decision = try await r.decide(request(model: model), headers: ["tenant": "blocked"])
            #expect(decision.action == .deny("not for you"), "\(model)")
        }
        // Other tenants naming a model get it: the serve rule is still skipped for them.
        #expect(try await r.decide(request(model: "box"), headers: ["tenant": "other"]).action == .serve(["box"]))
    }

    @Test("an unknown model is a 404 that lists what exists")
    func unknown() async throws {
        let error = try #require(await apiError { try await router().decide(request(model: "gpt-5")) })
        #expect(error.status == 404)
        #expect(error.code == "model_not_found")
        #expect(error.message.contains("auto, box, cloud, backup"))
    }

    @Test("a failing target falls back to the next; the served answer says what was passed over; the failed attempt is accounted")
    func fallback() async throws {
        let r = router(["cloud": (.available, .transport("connection refused", timeout: false))])
        let sink = RecordingSink()
        let served = try await r.complete(request(model: "auto"), decision: await r.decide(request(model: "auto")), context: .init(requestID: "t"),
                                          tracker: sink.tracker("req"))
        #expect(served.target.name == "backup")
        #expect(served.skipped.map(\.description) == ["cloud:failed(connection refused)"])
        // The failed attempt ended through the hook; the served one is still open for its caller.
        #expect(sink.attempts.map(\.target.name) == ["cloud"])
        #expect(sink.attempts.map(\.outcome) == [.failed])
        #expect(sink.attempts.first?.id == "req-1")
        #expect(served.attempt.id == "req-2")
        #expect(served.attempt.outcome == .inProgress)
    }

    @Test("a request the upstream rejects is not retried elsewhere")
    func noFallbackOnRejection() async throws {
        let r = router(["cloud": (.available, .upstreamStatus(400, message: "bad"))])
        await #expect(throws: GatewayError.self) {
            try await r.complete(request(model: "auto"), decision: await r.decide(request(model: "auto")), context: .init(requestID: "t"), tracker: .discarding())
        }
    }

    @Test("with every cloud target unconfigured, the local engine answers and says why")
    func unconfiguredServesLocally() async throws {
        let r = router(["cloud": (.unconfigured("CLOUD_KEY is not set"), nil), "backup": (.unconfigured("BACKUP_KEY is not set"), nil)])
        let served = try await r.complete(request(model: "auto"), decision: await r.decide(request(model: "auto")), context: .init(requestID: "t"), tracker: .discarding())
        #expect(served.target.name == "box")
        #expect(served.skipped.map(\.description) == ["cloud:unconfigured(CLOUD_KEY is not set)", "backup:unconfigured(BACKUP_KEY is not set)"])
    }

    @Test("an unconfigured fallback that was never needed is not reported")
    func unneededFallback() async throws {
        let r = router(["backup": (.unconfigured("BACKUP_KEY is not set"), nil)])
        let served = try await r.complete(request(model: "auto"), decision: await r.decide(request(model: "auto")), context: .init(requestID: "t"), tracker: .discarding())
        #expect(served.target.name == "cloud")
        #expect(served.skipped.isEmpty)
    }

    @Test("a failure after trying a configured target is not turned into a local answer")
    func noSilentLocalAfterFailure() async throws {
        let r = router(["cloud": (.available, .transport("down", timeout: false)), "backup": (.unconfigured("BACKUP_KEY is not set"), nil)])
        let error = try #require(await apiError {
            try await r.complete(request(model: "auto"), decision: await r.decide(request(model: "auto")), context: .init(requestID: "t"), tracker: .discarding())
        })
        #expect(error.status == 502)
    }
}

/// The `GatewayError` a call throws, nil if it succeeds (other errors fail the test).
func apiError<T>(_ body: () async throws -> T) async -> GatewayError? {
    do {
        _ = try await body()
        return nil
    } catch let error as GatewayError {
        return error
    } catch {
        Issue.record("unexpected error \(error)")
        return nil
    }
}
