import SwitchyardPolicy
import SwitchyardSignals

/// Conditions over a set of models with the standard signals, and values given by signal name:
/// what the condition tests parse and evaluate against.
struct SignalFixture {
    let models: [ModelTarget]
    var table: SignalTable

    init(models: [ModelTarget], registry: SignalRegistry = .standard) {
        self.models = models
        table = SignalTable(registry: registry, localTargets: models.filter(\.isLocal).map(\.name))
    }

    mutating func parse(_ source: String) throws(ConditionError) -> Condition {
        try Condition.parse(source, models: models, signals: &table)
    }

    /// Values by name (a name the table does not know yet, a `header.NAME`, is added).
    mutating func values(_ named: [String: ConditionValue]) -> SignalValues {
        let slots = named.map { (table.resolve($0.key)!, $0.value) }
        var values = SignalValues(count: table.count + 16)
        for (slot, value) in slots { values[slot] = value }
        return values
    }

    mutating func slot(_ name: String) -> Int { table.resolve(name)! }
}
