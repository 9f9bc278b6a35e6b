import Testing
import SwitchyardHTTP
import SwitchyardPolicy
import SwitchyardWire

#if canImport(Glibc)
import Glibc
#endif

/// The SQLite ledger's files deleted under a running gateway (a state directory cleaned, a volume
/// swapped). SQLite would go on writing to the unlinked files, which nobody will read again: the
/// gateway must notice, say so where operators look, and refuse to pretend.
@Suite("Ledger files deleted under a running gateway", .serialized, .timeLimit(.minutes(2)))
struct LedgerLossTests {
    static let adminKey = "admin-secret-for-the-test"

    @Test("readyz 503 naming the ledger; the admin API 503 instead of a 201 for a key that could never work; keyed requests 503 saying why; failures counted")
    func deletedFiles() async throws {
        try await ScriptedProvider.with(.answer(pieces: ["ok"])) { provider in
            try await TestProcesses.with { processes in
                let directory = try Fixtures.temporaryDirectory()
                try Fixtures.writeFile(directory + "/policy.yaml", CostControlBinaryTests.cloudPolicy(provider))
                let client = HTTPClient()
                defer { Task { await client.shutdown() } }
                let gateway = try await ServeProcess.start(policy: directory + "/policy.yaml", stateDirectory: directory,
                                                           environment: CostControlBinaryTests.gatewayEnvironment.merging(["SWITCHYARD_ADMIN_KEY": Self.adminKey]) { $1 },
                                                           log: directory + "/gateway.log", processes: processes, client: client)
                let timeouts = HTTPTimeouts(connect: .seconds(2), firstByte: .seconds(10), stall: .seconds(10), total: .seconds(20))
                func createKey(_ name: String) async throws -> HTTPResponse {
                    try await client.send(HTTPRequest(method: .post, url: gateway.baseURL + "/v1/switchyard/keys",
                                                      headers: [("Authorization", "Bearer \(Self.adminKey)"), ("Content-Type", "application/json")],
                                                      body: Array(#"{"name":"\#(name)"}"#.utf8), timeouts: timeouts))
                }
                func get(_ path: String) async throws -> HTTPResponse {
                    try await client.send(HTTPRequest(url: gateway.baseURL + path, headers: [("Authorization", "Bearer \(Self.adminKey)")],
                                                      timeouts: timeouts))
                }
                func failures() async throws -> Double {
                    let response = try await get("/metrics")
                    #expect(response.status == 200, "\(response.bodyText)")
                    let metrics = response.bodyText
                    let line = metrics.split(separator: "\n").first { $0.hasPrefix("switchyard_ledger_write_failures_total ") }
                    return line.flatMap { Double($0.split(separator: " ").last ?? "") } ?? 0
                }

                let used = try await createKey("used")
                let unused = try await createKey("unused")
                #expect(used.status == 201 && unused.status == 201, "\(used.bodyText)")
                let usedSecret = try #require(used.json["secret"]?.stringValue)
                let unusedSecret = try #require(unused.json["secret"]?.stringValue)
                #expect(try await CostControlBinaryTests.chat(client, gateway.baseURL, key: usedSecret).status == 200)
                let ready = try await get("/readyz")
                #expect(ready.status == 200 && ready.json["ledger"]?["status"]?.stringValue == "ok", "\(ready.bodyText)")
                let failuresBefore = try await failures()

                for suffix in ["", "-wal", "-shm"] { unlink(directory + "/ledger.sqlite" + suffix) }

                let notReady = try await get("/readyz")
                #expect(notReady.status == 503 && notReady.json["status"]?.stringValue == "not_ready", "\(notReady.bodyText)")
                #expect(notReady.json["ledger"]?["status"]?.stringValue == "lost", "\(notReady.bodyText)")
                #expect(notReady.json["ledger"]?["detail"]?.stringValue?.contains("ledger.sqlite was deleted") == true, "\(notReady.bodyText)")

                let refused = try await createKey("after")
                #expect(refused.status == 503, "no key that could never authenticate: \(refused.bodyText)")
                #expect(refused.json["error"]?["code"]?.stringValue == "ledger_unavailable", "\(refused.bodyText)")
                #expect(refused.header("retry-after") != nil)

                let keyed = try await CostControlBinaryTests.chat(client, gateway.baseURL, key: unusedSecret)
                #expect(keyed.status == 503, "\(keyed.bodyText)")
                #expect(keyed.bodyText.contains("was deleted"), "the refusal says why: \(keyed.bodyText)")

                // A key looked up before the loss is still cached: its request is served, and its
                // record, which cannot be kept, is counted as a failed write.
                _ = try await CostControlBinaryTests.chat(client, gateway.baseURL, key: usedSecret)
                #expect(try await failures() >= failuresBefore + 2, "the failed key creation and the lost record are counted")
                #expect(TextFile.read(directory + "/gateway.log")?.contains("ledger") == true)
                _ = await gateway.stop()
            }
        }
    }
}
