import Hummingbird
import Synchronization
import SwitchyardLearning
import SwitchyardWire

/// The cloud of `switchyard eval selfcal`: an OpenAI-compatible server on 127.0.0.1 that knows
/// the evaluation items. It is an oracle, not a model: an ordinary chat request is answered with
/// the gold answer of the item whose prompt is the last user message (400 for an unknown
/// prompt); a judge request (system message `Judgement.instruction`) is answered `correct` or
/// `incorrect` by the item's own match rule applied to the candidate against the gold. Usage is
/// reported (about 4 characters a token), so the gateway meters and prices what it sends here.
///
/// It also counts what it was asked, by kind: answers asked while a replayed client request was
/// in flight (escalations), answers asked after it (shadows), and judge calls.
public final class OracleServer: Sendable {
    public struct Tally: Sendable, Equatable {
        public var requests = 0
        public var promptTokens = 0
        public var completionTokens = 0

        /// At a price in USD per million tokens.
        public func usd(input: Double, output: Double) -> Double {
            (Double(promptTokens) * input + Double(completionTokens) * output) / 1e6
        }

        var json: JSON { .object(["requests": .int(requests), "prompt_tokens": .int(promptTokens), "completion_tokens": .int(completionTokens)]) }
    }

    public struct Counts: Sendable, Equatable {
        /// Answers asked while a client request was in flight: the cascade's escalations.
        public var escalations = Tally()
        /// Answers asked after the client had its answer: shadow requests.
        public var shadows = Tally()
        public var judges = Tally()
        public var verdictsCorrect = 0
        public var verdictsIncorrect = 0
        /// Requests refused: an unknown prompt, or a judge prompt not in `Judgement.prompt`'s form.
        public var refused = 0

        public var json: JSON {
            .object(["escalations": escalations.json, "shadows": shadows.json, "judges": judges.json,
                     "verdicts": .object(["correct": .int(verdictsCorrect), "incorrect": .int(verdictsIncorrect)]), "refused": .int(refused)])
        }
    }

    private let byPrompt: [String: EvalItem]
    private let counts = Mutex(Counts())
    private let clientsInFlight = Atomic<Int>(0)
    private let server = Mutex<LoopbackServer?>(nil)

    public init(items: [EvalItem]) {
        byPrompt = Dictionary(items.map { ($0.prompt, $0) }, uniquingKeysWith: { first, _ in first })
    }

    public var port: Int { server.withLock { $0?.port ?? 0 } }
    /// The `base_url` of an `openai` target.
    public var baseURL: String { "http://127.0.0.1:\(port)/v1" }
    public var snapshot: Counts { counts.withLock { $0 } }

    /// Marks a replayed client request in flight (answers asked meanwhile are escalations).
    public func clientStarted() { clientsInFlight.add(1, ordering: .relaxed) }
    public func clientFinished() { clientsInFlight.subtract(1, ordering: .relaxed) }

    public func start() async throws {
        let router = Router(context: BasicRequestContext.self)
        router.post("/v1/chat/completions") { request, _ in try await self.respond(request) }
        let started = await LoopbackServer.start(router, label: "selfcal-oracle")
        server.withLock { $0 = started }
    }

    public func stop() async {
        await server.withLock { $0 }?.stop()
    }

    /// Question, reference and candidate out of a judge's user message (`Judgement.prompt`'s layout).
    static func judgeParts(_ text: String) -> (question: String, reference: String, candidate: String)? {
        let head = "Question:\n", referenceMark = "\n\nReference answer:\n", candidateMark = "\n\nCandidate answer:\n"
        guard text.hasPrefix(head), let reference = text.range(of: referenceMark),
              let candidate = text.range(of: candidateMark, range: reference.upperBound..<text.endIndex) else { return nil }
        return (String(text[text.index(text.startIndex, offsetBy: head.count)..<reference.lowerBound]),
                String(text[reference.upperBound..<candidate.lowerBound]), String(text[candidate.upperBound...]))
    }

    static func tokens(_ text: String) -> Int { max(1, (text.utf8.count + 3) / 4) }

    private func respond(_ request: Request) async throws -> Response {
        let bytes = try await request.body.collect(upTo: 1 << 22)
        guard let body = try? JSON.parse(bytes.readableBytesView), let messages = body["messages"]?.arrayValue else {
            return refuse("the body is not a chat-completions request")
        }
        func content(_ message: JSON) -> String {
            if let text = message["content"]?.stringValue { return text }
            return message["content"]?.arrayValue?.compactMap { $0["text"]?.stringValue }.joined() ?? ""
        }
        let system = messages.first { $0["role"]?.stringValue == "system" }.map(content)
        guard let user = messages.last(where: { $0["role"]?.stringValue == "user" }).map(content) else { return refuse("no user message") }
        let promptTokens = messages.reduce(0) { $0 + 4 + Self.tokens(content($1)) }
        let answer: String
        if system == Judgement.instruction {
            guard let parts = Self.judgeParts(user), let item = byPrompt[parts.question] else {
                return refuse("a judge request whose question is not an item's prompt")
            }
            let correct = AnswerScoring.isCorrect(parts.candidate, gold: item.gold, match: item.match)
            answer = correct ? "correct" : "incorrect"
            counts.withLock {
                $0.judges.add(promptTokens, Self.tokens(answer))
                if correct { $0.verdictsCorrect += 1 } else { $0.verdictsIncorrect += 1 }
            }
        } else {
            guard let item = byPrompt[user] else { return refuse("the last user message is not an item's prompt") }
            answer = item.gold
            let during = clientsInFlight.load(ordering: .relaxed) > 0
            counts.withLock {
                if during { $0.escalations.add(promptTokens, Self.tokens(answer)) } else { $0.shadows.add(promptTokens, Self.tokens(answer)) }
            }
        }
        let model = body["model"]?.stringValue ?? "oracle"
        let completionTokens = Self.tokens(answer)
        let usage = JSON.object(["prompt_tokens": .int(promptTokens), "completion_tokens": .int(completionTokens),
                                 "total_tokens": .int(promptTokens + completionTokens)])
        if body["stream"]?.boolValue == true {
            let head: JSONObject = ["id": .string("chatcmpl-oracle"), "object": .string("chat.completion.chunk"), "created": .int(1_700_000_000),
                                    "model": .string(model)]
            func chunk(_ delta: JSONObject, finish: JSON = .null) -> ByteBuffer {
                var object = head
                object["choices"] = .array([.object(["index": .int(0), "delta": .object(delta), "finish_reason": finish])])
                return ByteBuffer(bytes: SSE.frame(.object(object)))
            }
            var last = head
            last["choices"] = .array([])
            last["usage"] = usage
            let events = [chunk(["role": .string("assistant"), "content": .string("")]), chunk(["content": .string(answer)]),
                          chunk([:], finish: .string("stop")), ByteBuffer(bytes: SSE.frame(.object(last))), ByteBuffer(string: "data: [DONE]\n\n")]
            return Response(status: .ok, headers: [.contentType: "text/event-stream"], body: ResponseBody { writer in
                for event in events { try await writer.write(event) }
                try await writer.finish(nil)
            })
        }
        let completion = JSON.object([
            "id": .string("chatcmpl-oracle"), "object": .string("chat.completion"), "created": .int(1_700_000_000), "model": .string(model),
            "choices": .array([.object(["index": .int(0), "message": .object(["role": .string("assistant"), "content": .string(answer)]),
                                        "finish_reason": .string("stop")])]),
            "usage": usage,
        ])
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: completion.serialized())))
    }

    private func refuse(_ why: String) -> Response {
        counts.withLock { $0.refused += 1 }
        let error = JSON.object(["error": .object(["type": .string("invalid_request_error"), "message": .string("oracle: \(why)")])])
        return Response(status: .badRequest, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: error.serialized())))
    }
}

extension OracleServer.Tally {
    mutating func add(_ prompt: Int, _ completion: Int) {
        requests += 1
        promptTokens += prompt
        completionTokens += completion
    }
}
