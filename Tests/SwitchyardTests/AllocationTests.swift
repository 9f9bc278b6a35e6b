import CAllocationCounter
import Testing
import SwitchyardHTTP
import SwitchyardWire

/// Guards against allocation regressions on the proxied path, in the manner of swift-nio's
/// allocation-counter tests: allocation counts are deterministic where times are not, so they are
/// tested (times are measured side by side in `make bench`). The client, the gateway and the
/// scripted upstream share this process, so each figure is a difference: requests through the
/// gateway against the same requests straight to the upstream, both from the same client. What
/// remains is the gateway's own (its server, decision, ledger record, curl leg and answer).
/// Each round is measured several times and the least kept, since other work only adds.
///
/// Ceilings (docs/benchmarks.md, "Allocation ceilings"): measured on this tree, plus a margin for
/// library updates. Lower one when a change makes the path cheaper; a change that raises one must
/// say why in its commit.
@Suite("Allocations on the proxied path", .serialized)
struct AllocationTests {
    /// The gateway's allocations for one whole (non-streamed) request, the ledger on, the
    /// private-data scan on.
    static let wholeRequestCeiling = 1_000
    /// The gateway's allocations for one more relayed stream chunk (same format both sides).
    static let streamChunkCeiling = 130

    static let rounds = 3

    func policy(short: String, long: String) -> String {
        """
        version: 1
        models:
          short:
            kind: openai
            base_url: \(short)
            model: upstream-short
            api_key_env: TEST_OPENAI_API_KEY
            price: {input: 1, output: 2}
          long:
            kind: openai
            base_url: \(long)
            model: upstream-long
            api_key_env: TEST_OPENAI_API_KEY
            price: {input: 1, output: 2}
        constraints:
          private_data:
            classes: [email, phone, credit_card, iban, national_id, secret]
            allowed_targets: [short, long]
        rules:
          - name: main
            serve: short
        """
    }

    func request(_ url: String, model: String, stream: Bool = false) -> HTTPRequest {
        let body = #"{"model":"\#(model)","messages":[{"role":"user","content":"What is the capital of France?"}],"stream":\#(stream)}"#
        return HTTPRequest(method: .post, url: url, headers: [("Content-Type", "application/json"), ("Authorization", "Bearer sk-test")],
                           body: Array(body.utf8))
    }

    /// The least, over `rounds`, of the allocations `count` sends of `request` make, per send.
    func allocations(_ client: HTTPClient, _ request: HTTPRequest, count: Int) async throws -> Double {
        var least = Double.infinity
        for _ in 0..<Self.rounds {
            let before = switchyard_allocations()
            for _ in 0..<count {
                let response = try await client.send(request)
                try #require(response.head.status == 200, "\(String(decoding: response.body, as: UTF8.self))")
            }
            least = min(least, Double(switchyard_allocations() - before) / Double(count))
        }
        return least
    }

    func withUpstreams<T: Sendable>(_ body: (RunningGateway, ScriptedProvider, ScriptedProvider) async throws -> T) async throws -> T {
        try await ScriptedProvider.with(.answer(pieces: Array(repeating: " Paris", count: 8))) { short in
            try await ScriptedProvider.with(.answer(pieces: Array(repeating: " Paris", count: 108))) { long in
                try await Fixtures.withGateway(policy: policy(short: short.baseURL, long: long.baseURL),
                                               environment: ["TEST_OPENAI_API_KEY": "sk-test"]) { gateway in
                    try await body(gateway, short, long)
                }
            }
        }
    }

    @Test("The counter sees this process's allocations (else every ceiling would pass on zero)")
    func counterCounts() {
        final class Box { var value = 0 }
        let before = switchyard_allocations()
        var boxes: [Box] = []
        for n in 0..<1_000 {
            let box = Box()
            box.value = n
            boxes.append(box)
        }
        #expect(switchyard_allocations() - before >= 1_000)
        #expect(boxes.count == 1_000)
    }

    @Test("A whole request through the gateway stays under its allocation ceiling")
    func wholeRequest() async throws {
        try await withUpstreams { gateway, short, _ in
            let direct = request(short.baseURL + "/chat/completions", model: "upstream-short")
            let proxied = request(gateway.baseURL + "/v1/chat/completions", model: "auto")
            // Warm-up: connections, the ledger's statements, metric handles, caches.
            _ = try await allocations(gateway.client, direct, count: 20)
            _ = try await allocations(gateway.client, proxied, count: 20)
            let straight = try await allocations(gateway.client, direct, count: 100)
            let through = try await allocations(gateway.client, proxied, count: 100)
            let own = through - straight
            print("allocations per whole request: gateway \(own) (through \(through), straight \(straight)); ceiling \(Self.wholeRequestCeiling)")
            #expect(own > 0, "the gateway's work shows in the count")
            #expect(own <= Double(Self.wholeRequestCeiling))
        }
    }

    @Test("A relayed stream chunk stays under its allocation ceiling, once the stream runs")
    func streamChunk() async throws {
        try await withUpstreams { gateway, short, long in
            let chunks = 100.0  // the long upstream streams 100 more pieces than the short one
            func perChunk(_ shortRequest: HTTPRequest, _ longRequest: HTTPRequest) async throws -> Double {
                _ = try await allocations(gateway.client, shortRequest, count: 5)
                _ = try await allocations(gateway.client, longRequest, count: 5)
                let few = try await allocations(gateway.client, shortRequest, count: 20)
                let many = try await allocations(gateway.client, longRequest, count: 20)
                return (many - few) / chunks
            }
            let straight = try await perChunk(request(short.baseURL + "/chat/completions", model: "upstream-short", stream: true),
                                              request(long.baseURL + "/chat/completions", model: "upstream-long", stream: true))
            let through = try await perChunk(request(gateway.baseURL + "/v1/chat/completions", model: "short", stream: true),
                                             request(gateway.baseURL + "/v1/chat/completions", model: "long", stream: true))
            let own = through - straight
            print("allocations per relayed stream chunk: gateway \(own) (through \(through), straight \(straight)); ceiling \(Self.streamChunkCeiling)")
            #expect(own > 0, "the gateway's work shows in the count")
            #expect(own <= Double(Self.streamChunkCeiling))
        }
    }
}
