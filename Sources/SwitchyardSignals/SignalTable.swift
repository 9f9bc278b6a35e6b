/// The signals one policy can read, each at a fixed slot: every signal with one name, every
/// per-target signal of the policy's local models, and each `header.NAME` its conditions or
/// tests mention. Built while the policy loads; a request's values are an array indexed by slot,
/// so nothing is looked up by name per request.
public struct SignalTable: Sendable {
    public struct Entry: Sendable, Equatable {
        /// As conditions and explain write it: `prompt_tokens`, `header.app`, `local.queue`.
        public let name: String
        public let definition: Int
        public let parameter: String
    }

    public let registry: SignalRegistry
    public let localTargets: [String]
    public private(set) var entries: [Entry] = []
    private var slots: [String: Int] = [:]

    public init(registry: SignalRegistry, localTargets: [String]) {
        self.registry = registry
        self.localTargets = localTargets
        for (index, definition) in registry.definitions.enumerated() {
            switch definition.naming {
            case .exactly(let name): add(Entry(name: name, definition: index, parameter: ""))
            case .localTarget(let suffix): for target in localTargets { add(Entry(name: target + "." + suffix, definition: index, parameter: target)) }
            case .header: continue
            }
        }
    }

    private mutating func add(_ entry: Entry) {
        slots[entry.name] = entries.count
        entries.append(entry)
    }

    public var count: Int { entries.count }

    public func definition(at slot: Int) -> SignalDefinition { registry.definitions[entries[slot].definition] }

    /// The slot of a name a condition or a stub uses, adding a `header.NAME` the first time; nil
    /// for a name no signal has.
    public mutating func resolve(_ name: String) -> Int? {
        if let slot = slots[name] { return slot }
        guard let found = registry.resolve(name, localTargets: localTargets) else { return nil }
        if let slot = slots[found.name] { return slot }
        add(Entry(name: found.name, definition: found.definition, parameter: found.parameter))
        return entries.count - 1
    }

    /// The slot of a signal already in the table.
    public func slot(named name: String) -> Int? { slots[name] }
}

/// One request's signal values by slot; a signal no rule looked at stays nil.
public struct SignalValues: Sendable, Equatable {
    public private(set) var values: [ConditionValue?]

    public init(count: Int) { values = Array(repeating: nil, count: count) }

    public subscript(slot: Int) -> ConditionValue? {
        get { slot < values.count ? values[slot] : nil }
        set { if slot < values.count { values[slot] = newValue } }
    }

    public func has(_ slot: Int) -> Bool { self[slot] != nil }
}
