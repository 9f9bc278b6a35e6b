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
        if request.model == Self.autoModel {
            guard let rule = policy.rules.first, case .serve(let target, let fallbacks) = rule.action else {
                throw .internalError("the policy has no rule")
            }
            return RouteDecision(rule: rule.name, candidates: [target] + fallbacks, reason: "rule:\(rule.name)")
        }
        guard policy.model(named: request.model) != nil else {
            throw .modelNotFound(request.model, available: modelNames)
        }
        return RouteDecision(rule: "model:\(request.model)", candidates: [request.model], reason: "requested-model")
    }
}
