import SwitchyardPolicy
import SwitchyardWire

extension RouteDecision {
    /// The decision trace as `policy explain` and `POST /v1/switchyard/explain` print it:
    /// the signals computed (with values), each rule tried and why, the action and its targets.
    public var json: JSON {
        var action: JSONObject
        switch self.action {
        case .serve(let targets):
            action = ["kind": .string("serve"), "targets": .array(targets.map(JSON.string))]
        case .cascade(let cascade):
            action = ["kind": .string("cascade"), "first": .string(cascade.first), "escalate_to": .string(cascade.escalateTo),
                      "when": .string(cascade.when.source), "fallbacks": .array(cascade.fallbacks.map(JSON.string))]
        case .deny(let message):
            action = ["kind": .string("deny"), "status": .int(403), "message": .string(message)]
        }
        var object: JSONObject = [
            "rule": .string(rule),
            "reason": .string(reason),
            "action": .object(action),
            "signals": signals.json,
            "rules": .array(trace.map(\.json)),
        ]
        if !privateData.isEmpty { object["private_data"] = .array(privateData.map(JSON.string)) }
        return .object(object)
    }
}

extension RuleTrace {
    var json: JSON {
        var object: JSONObject = ["rule": .string(rule), "when": .string(condition)]
        switch outcome {
        case .matched: object["result"] = .string("matched")
        case .notMatched: object["result"] = .string("not matched")
        case .skipped(let why):
            object["result"] = .string("skipped")
            object["why"] = .string(why)
        }
        if !facts.isEmpty { object["facts"] = .array(facts.map(JSON.string)) }
        return .object(object)
    }
}

extension SignalValues {
    /// Only the signals that were computed (or stubbed) for this decision.
    public var json: JSON {
        var object = JSONObject()
        func put(_ name: String, _ value: JSON?) { if let value { object[name] = value } }
        put("model", model.map(JSON.string))
        put("tenant", tenant.map(JSON.string))
        put("team", team.map(JSON.string))
        put("messages", messages.map(JSON.int))
        put("prompt_chars", promptChars.map(JSON.int))
        put("prompt_tokens", promptTokens.map(JSON.int))
        if promptTokens != nil, promptTokensEstimated { object["prompt_tokens_estimated"] = .bool(true) }
        put("prompt_ratio", promptRatio.map(JSON.double))
        put("max_tokens", maxTokens.map(JSON.int))
        put("stream", stream.map(JSON.bool))
        put("tools", tools.map(JSON.bool))
        put("images", images.map(JSON.bool))
        put("pii", pii.map { .array($0.sorted().map(JSON.string)) })
        put("complexity", complexity.map(JSON.double))
        put("confidence", confidence.map(JSON.double))
        for (name, value) in headers.sorted(by: { $0.key < $1.key }) { object["header.\(name)"] = .string(value) }
        return .object(object)
    }
}
