import Testing
@testable import SwitchyardLedger

/// The ledger writer's queue: group commit, and the lingering that lets records nobody waits for
/// share a commit without making anybody who does wait for it.
@Suite("Ledger batch queue", .timeLimit(.minutes(1)))
struct BatchQueueTests {
    struct Job: BatchJob {
        let n: Int
        var urgent = true
    }

    @Test("everything queued while the writer was busy is one batch, in order, up to the limit")
    func groupCommit() async {
        let queue = BatchQueue<Job>()
        for n in 0..<5 { #expect(queue.enqueue(Job(n: n))) }
        #expect(await queue.next(limit: 3).map(\.n) == [0, 1, 2])
        #expect(queue.take(limit: 10).map(\.n) == [3, 4])
        #expect(queue.take(limit: 10).isEmpty)
        queue.close()
        #expect(!queue.enqueue(Job(n: 9)))
        #expect(await queue.next(limit: 3).isEmpty)
    }

    @Test("an urgent job ends a linger at once; so do enough jobs, and closing")
    func lingerEndsEarly() async {
        let queue = BatchQueue<Job>()
        // A linger of an hour: only what it waits for can end it within the test's time limit.
        async let urgent: Void = queue.linger(for: .seconds(3600), enough: 100)
        try? await Task.sleep(for: .milliseconds(50))
        _ = queue.enqueue(Job(n: 0, urgent: false))
        _ = queue.enqueue(Job(n: 1))
        await urgent
        #expect(queue.take(limit: 10).map(\.n) == [0, 1])

        async let enough: Void = queue.linger(for: .seconds(3600), enough: 3)
        for n in 0..<3 { _ = queue.enqueue(Job(n: n, urgent: false)) }
        await enough
        #expect(queue.take(limit: 10).count == 3)

        async let closed: Void = queue.linger(for: .seconds(3600), enough: 3)
        try? await Task.sleep(for: .milliseconds(50))
        queue.close()
        await closed
    }

    @Test("jobs nobody waits for do not end a linger: they wait its whole time, to share one commit")
    func lingerWaitsForCompany() async {
        let queue = BatchQueue<Job>()
        let start = ContinuousClock.now
        async let lingering: Void = queue.linger(for: .milliseconds(300), enough: 100)
        for n in 0..<5 { _ = queue.enqueue(Job(n: n, urgent: false)) }
        await lingering
        #expect(ContinuousClock.now - start >= .milliseconds(300))
        #expect(queue.take(limit: 10).count == 5)
    }
}
