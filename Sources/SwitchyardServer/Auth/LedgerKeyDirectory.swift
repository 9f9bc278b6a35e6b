import SwitchyardLedger
import SwitchyardDecision
import SwitchyardExecution
import SwitchyardSignals
import Synchronization

/// API keys from the ledger, looked up by the SHA-256 of the secret (never the secret itself),
/// with a short cache so that a request does not cost a database read. A key revoked on another
/// replica stops working within `ttl`; one revoked through this gateway at once.
final class LedgerKeyDirectory: KeyDirectory {
    private struct Entry {
        var lookup: KeyLookup
        var expires: Double
    }

    private let ledger: any LedgerStore
    private let ttl: Double
    private let cache = Mutex<[String: Entry]>([:])

    init(ledger: any LedgerStore, ttl: Duration = .seconds(5)) {
        self.ledger = ledger
        self.ttl = Double(ttl.components.seconds) + Double(ttl.components.attoseconds) / 1e18
    }

    func lookup(secret: String) async throws -> KeyLookup {
        let hash = APIKeys.hash(secret)
        let now = RateLimiter.now()
        if let hit = cache.withLock({ $0[hash] }), hit.expires > now { return hit.lookup }
        let lookup: KeyLookup
        switch try await ledger.key(hash: hash) {
        case nil: lookup = .unknown
        case let record? where record.isRevoked: lookup = .revoked
        case let record?: lookup = .valid(AuthenticatedKey(record))
        }
        cache.withLock { cache in
            if cache.count > 10_000 { cache.removeAll() }
            cache[hash] = Entry(lookup: lookup, expires: now + ttl)
        }
        return lookup
    }

    /// Forgets cached lookups (after a key is revoked here).
    func invalidate() { cache.withLock { $0.removeAll() } }
}

extension AuthenticatedKey {
    init(_ record: APIKeyRecord) {
        self.init(caller: Caller(keyID: record.id, keyName: record.name, tenant: record.tenant, team: record.team, models: record.models),
                  rpm: record.rpm, tpm: record.tpm, budget: record.budgetScope)
    }
}
