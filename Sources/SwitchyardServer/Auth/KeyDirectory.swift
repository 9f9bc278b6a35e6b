import SwitchyardLedger
import SwitchyardDecision
import SwitchyardExecution
import SwitchyardSignals

/// A key as the gateway enforces it: who it identifies, its rate limits and its own budget.
struct AuthenticatedKey: Sendable, Equatable {
    var caller: Caller
    /// Requests and tokens per minute; nil: unlimited.
    var rpm: Int?
    var tpm: Int?
    var budget: BudgetScope?

    init(caller: Caller, rpm: Int? = nil, tpm: Int? = nil, budget: BudgetScope? = nil) {
        self.caller = caller
        self.rpm = rpm
        self.tpm = tpm
        self.budget = budget
    }
}

enum KeyLookup: Sendable, Equatable {
    case valid(AuthenticatedKey)
    case unknown
    case revoked
}

/// Looks keys up by their secret (hashed inside; a secret is never stored or logged).
protocol KeyDirectory: Sendable {
    func lookup(secret: String) async throws -> KeyLookup
}
