import ArgumentParser
import SwitchyardRouter
import SwitchyardWire

/// `switchyard bench-signals` (run by `make bench`): what the pre-generation signals cost on a
/// prompt of about 4,000 tokens, beside the cost of one plain pass over the same bytes.
struct BenchSignals: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench-signals", abstract: "Time the routing signals.", shouldDisplay: false)

    @Option(name: .long, help: "Calls timed per signal.")
    var iterations: Int = 2000

    func run() async throws {
        // ~16 KB of mixed prose, numbers and one email: about 4,000 tokens.
        let paragraph = "The quarterly report shows revenue of 1,234,567 dollars, up 12% on last year. Please explain step by step why the margin fell, then compare it with 2023. Contact ops@example.com for the raw data. "
        var text = ""
        while text.utf8.count < 16_000 { text += paragraph }
        let request = try ChatRequest(body: ["model": .string("auto"), "messages": .array([.object(["role": .string("user"), "content": .string(text)])])])

        func time(_ body: () -> Int) -> Double {
            var sink = 0
            for _ in 0..<50 { sink &+= body() }  // warm-up
            let start = ContinuousClock.now
            for _ in 0..<iterations { sink &+= body() }
            let elapsed = ContinuousClock.now - start
            if sink == 42 { print("") }  // keeps the work from being optimised away
            let (s, atto) = elapsed.components
            return (Double(s) * 1e6 + Double(atto) / 1e12) / Double(iterations)
        }
        var contiguous = text
        let baseline = time { contiguous.withUTF8 { $0.reduce(0) { $0 &+ Int($1) } } }
        let complexity = time { Int(ComplexityScorer.score(request) * 1000) }
        let pii = time { PIIDetector.findings(in: text).count }
        print("signals on a \(text.utf8.count)-byte prompt (~\(text.utf8.count / 4) tokens), \(iterations) calls each:")
        print("  one plain pass over the bytes (baseline): \(format(baseline)) us")
        print("  complexity score:                          \(format(complexity)) us  (\(format(complexity / baseline))x baseline)")
        print("  PII detection:                             \(format(pii)) us  (\(format(pii / baseline))x baseline)")
    }
}
