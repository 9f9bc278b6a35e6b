import SwitchyardLearning
import SwitchyardPolicy
import SwitchyardSignals
import SwitchyardWire

extension Decision {
    /// The decision as `policy explain` and `POST /v1/switchyard/explain` print it: every signal
    /// computed (or stubbed) with its value, each rule tried and why, the action and its targets.
    /// `signals` is the policy's table, which names each slot and says how to render its value.
    public func json(signals table: SignalTable) -> JSON {
        var object: JSONObject = [
            "rule": .string(rule),
            "reason": .string(reason),
            "action": action.json,
            "signals": signalsJSON(table),
        ]
        if let trace { object["rules"] = .array(trace.map(\.json)) }
        if let threshold { object["threshold"] = threshold.json }
        if !privateData.isEmpty { object["private_data"] = .array(privateData.map(JSON.string)) }
        return .object(object)
    }

    /// Only the signals that were computed (or stubbed) for this decision, in the table's order.
    func signalsJSON(_ table: SignalTable) -> JSON {
        var object = JSONObject()
        for slot in 0..<table.count {
            guard let value = signals[slot] else { continue }
            let entry = table.entries[slot]
            object[entry.name] = table.definition(at: slot).explain(value)
            if entry.name == "prompt_tokens", promptTokensEstimated { object["prompt_tokens_estimated"] = .bool(true) }
        }
        return .object(object)
    }
}

extension ThresholdInForce {
    /// The threshold in force, as explain and the calibration status show it.
    public var json: JSON {
        var object: JSONObject = [
            "value": value.isFinite ? .double(value) : .string("all"), "source": .string(source.rawValue),
            "calibration_version": .int(calibrationVersion), "labels": .int(labels), "drift": .bool(drift),
        ]
        if let estimatedRisk { object["estimated_risk"] = .double(estimatedRisk) }
        if let riskBound { object["risk_bound"] = .double(riskBound) }
        if let escalationRate { object["escalation_rate"] = .double(escalationRate) }
        return .object(object)
    }
}

extension Action {
    /// How explain shows an action.
    var json: JSON {
        switch self {
        case .serve(let serve):
            .object(["kind": .string("serve"), "targets": .array(serve.targets.map(JSON.string))])
        case .cascade(let cascade):
            .object(["kind": .string("cascade"), "first": .string(cascade.first), "escalate_to": .string(cascade.escalateTo),
                     "when": .string(cascade.when.source), "fallbacks": .array(cascade.fallbacks.map(JSON.string))])
        case .deny(let deny):
            .object(["kind": .string("deny"), "status": .int(403), "message": .string(deny.message)])
        }
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
