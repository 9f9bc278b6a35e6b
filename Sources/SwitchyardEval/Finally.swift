/// Runs `body`, then `cleanup` whether `body` returned or threw: the `defer` Swift has no async
/// form of. The eval commands stop the engines and gateways they started with it (also when a
/// signal cancelled them), and the tests' fixtures their servers, processes and clusters.
public func finally<T>(_ body: () async throws -> T, then cleanup: () async -> Void) async throws -> T {
    let result: T
    do {
        result = try await body()
    } catch {
        await cleanup()
        throw error
    }
    await cleanup()
    return result
}
