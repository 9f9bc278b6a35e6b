import Testing
import SwitchyardHTTP
import SwitchyardPolicy
import SwitchyardWire

#if canImport(Glibc)
import Glibc
#endif

/// The quick start under ordinary load: the `switchyard` binary on `policies/default.yaml` as it
/// ships, with no cloud key, and the batch script a new user writes (16 threads, 32 requests,
/// the official OpenAI SDK with its default retries).
@Suite("Ordinary load on the default policy", .serialized)
struct OrdinaryLoadTests {
    init() throws { try Fixtures.requireEngine() }

    @Test("32 concurrent SDK requests on the default policy with no cloud key all succeed, served on the box")
    func batchScript() async throws {
        try await TestProcesses.with { processes in
            let client = HTTPClient()
            defer { Task { await client.shutdown() } }
            let directory = try Fixtures.temporaryDirectory()
            // No cloud key: the spill-over rule's cloud targets are unconfigured, so everything queues for the box.
            let gateway = try await ServeProcess.start(policy: #filePath.components(separatedBy: "/Tests/")[0] + "/policies/default.yaml", stateDirectory: directory,
                                                       environment: ["OPENAI_API_KEY": "", "ANTHROPIC_API_KEY": ""],
                                                       log: directory + "/gateway.log", processes: processes, client: client,
                                                       timeout: .seconds(120))
            // The engine loads in the background: wait (bounded) until the gateway is ready.
            let ready = HTTPRequest(url: gateway.baseURL + "/readyz")
            let deadline = ContinuousClock.now + .seconds(180)
            while ContinuousClock.now < deadline, (try? await client.send(ready))?.status != 200 { try await Task.sleep(for: .milliseconds(200)) }
            let (exit, output) = try await Fixtures.runSDKScript("openai_concurrency_check.py", arguments: [gateway.baseURL + "/v1", "16", "32"],
                                                                 limit: .seconds(300))
            #expect(exit == .exited(0), "\(output)\n\(TextFile.read(directory + "/gateway.log")?.suffix(2000) ?? "")")
            let report = try JSON.parse(Array(output.split(separator: "\n").last.map(String.init)?.utf8 ?? "".utf8))
            #expect(report["answered"] == .int(32), "\(output)")
            #expect(report["routes"] == .array([.string("local")]), "no cloud key: every answer from the box")
            _ = await gateway.stop()
        }
    }
}
