import Testing
import SwitchyardLearning
import SwitchyardDecision
import SwitchyardPolicy
import SwitchyardSignals
import SwitchyardWire

/// The decision as its own module: these tests build no provider, no engine and no server (the
/// imports above are all they can use), and give the box's state and the tokenizer through the
/// protocols the decision reads them by.
@Suite("Decision")
struct DecisionTests {
    /// The box as a test sets it.
    struct FixedBox: BoxState {
        var queued = 0
        var freeSlots = 4
        var ready = true
        func load(of target: String) -> (queued: Int, freeSlots: Int)? { target == "local" ? (queued, freeSlots) : nil }
        func isReady(_ target: String) -> Bool? { target == "local" ? ready : nil }
    }

    static let models = """
    version: 1
    models:
      local: {kind: local, context: 8192, slots: 4}
      cloud: {kind: openai, model: m, api_key_env: CLOUD_KEY}
    """

    static func chat(_ text: String, model: String = "auto") throws -> RequestSummary {
        try RequestFormat.openAI.summary(of: ["model": .string(model), "messages": .array([.object(["role": .string("user"), "content": .string(text)])])])
    }

    /// A signal defined by a test alone: the registry is all that learns of it.
    static let weekday = SignalDefinition(naming: .exactly("weekday"), kind: .string, cost: .free,
                                          summary: "The day the caller says it is (a test's own signal).") { e, _ in
        .string(e.headers["day"] ?? "monday")
    }

    @Test("a signal added in a test-only registration is read by conditions, policy checks, stubs, explain and policy tests, with no other edit")
    func registeredSignal() async throws {
        let registry = SignalRegistry.standard.adding(Self.weekday)
        let policy = try PolicyLoader.parse(Self.models + """

        rules:
          - {name: sunday, when: 'weekday == "sunday"', serve: cloud}
          - {name: rest, serve: local}
        tests:
          - {name: stubbed, request: {model: auto, messages: [{role: user, content: hi}]}, signals: {weekday: sunday}, expect: {rule: sunday}}
          - {name: computed, request: {model: auto, messages: [{role: user, content: hi}]}, headers: {x-switchyard-day: sunday}, expect: {rule: sunday}}
        """, file: "p.yaml", signals: registry)
        let decider = Decider(policy: policy)
        let sunday = try await decider.decide(Self.chat("hi"), Decider.Inputs(headers: ["day": "sunday"], explain: true))
        #expect(sunday.rule == "sunday")
        #expect(sunday.json(signals: policy.signals)["signals"]?["weekday"] == .string("sunday"))
        #expect(try await decider.decide(Self.chat("hi")).rule == "rest")
        let outcomes = await PolicyTestRunner(policy: policy).run()
        #expect(outcomes.count == 2 && outcomes.allSatisfy { $0.passed }, "\(outcomes.map { $0.failures })")
        #expect(policy.signals.entries.contains { $0.name == "weekday" }, "policy check --signals lists it")
        // The loader knows it for hints and stub types, and the standard registry does not.
        #expect(throws: PolicyError.self) { try PolicyLoader.parse(Self.models + "\nrules:\n  - {when: 'weekday == \"x\"', serve: local}\n", file: "p.yaml") }
        do {
            _ = try PolicyLoader.parse(Self.models + "\nrules:\n  - {when: 'weekdya == \"x\"', serve: local}\n", file: "p.yaml", signals: registry)
            Issue.record("a misspelt signal loaded")
        } catch {
            #expect(error.description.contains("did you mean 'weekday'?"), "\(error)")
        }
        do {
            _ = try PolicyLoader.parse(Self.models + "\nrules:\n  - {serve: local}\ntests:\n  - {request: {model: auto, messages: []}, signals: {weekday: [a, b]}, expect: {rule: x}}\n",
                                       file: "p.yaml", signals: registry)
            Issue.record("a stub of the wrong type loaded")
        } catch {
            #expect(error.description.contains("`weekday` must be a string"), "\(error)")
        }
    }

    /// A condition that reads one signal, whatever its type, and does not hold: every rule is tried.
    static func reads(_ entry: SignalTable.Entry, _ definition: SignalDefinition) -> String {
        switch definition.kind {
        case .number: "\(entry.name) < 0"
        case .string: "\(entry.name) == \"never-a-value\""
        case .bool, .set: "\(entry.name) and false"
        }
    }

    /// A value each kind of signal may be stubbed with.
    static func stub(_ definition: SignalDefinition) -> ConditionValue {
        switch definition.kind {
        case .number: .number(definition.range?.lowerBound == 0 && definition.range?.upperBound == 1 ? 0.5 : 3)
        case .string: .string("stubbed")
        case .bool: .bool(true)
        case .set: .set(Set(definition.members?.prefix(1) ?? []))
        }
    }

    @Test("every registered signal appears in explain when a rule reads it, and can be stubbed: the registry cannot drift from explain")
    func everySignalExplained() async throws {
        let registry = SignalRegistry.standard.adding(Self.weekday)
        var table = SignalTable(registry: registry, localTargets: ["local"])
        _ = table.resolve("header.app")
        let readable = table.entries.enumerated().filter { table.definition(at: $0.offset).cost != .afterGeneration }
        let conditions = readable.map { Self.reads($0.element, table.definition(at: $0.offset)) }
        let policy = try PolicyLoader.parse(Self.models + "\nrules:\n" + conditions.enumerated().map { "  - {name: r\($0.offset), when: '\($0.element)', serve: local}" }.joined(separator: "\n")
                                            + "\n  - {name: last, serve: local}\n", file: "p.yaml", signals: registry)
        // Computed: a request that matches no rule before the last reads every signal.
        let decider = Decider(policy: policy, box: FixedBox())
        let request = try Self.chat("hi")
        let decision = try await decider.decide(request, Decider.Inputs(headers: ["app": "crm", "day": "friday"], explain: true))
        let shown = decision.json(signals: policy.signals)["signals"]?.objectValue?.fields.map(\.key) ?? []
        for entry in readable.map(\.element) { #expect(shown.contains(entry.name), "explain omits \(entry.name)") }
        // Stubbed: each signal takes a stub of its type, and explain shows the stub.
        for (slot, entry) in policy.signals.entries.enumerated() {
            let value = Self.stub(policy.signals.definition(at: slot))
            #expect(policy.signals.definition(at: slot).problem(with: value, name: entry.name) == nil, "\(entry.name)")
            let stubbed = try await decider.decide(request, Decider.Inputs(stubs: [(slot, value)], explain: true))
            #expect(stubbed.signals[slot] == value, "\(entry.name)")
            #expect(stubbed.json(signals: policy.signals)["signals"]?[entry.name] != nil, "explain omits the stubbed \(entry.name)")
        }
    }

    @Test("the box's own state as signals: queue, free slots and readiness of each local target")
    func boxSignals() async throws {
        let policy = try PolicyLoader.parse(Self.models + """

        rules:
          - {name: down, when: not local.ready, serve: cloud}
          - {name: spill, when: local.free_slots == 0 and local.queue >= 4, serve: cloud, fallbacks: [local]}
          - {name: box, serve: local}
        """, file: "p.yaml")
        let cases: [(FixedBox, String)] = [
            (FixedBox(queued: 0, freeSlots: 2), "box"),
            (FixedBox(queued: 3, freeSlots: 0), "box"),
            (FixedBox(queued: 4, freeSlots: 0), "spill"),
            (FixedBox(queued: 9, freeSlots: 1), "box"),
            (FixedBox(ready: false), "down"),
        ]
        for (box, rule) in cases {
            let decision = try await Decider(policy: policy, box: box).decide(Self.chat("hi"))
            #expect(decision.rule == rule, "\(box)")
            if rule == "spill" { #expect(decision.reason == "rule:spill local.free_slots=0==0 local.queue=4>=4") }
        }
        // Without a box (policy test, explain from the command line) the box's signals are unknown: no rule on them holds.
        #expect(try await Decider(policy: policy).decide(Self.chat("hi")).rule == "box")
    }

    @Test("spill-over under saturation never carries private data off the box")
    func spillOverPrivateData() async throws {
        let policy = try PolicyLoader.parse(Self.models + """

        constraints:
          private_data: {classes: [email], allowed_targets: [local]}
        rules:
          - {name: spill, when: local.free_slots == 0 and local.queue >= 4, serve: cloud, fallbacks: [local]}
          - {name: box, serve: local}
        """, file: "p.yaml")
        let decider = Decider(policy: policy, box: FixedBox(queued: 8, freeSlots: 0))
        let plain = try await decider.decide(Self.chat("Name three rivers."))
        #expect(plain.rule == "spill" && plain.action == .serve(Serve(targets: ["cloud", "local"])))
        let private_ = try await decider.decide(Self.chat("Write to jane.doe@example.com."))
        #expect(private_.rule == "spill" && private_.action == .serve(Serve(targets: ["local"])) && private_.privateData == ["email"])
    }

    @Test("header names are one spelling everywhere: conditions, policy test headers and stubs, whatever their case")
    func headerCase() async throws {
        let policy = try PolicyLoader.parse(Self.models + """

        rules:
          - {name: crm, when: 'header.App == "crm"', serve: cloud}
          - {name: rest, serve: local}
        tests:
          - {name: header, request: {model: auto, messages: [{role: user, content: hi}]}, headers: {X-Switchyard-APP: crm}, expect: {rule: crm}}
          - {name: stub, request: {model: auto, messages: [{role: user, content: hi}]}, signals: {header.APP: crm}, expect: {rule: crm}}
        """, file: "p.yaml")
        let outcomes = await PolicyTestRunner(policy: policy).run()
        let failures = outcomes.flatMap { $0.failures }
        #expect(failures.isEmpty, "\(failures)")
        let decision = try await Decider(policy: policy).decide(Self.chat("hi"), Decider.Inputs(headers: ["app": "crm"]))
        #expect(decision.rule == "crm")
    }

    @Test("policy tests and explain read every front's format, and decide the same conversation alike")
    func formats() async throws {
        let policy = try PolicyLoader.parse(Self.models + """

        rules:
          - {name: long, when: messages >= 2, serve: cloud}
          - {name: rest, serve: local}
        tests:
          - name: anthropic
            format: anthropic
            request: {model: auto, max_tokens: 10, system: be brief, messages: [{role: user, content: hi}, {role: assistant, content: hello}, {role: user, content: more}]}
            expect: {rule: long}
          - name: responses
            format: responses
            request: {model: auto, input: [{role: user, content: hi}, {role: assistant, content: hello}, {role: user, content: more}]}
            expect: {rule: long}
        """, file: "p.yaml")
        let outcomes = await PolicyTestRunner(policy: policy).run()
        let failures = outcomes.flatMap { $0.failures }
        #expect(failures.isEmpty, "\(failures)")
        let unknown = Self.models + "\nrules:\n  - {serve: local}\ntests:\n  - {format: gemini, request: {model: auto}, expect: {rule: x}}\n"
        #expect(throws: PolicyError.self) { _ = try PolicyLoader.parse(unknown, file: "p.yaml") }
    }

    @Test("a cascade's verdict: no token means an unknown confidence, kept; the trust a decision carries scores it; a learning policy asks for the top-k")
    func cascadeVerdict() async throws {
        let policy = try PolicyLoader.parse(Self.models + """

        rules:
          - {name: learn, cascade: {first: local, escalate_to: cloud, when: "confidence < auto", risk: 0.2, threshold: 0.5}}
        learning: {judge: cloud}
        """, file: "p.yaml")
        let decider = Decider(policy: policy)
        let request = try Self.chat("hi")
        guard case .cascade(let cascade) = policy.rules[0].action else { Issue.record("not a cascade"); return }
        // A version whose model ignores the features: confidence = sigmoid(bias) = 0.731…
        let names = ConfidenceModelFeatures.names
        let model = LogisticModel(features: names, mean: names.map { _ in 0 }, scale: names.map { _ in 1 }, weights: names.map { _ in 0 }, bias: 1)
        let trust = Trust(calibration: Calibration(version: 7, model: model))
        let decision = try await decider.decide(request, Decider.Inputs(trust: trust))
        let none = await decider.escalation(cascade, after: decision, request: request, tokens: ([], []))
        #expect(none.confidence == nil && !none.escalate, "a comparison on an unknown confidence is false")
        let scored = await decider.escalation(cascade, after: decision, request: request, tokens: ([-0.1], [[-0.1, -3]]))
        #expect(scored.calibrationVersion == 7 && abs((scored.confidence ?? 0) - model.probability(scored.features)) < 1e-12)
        #expect(scored.threshold?.value == 0.5 && scored.threshold?.source == .rule && !scored.escalate)
        // The first labels' features must be those later fits read: top-k from the start.
        #expect(decider.needsTopLogprobs(nil))
        #expect(!Decider(policy: try PolicyLoader.parse(Self.models, file: "p.yaml")).needsTopLogprobs(nil))
    }
}
