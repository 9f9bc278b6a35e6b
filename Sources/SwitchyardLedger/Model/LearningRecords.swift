/// A verdict on one local answer, as the ledger keeps it (SwitchyardLearning's `Label` without
/// the math): the confidence model's inputs, the verdict and how it was chosen. Never the
/// prompt or the answer.
public struct LabelRecord: Sendable, Equatable {
    public var requestID: String
    /// `escalation`, `shadow` or `feedback`.
    public var source: String
    /// The local target whose answer was judged.
    public var target: String
    public var features: [Double]
    /// 1 right, 0 wrong.
    public var score: Double
    /// The probability the gateway labelled this request (nil: it did not choose, e.g. feedback).
    public var propensity: Double?
    public var calibrationVersion: Int
    public var streamed: Bool
    public var recordedAt: UnixTime

    public init(requestID: String, source: String, target: String, features: [Double], score: Double, propensity: Double?,
                calibrationVersion: Int, streamed: Bool, recordedAt: UnixTime) {
        self.requestID = requestID
        self.source = source
        self.target = target
        self.features = features
        self.score = score
        self.propensity = propensity
        self.calibrationVersion = calibrationVersion
        self.streamed = streamed
        self.recordedAt = recordedAt
    }
}

/// One adopted version of a local target's confidence model. Versions of a target are
/// consecutive; replicas adopt the newest.
public struct CalibrationRecord: Sendable, Equatable {
    public var target: String
    public var version: Int
    /// The model's JSON (`LogisticModel.json`), or nil for "uncalibrated".
    public var model: String?
    /// The last label sequence number the fit used.
    public var fittedThrough: Int64
    public var labelsUsed: Int
    public var adoptedAt: UnixTime
    /// What the adoption compared (JSON), for `calibration status`.
    public var report: String

    public init(target: String, version: Int, model: String?, fittedThrough: Int64, labelsUsed: Int, adoptedAt: UnixTime, report: String) {
        self.target = target
        self.version = version
        self.model = model
        self.fittedThrough = fittedThrough
        self.labelsUsed = labelsUsed
        self.adoptedAt = adoptedAt
        self.report = report
    }
}

/// What the gateway remembers of an answer the box served through a cascade, so that its caller
/// can say later whether it was right (`POST /v1/switchyard/feedback`).
public struct AnswerFeatures: Sendable, Equatable {
    public var requestID: String
    /// The key that made the request: only it may rate the answer (nil: anonymous).
    public var keyID: String?
    public var target: String
    public var features: [Double]
    public var calibrationVersion: Int
    public var streamed: Bool
    public var createdAt: UnixTime

    public init(requestID: String, keyID: String?, target: String, features: [Double], calibrationVersion: Int, streamed: Bool,
                createdAt: UnixTime) {
        self.requestID = requestID
        self.keyID = keyID
        self.target = target
        self.features = features
        self.calibrationVersion = calibrationVersion
        self.streamed = streamed
        self.createdAt = createdAt
    }
}

/// Feature vectors as text (SQLite has no arrays): `[1.5,-0.25]`, each number in Swift's
/// shortest round-trip form, read back exactly and refused if not finite.
enum FeatureText {
    static func encode(_ features: [Double]) -> String {
        "[" + features.map { "\($0)" }.joined(separator: ",") + "]"
    }

    static func decode(_ text: String, column: String) throws -> [Double] {
        guard text.hasPrefix("["), text.hasSuffix("]") else { throw LedgerError.unreadable(column) }
        let inner = text.dropFirst().dropLast()
        if inner.isEmpty { return [] }
        return try inner.split(separator: ",", omittingEmptySubsequences: false).map { part in
            guard let value = Double(part), value.isFinite else { throw LedgerError.unreadable(column) }
            return value
        }
    }
}
