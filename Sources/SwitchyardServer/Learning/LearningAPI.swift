import Hummingbird
import SwitchyardLearning
import SwitchyardLedger
import SwitchyardSignals
import SwitchyardWire

/// The learning loop's endpoints (docs/api.md):
/// - `POST /v1/switchyard/feedback` `{request_id, correct | score}`: a caller says whether an
///   answer the box served through a cascade was right. A key rates only its own requests
///   (another's id is answered as unknown, so ids cannot be probed), once each, within
///   `learning.feedback_window`. The label enters the fit, never the risk bound (the gateway
///   did not choose which answers get rated).
/// - `GET /v1/switchyard/calibration` (admin key): the calibration and thresholds in force here.
struct LearningAPI: Sendable {
    let live: LivePolicy
    let learner: Learner
    let adminKey: OperatorSecret?

    func feedback(_ request: Request, caller: Caller) async throws -> Response {
        guard let settings = live.snapshot.policy.learning else { throw Self.learningOff }
        let body = try await request.body.collect(upTo: 16 << 10)
        let json: JSON
        do { json = try JSON.parse(body.readableBytesView) } catch { throw GatewayError(jsonError: error) }
        guard case .object(let object) = json else { throw GatewayError.invalidRequest("The body must be a JSON object.") }
        let fields = FieldReader(object)
        try fields.onlyFields(["request_id", "correct", "score"])
        let requestID = try fields.requiredString("request_id")
        let correct = try fields.bool("correct")
        let graded = try fields.double("score", range: 0...1)
        guard let score = correct.map({ $0 ? 1.0 : 0.0 }) ?? graded, (correct == nil) != (graded == nil) else {
            throw GatewayError.invalidRequest("Give exactly one of `correct` (true or false) and `score` (0 to 1).", param: "correct")
        }
        let now = UnixTime.now
        let remembered: AnswerFeatures?
        do { remembered = try await learner.ledger.rememberedAnswer(requestID: requestID) } catch { throw GatewayError.ledgerUnavailable(error) }
        guard let answer = remembered, answer.keyID == caller.keyID,
              now.milliseconds - answer.createdAt.milliseconds <= settings.feedbackWindow.wholeMilliseconds else {
            throw GatewayError(status: 404, code: "unknown_request",
                               message: "No answer this key may rate has the id '\(requestID)': feedback is taken for answers the box served through a cascade, from the key that asked, within the feedback window.")
        }
        let label = LabelRecord(requestID: requestID, source: Label.Source.feedback.rawValue, target: answer.target, features: answer.features,
                                score: score, propensity: nil, calibrationVersion: answer.calibrationVersion, streamed: answer.streamed,
                                recordedAt: now)
        let stored: Bool
        do { stored = try await learner.record(label) } catch { throw GatewayError.ledgerUnavailable(error) }
        guard stored else {
            throw GatewayError(status: 409, code: "already_rated", message: "The answer '\(requestID)' has been rated already.")
        }
        return AdminAPI.json(.object(["object": .string("feedback"), "request_id": .string(requestID), "score": .double(score)]),
                             status: .created)
    }

    func calibration(_ request: Request) async throws -> Response {
        try AdminAPI.requireAdmin(request, adminKey: adminKey)
        guard live.snapshot.policy.learning != nil else { throw Self.learningOff }
        guard let state = learner.trust.current else {
            throw GatewayError(status: 503, code: "calibration_loading", message: "The calibration has not been read from the ledger yet.")
        }
        return AdminAPI.json(state.json)
    }

    static let learningOff = GatewayError(status: 404, code: "learning_disabled",
                                          message: "The policy does not learn: it has no `learning:` section (docs/policy.md).")
}
