/// Every signal a policy can read: the standard ones, plus any a caller adds (a test, or a
/// build of the gateway with a signal of its own). Order is stable: explain lists signals in it.
public struct SignalRegistry: Sendable {
    public let definitions: [SignalDefinition]

    public init(_ definitions: [SignalDefinition]) { self.definitions = definitions }

    /// The registry with one more signal.
    public func adding(_ definition: SignalDefinition) -> SignalRegistry { SignalRegistry(definitions + [definition]) }

    /// The definition a condition's name refers to, and its parameter (the header's or the
    /// target's name; empty for a signal with one name). `localTargets` are the policy's local models.
    public func resolve(_ name: String, localTargets: [String]) -> (definition: Int, parameter: String, name: String)? {
        for (index, definition) in definitions.enumerated() {
            switch definition.naming {
            case .exactly(let exact) where exact == name:
                return (index, "", name)
            case .header where name.hasPrefix("header.") && name.count > 7:
                // One spelling for every header: HTTP field names are case-insensitive.
                let header = String(name.dropFirst(7)).lowercased()
                return (index, header, "header." + header)
            case .localTarget(let suffix):
                for target in localTargets where name == target + "." + suffix { return (index, target, name) }
            default:
                continue
            }
        }
        return nil
    }

    /// Names a condition may use, for "did you mean" hints.
    public func names(localTargets: [String]) -> [String] {
        definitions.flatMap { definition -> [String] in
            switch definition.naming {
            case .exactly(let name): [name]
            case .header: ["header.NAME"]
            case .localTarget(let suffix): localTargets.map { $0 + "." + suffix }
            }
        }
    }
}
