/// What the learning loop keeps (docs/routing.md, "Learning from live traffic"): labels,
/// calibration versions and the features of answers a caller may still rate. In the ledger, so
/// that SQLite and PostgreSQL both work and replicas share them.
public protocol LearningLedger: Sendable {
    /// Appends a label and returns its sequence number (increasing across replicas), or nil when
    /// the request already has a label from that source.
    func recordLabel(_ label: LabelRecord) async throws -> Int64?
    /// A target's newest `limit` labels with a sequence number above `after`, oldest first.
    func labels(target: String, after: Int64, newest limit: Int) async throws -> [(sequence: Int64, label: LabelRecord)]
    /// A target's labels by source.
    func labelCounts(target: String) async throws -> [String: Int]

    /// Stores a new version if it is the next one (the newest stored + 1, or 1); false when another
    /// replica stored that version first.
    func saveCalibration(_ calibration: CalibrationRecord) async throws -> Bool
    func latestCalibration(target: String) async throws -> CalibrationRecord?

    /// Remembers an answer a caller may rate; replaced if the request is remembered already.
    func rememberAnswer(_ answer: AnswerFeatures) async throws
    func rememberedAnswer(requestID: String) async throws -> AnswerFeatures?
    /// Forgets answers remembered before `before`; returns how many.
    func forgetAnswers(before: UnixTime) async throws -> Int
}
