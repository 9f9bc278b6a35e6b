import ArgumentParser
import SwitchyardDecision
import SwitchyardExecution
import SwitchyardSignals
import SwitchyardWire

/// `switchyard bench-signals` (run by `make bench`): what the pre-generation signals cost on a
/// prompt of about 4,000 tokens, beside the cost of one plain pass over the same bytes.
struct BenchSignals: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench-signals", abstract: "Time the routing signals.", shouldDisplay: false)

    @Option(name: .long, help: "Calls timed per signal.")
    var iterations: Int = 2000

    func run() async throws {
        // The normaliser's table of rules for the Basic Multilingual Plane is built by the first
        // non-ASCII text a process scans (the one for emoji and other supplementary characters,
        // as long, by the first text with one).
        let tableStart = ContinuousClock.now
        _ = PIIDetector.classes(in: "é")
        let table = ContinuousClock.now - tableStart

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
        let complexity = time { Int(ComplexityScorer.score(request.summary) * 1000) }
        let pii = time { PIIDetector.findings(in: text).count }
        // The whole body is what the private-data constraint scans: the same prose as a chat
        // request with a system prompt and a tool; then prose in French and Japanese, which the
        // normaliser decodes and rewrites (fullwidth digits and punctuation); then a short
        // question with a 1 MB image, whose base64 is checked but not read.
        let body = Self.body(text)
        let piiBody = time { PIIDetector.classes(inRequestBody: body).count }
        let nonASCIIText = Self.repeated("Le trimestre a dégagé 1 234 567 € de chiffre d'affaires, soit 12 % de plus qu'en 2023 ; écrivez à ops@example.com. 四半期の売上は１２３万円で、前年比１２％増でした。詳しくは担当者（ops@example.com）まで。", toBytes: text.utf8.count)
        let nonASCIIBody = Self.body(nonASCIIText)
        let piiNonASCII = time { PIIDetector.classes(inRequestBody: nonASCIIBody).count }
        let image = Self.body("What is in this picture?", image: Self.repeated("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg+/", toBytes: 1 << 20))
        let piiImage = time { PIIDetector.classes(inRequestBody: image).count }
        print("signals on a \(text.utf8.count)-byte prompt (~\(text.utf8.count / 4) tokens), \(iterations) calls each:")
        print("  one plain pass over the bytes (baseline): \(format(baseline)) us")
        print("  complexity score:                          \(format(complexity)) us  (\(format(complexity / baseline))x baseline)")
        print("  PII detection:                             \(format(pii)) us  (\(format(pii / baseline))x baseline)")
        print("  PII in the whole request body:             \(format(piiBody)) us  (\(format(piiBody / baseline))x baseline)")
        print("  the same, French and Japanese (\(nonASCIIText.utf8.count) bytes): \(format(piiNonASCII)) us")
        print("  the same, a question and a 1 MB image:     \(format(piiImage)) us")
        let (seconds, attoseconds) = table.components
        print("  once per process, the first non-ASCII text: \(format(Double(seconds) * 1e3 + Double(attoseconds) / 1e15)) ms")
    }

    /// A chat request as clients send them: a system prompt, the prompt, one tool; with an image.
    static func body(_ prompt: String, image: String? = nil) -> JSONObject {
        var content: JSON = .string(prompt)
        if let image {
            content = .array([
                .object(["type": .string("text"), "text": .string(prompt)]),
                .object(["type": .string("image_url"), "image_url": .object(["url": .string("data:image/png;base64," + image)])]),
            ])
        }
        let tool: JSON = .object(["type": .string("function"), "function": .object([
            "name": .string("lookup_order"), "description": .string("Looks an order up by its number."),
            "parameters": .object(["type": .string("object"), "properties": .object(["order": .object(["type": .string("string")])])]),
        ])])
        return [
            "model": .string("auto"), "temperature": .double(0.2), "user": .string("tenant-42"), "tools": .array([tool]),
            "messages": .array([
                .object(["role": .string("system"), "content": .string("You are a helpful analyst. Answer briefly.")]),
                .object(["role": .string("user"), "content": content]),
            ]),
        ]
    }

    static func repeated(_ unit: String, toBytes count: Int) -> String {
        var text = ""
        while text.utf8.count < count { text += unit }
        return text
    }
}
