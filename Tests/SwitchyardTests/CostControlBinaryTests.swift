import Logging
import Synchronization
import Testing
import SwitchyardHTTP
import SwitchyardLedger
import SwitchyardPolicy
import SwitchyardWire

#if canImport(Glibc)
import Glibc
#endif

/// Cost control as an operator meets it, through the real `switchyard` binary: keys made,
/// shown and revoked with the CLI and enforced by a running gateway, the usage report, the
/// refusal to serve an open gateway beyond loopback, and the ledger after a SIGKILL.
@Suite("Cost control through the switchyard binary", .serialized, .timeLimit(.minutes(4)))
struct CostControlBinaryTests {
    /// USD per million tokens of the scripted cloud target: 1 in, 2 out, so that a token costs
    /// 1000 and 2000 nano-dollars exactly.
    static let price = "{input: 1, output: 2}"
    /// The scripted provider's default usage (11 prompt, 7 completion tokens) at that price.
    static let answerCost: Int64 = 11 * 1000 + 7 * 2000

    /// One priced cloud target (the scripted provider), keys required, no local model: no
    /// llama-server is needed.
    static func cloudPolicy(_ provider: ScriptedProvider, extra: String = "") -> String {
        """
        version: 1
        auth: {mode: required}
        \(extra)
        models:
          cloud: {kind: openai, base_url: "\(provider.baseURL)", model: m, api_key_env: SWITCHYARD_TEST_CLOUD_KEY, price: \(price)}
        rules:
          - {name: all, serve: cloud}
        """
    }

    static let gatewayEnvironment = ["SWITCHYARD_TEST_CLOUD_KEY": "scripted"]

    static func chat(_ client: HTTPClient, _ baseURL: String, key: String?, body: String = #"{"model":"auto","messages":[{"role":"user","content":"hi"}]}"#,
                     timeout: Duration = .seconds(20)) async throws -> HTTPResponse {
        try await client.send(HTTPRequest(method: .post, url: baseURL + "/v1/chat/completions",
                                          headers: [("Content-Type", "application/json")] + (key.map { [("Authorization", "Bearer \($0)")] } ?? []),
                                          body: Array(body.utf8),
                                          timeouts: HTTPTimeouts(connect: .seconds(2), firstByte: timeout, stall: timeout, total: timeout)))
    }

    /// The `created key ID` and `secret: sy-…` lines of `keys create`.
    static func created(_ run: CommandRun) throws -> (id: String, secret: String) {
        let lines = run.out.split(separator: "\n").map(String.init)
        guard let idLine = lines.first(where: { $0.hasPrefix("created key ") }),
              let id = idLine.split(separator: " ").dropFirst(2).first.map(String.init),
              let secret = lines.first(where: { $0.hasPrefix("secret: ") }).map({ String($0.dropFirst(8)) }) else {
            throw FixtureError("keys create printed no id or secret: \(run.all)")
        }
        return (id, secret)
    }

    static func json(_ run: CommandRun) throws -> JSON {
        do { return try JSON.parse(run.out) } catch { throw FixtureError("not JSON (\(error)): \(run.all)") }
    }

    @Test("CLI key lifecycle: create prints the secret once; list and show never a secret or a hash; 200 with the key, 401 without or with a bad one; revoked → 401 within the cache TTL; usage shows the request")
    func keyLifecycle() async throws {
        try await ScriptedProvider.with(.answer(pieces: ["ok"])) { provider in
            try await TestProcesses.with { processes in
                let directory = try Fixtures.temporaryDirectory()
                let policy = directory + "/policy.yaml"
                try Fixtures.writeFile(policy, Self.cloudPolicy(provider))
                let ledger = ["--policy", policy, "--state-dir", directory]

                // Before anything exists: reports refuse a missing ledger rather than create one.
                let missing = try await SwitchyardProcess.run(["keys", "list"] + ledger)
                #expect(missing.exit == .exited(1), "\(missing.all)")
                #expect(missing.err.contains("no ledger at \(directory)/ledger.sqlite"), "\(missing.all)")

                let create = try await SwitchyardProcess.run(["keys", "create", "--name", "ci-bot", "--tenant", "acme", "--budget-usd", "5",
                                                              "--period", "total", "--rpm", "1000"] + ledger)
                #expect(create.exit == .exited(0), "\(create.all)")
                let (id, secret) = try Self.created(create)
                let hash = APIKeys.hash(secret)
                #expect(id.hasPrefix("key_") && secret.hasPrefix("sy-") && secret.count == 46, "\(create.out)")
                #expect(create.all.ranges(of: secret).count == 1, "the secret is printed exactly once: \(create.all)")
                #expect(!create.all.contains(hash))

                let list = try await SwitchyardProcess.run(["keys", "list"] + ledger)
                #expect(list.exit == .exited(0), "\(list.all)")
                let row = list.out.split(separator: "\n").first { $0.hasPrefix(id) }.map(String.init) ?? ""
                #expect(row.contains("ci-bot") && row.contains(String(secret.prefix(8))) && row.contains("acme") && row.contains("$5.00/total")
                            && row.contains("1000") && row.hasSuffix("active"), "\(list.out)")
                let listJSON = try await SwitchyardProcess.run(["keys", "list", "--json"] + ledger)
                let keys = try Self.json(listJSON)["data"]?.arrayValue ?? []
                #expect(keys.count == 1 && keys.first?["id"] == .string(id) && keys.first?["hash"] == nil && keys.first?["secret"] == nil,
                        "\(listJSON.out)")
                let show = try await SwitchyardProcess.run(["keys", "show", id] + ledger)
                #expect(show.exit == .exited(0) && show.out.contains("id:          \(id)"), "\(show.all)")
                #expect(show.out.contains("spent $0.00, reserved $0.00, remaining $5.00"), "\(show.out)")
                for run in [list, listJSON, show] {
                    #expect(!run.all.contains(secret) && !run.all.contains(hash), "no secret, no hash: \(run.all)")
                }

                let client = HTTPClient()
                defer { Task { await client.shutdown() } }
                let gateway = try await ServeProcess.start(policy: policy, stateDirectory: directory, environment: Self.gatewayEnvironment,
                                                           log: directory + "/gateway.log", processes: processes, client: client)
                let served = try await Self.chat(client, gateway.baseURL, key: secret)
                #expect(served.status == 200, "\(served.bodyText)")
                var answered = served.status == 200 ? 1 : 0
                #expect(served.header("x-switchyard-cost-usd") == "0.000025")
                let none = try await Self.chat(client, gateway.baseURL, key: nil)
                #expect(none.status == 401, "\(none.bodyText)")
                let bad = try await Self.chat(client, gateway.baseURL, key: "sy-" + String(secret.dropFirst(3).reversed()))
                #expect(bad.status == 401 && bad.json["error"]?["code"] == .string("invalid_api_key"), "\(bad.bodyText)")

                // The CLI sees what the gateway settled: the answer's cost, nothing left reserved.
                let state = try Self.json(try await SwitchyardProcess.run(["keys", "show", id, "--json"] + ledger))["budget_state"]
                #expect(state?["spent_usd"]?.doubleValue == 0.000025 && state?["reserved_usd"]?.doubleValue == 0, "\(String(describing: state))")

                let revoke = try await SwitchyardProcess.run(["keys", "revoke", id] + ledger)
                #expect(revoke.exit == .exited(0) && revoke.out.contains("revoked key \(id)"), "\(revoke.all)")
                let revokedAt = ContinuousClock.now
                var refused: HTTPResponse?
                while ContinuousClock.now < revokedAt + .seconds(8) {
                    let answer = try await Self.chat(client, gateway.baseURL, key: secret)
                    if answer.status == 401 {
                        refused = answer
                        break
                    }
                    #expect(answer.status == 200, "\(answer.bodyText)")
                    if answer.status == 200 { answered += 1 }
                    try await Task.sleep(for: .milliseconds(100))
                }
                let took = ContinuousClock.now - revokedAt
                #expect(refused?.json["error"]?["code"] == .string("revoked_api_key"), "no 401 within 8 s of the revocation")
                #expect(took < .seconds(6), "refused \(took) after the revocation; the key cache's TTL is 5 s")
                print("revoked key refused after \(took)")

                let again = try await SwitchyardProcess.run(["keys", "revoke", id] + ledger)
                #expect(again.exit == .exited(1) && again.err.contains("already revoked"), "\(again.all)")
                let unknown = try await SwitchyardProcess.run(["keys", "show", "key_000000000000"] + ledger)
                #expect(unknown.exit == .exited(1) && unknown.err.contains("no key 'key_000000000000'"), "\(unknown.all)")

                // Every answered request is one attempt in the report, at its cost; the refused
                // ones (401) never reached the cloud and are none.
                let usage = try await SwitchyardProcess.run(["usage", "--group-by", "key"] + ledger)
                #expect(usage.exit == .exited(0), "\(usage.all)")
                let cells = usage.out.split(separator: "\n").first { $0.hasPrefix(id) }?.split(separator: " ").map(String.init) ?? []
                let spend = Nanodollars(Int64(answered) * Self.answerCost)
                #expect(cells.count == 9 && Array(cells.prefix(6)) == [id, "ci-bot", "\(answered)", "\(answered)", "\(11 * answered)", "\(7 * answered)"]
                            && Array(cells.suffix(2)) == ["100.0%", "$0.00"], "\(answered) answered: \(usage.out)")
                #expect(cells.count == 9 && cells[6].hasPrefix("$") && Double(cells[6].dropFirst()).map(Nanodollars.usd) == spend, "\(usage.out)")
                let report = try Self.json(try await SwitchyardProcess.run(["usage", "--json", "--group-by", "tenant", "--key", id] + ledger))
                let tenant = report["data"]?.arrayValue?.first
                #expect(report["data"]?.arrayValue?.count == 1 && tenant?["group"] == .string("acme") && tenant?["requests"] == .int(answered)
                            && tenant?["spend_usd"]?.doubleValue.map(Nanodollars.usd) == spend, "\(report)")
                for arguments in [["--group-by", "week"], ["--since", "2026-02-30"], ["--since", "2026-05-02", "--until", "2026-05-01"]] {
                    let refusedRun = try await SwitchyardProcess.run(["usage"] + arguments + ledger)
                    #expect(refusedRun.exit == .exited(1) && refusedRun.err.hasPrefix("switchyard: "), "\(arguments): \(refusedRun.all)")
                }
                let badPeriod = try await SwitchyardProcess.run(["keys", "create", "--name", "x", "--period", "week"] + ledger)
                #expect(badPeriod.exit == .exited(1) && badPeriod.err.contains("--period"), "\(badPeriod.all)")
                let badBudget = try await SwitchyardProcess.run(["keys", "create", "--name", "x", "--budget-usd=-1"] + ledger)
                #expect(badBudget.exit == .exited(1) && badBudget.err.contains("--budget-usd"), "\(badBudget.all)")

                #expect(await gateway.stop() == .exited(0), "\(TextFile.read(gateway.log) ?? "")")
            }
        }
    }

    @Test("The CLI beside a live gateway recovers nothing: a stream in flight keeps its reservation while keys and usage run, and is settled at its end")
    func cliBesideLiveGateway() async throws {
        try await ScriptedProvider.with(.answer(pieces: (0..<40).map { "p\($0) " }, chunkDelay: .milliseconds(100))) { provider in
            try await TestProcesses.with { processes in
                let directory = try Fixtures.temporaryDirectory()
                let policy = directory + "/policy.yaml"
                try Fixtures.writeFile(policy, Self.cloudPolicy(provider))
                let ledger = ["--policy", policy, "--state-dir", directory]
                let (id, secret) = try Self.created(try await SwitchyardProcess.run(["keys", "create", "--name", "s", "--budget-usd", "5", "--period", "total"] + ledger))
                let client = HTTPClient()
                defer { Task { await client.shutdown() } }
                let gateway = try await ServeProcess.start(policy: policy, stateDirectory: directory, environment: Self.gatewayEnvironment,
                                                           log: directory + "/gateway.log", processes: processes, client: client)
                func budget() async throws -> (spent: Double, reserved: Double) {
                    let state = try Self.json(try await SwitchyardProcess.run(["keys", "show", id, "--json"] + ledger))["budget_state"]
                    return (state?["spent_usd"]?.doubleValue ?? -1, state?["reserved_usd"]?.doubleValue ?? -1)
                }

                let finished = Shared(false)
                let stream = Task {
                    defer { finished.set(true) }
                    return try await Self.chat(client, gateway.baseURL, key: secret,
                                               body: #"{"model":"auto","stream":true,"max_tokens":100,"messages":[{"role":"user","content":"hi"}]}"#)
                }
                let deadline = ContinuousClock.now + .seconds(3)
                var held = try await budget()
                while held.reserved <= 0, ContinuousClock.now < deadline { held = try await budget() }
                #expect(held.reserved > 0, "the stream's reservation is held while it runs")
                for command in [["keys", "list"], ["usage"], ["keys", "show", id]] {
                    let run = try await SwitchyardProcess.run(command + ledger)
                    #expect(run.exit == .exited(0), "\(run.all)")
                }
                let during = try await budget()
                let stillRunning = !finished.value
                try #require(stillRunning, "the stream ended before the CLI commands: nothing was checked")
                #expect(during.reserved == held.reserved && during.spent == 0, "the CLI released a live reservation: \(during)")

                let answer = try await stream.value
                #expect(answer.status == 200 && answer.bodyText.hasSuffix("data: [DONE]\n\n"), "\(answer.bodyText.suffix(300))")
                let after = try await budget()
                #expect(after.reserved == 0 && after.spent == 0.000025, "settled at the stream's usage: \(after)")
                #expect(!(TextFile.read(gateway.log) ?? "").contains("recovered"))
                #expect(await gateway.stop() == .exited(0), "\(TextFile.read(gateway.log) ?? "")")
            }
        }
    }

    @Test("serve beyond loopback with auth off exits 1 with the reason, before opening anything; --allow-unauthenticated or auth: required start it")
    func openGatewayBeyondLoopback() async throws {
        try await TestProcesses.with { processes in
            let directory = try Fixtures.temporaryDirectory()
            // A target nobody can use (its key variable is unset): whoever reaches the listener in
            // the second it runs gets nothing.
            let models = "models:\n  cloud: {kind: openai, base_url: \"http://127.0.0.1:9/v1\", model: m, api_key_env: SWITCHYARD_TEST_UNSET_KEY}\n"
            let open = directory + "/open.yaml"
            try Fixtures.writeFile(open, "version: 1\n" + models)
            let keyed = directory + "/keyed.yaml"
            try Fixtures.writeFile(keyed, "version: 1\nauth: {mode: required}\n" + models)
            let port = try #require(freeLoopbackPortForTests())

            let refused = try await SwitchyardProcess.run(["serve", "--policy", open, "--host", "0.0.0.0", "--port", String(port),
                                                           "--state-dir", directory], timeout: .seconds(20))
            #expect(refused.exit == .exited(1), "\(refused.all)")
            #expect(refused.err.contains("refusing to listen on 0.0.0.0 without authentication"), "\(refused.all)")
            #expect(refused.err.contains("--allow-unauthenticated") && refused.err.contains("auth: {mode: required}"), "\(refused.all)")
            #expect(access(directory + "/ledger.sqlite", F_OK) != 0, "refused before the ledger was opened")

            let client = HTTPClient()
            defer { Task { await client.shutdown() } }
            for (policy, extra) in [(open, ["--allow-unauthenticated"]), (keyed, [])] {
                let gateway = try await ServeProcess.start(policy: policy, stateDirectory: directory, environment: [:],
                                                           log: directory + "/\(extra.isEmpty ? "keyed" : "open").log",
                                                           processes: processes, client: client, port: port, host: "0.0.0.0",
                                                           extraArguments: extra)
                #expect(await gateway.stop() == .exited(0), "\(TextFile.read(gateway.log) ?? "")")
                if !extra.isEmpty {
                    #expect((TextFile.read(gateway.log) ?? "").contains("listening beyond loopback without authentication"))
                }
            }
            // Loopback needs no flag.
            let local = try await ServeProcess.start(policy: open, stateDirectory: directory, environment: [:], log: directory + "/local.log",
                                                     processes: processes, client: client, port: port, host: "127.0.0.1")
            #expect(await local.stop() == .exited(0))
        }
    }

    @Test("SIGKILL under load, restart on the same state dir: every 200 has exactly one attempt record, whole answers served, nothing left in progress or reserved")
    func crashUnderLoad() async throws {
        try await ScriptedProvider.with(.answer(pieces: (0..<20).map { "p\($0) " }, chunkDelay: .milliseconds(50))) { provider in
            try await TestProcesses.with { processes in
                let directory = try Fixtures.temporaryDirectory()
                let policy = directory + "/policy.yaml"
                try Fixtures.writeFile(policy, Self.cloudPolicy(provider))
                let ledger = ["--policy", policy, "--state-dir", directory]
                let (id, secret) = try Self.created(try await SwitchyardProcess.run(["keys", "create", "--name", "load", "--budget-usd", "100",
                                                                                     "--period", "total"] + ledger))
                let client = HTTPClient()
                defer { Task { await client.shutdown() } }
                let gateway = try await ServeProcess.start(policy: policy, stateDirectory: directory, environment: Self.gatewayEnvironment,
                                                           log: directory + "/first.log", processes: processes, client: client)

                // 8 clients: 6 whole answers, 2 streams of ~1 s, until the gateway dies.
                let outcomes = Shared<[LoadOutcome]>([])
                let stop = Shared(false)
                let started = ContinuousClock.now
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for n in 0..<8 {
                        let stream = n >= 6
                        group.addTask {
                            while !stop.value {
                                let outcome = await Self.loadRequest(client, gateway.baseURL, key: secret, stream: stream)
                                outcomes.update { $0.append(outcome) }
                            }
                        }
                    }
                    try await Task.sleep(for: .milliseconds(1500))
                    gateway.child.signal(SIGKILL)
                    stop.set(true)
                    try await group.waitForAll()
                }
                #expect(await gateway.child.wait(timeout: .seconds(5)) == .signalled(SIGKILL))
                let all = outcomes.value
                let wholeOK = all.filter { !$0.stream && $0.status == 200 }
                let streamsOK = all.filter { $0.stream && $0.status == 200 }
                print("crash: \(all.count) requests in \(ContinuousClock.now - started); \(wholeOK.count) whole 200s, "
                      + "\(streamsOK.count) streamed 200s (\(streamsOK.filter(\.complete).count) complete), "
                      + "\(all.filter { $0.status == nil }.count) cut or refused by the kill")
                #expect(wholeOK.count >= 10, "too little load to show anything")
                #expect(!all.contains { $0.status != nil && $0.status != 200 }, "\(all.filter { $0.status != 200 })")

                // Before the restart: the streams cut by the kill are still in progress, their
                // reservations held (read by the CLI, which recovers nothing; opening the ledger,
                // it commits the records the killed gateway had made durable in its journal only).
                let held = try Self.json(try await SwitchyardProcess.run(["keys", "show", id, "--json"] + ledger))["budget_state"]
                #expect((held?["reserved_usd"]?.doubleValue ?? 0) > 0, "reservations held at the kill: \(String(describing: held))")
                let before = try await Self.attempts(directory + "/ledger.sqlite")
                let inProgress = Set(before.filter { $0.outcome == "in_progress" }.map(\.id))
                #expect(!inProgress.isEmpty, "the kill should have cut a stream under way")

                let second = try await ServeProcess.start(policy: policy, stateDirectory: directory, environment: Self.gatewayEnvironment,
                                                          log: directory + "/second.log", processes: processes, client: client)
                let afterRestart = try await Self.chat(client, second.baseURL, key: secret)
                #expect(afterRestart.status == 200, "\(afterRestart.bodyText)")
                #expect(await second.stop() == .exited(0), "\(TextFile.read(second.log) ?? "")")
                let log = TextFile.read(second.log) ?? ""
                #expect(log.contains("ledger recovered after an unclean stop") && log.contains("interrupted_attempts=\(inProgress.count)"), "\(log)")

                let records = try await Self.attempts(directory + "/ledger.sqlite")
                #expect(Set(records.map(\.id)).count == records.count, "an attempt id recorded twice")
                #expect(!records.contains { $0.outcome == "in_progress" }, "left in progress: \(records.filter { $0.outcome == "in_progress" })")
                #expect(Set(records.filter { $0.outcome == "interrupted" }.map(\.id)) == inProgress, "exactly the attempts in progress became interrupted")
                let byRequest = Dictionary(grouping: records, by: \.requestID)
                for outcome in wholeOK {
                    let attempts = byRequest[outcome.requestID ?? ""] ?? []
                    #expect(attempts.count == 1 && attempts.first?.outcome == "served" && attempts.first?.cost == Self.answerCost,
                            "whole 200 \(outcome.requestID ?? "?"): \(attempts)")
                }
                for outcome in streamsOK {
                    let attempts = byRequest[outcome.requestID ?? ""] ?? []
                    // A stream's end is recorded after its last byte is written, so one that reached
                    // the client whole may still have been killed before its record: interrupted.
                    #expect(attempts.count == 1 && ["served", "interrupted"].contains(attempts.first?.outcome ?? ""),
                            "streamed 200 \(outcome.requestID ?? "?") (complete: \(outcome.complete)): \(attempts)")
                }

                let state = try Self.json(try await SwitchyardProcess.run(["keys", "show", id, "--json"] + ledger))["budget_state"]
                let spent = Nanodollars.usd(state?["spent_usd"]?.doubleValue ?? -1)
                let recorded = records.reduce(Nanodollars.zero) { $0 + Nanodollars($1.cost) }
                #expect(state?["reserved_usd"]?.doubleValue == 0, "recovery released every reservation: \(String(describing: state))")
                // The gateway settles an attempt's budget before it writes the final record: killed
                // between the two, the budget holds a spend whose record is not final yet (the
                // upstream billed it), never the reverse. So the budget never forgets a recorded spend,
                // and counts at most the answers in flight at the kill (8 clients) beyond the records.
                let largest = records.map(\.cost).max() ?? 0
                #expect(spent >= recorded, "settled \(spent), records \(recorded)")
                #expect(spent <= recorded + Nanodollars(8 * largest), "settled \(spent), records \(recorded)")
                print("crash: \(records.count) attempt records, \(inProgress.count) interrupted; spent \(spent), records' cost \(recorded)")
            }
        }
    }

    @Test("The deployment: deploy/policy.yaml checks and requires keys; the unit serves it beyond loopback without --allow-unauthenticated")
    func deployment() async throws {
        let path = #filePath
        let root = String(path[..<(path.firstRange(of: "/Tests/")?.lowerBound ?? path.endIndex)])
        let check = try await SwitchyardProcess.run(["policy", "check", root + "/deploy/policy.yaml"])
        #expect(check.exit == .exited(0), "\(check.all)")
        #expect(try PolicyLoader.load(path: root + "/deploy/policy.yaml").auth.mode == .required)
        let unit = TextFile.read(root + "/deploy/switchyard.service") ?? ""
        let start = unit.split(separator: "\n").first { $0.hasPrefix("ExecStart=") } ?? ""
        #expect(start.contains(" serve --policy /etc/switchyard/policy.yaml ") && start.contains("--host 0.0.0.0")
                    && !start.contains("--allow-unauthenticated"), "\(start)")
        #expect((TextFile.read(root + "/deploy/switchyard.env") ?? "").contains("# SWITCHYARD_ADMIN_KEY="))
    }

    /// The store's recovery releases every reservation still held, even one whose attempt has a
    /// final record with a cost. The gateway never leaves that state (it settles before it writes
    /// the final record), but another writer of the store could: kept as a known issue of the
    /// store until recovery settles such reservations at their recorded cost.
    @Test("Ledger recovery after a crash between an attempt's record and its settlement: the recorded cost should be spent")
    func recoveryForgetsRecordedSpend() async throws {
        let directory = try Fixtures.temporaryDirectory()
        var logger = Logger(label: "ledger-check")
        logger.logLevel = .critical
        let scope = BudgetScope(kind: .key, id: "key_000000000001", limit: .usd(1), period: .total)
        let cost = Nanodollars(Self.answerCost)
        let store = try await Ledger.sqlite(path: directory + "/ledger.sqlite", logger: logger)
        try await store.migrate()
        #expect(try await store.reserve(id: "req-1", scopes: [scope], amount: Nanodollars(500_000), now: .now) == .reserved)
        try await store.record([AttemptRecord(id: "req-1", requestID: "req", keyID: scope.id, rule: "all", target: "cloud", tier: "cloud",
                                              promptTokens: 11, completionTokens: 7, cost: cost, outcome: .served, startedAt: .now, endedAt: .now)])
        // The process dies here, before `settle`. The next start recovers:
        let recovered = try await store.recover(olderThan: .now + .seconds(1))
        let state = try await store.budgetState(scope, now: .now)
        try await store.close()
        #expect(recovered.released == 1 && state.reserved == .zero)
        withKnownIssue("recovery releases reservations whose attempts were recorded with a cost") {
            #expect(state.spent == cost, "the served attempt's recorded cost is not in the budget: spent \(state.spent)")
        }
    }

    /// A value tasks share (a `Mutex` cannot be captured: it is not copyable).
    final class Shared<Value: Sendable>: Sendable {
        private let mutex: Mutex<Value>
        init(_ value: Value) { mutex = Mutex(value) }
        var value: Value { mutex.withLock { $0 } }
        func set(_ value: Value) { mutex.withLock { $0 = value } }
        func update(_ change: (inout Value) -> Void) { mutex.withLock { change(&$0) } }
    }

    struct LoadOutcome: Sendable, CustomStringConvertible {
        var stream: Bool
        var status: Int?
        var requestID: String?
        /// A stream that ended with `[DONE]`, a whole answer read to its end.
        var complete = false
        var error: String?

        var description: String { "\(stream ? "stream" : "whole") \(status.map(String.init) ?? "-") \(requestID ?? "") \(error ?? "")" }
    }

    /// One request of the crash load: its status and id as soon as the head arrives, then its body.
    static func loadRequest(_ client: HTTPClient, _ baseURL: String, key: String, stream: Bool) async -> LoadOutcome {
        var outcome = LoadOutcome(stream: stream)
        let body = #"{"model":"auto","stream":\#(stream),"max_tokens":100,"messages":[{"role":"user","content":"hi"}]}"#
        do {
            let response = try await client.execute(HTTPRequest(method: .post, url: baseURL + "/v1/chat/completions",
                                                                headers: [("Content-Type", "application/json"), ("Authorization", "Bearer \(key)")],
                                                                body: Array(body.utf8),
                                                                timeouts: HTTPTimeouts(connect: .seconds(2), firstByte: .seconds(10),
                                                                                       stall: .seconds(10), total: .seconds(10))))
            outcome.status = response.status
            outcome.requestID = response.head.header("x-switchyard-request-id")
            let text = try await response.collect(upTo: 1 << 20).bodyText
            outcome.complete = stream ? text.hasSuffix("data: [DONE]\n\n") : true
        } catch {
            outcome.error = "\(error)"
        }
        return outcome
    }

    struct Row: Sendable, Equatable {
        var id: String
        var requestID: String
        var outcome: String
        var cost: Int64
    }

    /// Every attempt in a SQLite ledger, read with Python's sqlite3 module (read-only), since the
    /// store answers per request and the test needs them all, including requests whose answer
    /// never reached the client.
    static func attempts(_ path: String) async throws -> [Row] {
        let directory = try Fixtures.temporaryDirectory()
        let script = """
            import json, sqlite3, sys
            db = sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True)
            for row in db.execute("SELECT id, request_id, outcome, cost FROM attempts"):
                print(json.dumps(row))
            """
        try Fixtures.writeFile(directory + "/dump.py", script)
        let child = try ChildProcess.spawn(executable: "/usr/bin/python3", arguments: [directory + "/dump.py", path], logPath: directory + "/out")
        guard await child.wait(timeout: .seconds(30)) == .exited(0) else {
            child.signal(SIGKILL)
            throw FixtureError("reading \(path) failed: \(TextFile.read(directory + "/out") ?? "")")
        }
        return try (TextFile.read(directory + "/out") ?? "").split(separator: "\n").map { line in
            let fields = try JSON.parse(String(line)).arrayValue ?? []
            guard fields.count == 4, let id = fields[0].stringValue, let request = fields[1].stringValue, let outcome = fields[2].stringValue,
                  let cost = fields[3].intValue else { throw FixtureError("unexpected row \(line)") }
            return Row(id: id, requestID: request, outcome: outcome, cost: Int64(cost))
        }
    }
}

/// Budgets shared by replicas: three `switchyard serve` processes on one PostgreSQL ledger.
@Suite("Cost control through the switchyard binary, on PostgreSQL", .serialized, .postgresCluster, .timeLimit(.minutes(4)))
struct CostControlBinaryPostgresTests {
    struct Answer: Sendable {
        var gateway: Int
        var status: Int
        var code: String?
        var cost: String?
        var latency: Duration
        var error: String?
    }

    @Test("Three gateways, one PostgreSQL, one key with room for 10.5 worst cases, one request through each, then 97 concurrent: exactly 10 served, the rest 429 budget_exceeded, spend within the budget, nothing left reserved")
    func sharedBudgetAcrossReplicas() async throws {
        let cluster = try PostgresCluster.require()
        let database = try await cluster.createDatabase()
        let url = "postgres://\(PostgresCluster.user)@127.0.0.1:\(cluster.port)/\(database)?sslmode=disable"
        // The reservation is the worst case: a prompt token per request byte, and max_tokens out.
        // The scripted upstream reports exactly that usage, so every served request spends its
        // whole reservation and the budget holds exactly 10 of them.
        let body = #"{"model":"auto","max_tokens":50,"messages":[{"role":"user","content":"How much is left in the budget?"}]}"#
        let (promptBytes, maxTokens) = (body.utf8.count, 50)
        let worstCase = Nanodollars(Int64(promptBytes) * 1000 + Int64(maxTokens) * 2000)
        let budget = Nanodollars(worstCase.value * 21 / 2)

        try await ScriptedProvider.with(.answer(pieces: ["ok"], promptTokens: promptBytes, completionTokens: maxTokens)) { provider in
            try await TestProcesses.with { processes in
                let directory = try Fixtures.temporaryDirectory()
                let policy = directory + "/policy.yaml"
                try Fixtures.writeFile(policy, CostControlBinaryTests.cloudPolicy(
                    provider, extra: "ledger: {postgres_url_env: SWITCHYARD_TEST_PG}\nbudgets: {on_exhausted: deny}"))
                let environment = ["SWITCHYARD_TEST_PG": url]
                let ledger = ["--policy", policy, "--state-dir", directory]
                let create = try await SwitchyardProcess.run(["keys", "create", "--name", "shared", "--budget-usd", String(budget.description.dropFirst()),
                                                              "--period", "total"] + ledger, environment: environment)
                #expect(create.exit == .exited(0) && create.out.contains("PostgreSQL from $SWITCHYARD_TEST_PG") && !create.all.contains(url),
                        "\(create.all)")
                let (id, secret) = try CostControlBinaryTests.created(create)

                let client = HTTPClient(maxConnections: 512)
                defer { Task { await client.shutdown() } }
                var gateways: [ServeProcess] = []
                for n in 0..<3 {
                    let state = directory + "/gateway\(n)"
                    mkdir(state, 0o755)
                    gateways.append(try await ServeProcess.start(policy: policy, stateDirectory: state,
                                                                 environment: environment.merging(CostControlBinaryTests.gatewayEnvironment) { $1 },
                                                                 log: directory + "/gateway\(n).log", processes: processes, client: client))
                }
                let urls = gateways.map(\.baseURL)

                @Sendable func ask(_ gateway: Int) async -> Answer {
                    let begin = ContinuousClock.now
                    do {
                        let answer = try await CostControlBinaryTests.chat(client, urls[gateway], key: secret, body: body, timeout: .seconds(30))
                        return Answer(gateway: gateway, status: answer.status, code: answer.json["error"]?["code"]?.stringValue,
                                      cost: answer.header("x-switchyard-cost-usd"), latency: .now - begin)
                    } catch {
                        return Answer(gateway: gateway, status: 0, latency: .now - begin, error: "\(error)")
                    }
                }
                // One request through each gateway first, one after another: each replica spends from
                // the shared budget, whatever the scheduler does with the burst that follows (where the
                // fastest replica may well win every remaining reservation).
                let started = ContinuousClock.now
                var answers: [Answer] = []
                for gateway in 0..<3 { answers.append(await ask(gateway)) }
                #expect(answers.map(\.status) == [200, 200, 200], "\(answers)")
                answers += await withTaskGroup(of: Answer.self) { group in
                    for n in 3..<100 { group.addTask { await ask(n % 3) } }
                    var all: [Answer] = []
                    for await answer in group { all.append(answer) }
                    return all
                }
                let took = ContinuousClock.now - started

                let served = answers.filter { $0.status == 200 }
                let denied = answers.filter { $0.status == 429 && $0.code == "budget_exceeded" }
                #expect(served.count + denied.count == 100, "other answers: \(answers.filter { $0.status != 200 && $0.code != "budget_exceeded" })")
                // Each gateway had 33 or 34 requests, room for 10 on a budget of its own: 10 served in
                // all means every replica counted the others' spend.
                #expect(served.count == 10, "\(served.count) served for a budget of 10.5 worst cases")
                #expect(served.allSatisfy { $0.cost.flatMap(Double.init).map(Nanodollars.usd) == worstCase }, "\(served.map(\.cost))")
                #expect(Set(denied.map(\.gateway)) == [0, 1, 2], "denied by gateways \(Set(denied.map(\.gateway)))")
                func quantiles(_ values: [Duration]) -> String {
                    let sorted = values.sorted()
                    guard !sorted.isEmpty else { return "none" }
                    return "p50 \(sorted[sorted.count / 2]), p95 \(sorted[min(sorted.count - 1, sorted.count * 95 / 100)]), max \(sorted.last!)"
                }
                print("shared budget: 100 requests over 3 gateways in \(took); served \(served.count) (by gateways \(served.map(\.gateway).sorted())), "
                      + "denied \(denied.count); latency served: \(quantiles(served.map(\.latency))); denied: \(quantiles(denied.map(\.latency)))")

                // What the ledger holds, read in the test through a store of its own.
                var logger = Logger(label: "ledger-check")
                logger.logLevel = .warning
                let store = try await Ledger.postgres(url: url, logger: logger)
                let state = try await store.budgetState(BudgetScope(kind: .key, id: id, limit: budget, period: .total), now: .now)
                let usage = try await store.usage(UsageQuery(groupBy: .key, keyID: id))
                // A reservation alone, uncontended, from this process: a PostgreSQL transaction.
                let probe = BudgetScope(kind: .key, id: "key_latencyprobe", limit: .usd(1), period: .total)
                var reservations: [Duration] = []
                for n in 0..<50 {
                    let begin = ContinuousClock.now
                    _ = try await store.reserve(id: "probe-\(n)", scopes: [probe], amount: Nanodollars(1), now: .now)
                    reservations.append(.now - begin)
                    try await store.release(id: "probe-\(n)")
                }
                try await store.close()
                print("shared budget: one uncontended reservation on PostgreSQL: \(quantiles(reservations))")
                #expect(state.spent == Nanodollars(worstCase.value * 10) && state.spent <= budget, "spent \(state.spent) of \(budget)")
                #expect(state.reserved == .zero, "left reserved: \(state.reserved)")
                #expect(usage.map(\.requests) == [10] && usage.map(\.attempts) == [10] && usage.first?.spend == state.spent, "\(usage)")

                // And the operator's view of it, through the CLI.
                let report = try CostControlBinaryTests.json(try await SwitchyardProcess.run(["usage", "--json", "--group-by", "key"] + ledger,
                                                                                            environment: environment))
                let row = report["data"]?.arrayValue?.first
                #expect(row?["group"] == .string(id) && row?["requests"] == .int(10)
                            && row?["spend_usd"]?.doubleValue.map(Nanodollars.usd) == state.spent, "\(report)")

                for gateway in gateways {
                    #expect(await gateway.stop() == .exited(0), "\(TextFile.read(gateway.log) ?? "")")
                }
            }
        }
    }
}
