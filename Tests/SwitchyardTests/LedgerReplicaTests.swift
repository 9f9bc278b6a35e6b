import Testing
import SwitchyardLedger

/// Several gateway replicas on one PostgreSQL database: three stores, each with its own pool,
/// racing for the same budgets.
@Suite("Ledger replicas on PostgreSQL", .postgresCluster, .timeLimit(.minutes(3)))
struct LedgerReplicaTests {
    let day = LedgerSamples.day

    func replicas(_ location: LedgerLocation) async throws -> [any LedgerStore] {
        var stores: [any LedgerStore] = []
        for _ in 0..<3 { stores.append(try await location.open(maxConnections: 3)) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for store in stores { group.addTask { try await store.migrate() } }
            try await group.waitForAll()
        }
        return stores
    }

    @Test("100 concurrent reservations over three replicas against a budget worth 10: spend within it, nothing left reserved")
    func sharedBudget() async throws {
        let location = try await LedgerLocation.fresh(.postgres)
        let stores = try await replicas(location)
        let budget = BudgetScope(kind: .tenant, id: "acme", limit: Nanodollars(10), period: .month)
        let reserved = try await withThrowingTaskGroup(of: Int?.self) { group in
            for n in 0..<100 {
                group.addTask {
                    try await stores[n % 3].reserve(id: "r\(n)", scopes: [budget], amount: Nanodollars(1), now: day) == .reserved ? n : nil
                }
            }
            return try await group.reduce(into: [Int]()) { if let n = $1 { $0.append(n) } }
        }
        #expect(reserved.count == 10)
        // Settled by another replica than the one that reserved: the reservation is shared state.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for n in reserved { group.addTask { try await stores[(n + 1) % 3].settle(id: "r\(n)", actual: Nanodollars(1)) } }
            try await group.waitForAll()
        }
        for store in stores {
            let state = try await store.budgetState(budget, now: day)
            #expect(state.spent <= budget.limit)
            #expect(state.spent == Nanodollars(10))
            #expect(state.reserved == .zero)
        }
        for store in stores { try await store.close() }
    }

    @Test("reservations over two scopes from three replicas: every budget holds, counters match what was granted, no deadlock")
    func sharedScopes() async throws {
        let location = try await LedgerLocation.fresh(.postgres)
        let stores = try await replicas(location)
        let tenant = BudgetScope(kind: .tenant, id: "acme", limit: Nanodollars(40), period: .day)
        let keys = (0..<3).map { BudgetScope(kind: .key, id: "key_\($0)", limit: Nanodollars(18), period: .day) }
        // Each request reserves 1 to 3 units on its key and the shared tenant, listed in either order.
        let granted = try await withThrowingTaskGroup(of: (Int, Int, Bool).self) { group in
            for n in 0..<90 {
                group.addTask {
                    let key = n % 3, amount = 1 + n % 4 % 3
                    let scopes = n % 2 == 0 ? [keys[key], tenant] : [tenant, keys[key]]
                    let outcome = try await stores[(n / 3) % 3].reserve(id: "r\(n)", scopes: scopes, amount: Nanodollars(Int64(amount)), now: day)
                    return (key, amount, outcome == .reserved)
                }
            }
            return try await group.reduce(into: [(Int, Int)]()) { if $1.2 { $0.append(($1.0, $1.1)) } }
        }
        let tenantState = try await stores[0].budgetState(tenant, now: day)
        #expect(tenantState.reserved.value == Int64(granted.map(\.1).reduce(0, +)))
        #expect(tenantState.reserved <= tenant.limit)
        for (n, key) in keys.enumerated() {
            let state = try await stores[n].budgetState(key, now: day)
            #expect(state.reserved.value == Int64(granted.filter { $0.0 == n }.map(\.1).reduce(0, +)))
            #expect(state.reserved <= key.limit)
        }
        #expect(tenantState.reserved.value >= 38, "the tenant budget should be nearly used up: \(tenantState.reserved)")
        for store in stores { try await store.close() }
    }
}
