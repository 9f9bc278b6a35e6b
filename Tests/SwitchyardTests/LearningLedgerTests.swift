import Testing
import SwitchyardLedger

/// What the learning loop keeps, the same on both stores: labels in one sequence, calibration
/// versions stored only as the next one (two replicas that refit at once keep one), answers a
/// caller may still rate.
@Suite("Learning ledger", .postgresCluster, .timeLimit(.minutes(3)))
struct LearningLedgerTests {
    static func label(_ request: String, _ source: String = "shadow", target: String = "local", score: Double = 1,
                      propensity: Double? = 0.25, features: [Double] = [-0.125, 3, 1e-300, -7.5e12]) -> LabelRecord {
        LabelRecord(requestID: request, source: source, target: target, features: features, score: score, propensity: propensity,
                    calibrationVersion: 2, streamed: source == "shadow", recordedAt: LedgerSamples.day)
    }

    @Test("labels: appended in one sequence, read back exactly, newest window oldest first, one per request and source", arguments: LedgerBackend.allCases)
    func labels(_ backend: LedgerBackend) async throws {
        try await LedgerLocation.fresh(backend).with { store in
            var sequences: [Int64] = []
            for n in 0..<5 {
                let seq = try await store.recordLabel(Self.label("r\(n)", n % 2 == 0 ? "shadow" : "escalation", score: Double(n % 2),
                                                                propensity: n % 2 == 0 ? 0.25 : 1))
                sequences.append(try #require(seq))
            }
            #expect(sequences == sequences.sorted() && Set(sequences).count == 5)
            // Another target's labels are apart; a second label of a request from the same source is refused.
            _ = try await store.recordLabel(Self.label("s0", target: "other"))
            #expect(try await store.recordLabel(Self.label("r0")) == nil)
            #expect(try await store.recordLabel(Self.label("r0", "feedback", propensity: nil)) != nil)

            let window = try await store.labels(target: "local", after: 0, newest: 3)
            #expect(window.map(\.label.requestID) == ["r3", "r4", "r0"])
            #expect(window.map(\.sequence) == window.map(\.sequence).sorted())
            #expect(window[0].label == Self.label("r3", "escalation", score: 1, propensity: 1))
            #expect(window[2].label.propensity == nil && window[2].label.source == "feedback")
            #expect(try await store.labels(target: "local", after: sequences[3], newest: 100).map(\.label.requestID) == ["r4", "r0"])
            #expect(try await store.labelCounts(target: "local") == ["shadow": 3, "escalation": 2, "feedback": 1])
            #expect(try await store.labelCounts(target: "other") == ["shadow": 1])
        }
    }

    @Test("calibrations: only the next version is stored; two replicas saving the same version keep one", arguments: LedgerBackend.allCases)
    func calibrations(_ backend: LedgerBackend) async throws {
        let location = try await LedgerLocation.fresh(backend)
        try await location.with { store in
            #expect(try await store.latestCalibration(target: "local") == nil)
            let first = CalibrationRecord(target: "local", version: 1, model: #"{"bias":0.5}"#, fittedThrough: 40, labelsUsed: 40,
                                          adoptedAt: LedgerSamples.day, report: "{}")
            #expect(try await store.saveCalibration(first))
            #expect(try await !store.saveCalibration(first))
            var skip = first
            skip.version = 3
            #expect(try await !store.saveCalibration(skip), "version 3 before 2")
            #expect(try await store.latestCalibration(target: "local") == first)

            // Two replicas, each with its own candidate for version 2, at once.
            let second = try await location.open()
            defer { Task { try? await second.close() } }
            let a = CalibrationRecord(target: "local", version: 2, model: #"{"bias":1}"#, fittedThrough: 80, labelsUsed: 80,
                                      adoptedAt: LedgerSamples.day, report: "{}")
            let b = CalibrationRecord(target: "local", version: 2, model: #"{"bias":2}"#, fittedThrough: 81, labelsUsed: 81,
                                      adoptedAt: LedgerSamples.day, report: "{}")
            async let savedA = store.saveCalibration(a)
            async let savedB = second.saveCalibration(b)
            let (okA, okB) = try await (savedA, savedB)
            #expect(okA != okB, "exactly one of the two is stored")
            let latest = try await second.latestCalibration(target: "local")
            #expect(latest == (okA ? a : b))
            #expect(try await store.latestCalibration(target: "local") == latest)
        }
    }

    @Test("remembered answers: read back by request id, replaced, forgotten by age", arguments: LedgerBackend.allCases)
    func rememberedAnswers(_ backend: LedgerBackend) async throws {
        try await LedgerLocation.fresh(backend).with { store in
            let old = AnswerFeatures(requestID: "a", keyID: "key_1", target: "local", features: [0.5, -2], calibrationVersion: 0,
                                     streamed: false, createdAt: LedgerSamples.day)
            var new = old
            (new.requestID, new.keyID, new.createdAt) = ("b", nil, LedgerSamples.day + .seconds(3600))
            try await store.rememberAnswer(old)
            try await store.rememberAnswer(new)
            #expect(try await store.rememberedAnswer(requestID: "a") == old)
            var replaced = old
            replaced.features = [1]
            try await store.rememberAnswer(replaced)
            #expect(try await store.rememberedAnswer(requestID: "a") == replaced)
            #expect(try await store.forgetAnswers(before: LedgerSamples.day + .seconds(60)) == 1)
            #expect(try await store.rememberedAnswer(requestID: "a") == nil)
            #expect(try await store.rememberedAnswer(requestID: "b") == new)
        }
    }
}
