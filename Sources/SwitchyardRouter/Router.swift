import SwitchyardPolicy
import SwitchyardProviders
import SwitchyardWire

/// Decides where a request is served, from the policy and the providers' availability.
/// Built once per policy load; `decide` does no I/O and allocates little.
public struct RequestRouter: Sendable {
    public let policy: Policy
    private let providers: [String: any Provider]
    /// Names clients may ask for: `auto` plus every policy model.
    public let modelNames: [String]

    public static let autoModel = "auto"

    public init(policy: Policy, providers: [any Provider]) {
        self.policy = policy
        self.providers = Dictionary(uniqueKeysWithValues: providers.map { ($0.target.name, $0) })
        modelNames = [Self.autoModel] + policy.models.map(\.name)
    }

    public func provider(_ name: String) -> (any Provider)? { providers[name] }

    public func decide(_ request: ChatRequest) throws(APIError) -> RouteDecision {
        var decision: RouteDecision
        if request.model == Self.autoModel || request.model.isEmpty {
            guard let rule = policy.rules.first, case .serve(let target, let fallbacks) = rule.action else {
                throw .internalError("the policy has no rule")
            }
            decision = RouteDecision(rule: rule.name, candidates: [target] + fallbacks, reason: "rule:\(rule.name)")
        } else if policy.model(named: request.model) != nil {
            decision = RouteDecision(rule: "model:\(request.model)", candidates: [request.model], reason: "requested-model")
        } else {
            throw .modelNotFound(request.model, available: modelNames)
        }
        return withoutUnconfigured(decision)
    }

    /// Drops targets that cannot work until an operator acts. If that leaves nothing, the
    /// request is answered on the box rather than failed: Switchyard serves with no cloud key.
    private func withoutUnconfigured(_ decision: RouteDecision) -> RouteDecision {
        var result = decision
        result.candidates = []
        for name in decision.candidates {
            if case .unconfigured(let detail) = providers[name]?.availability {
                result.skipped.append(SkippedTarget(target: name, why: .unconfigured(detail)))
            } else {
                result.candidates.append(name)
            }
        }
        if result.candidates.isEmpty, let local = policy.localModels.first {
            result.candidates = [local.name]
            result.reason += ";served-locally"
        }
        return result
    }
}
