/// What the gateway learned about one local answer: whether it was right, and how that came
/// to be known. No prompt or answer text: only the confidence model's inputs, the verdict and
/// the probability that this request was labelled at all.
public struct Label: Sendable, Equatable {
    /// How the verdict was obtained.
    public enum Source: String, Sendable, CaseIterable {
        /// A cascade escalated: the discarded local answer was judged against the cloud's.
        case escalation
        /// A request the cascade kept on the box was also sent, afterwards, to the escalation
        /// target, and the local answer judged against that.
        case shadow
        /// The caller said whether the answer was right (`POST /v1/switchyard/feedback`).
        case feedback
    }

    /// The request the answer belonged to.
    public var requestID: String
    public var source: Source
    /// The confidence model's inputs (`ConfidenceModelFeatures.names`), as the decision computed them.
    public var features: [Double]
    /// 1 when the local answer was right, 0 when wrong; a graded verdict lies between.
    public var score: Double
    /// The probability that this request would be labelled this way, given what the gateway knew
    /// when it decided (1 for an escalation, the shadow rate for a shadowed request). Nil when
    /// the gateway did not choose (feedback): such labels inform the fit, never the risk bound.
    public var propensity: Double?
    /// The calibration version in force when the request was decided (0: none).
    public var calibrationVersion: Int
    /// When the verdict was recorded, in milliseconds since 1970 (UTC).
    public var recordedAtMilliseconds: Int64
    /// Streamed requests are decided on a held-back prefix of the answer; their features describe that prefix.
    public var streamed: Bool

    public init(requestID: String, source: Source, features: [Double], score: Double, propensity: Double?,
                calibrationVersion: Int, recordedAtMilliseconds: Int64, streamed: Bool = false) {
        self.requestID = requestID
        self.source = source
        self.features = features
        self.score = score
        self.propensity = propensity
        self.calibrationVersion = calibrationVersion
        self.recordedAtMilliseconds = recordedAtMilliseconds
        self.streamed = streamed
    }

    /// How much the answer was wrong: 1 − score.
    public var loss: Double { 1 - score }

    /// Inverse-propensity weight: a label that had a 1-in-10 chance of being taken stands for ten
    /// requests like it. Labels without a propensity count once.
    public var weight: Double { 1 / max(propensity ?? 1, 1e-6) }

    /// Whether the gateway chose this label by a known probability, so it may enter the risk bound.
    public var entersRiskBound: Bool { propensity != nil }

    /// Which half of the labels this one is in, fixed by its request id (the same on every
    /// replica): half fit the confidence model, the other half only ever estimate its risk and
    /// quality. So the bound always rests on labels no calibration was fitted on, however often
    /// it is refitted, and half of all labels, not only those since the last refit, count.
    public var half: Half { Self.fnv1a(requestID) & 1 == 0 ? .fit : .bound }

    public enum Half: Sendable { case fit, bound }

    /// FNV-1a, 64 bits: a hash that is the same in every process (Swift's `Hasher` is seeded per process).
    static func fnv1a(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return hash
    }
}
