import Logging
import Testing
import SwitchyardHTTP
import SwitchyardLearning
import SwitchyardLedger
import SwitchyardPolicy
import SwitchyardSignals
import SwitchyardWire

/// The learning loop end to end: a real gateway and its real local model, a scripted cloud that
/// answers and judges, and the gateway's own ledger read beside it (docs/routing.md, "Learning
/// from live traffic").
@Suite("Learning loop", .serialized, .postgresCluster, .timeLimit(.minutes(5)))
struct LearningLoopTests {
    static let admin = "sy-admin-learning-test"
    let environment = ["K": "k", "SWITCHYARD_ADMIN_KEY": LearningLoopTests.admin]

    /// The cloud answers every question `Paris`, and every judge's question with `verdict`.
    static func cloud(verdict: String = "correct") -> ScriptedProvider.Scenario {
        .byRequest { body in
            let system = body["messages"]?.arrayValue?.first { $0["role"] == .string("system") }?["content"]?.stringValue
            return .answer(pieces: [system == Judgement.instruction ? verdict : "Paris"])
        }
    }

    /// Two cascades that learn their threshold, with too few labels to have learned one, so
    /// their starting points decide: `up` (threshold 1) escalates every answer, `keep`
    /// (threshold 0) none.
    func policy(_ cloud: ScriptedProvider, learning: String, auth: String = "off", price: String = "{input: 1, output: 2}",
                extra: String = "", holdTokens: Int = 16) -> String {
        """
        version: 1
        auth: {mode: \(auth)}
        models:
        \(Fixtures.localModelYAML)
          cloud: {kind: openai, base_url: "\(cloud.baseURL)", model: m, api_key_env: K, price: \(price)}
        rules:
          - name: up
            when: 'header.mode == "up"'
            cascade: {first: local, escalate_to: cloud, when: "confidence < auto", risk: 0.3, threshold: 1, hold_tokens: \(holdTokens)}
          - name: keep
            cascade: {first: local, escalate_to: cloud, when: "confidence < auto", risk: 0.3, threshold: 0}
        learning:
        \(learning)
        \(extra)
        """
    }

    func chat(_ gateway: RunningGateway, _ content: String, mode: String? = nil, key: String? = nil, stream: Bool = false,
              maxTokens: Int = 8) async throws -> HTTPResponse {
        let body = JSON.object([
            "model": .string("auto"), "max_tokens": .int(maxTokens), "temperature": .int(0), "stream": .bool(stream),
            "messages": .array([.object(["role": .string("user"), "content": .string(content)])]),
        ])
        var headers: [(name: String, value: String)] = []
        if let mode { headers.append(("x-switchyard-mode", mode)) }
        if let key { headers.append(("Authorization", "Bearer \(key)")) }
        return try await gateway.post("/v1/chat/completions", body.text, headers: headers)
    }

    func withLedger<T: Sendable>(_ gateway: RunningGateway, _ body: (any LedgerStore) async throws -> T) async throws -> T {
        try await closing(try await Ledger.sqlite(path: gateway.directory + "/ledger.sqlite", logger: Logger(label: "test-ledger")), body)
    }

    /// The local target's labels once `done` holds of them, or whatever there is after 60 s.
    func labels(_ gateway: RunningGateway, until done: ([LabelRecord]) -> Bool) async throws -> [LabelRecord] {
        try await withLedger(gateway) { ledger in
            let deadline = ContinuousClock.now + .seconds(60)
            var labels: [LabelRecord] = []
            while ContinuousClock.now < deadline {
                labels = try await ledger.labels(target: "local", after: 0, newest: 1000).map(\.label)
                if done(labels) { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            return labels
        }
    }

    func requestID(_ response: HTTPResponse) throws -> String { try #require(response.header("x-switchyard-request-id")) }

    @Test("escalations label themselves (propensity 1), kept answers are shadowed at the shadow rate, feedback has none; no text is kept")
    func labelsWithPropensities() async throws {
        try await ScriptedProvider.with(Self.cloud()) { cloud in
            try await Fixtures.withGateway(policy: policy(cloud, learning: "  {judge: cloud, shadow_rate: 0.75, min_labels: 1000}", holdTokens: 4),
                                           environment: environment) { gateway in
                let escalated = try await chat(gateway, "What is the capital of France?", mode: "up")
                #expect(escalated.status == 200)
                let header = try #require(escalated.header("x-switchyard-escalated"))
                #expect(header.contains("threshold=1.0 (rule-threshold, calibration v0, 0 labels)"), "\(header)")
                // Explain says the same of the threshold in force, and why.
                let explained = try await gateway.post("/v1/switchyard/explain", #"{"model":"auto","messages":[{"role":"user","content":"hi"}]}"#,
                                                       headers: [("x-switchyard-mode", "up")])
                #expect(explained.json["threshold"]?["source"] == .string("rule") && explained.json["threshold"]?["value"]?.doubleValue == 1,
                        "\(explained.bodyText)")
                // A stream's local answer that ended within the hold window was decided on whole: labelled.
                let wholeStream = try await chat(gateway, "What is the capital of Spain?", mode: "up", stream: true, maxTokens: 3)
                // One longer than the hold window was decided on its start: not labelled.
                let partialStream = try await chat(gateway, "Write a long story about the sea.", mode: "up", stream: true, maxTokens: 40)
                #expect(wholeStream.status == 200 && partialStream.status == 200)
                var kept: [String] = []
                for question in ["What is 2+2?", "Name a colour.", "What is the capital of Italy?", "Say hello.", "What is 3+5?",
                                 "Name a fruit.", "What day follows Monday?", "What is 10-4?"] {
                    let response = try await chat(gateway, question)
                    #expect(response.status == 200)
                    #expect(response.header("x-switchyard-escalated")?.contains("not-escalated; threshold=0.0 (rule-threshold") == true,
                            "\(response.header("x-switchyard-escalated") ?? "none")")
                    kept.append(try requestID(response))
                }
                let found = try await labels(gateway) { labels in
                    labels.filter { $0.source == "escalation" }.count >= 2 && labels.contains { $0.source == "shadow" }
                }
                let escalations = found.filter { $0.source == "escalation" }
                #expect(Set(escalations.map(\.requestID)) == Set([try requestID(escalated), try requestID(wholeStream)]))
                #expect(escalations.allSatisfy { $0.propensity == 1 && $0.score == 1 && $0.features.count == ConfidenceModelFeatures.names.count })
                #expect(escalations.first { $0.requestID == (try? requestID(wholeStream)) }?.streamed == true)
                let shadows = found.filter { $0.source == "shadow" }
                #expect(!shadows.isEmpty && shadows.allSatisfy { $0.propensity == 0.75 && kept.contains($0.requestID) })
                // The cloud saw each shadow, then a judge request for it; a shadow is a request of its own.
                let judged = cloud.received.filter { $0.body["messages"]?.arrayValue?.first?["content"]?.stringValue == Judgement.instruction }
                #expect(judged.count >= escalations.count + shadows.count)

                // Feedback: on a kept answer, once; unknown ids and a second rating refused.
                let rated = kept[0]
                let feedback = try await gateway.post("/v1/switchyard/feedback", #"{"request_id":"\#(rated)","correct":false}"#)
                #expect(feedback.status == 201, "\(feedback.bodyText)")
                #expect(try await gateway.post("/v1/switchyard/feedback", #"{"request_id":"\#(rated)","score":0.5}"#).status == 409)
                let escalatedID = try requestID(escalated)
                #expect(try await gateway.post("/v1/switchyard/feedback", #"{"request_id":"\#(escalatedID)","correct":true}"#).status == 404,
                        "an escalated answer was the cloud's: nothing of the box's to rate")
                #expect(try await gateway.post("/v1/switchyard/feedback", #"{"request_id":"\#(rated)","correct":true,"score":1}"#).status == 400)
                #expect(try await gateway.post("/v1/switchyard/feedback", #"{"request_id":"\#(rated)","corect":true}"#).status == 400)
                let all = try await labels(gateway) { $0.contains { $0.source == "feedback" } }
                let rating = try #require(all.first { $0.source == "feedback" })
                #expect(rating.requestID == rated && rating.score == 0 && rating.propensity == nil)

                // The calibration report counts them, for the admin only.
                #expect(try await gateway.get("/v1/switchyard/calibration").status == 401)
                let report = try await gateway.client.send(HTTPRequest(url: gateway.baseURL + "/v1/switchyard/calibration",
                                                                       headers: [("Authorization", "Bearer \(Self.admin)")]))
                #expect(report.status == 200, "\(report.bodyText)")
                #expect(report.json["thresholds"]?["keep"]?["source"] == .string("rule"))
                #expect((report.json["labels"]?["escalation"]?.intValue ?? 0) >= 2)
            }
        }
    }

    @Test("a key rates only its own answers: another key's request id is unknown to it")
    func feedbackOwnRequestsOnly() async throws {
        try await ScriptedProvider.with(Self.cloud()) { cloud in
            try await Fixtures.withGateway(policy: policy(cloud, learning: "  {judge: cloud, min_labels: 1000}", auth: "required"),
                                           environment: environment) { gateway in
                var secrets: [String] = []
                for name in ["owner", "other"] {
                    let created = try await gateway.post("/v1/switchyard/keys", #"{"name":"\#(name)"}"#,
                                                         headers: [("Authorization", "Bearer \(Self.admin)")])
                    secrets.append(try #require(created.json["secret"]?.stringValue))
                }
                let answer = try await chat(gateway, "What is 2+2?", key: secrets[0])
                #expect(answer.status == 200)
                let id = try requestID(answer)
                let body = #"{"request_id":"\#(id)","correct":true}"#
                // Remembering the answer is queued work: wait until its owner may rate it.
                let deadline = ContinuousClock.now + .seconds(20)
                var stranger = try await gateway.post("/v1/switchyard/feedback", body, headers: [("Authorization", "Bearer \(secrets[1])")])
                var owner = stranger
                while ContinuousClock.now < deadline {
                    stranger = try await gateway.post("/v1/switchyard/feedback", body, headers: [("Authorization", "Bearer \(secrets[1])")])
                    #expect(stranger.status == 404, "\(stranger.bodyText)")
                    owner = try await gateway.post("/v1/switchyard/feedback", body, headers: [("Authorization", "Bearer \(secrets[0])")])
                    if owner.status != 404 { break }
                    try await Task.sleep(for: .milliseconds(100))
                }
                #expect(owner.status == 201, "\(owner.bodyText)")
                #expect(try await gateway.post("/v1/switchyard/feedback", body).status == 401, "no key, no rating")
            }
        }
    }

    @Test("a request carrying private data is never shadowed or judged off the box: both fronts, streamed or not")
    func privateDataNeverShadowed() async throws {
        try await ScriptedProvider.with(Self.cloud()) { cloud in
            let constraint = "constraints: {private_data: {allowed_targets: [local]}}"
            try await Fixtures.withGateway(policy: policy(cloud, learning: "  {judge: cloud, shadow_rate: 1, min_labels: 1000}", extra: constraint),
                                           environment: environment) { gateway in
                let secret = "jane.doe@example.com"
                var privateIDs: [String] = []
                for stream in [false, true] {
                    for mode in [nil, "up"] as [String?] {
                        let chat = try await chat(gateway, "My email is \(secret). What is 2+2?", mode: mode, stream: stream)
                        #expect(chat.status == 200)
                        privateIDs.append(try requestID(chat))
                        var headers = [(name: "anthropic-version", value: "2023-06-01")]
                        if let mode { headers.append(("x-switchyard-mode", mode)) }
                        let messages = try await gateway.post("/v1/messages", #"""
                            {"model":"auto","max_tokens":8,"stream":\#(stream),"messages":[{"role":"user","content":[{"type":"text","text":"Write to \#(secret) about 2+2"}]}]}
                            """#, headers: headers)
                        #expect(messages.status == 200, "\(messages.bodyText)")
                        privateIDs.append(try requestID(messages))
                    }
                }
                // The control: the same gateway shadows a request without private data, so the
                // loop was running while the private ones went by.
                let control = try requestID(try await chat(gateway, "What is 2+2?"))
                let found = try await labels(gateway) { $0.contains { $0.requestID == control } }
                #expect(found.contains { $0.requestID == control && $0.source == "shadow" })
                #expect(!found.contains { privateIDs.contains($0.requestID) })
                let leaked = cloud.received.filter { $0.body.text.contains(secret) || $0.body.text.contains("jane.doe") }
                #expect(leaked.isEmpty, "\(leaked.count) requests carried the address to the cloud")
            }
        }
    }

    @Test("shadow spend is metered against the learning budget and capped by it; the caller's budget is never charged")
    func shadowSpendCapped() async throws {
        // $100 and $200 per million tokens; the cloud reports 40 + 8 tokens a call ($0.0056). A call
        // reserves its worst case first (at least what it then costs), so a learning budget of
        // $0.03 pays for at most five calls; six kept answers would take twelve (a shadow and a
        // judge each). The caller's budget has room for all it asks.
        let scenario: ScriptedProvider.Scenario = .byRequest { body in
            let system = body["messages"]?.arrayValue?.first { $0["role"] == .string("system") }?["content"]?.stringValue
            return .answer(pieces: [system == Judgement.instruction ? "correct" : "Paris"], promptTokens: 40, completionTokens: 8)
        }
        try await ScriptedProvider.with(scenario) { cloud in
            let learning = "  {judge: cloud, shadow_rate: 1, min_labels: 1000, shadow_budget: {usd: 0.03, period: day}}"
            try await Fixtures.withGateway(policy: policy(cloud, learning: learning, auth: "required", price: "{input: 100, output: 200}"),
                                           environment: environment) { gateway in
                let created = try await gateway.post("/v1/switchyard/keys", #"{"name":"app","budget_usd":5,"period":"day"}"#,
                                                     headers: [("Authorization", "Bearer \(Self.admin)")])
                let secret = try #require(created.json["secret"]?.stringValue)
                let keyID = try #require(created.json["id"]?.stringValue)
                for question in ["What is 2+2?", "Name a colour.", "Say hello.", "What is 3+5?", "Name a fruit.", "What is 10-4?"] {
                    #expect(try await chat(gateway, question, key: secret).status == 200)
                }
                // The queued shadows run until the budget stops them; then nothing is left reserved.
                try await withLedger(gateway) { ledger in
                    let learning = BudgetScope(kind: .learning, id: "shadow", limit: Nanodollars(30_000_000), period: .day)
                    var state = try await ledger.budgetState(learning, now: .now)
                    let deadline = ContinuousClock.now + .seconds(20)
                    while ContinuousClock.now < deadline {
                        try await Task.sleep(for: .milliseconds(500))
                        let now = try await ledger.budgetState(learning, now: .now)
                        if now == state, now.reserved.value == 0, now.spent.value > 0 { break }
                        state = now
                    }
                    #expect(state.spent.value == Int64(cloud.received.count) * 5_600_000, "every call that reached the cloud was metered: \(state)")
                    #expect(state.spent.value + state.reserved.value <= 30_000_000, "\(state)")
                    let caller = BudgetScope(kind: .key, id: keyID, limit: Nanodollars(5_000_000_000), period: .day)
                    #expect(try await ledger.budgetState(caller, now: .now).spent.value == 0, "the caller's answers were all local")
                }
                #expect(cloud.received.count <= 5, "the budget pays for five calls; \(cloud.received.count) made")
                #expect(cloud.received.count >= 1)
            }
        }
    }

    @Test("requests decided while versions swap each see one calibration: the confidence that escalated is the version the header names")
    func oneCalibrationPerRequest() async throws {
        try await ScriptedProvider.with(Self.cloud()) { cloud in
            try await Fixtures.withGateway(policy: policy(cloud, learning: "  {judge: cloud, min_labels: 1000, refit_every_labels: 100000}"),
                                           environment: environment, calibrationPoll: .milliseconds(50)) { gateway in
                // Versions whose models ignore the features: confidence = sigmoid(bias), a different one each.
                let names = ConfidenceModelFeatures.names
                func model(_ version: Int) -> LogisticModel {
                    LogisticModel(features: names, mean: names.map { _ in 0 }, scale: names.map { _ in 1 }, weights: names.map { _ in 0 },
                                  bias: Double(version) / 10 - 1)
                }
                let writer = Task {
                    try await withLedger(gateway) { ledger in
                        for version in 1...12 {
                            let text = JSON.object(["confidence": .object(model(version).json())]).text
                            _ = try await ledger.saveCalibration(CalibrationRecord(target: "local", version: version, model: text, fittedThrough: 0,
                                                                                   labelsUsed: 0, adoptedAt: .now, report: "{}"))
                            try await Task.sleep(for: .milliseconds(150))
                        }
                    }
                }
                let responses = try await withThrowingTaskGroup(of: [HTTPResponse].self) { group in
                    for worker in 0..<3 {
                        group.addTask {
                            var answers: [HTTPResponse] = []
                            for round in 0..<4 { answers.append(try await chat(gateway, "What is \(worker)+\(round)?", mode: "up")) }
                            return answers
                        }
                    }
                    return try await group.reduce(into: []) { $0 += $1 }
                }
                try await writer.value
                var versions: Set<Int> = []
                for response in responses {
                    #expect(response.status == 200)
                    let header = try #require(response.header("x-switchyard-escalated"))
                    let version = try #require(header.firstMatch(of: /calibration v(\d+)/).flatMap { Int($0.1) }, "\(header)")
                    let confidence = try #require(header.firstMatch(of: /confidence=([0-9.e-]+)</).flatMap { Double($0.1) }, "\(header)")
                    if version > 0 {
                        let expected = model(version).probability(names.map { _ in 0 })
                        #expect(abs(confidence - expected) < 1e-9, "\(header)")
                    }
                    versions.insert(version)
                }
                #expect(versions.count >= 2, "the versions swapped while requests ran: \(versions.sorted())")
            }
        }
    }

    @Test("two replicas on one PostgreSQL refit the same labels at once and converge on one stored version")
    func replicasConverge() async throws {
        let cluster = try PostgresCluster.require()
        let database = try await cluster.createDatabase()
        let url = "postgres://\(PostgresCluster.user)@127.0.0.1:\(cluster.port)/\(database)?sslmode=disable"
        // The labels are stored before either replica starts, so both refit the same 80 at their
        // first look. Stored while they ran, each could refit on a part of them, and a refit the
        // held-out labels reject is not tried again until 10 more arrive: none would.
        // Seeded, so whether the refit is adopted does not change from run to run.
        try await closing(try await Ledger.postgres(host: "127.0.0.1", port: cluster.port, username: PostgresCluster.user,
                                                    database: database, sslMode: .disable, maxConnections: 2,
                                                    logger: Logger(label: "test-ledger"))) { ledger in
            try await ledger.migrate()
            // Labels the uncalibrated confidence (exp of the mean log-probability) fits badly, so a refit is better.
            var generator = SplitMix64(seed: 12)
            for index in 0..<80 {
                let mean = Double.random(in: -3...0, using: &generator)
                let features = [mean] + (1..<ConfidenceModelFeatures.names.count).map { _ in Double.random(in: -1...1, using: &generator) }
                let right = mean + Double.random(in: -0.5...0.5, using: &generator) > -1.5
                _ = try await ledger.recordLabel(LabelRecord(requestID: "r\(index)", source: "shadow", target: "local", features: features,
                                                             score: right ? 1 : 0, propensity: 0.5, calibrationVersion: 0, streamed: false,
                                                             recordedAt: .now))
            }
            try await ScriptedProvider.with(Self.cloud()) { cloud in
                let policy = policy(cloud, learning: "  {judge: cloud, min_labels: 1000, refit_every_labels: 10}",
                                    extra: "ledger: {postgres_url_env: SWITCHYARD_TEST_PG}")
                let environment = environment.merging(["SWITCHYARD_TEST_PG": url]) { $1 }
                try await Fixtures.withGateway(policy: policy, environment: environment, waitForEngine: false, calibrationPoll: .milliseconds(100)) { first in
                    try await Fixtures.withGateway(policy: policy, environment: environment, waitForEngine: false, calibrationPoll: .milliseconds(100)) { second in
                        let deadline = ContinuousClock.now + .seconds(60)
                        var versions: [Int?] = [nil, nil]
                        var stored = 0
                        var previous = -1
                        // Until both serve the stored version and no replica stored a newer one since the last look.
                        while ContinuousClock.now < deadline {
                            for (index, gateway) in [first, second].enumerated() {
                                let report = try await gateway.client.send(HTTPRequest(url: gateway.baseURL + "/v1/switchyard/calibration",
                                                                                       headers: [("Authorization", "Bearer \(Self.admin)")]))
                                versions[index] = report.json["version"]?.intValue
                            }
                            (previous, stored) = (stored, try await ledger.latestCalibration(target: "local")?.version ?? 0)
                            if stored > 0, stored == previous, versions.allSatisfy({ $0 == stored }) { break }
                            try await Task.sleep(for: .milliseconds(500))
                        }
                        #expect(stored >= 1, "a refit was stored")
                        #expect(versions == [stored, stored], "both replicas serve the stored version: \(versions), ledger \(stored)")

                        // The operator's view is the same, and what it exports a policy can pin.
                        let options = ["--policy", first.directory + "/policy.yaml", "--state-dir", first.directory]
                        let status = try await SwitchyardProcess.run(["calibration", "status"] + options, environment: environment)
                        #expect(status.exit == .exited(0) && status.out.contains("version:      \(stored) (fitted on"), "\(status.all)")
                        let exported = first.directory + "/learned.json"
                        let export = try await SwitchyardProcess.run(["calibration", "export", "--out", exported] + options, environment: environment)
                        #expect(export.exit == .exited(0), "\(export.all)")
                        let pinned = try PolicyLoader.parse("""
                            version: 1
                            calibration: \(exported)
                            models:
                              local: {kind: local}
                            """, file: "pin.yaml")
                        #expect(pinned.calibration != nil)
                    }
                }
            }
        }
    }
}
