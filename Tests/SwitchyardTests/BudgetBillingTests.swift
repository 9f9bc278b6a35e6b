import Logging
import Testing
import SwitchyardHTTP
import SwitchyardLedger
import SwitchyardPolicy
import SwitchyardWire

/// Budgets against what upstreams really bill: `n` choices, images, prompt-cache tokens, and
/// requests no worst case can bound; the remaining-budget gauge after every settlement. Through
/// the `switchyard` binary (its /metrics is the only place the gauge shows), against scripted
/// upstreams that report the usage each test chooses. Every expected cost is worked out here from
/// the policy's prices and the reported token counts, never read back from the gateway.
@Suite("Budgets hold against what upstreams bill", .serialized, .timeLimit(.minutes(4)))
struct BudgetBillingTests {
    /// A policy price: USD per million tokens in and out.
    struct Rate {
        var input: Double
        var output: Double

        var yaml: String { "{input: \(input), output: \(output)}" }

        /// `prompt` input tokens at the input price (cache-discounted tokens counted at their
        /// share already), `completion` at the output price: USD per million tokens is
        /// 1,000 nano-dollars per token.
        func cost(prompt: Double, completion: Int) -> Nanodollars {
            Nanodollars(Int64(((prompt * input + Double(completion) * output) * 1000).rounded()))
        }
    }

    /// A running `switchyard serve` and one key with a `total` budget.
    struct Budgeted {
        let baseURL: String
        let client: HTTPClient
        let secret: String
        let scope: BudgetScope
        let ledgerPath: String

        func post(_ path: String, _ body: JSON, key: String? = nil) async throws -> HTTPResponse {
            try await client.send(HTTPRequest(method: .post, url: baseURL + path,
                                              headers: [("Content-Type", "application/json"), ("Authorization", "Bearer \(key ?? secret)")],
                                              body: body.serialized(),
                                              timeouts: HTTPTimeouts(connect: .seconds(2), firstByte: .seconds(30), stall: .seconds(30),
                                                                     total: .seconds(60))))
        }

        /// The key's budget as the ledger holds it now.
        func state() async throws -> BudgetState {
            try await closing(try await Ledger.sqlite(path: ledgerPath, logger: Logger(label: "test-ledger"))) {
                try await $0.budgetState(scope, now: .now)
            }
        }

        func attempts(_ response: HTTPResponse) async throws -> [AttemptRecord] {
            let id = try #require(response.header("x-switchyard-request-id"))
            return try await closing(try await Ledger.sqlite(path: ledgerPath, logger: Logger(label: "test-ledger"))) {
                try await $0.committedAttempts(requestID: id)
            }
        }

        /// `switchyard_budget_remaining_usd` of the key in /metrics (asked with the admin key,
        /// should /metrics need one).
        func gauge() async throws -> Nanodollars? {
            let metrics = try await client.send(HTTPRequest(url: baseURL + "/metrics",
                                                            headers: [("Authorization", "Bearer \(BudgetBillingTests.admin)")]))
            let prefix = #"switchyard_budget_remaining_usd{scope="key:\#(scope.id)"} "#
            let line = metrics.bodyText.split(separator: "\n").first { $0.hasPrefix(prefix) }
            return line.flatMap { Double($0.dropFirst(prefix.count)) }.map(Nanodollars.usd)
        }

        /// The promise, after everything settled: spend within the budget and equal to what the
        /// served answers cost, nothing left reserved, and the gauge at the ledger's remaining.
        func expectHeld(spent: Nanodollars, _ comment: String, sourceLocation: SourceLocation = #_sourceLocation) async throws {
            let state = try await state()
            #expect(state.spent <= scope.limit, "spent \(state.spent) of a \(scope.limit) budget: \(comment)", sourceLocation: sourceLocation)
            #expect(state.spent == spent, "the ledger has \(state.spent), the answers cost \(spent): \(comment)", sourceLocation: sourceLocation)
            #expect(state.reserved == .zero, "left reserved: \(state.reserved)", sourceLocation: sourceLocation)
            let gauge = try await gauge()
            #expect(gauge == state.remaining, "gauge \(gauge.map(\.description) ?? "missing"), ledger remaining \(state.remaining)",
                    sourceLocation: sourceLocation)
        }
    }

    static let admin = "sy-admin-budget-billing"

    /// `models` (YAML lines under `models:`, each scripted target's key variable set) behind a
    /// policy that serves whatever model a request names; one key with `budgetUSD` (and, for
    /// comparison, one without a budget, `unbudgeted`).
    static func withGateway(models: String, budgetUSD: Double, onExhausted: String = "deny",
                            _ body: (Budgeted, _ unbudgeted: String) async throws -> Void) async throws {
        try await TestProcesses.with { processes in
            let directory = try Fixtures.temporaryDirectory()
            let policy = directory + "/policy.yaml"
            try Fixtures.writeFile(policy, """
            version: 1
            auth: {mode: required}
            budgets: {on_exhausted: \(onExhausted)}
            models:
            \(models)
            """)
            let ledger = ["--policy", policy, "--state-dir", directory]
            let budgeted = try CostControlBinaryTests.created(try await SwitchyardProcess.run(
                ["keys", "create", "--name", "budgeted", "--budget-usd", String(budgetUSD), "--period", "total"] + ledger))
            let unbudgeted = try CostControlBinaryTests.created(try await SwitchyardProcess.run(["keys", "create", "--name", "free"] + ledger))
            let client = HTTPClient()
            defer { Task { await client.shutdown() } }
            let gateway = try await ServeProcess.start(policy: policy, stateDirectory: directory,
                                                       environment: ["SWITCHYARD_TEST_CLOUD_KEY": "scripted", "SWITCHYARD_ADMIN_KEY": admin],
                                                       log: directory + "/gateway.log", processes: processes, client: client)
            try await body(Budgeted(baseURL: gateway.baseURL, client: client, secret: budgeted.secret,
                                    scope: BudgetScope(kind: .key, id: budgeted.id, limit: .usd(budgetUSD), period: .total),
                                    ledgerPath: directory + "/ledger.sqlite"),
                           unbudgeted.secret)
            #expect(await gateway.stop() == .exited(0), "\(TextFile.read(gateway.log) ?? "")")
        }
    }

    static func target(_ name: String, kind: String, _ provider: ScriptedProvider, _ rate: Rate, extra: String = "") -> String {
        #"  \#(name): {kind: \#(kind), base_url: "\#(provider.baseURL)", model: up-\#(name), api_key_env: SWITCHYARD_TEST_CLOUD_KEY, price: \#(rate.yaml)\#(extra)}"#
    }

    /// An OpenAI chat request: one user message of `content` (a string or parts).
    static func chat(_ model: String, _ content: JSON, maxTokens: Int, stream: Bool, extra: JSONObject = [:]) -> JSON {
        var body: JSONObject = [
            "model": .string(model), "max_tokens": .int(maxTokens), "stream": .bool(stream),
            "messages": .array([.object(["role": .string("user"), "content": content])]),
        ]
        if stream { body["stream_options"] = .object(["include_usage": .bool(true)]) }
        for field in extra.fields { body[field.key] = field.value }
        return .object(body)
    }

    /// An Anthropic Messages request: one user turn of `content` (a string or blocks).
    static func messages(_ model: String, _ content: JSON, maxTokens: Int, stream: Bool, extra: JSONObject = [:]) -> JSON {
        var body: JSONObject = [
            "model": .string(model), "max_tokens": .int(maxTokens), "stream": .bool(stream),
            "messages": .array([.object(["role": .string("user"), "content": content])]),
        ]
        for field in extra.fields { body[field.key] = field.value }
        return .object(body)
    }

    /// The `cost_usd` of an OpenAI stream's usage chunk.
    static func streamedCost(_ response: HTTPResponse) -> Nanodollars? {
        streamedUsage(response)?["cost_usd"]?.doubleValue.map(Nanodollars.usd)
    }

    static func streamedUsage(_ response: HTTPResponse) -> JSON? {
        sseEvents(response.body).compactMap { try? JSON.parse($0) }.compactMap { $0["usage"] }.last
    }

    @Test("n choices: every choice the upstream bills is reserved first, so a key with a $0.05 budget never spends past it, whole or streamed")
    func choices() async throws {
        let (choices, maxTokens, promptTokens) = (16, 100, 20)
        // An upstream bills each of the n choices up to max_tokens.
        let completion = choices * maxTokens
        let rate = Rate(input: 1, output: 10)
        let each = rate.cost(prompt: Double(promptTokens), completion: completion)
        let usage = #"{"prompt_tokens":\#(promptTokens),"completion_tokens":\#(completion),"total_tokens":\#(promptTokens + completion)}"#
        try await ScriptedProvider.with(.hostileUsage(openAI: usage, anthropic: "{}")) { cloud in
            try await Self.withGateway(models: Self.target("gpt", kind: "openai", cloud, rate), budgetUSD: 0.05) { gateway, _ in
                // The issue's request: 128 choices of 100 tokens at $10 per million could bill $0.128.
                let all = try await gateway.post("/v1/chat/completions", Self.chat("gpt", .string("Name a colour."), maxTokens: maxTokens,
                                                                                  stream: false, extra: ["n": .int(128)]))
                #expect(all.status == 429 && all.json["error"]?["code"] == .string("budget_exceeded"), "\(all.status) \(all.bodyText)")
                var spent = Nanodollars.zero
                var statuses: [Int] = []
                for round in 0..<8 {
                    let stream = round % 2 == 1
                    let response = try await gateway.post("/v1/chat/completions", Self.chat("gpt", .string("Name a colour."), maxTokens: maxTokens,
                                                                                           stream: stream, extra: ["n": .int(choices)]))
                    statuses.append(response.status)
                    if response.status == 200 {
                        spent += each
                        let charged = stream ? Self.streamedCost(response) : response.header("x-switchyard-cost-usd").flatMap(Double.init).map(Nanodollars.usd)
                        #expect(charged == each, "round \(round): charged \(charged.map(\.description) ?? "nothing"), billed \(each)")
                    } else {
                        #expect(response.status == 429 && response.json["error"]?["code"] == .string("budget_exceeded"), "\(response.bodyText)")
                    }
                }
                #expect(statuses.contains(200) && statuses.contains(429), "\(statuses)")
                try await gateway.expectHeld(spent: spent, "statuses \(statuses)")
            }
        }
    }

    @Test("Images are billed per image, not per byte: eight image URLs reserve eight images' worst case on both fronts, to either kind of target")
    func images() async throws {
        // The documented most one image can count: OpenAI's high-detail tiles on gpt-4o-mini (an
        // image fitted in 2048×2048 then 768 on its short side: at most 2×4 tiles of 5,667 tokens
        // on a base of 2,833), and Anthropic's ~1,600 (larger images are scaled down first).
        let openAIImage = 2833 + 8 * 5667
        let anthropicImage = 1600
        let (images, text, maxTokens) = (8, 20, 10)
        let gpt = Rate(input: 0.15, output: 0.6)
        let claude = Rate(input: 3, output: 15)
        let openAIUsage = #"{"prompt_tokens":\#(images * openAIImage + text),"completion_tokens":\#(maxTokens),"total_tokens":\#(images * openAIImage + text + maxTokens)}"#
        let anthropicUsage = #"{"input_tokens":\#(images * anthropicImage + text),"output_tokens":\#(maxTokens)}"#
        let cost = ["gpt": gpt.cost(prompt: Double(images * openAIImage + text), completion: maxTokens),
                    "claude": claude.cost(prompt: Double(images * anthropicImage + text), completion: maxTokens)]
        // Seven image URLs and one small inline image: 8 images in about 600 bytes.
        let urls = (0..<7).map { "https://img.example.com/\($0).png" }
        let pixel = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
        let openAIParts: JSON = .array([.object(["type": .string("text"), "text": .string("What differs?")])]
            + urls.map { .object(["type": .string("image_url"), "image_url": .object(["url": .string($0)])]) }
            + [.object(["type": .string("image_url"), "image_url": .object(["url": .string("data:image/png;base64," + pixel)])])])
        let anthropicBlocks: JSON = .array([.object(["type": .string("text"), "text": .string("What differs?")])]
            + urls.map { .object(["type": .string("image"), "source": .object(["type": .string("url"), "url": .string($0)])]) }
            + [.object(["type": .string("image"), "source": .object(["type": .string("base64"), "media_type": .string("image/png"),
                                                                     "data": .string(pixel)])])])
        try await ScriptedProvider.with(.hostileUsage(openAI: openAIUsage, anthropic: anthropicUsage)) { cloud in
            let models = Self.target("gpt", kind: "openai", cloud, gpt) + "\n" + Self.target("claude", kind: "anthropic", cloud, claude)
            try await Self.withGateway(models: models, budgetUSD: 0.2) { gateway, _ in
                // (front, target, stream), in an order that reaches every shape before the budget runs out.
                let shapes: [(anthropic: Bool, model: String, stream: Bool)] = [
                    (false, "claude", false), (true, "claude", true), (false, "gpt", false), (false, "claude", true),
                    (true, "claude", false), (false, "gpt", true),
                ]
                var spent = Nanodollars.zero
                var statuses: [Int] = []
                for shape in shapes + shapes {
                    let response = shape.anthropic
                        ? try await gateway.post("/v1/messages", Self.messages(shape.model, anthropicBlocks, maxTokens: maxTokens, stream: shape.stream))
                        : try await gateway.post("/v1/chat/completions", Self.chat(shape.model, openAIParts, maxTokens: maxTokens, stream: shape.stream))
                    statuses.append(response.status)
                    guard response.status == 200 else {
                        #expect(response.status == 429 && response.bodyText.contains("budget_exceeded"), "\(shape): \(response.bodyText)")
                        continue
                    }
                    let billed = cost[shape.model]!
                    spent += billed
                    #expect(try await gateway.attempts(response).map(\.cost) == [billed], "\(shape)")
                }
                #expect(statuses.contains(200) && statuses.contains(429), "\(statuses)")
                try await gateway.expectHeld(spent: spent, "statuses \(statuses)")
            }
        }
    }

    @Test("Prompt-cache tokens an Anthropic target reports are charged alike through both fronts, whole and streamed; the OpenAI client sees them in usage")
    func cacheTokensThroughBothFronts() async throws {
        let (input, cacheRead, cacheWrite, output) = (10, 100, 20, 30)
        let rate = Rate(input: 1000, output: 2000)
        // Anthropic's prompt-cache rates: a read costs 0.1× the input price, a five-minute write 1.25×.
        let billed = rate.cost(prompt: Double(input) + Double(cacheRead) * 0.1 + Double(cacheWrite) * 1.25, completion: output)
        let usage = #"{"input_tokens":\#(input),"cache_read_input_tokens":\#(cacheRead),"cache_creation_input_tokens":\#(cacheWrite),"output_tokens":\#(output)}"#
        let system: JSON = .array([.object(["type": .string("text"), "text": .string("You answer from the cached manual."),
                                            "cache_control": .object(["type": .string("ephemeral")])])])
        try await ScriptedProvider.with(.hostileUsage(openAI: "{}", anthropic: usage)) { cloud in
            try await Self.withGateway(models: Self.target("claude", kind: "anthropic", cloud, rate), budgetUSD: 5) { gateway, _ in
                var spent = Nanodollars.zero
                for (anthropicFront, stream) in [(false, false), (false, true), (true, false), (true, true)] {
                    let response = anthropicFront
                        ? try await gateway.post("/v1/messages", Self.messages("claude", .string("What does page 3 say?"), maxTokens: output,
                                                                               stream: stream, extra: ["system": system]))
                        : try await gateway.post("/v1/chat/completions", Self.chat("claude", .string("What does page 3 say?"), maxTokens: output,
                                                                                   stream: stream))
                    let label = "\(anthropicFront ? "anthropic" : "openai") front, \(stream ? "streamed" : "whole")"
                    try #require(response.status == 200, "\(label): \(response.bodyText)")
                    spent += billed
                    let attempts = try await gateway.attempts(response)
                    #expect(attempts.map(\.cost) == [billed], "\(label): \(attempts.map(\.cost))")
                    #expect(attempts.map(\.promptTokens) == [input + cacheRead + cacheWrite], "\(label)")
                    if !stream {
                        #expect(response.header("x-switchyard-cost-usd").flatMap(Double.init).map(Nanodollars.usd) == billed, "\(label)")
                    }
                    guard !anthropicFront else { continue }
                    // What an OpenAI client reads: every prompt token, of which those read from the cache.
                    let reported = stream ? Self.streamedUsage(response) : response.json["usage"]
                    #expect(reported?["prompt_tokens"] == .int(input + cacheRead + cacheWrite), "\(label): \(String(describing: reported))")
                    #expect(reported?["prompt_tokens_details"]?["cached_tokens"] == .int(cacheRead), "\(label): \(String(describing: reported))")
                    if stream { #expect(Self.streamedCost(response) == billed, "\(label)") }
                }
                try await gateway.expectHeld(spent: spent, "four cached answers")
            }
        }
    }

    @Test("The remaining-budget gauge follows the ledger: after a slow stream settles and after a failed attempt's reservation is released")
    func gaugeAfterSettlement() async throws {
        let (promptTokens, completionTokens, maxTokens) = (20, 10, 50)
        let rate = Rate(input: 1, output: 10)
        let billed = rate.cost(prompt: Double(promptTokens), completion: completionTokens)
        try await ScriptedProvider.with(.answer(pieces: (0..<8).map { "p\($0) " }, chunkDelay: .milliseconds(150),
                                                promptTokens: promptTokens, completionTokens: completionTokens)) { cloud in
            try await ScriptedProvider.with(.status(500, body: #"{"error":{"message":"down"}}"#)) { down in
                let models = Self.target("gpt", kind: "openai", cloud, rate) + "\n" + Self.target("down", kind: "openai", down, rate)
                try await Self.withGateway(models: models, budgetUSD: 0.01) { gateway, _ in
                    let streamed = try await gateway.post("/v1/chat/completions", Self.chat("gpt", .string("Count to eight."), maxTokens: maxTokens,
                                                                                           stream: true))
                    #expect(streamed.status == 200 && Self.streamedCost(streamed) == billed, "\(streamed.bodyText)")
                    try await gateway.expectHeld(spent: billed, "after a settled stream")
                    let failed = try await gateway.post("/v1/chat/completions", Self.chat("down", .string("Hi."), maxTokens: maxTokens, stream: false))
                    #expect(failed.status == 502, "\(failed.bodyText)")
                    try await gateway.expectHeld(spent: billed, "after a released reservation")
                }
            }
        }
    }

    @Test("What no worst case can bound (audio, files, web search, server tools, MCP, PDFs) is refused with a 400 naming it for a budgeted key, and sent as before for a key without a budget")
    func unboundedRefused() async throws {
        let audio: JSON = .array([.object(["type": .string("text"), "text": .string("Transcribe.")]),
                                  .object(["type": .string("input_audio"), "input_audio": .object(["data": .string("UklGRg=="), "format": .string("wav")])])])
        let file: JSON = .array([.object(["type": .string("text"), "text": .string("Summarise.")]),
                                 .object(["type": .string("file"), "file": .object(["filename": .string("a.pdf"),
                                                                                     "file_data": .string("data:application/pdf;base64,JVBERi0=")])])])
        let pdf: JSON = .array([.object(["type": .string("document"), "source": .object(["type": .string("base64"), "media_type": .string("application/pdf"),
                                                                                        "data": .string("JVBERi0=")])]),
                                .object(["type": .string("text"), "text": .string("Summarise.")])])
        let question: JSON = .string("What is new today?")
        let cases: [(label: String, path: String, body: JSON, names: String)] = [
            ("input_audio", "/v1/chat/completions", Self.chat("gpt", audio, maxTokens: 20, stream: false), "input_audio"),
            ("file", "/v1/chat/completions", Self.chat("gpt", file, maxTokens: 20, stream: false), "file"),
            ("audio output", "/v1/chat/completions", Self.chat("gpt", question, maxTokens: 20, stream: true, extra: [
                "modalities": .array([.string("text"), .string("audio")]),
                "audio": .object(["voice": .string("alloy"), "format": .string("pcm16")])]), "audio"),
            ("web search", "/v1/chat/completions", Self.chat("gpt", question, maxTokens: 20, stream: false,
                                                             extra: ["web_search_options": .object([:])]), "web_search_options"),
            ("server tool", "/v1/messages", Self.messages("claude", question, maxTokens: 20, stream: false, extra: [
                "tools": .array([.object(["type": .string("web_search_20250305"), "name": .string("web_search")])])]), "web_search_20250305"),
            ("MCP server", "/v1/messages", Self.messages("claude", question, maxTokens: 20, stream: true, extra: [
                "mcp_servers": .array([.object(["type": .string("url"), "url": .string("https://mcp.example.com/sse"), "name": .string("x")])])]),
             "mcp_servers"),
            ("PDF", "/v1/messages", Self.messages("claude", pdf, maxTokens: 20, stream: false), "document"),
        ]
        try await ScriptedProvider.with(.answer(pieces: ["ok"])) { cloud in
            let rate = Rate(input: 1, output: 2)
            let models = Self.target("gpt", kind: "openai", cloud, rate) + "\n" + Self.target("claude", kind: "anthropic", cloud, rate)
            try await Self.withGateway(models: models, budgetUSD: 10) { gateway, unbudgeted in
                for item in cases {
                    let refused = try await gateway.post(item.path, item.body)
                    #expect(refused.status == 400, "\(item.label): \(refused.status) \(refused.bodyText)")
                    #expect(refused.bodyText.contains(item.names) && refused.bodyText.contains("budget"), "\(item.label): \(refused.bodyText)")
                }
                #expect(cloud.received.isEmpty, "nothing unbounded reached a priced target for the budgeted key")
                for item in cases {
                    let served = try await gateway.post(item.path, item.body, key: unbudgeted)
                    #expect(served.status == 200, "\(item.label), no budget: \(served.status) \(served.bodyText)")
                }
                #expect(cloud.received.count == cases.count)
                // The budgeted key's bounded requests are served as ever (the scripted answer: 11 tokens in, 7 out).
                let plain = try await gateway.post("/v1/chat/completions", Self.chat("gpt", question, maxTokens: 20, stream: false))
                #expect(plain.status == 200, "\(plain.bodyText)")
                try await gateway.expectHeld(spent: rate.cost(prompt: 11, completion: 7), "refusals and one plain answer")
            }
        }
    }
}

/// `x-switchyard-budget` wherever a budget changed where a request was served, on both fronts,
/// whole and streamed: a cascade whose escalation the budget refused, a fallback to the box, a
/// cheaper cloud target that still fitted.
@Suite("The budget header on every path a budget changed", .serialized)
struct BudgetHeaderTests {
    let environment = ["K": "k", "SWITCHYARD_ADMIN_KEY": CostControlTests.admin]

    func policy(_ cloud: ScriptedProvider, exhausted: String, models: String, rules: String) -> String {
        """
        version: 1
        auth: {mode: required}
        budgets: {on_exhausted: \(exhausted)}
        # One attempt per target and no breaker: each request's attempts are what the test counts.
        resilience: {retry: {max_retries: 0}, breaker: {enabled: false}}
        models:
        \(models)
        rules:
        \(rules)
        """
    }

    /// One request through either front, as a key, with `x-switchyard-path` for the policy's rules.
    func ask(_ gateway: RunningGateway, key: String, anthropic: Bool, stream: Bool, path: String = "") async throws -> HTTPResponse {
        let content: JSON = .string("Name a colour.")
        let body: JSON = anthropic
            ? BudgetBillingTests.messages("auto", content, maxTokens: 12, stream: stream)
            : BudgetBillingTests.chat("auto", content, maxTokens: 12, stream: stream)
        return try await gateway.post(anthropic ? "/v1/messages" : "/v1/chat/completions", body.text,
                                      headers: [("Authorization", "Bearer \(key)"), ("x-switchyard-path", path)])
    }

    static let shapes = [(false, false), (false, true), (true, false), (true, true)]

    @Test("A dearer target with no room, a cheaper one that fits: served in the cloud, and the header does not claim the box")
    func cheaperTargetFits() async throws {
        try await ScriptedProvider.with(.answer(pieces: ["ok"])) { cloud in
            let models = """
              dear: {kind: openai, base_url: "\(cloud.baseURL)", model: m, api_key_env: K, price: {input: 1000, output: 2000}}
              cheap: {kind: openai, base_url: "\(cloud.baseURL)", model: m, api_key_env: K, price: {input: 1, output: 2}}
            """
            try await Fixtures.withGateway(policy: policy(cloud, exhausted: "local_only", models: models,
                                                          rules: "  - {name: main, serve: dear, fallbacks: [cheap]}"),
                                           environment: environment) { gateway in
                // A few hundred bytes and 12 tokens out: under a cent at the cheap price, over ten at the dear one.
                let key = try await CostControlTests().createKey(gateway, #"{"name":"thrifty","budget_usd":0.01,"period":"total"}"#)
                for (anthropic, stream) in Self.shapes {
                    let label = "\(anthropic ? "anthropic" : "openai") front, \(stream ? "streamed" : "whole")"
                    let response = try await ask(gateway, key: key.secret, anthropic: anthropic, stream: stream)
                    #expect(response.status == 200, "\(label): \(response.bodyText)")
                    #expect(response.header("x-switchyard-route") == "cloud" && response.header("x-switchyard-model") == "cheap", "\(label)")
                    let budget = response.header("x-switchyard-budget") ?? ""
                    #expect(budget.contains("exhausted(key:\(key.id))") && !budget.contains("box") && budget.contains("cheap"), "\(label): \(budget)")
                    #expect(response.header("x-switchyard-fallback")?.contains("dear:budget-exhausted") == true, "\(label)")
                }
            }
        }
    }

    @Test("A budget that had no room for one target, then another target failed: the error still says the budget had no room")
    func exhaustedThenFailed() async throws {
        try await ScriptedProvider.with(.answer(pieces: ["ok"])) { cloud in
            try await ScriptedProvider.with(.status(500, body: #"{"error":{"message":"down"}}"#)) { down in
                let models = """
                  dear: {kind: openai, base_url: "\(cloud.baseURL)", model: m, api_key_env: K, price: {input: 1000, output: 2000}}
                  down: {kind: openai, base_url: "\(down.baseURL)", model: m, api_key_env: K}
                """
                try await Fixtures.withGateway(policy: policy(cloud, exhausted: "local_only", models: models,
                                                              rules: "  - {name: main, serve: dear, fallbacks: [down]}"),
                                               environment: environment) { gateway in
                    let key = try await CostControlTests().createKey(gateway, #"{"name":"broke","budget_usd":0,"period":"total"}"#)
                    for (anthropic, stream) in Self.shapes {
                        let response = try await ask(gateway, key: key.secret, anthropic: anthropic, stream: stream)
                        #expect(response.status == 502, "\(response.bodyText)")
                        #expect(response.header("x-switchyard-budget") == "exhausted(key:\(key.id))", "anthropic \(anthropic), stream \(stream)")
                    }
                    #expect(cloud.received.isEmpty && down.received.count == Self.shapes.count)
                }
            }
        }
    }

    @Test("Kept on the box by an exhausted budget, by a cascade or a fallback, under deny and local_only: the header says so on both fronts; what cannot be bounded goes to the box too")
    func keptOnTheBox() async throws {
        try Fixtures.requireEngine()
        try await ScriptedProvider.with(.answer(pieces: ["from the cloud"])) { cloud in
            let models = Fixtures.localModelYAML + "\n" + #"  cloud: {kind: openai, base_url: "\#(cloud.baseURL)", model: m, api_key_env: K, price: {input: 1, output: 2}}"#
            let rules = """
              - name: cascade
                when: 'header.path == "cascade"'
                cascade: {first: local, escalate_to: cloud, when: "confidence <= 1"}
              - {name: fallback, serve: cloud, fallbacks: [local]}
            """
            for exhausted in ["deny", "local_only"] {
                try await Fixtures.withGateway(policy: policy(cloud, exhausted: exhausted, models: models, rules: rules),
                                               environment: environment) { gateway in
                    let broke = try await CostControlTests().createKey(gateway, #"{"name":"broke","budget_usd":0,"period":"total"}"#)
                    let rich = try await CostControlTests().createKey(gateway, #"{"name":"rich","budget_usd":100,"period":"total"}"#)
                    for (anthropic, stream) in Self.shapes {
                        let label = "\(exhausted), \(anthropic ? "anthropic" : "openai") front, \(stream ? "streamed" : "whole")"
                        let cascade = try await ask(gateway, key: broke.secret, anthropic: anthropic, stream: stream, path: "cascade")
                        #expect(cascade.status == 200, "\(label): \(cascade.bodyText)")
                        #expect(cascade.header("x-switchyard-route") == "local", "\(label)")
                        #expect(cascade.header("x-switchyard-escalated")?.hasPrefix("not-escalated") == true, "\(label)")
                        #expect(cascade.header("x-switchyard-budget") == "exhausted(key:\(broke.id)); served on the box", "\(label): cascade")

                        let fallback = try await ask(gateway, key: broke.secret, anthropic: anthropic, stream: stream)
                        if exhausted == "deny" {
                            #expect(fallback.status == 429 && fallback.header("x-switchyard-budget") == "exhausted(key:\(broke.id))", "\(label)")
                        } else {
                            #expect(fallback.status == 200 && fallback.header("x-switchyard-route") == "local", "\(label): \(fallback.bodyText)")
                            #expect(fallback.header("x-switchyard-budget") == "exhausted(key:\(broke.id)); served on the box", "\(label): fallback")
                        }
                    }
                    // A request no worst case bounds, from a key with plenty left: never sent to the
                    // priced target, and the local model, which no budget blocks, answers it.
                    let body = BudgetBillingTests.chat("auto", .string("Name a colour."), maxTokens: 12, stream: false,
                                                       extra: ["web_search_options": .object([:])])
                    let unbounded = try await gateway.post("/v1/chat/completions", body.text, headers: [("Authorization", "Bearer \(rich.secret)")])
                    #expect(unbounded.status == 200 && unbounded.header("x-switchyard-route") == "local", "\(exhausted): \(unbounded.bodyText)")
                    #expect(cloud.received.isEmpty, "\(exhausted): nothing reached the cloud")
                }
            }
        }
    }
}
