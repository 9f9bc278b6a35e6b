/// Runs `body`, then `cleanup` whether `body` returned or threw: the `defer` Swift has no async
/// form of, for the fixtures that stop servers, processes and clusters after a test.
func finally<T>(_ body: () async throws -> T, then cleanup: () async -> Void) async throws -> T {
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
