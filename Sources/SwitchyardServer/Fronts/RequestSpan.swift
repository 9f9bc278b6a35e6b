import SwitchyardDecision
import SwitchyardExecution
import SwitchyardTracing
import SwitchyardWire
import Tracing

/// What a request's span says, as the request path learns it: the front and the request as
/// parsed, the decision, where it was served and what it cost, and how it ended. Prompt and
/// answer text only under `tracing.capture_content`.
extension RequestTrace {
    func opened(requestID: String, front: FrontEnd) {
        span.updateAttributes { attributes in
            attributes[TraceAttribute.requestID] = requestID
            attributes[TraceAttribute.front] = front.rawValue
            attributes[TraceAttribute.httpMethod] = "POST"
            attributes[TraceAttribute.httpRoute] = front.route
            attributes[TraceAttribute.operationName] = "chat"
        }
    }

    func parsed(_ summary: RequestSummary) {
        span.updateAttributes { attributes in
            attributes[TraceAttribute.requestModel] = summary.model
            if let max = summary.maxTokens { attributes[TraceAttribute.requestMaxTokens] = max }
            attributes[TraceAttribute.requestStream] = summary.stream
            if captureContent { attributes[TraceAttribute.inputMessages] = CapturedContent.input(summary) }
        }
    }

    /// The decision in its own span, a child of the request's.
    func decide(_ decider: Decider, _ summary: RequestSummary, _ inputs: Decider.Inputs) async throws(GatewayError) -> Decision {
        let deciding = child(SpanName.decision)
        defer { deciding.end() }
        do {
            let decision = try await decider.decide(summary, inputs)
            let action = switch decision.action {
            case .serve: "serve"
            case .cascade: "cascade"
            case .deny: "deny"
            }
            deciding.updateAttributes { attributes in
                attributes[TraceAttribute.rule] = decision.rule
                attributes[TraceAttribute.reason] = decision.reason
                attributes[TraceAttribute.action] = action
                // The classes found, never the values.
                if !decision.privateData.isEmpty { attributes[TraceAttribute.privateData] = decision.privateData }
            }
            span.attributes[TraceAttribute.rule] = decision.rule
            return decision
        } catch {
            deciding.attributes[TraceAttribute.errorType] = error.code ?? "refused"
            throw error
        }
    }

    /// Where it was served: the route, the target, a cascade's verdict, the targets passed over (by name only).
    func served<Answer>(_ served: Served<Answer>) {
        span.updateAttributes { attributes in
            attributes[TraceAttribute.route] = Tier(served.target).rawValue
            attributes[TraceAttribute.target] = served.target.name
            if let escalation = served.escalation {
                attributes[TraceAttribute.escalated] = escalation.escalated
                attributes[TraceAttribute.escalation] = escalation.reason
            }
            if !served.skipped.isEmpty { attributes[TraceAttribute.fallback] = served.skipped.map(\.target) }
        }
    }

    /// Ends the request's span on its answer: a whole one, or a stream that has ended one way or another.
    func answered(status: Int, costNanodollars: Int64, output: String?, broken: String? = nil) {
        span.updateAttributes { attributes in
            attributes[TraceAttribute.httpStatus] = status
            if costNanodollars > 0 { attributes[TraceAttribute.costUSD] = Double(costNanodollars) / 1e9 }
            if captureContent, let output { attributes[TraceAttribute.outputMessages] = CapturedContent.output(output) }
            if let broken { attributes[TraceAttribute.errorType] = broken }
        }
        if broken != nil { span.setStatus(SpanStatus(code: .error)) }
        span.end()
    }

    /// Ends the request's span on an error answer: a server error (5xx) is the span's error; a
    /// refused request (4xx) says why without being one.
    func failed(_ error: GatewayError, costNanodollars: Int64) {
        span.updateAttributes { attributes in
            attributes[TraceAttribute.httpStatus] = error.httpStatus
            attributes[TraceAttribute.errorType] = error.code ?? String(error.httpStatus)
            if costNanodollars > 0 { attributes[TraceAttribute.costUSD] = Double(costNanodollars) / 1e9 }
        }
        if error.httpStatus >= 500 { span.setStatus(SpanStatus(code: .error)) }
        span.end()
    }
}
