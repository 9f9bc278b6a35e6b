import HTTPTypes
import Hummingbird
import Logging
import SwitchyardProviders
import SwitchyardRouter
import SwitchyardWire

/// `POST /v1/chat/completions`: read and validate the body, decide the route, serve it
/// (whole or as SSE), and say in headers where and why. Follow a request from here down.
struct ChatCompletions: Sendable {
    let live: LivePolicy
    let logger: Logger
    let rateLimiter: RateLimiter

    /// Runs the request's work so that a client hanging up before its answer cancels it: the
    /// upstream transfer is aborted and the engine's slot freed.
    func respond(to request: Request, context: GatewayRequestContext) async throws -> Response {
        let key = context.key
        guard let hangup = context.hangup else { return try await handle(request, key: key, hangup: nil) }
        return try await hangup.cancellingOnHangup { try await handle(request, key: key, hangup: hangup) }
    }

    private func handle(_ request: Request, key: AuthenticatedKey?, hangup: ClientHangup?) async throws -> Response {
        let requestID = Self.makeRequestID()
        var headers: HTTPFields = [.switchyardRequestID: requestID]
        // One snapshot for the whole request: a reload meanwhile does not change its policy.
        let policy = live.snapshot
        let (router, metrics) = (policy.router, policy.metrics)
        let caller = key?.caller ?? .anonymous
        do {
            if let key { headers.append(try rateLimiter.admit(key)) }
            var chat = try await readChatRequest(request, limit: router.policy.server.maxBodyBytes)
            let budgets = policy.ledger.flatMap { CallerBudgets(ledger: $0, key: key, policy: router.policy) }
            if budgets != nil, chat.maxTokens == nil {
                // A budgeted request's output is capped, so that its reservation bounds what it can spend.
                chat.body["max_tokens"] = .int(Pricing.defaultMaxOutputTokens)
            }
            let decision = try await router.decide(chat, headers: Self.switchyardHeaders(request.headers), caller: caller, budgets: budgets)
            if !decision.privateData.isEmpty { recordPrivateData(decision, requestID: requestID, metrics: metrics) }
            headers[.switchyardRule] = decision.rule
            headers[.switchyardReason] = decision.reason
            let providerContext = ProviderContext(requestID: requestID)
            let tracker = AttemptTracker(request: AttemptRequest(requestID: requestID, rule: decision.rule, requestedModel: chat.model,
                                                                 stream: chat.stream, caller: caller, promptBytes: chat.sizeInBytes,
                                                                 maxOutputTokens: chat.maxTokens ?? Pricing.defaultMaxOutputTokens),
                                         sink: policy.accounting, budget: budgets)
            if chat.stream {
                let served = try await router.stream(chat, decision: decision, context: providerContext, tracker: tracker)
                describe(served, in: &headers)
                count(served, metrics)
                log(requestID, chat: chat, decision: decision, servedBy: served.target.name, skipped: served.skipped, escalation: served.escalation)
                await tracker.commit(served.attempt)
                return streamingResponse(served, chat: chat, decision: decision, headers: headers, tracker: tracker, hangup: hangup)
            }
            let served = try await router.complete(chat, decision: decision, context: providerContext, tracker: tracker)
            if let usage = served.answer.usage {
                await tracker.end(served.attempt, .served, usage: usage)
            } else {
                let estimate = UsageEstimate.of(request: chat, decision: decision, completionCharacters: UsageEstimate.characters(in: served.answer.body))
                await tracker.end(served.attempt, .served, usage: estimate, estimated: true)
            }
            describe(served, in: &headers)
            headers[.switchyardCostUSD] = Self.usd(tracker.costNanodollars)
            count(served, metrics)
            log(requestID, chat: chat, decision: decision, servedBy: served.target.name, skipped: served.skipped, escalation: served.escalation)
            headers[.contentType] = "application/json"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: served.answer.body.serialized())))
        } catch {
            metrics.rejected.increment()
            logger.info("request failed", metadata: ["request_id": "\(requestID)", "status": "\(error.status)", "error": "\(error.message)"])
            return FrontEnd.openAI.errorResponse(error, headers: headers)
        }
    }

    /// `POST /v1/switchyard/explain`: the decision for a chat request, without calling any model.
    func explain(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let router = live.snapshot.router
        do {
            let chat = try await readChatRequest(request, limit: router.policy.server.maxBodyBytes)
            let decision = try await router.decide(chat, headers: Self.switchyardHeaders(request.headers), caller: context.caller)
            return Response(status: .ok, headers: [.contentType: "application/json"],
                            body: .init(byteBuffer: ByteBuffer(bytes: decision.json.serialized())))
        } catch {
            return FrontEnd.openAI.errorResponse(error)
        }
    }

    /// `x-switchyard-NAME` request headers by NAME (lowercased): the `tenant`, `team` and `header.NAME` signals.
    static func switchyardHeaders(_ fields: HTTPFields) -> [String: String] {
        var headers: [String: String] = [:]
        for field in fields where field.name.canonicalName.hasPrefix("x-switchyard-") {
            headers[String(field.name.canonicalName.dropFirst(13))] = field.value
        }
        return headers
    }

    private func readChatRequest(_ request: Request, limit: Int) async throws(GatewayError) -> ChatRequest {
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit {
            await Self.discard(request.body)
            throw .payloadTooLarge(limit: limit)
        }
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: limit)
        } catch let error as HTTPResponseError where error.status == .contentTooLarge {
            await Self.discard(request.body)
            throw .payloadTooLarge(limit: limit)
        } catch {
            throw .invalidRequest("The request body could not be read: \(error).")
        }
        return try ChatRequest.parse(body.readableBytesView)
    }

    /// Reads and drops an oversize body (up to 1 GiB, within the connection's `body_timeout`)
    /// before answering 413: a client that sends its whole body before reading (Python's urllib)
    /// would otherwise block on a full socket and never see the answer. The 413 then closes the
    /// connection.
    static func discard(_ body: RequestBody) async {
        var dropped = 0
        do {
            for try await buffer in body {
                dropped += buffer.readableBytes
                if dropped > 1 << 30 { return }
            }
        } catch {}
    }

    /// The stream is committed (200 and headers sent) only after a target accepted it. A stream
    /// that breaks later ends with an explicit error event and no `[DONE]`, never silently. Its
    /// attempt ends here, whichever way the stream ends.
    private func streamingResponse(_ served: Served<CompletionStream>, chat: ChatRequest, decision: RouteDecision, headers: HTTPFields,
                                   tracker: AttemptTracker, hangup: ClientHangup?) -> Response {
        var headers = headers
        headers[.contentType] = "text/event-stream"
        headers[.cacheControl] = "no-cache"
        let includeUsage = chat.includeUsage
        let stream = served.answer
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            var usage: TokenUsage?
            var characters = 0
            var outcome = Attempt.Outcome.cancelled
            var detail: String?
            func end() async {
                let counted = usage ?? UsageEstimate.of(request: chat, decision: decision, completionCharacters: characters)
                await tracker.end(served.attempt, outcome, usage: counted, estimated: usage == nil, detail: detail)
            }
            // While waiting silently for the next token, only the hang-up signal notices a client gone.
            if let hangup, hangup.hasHungUp { return await end() }
            do {
                for try await var chunk in stream.chunks {
                    if let reported = TokenUsage(openAI: chunk["usage"]) {
                        usage = reported
                        if includeUsage, var object = chunk["usage"]?.objectValue {
                            // What the request cost: attempts already ended, and this one.
                            let cost = tracker.costNanodollars + (served.target.remote?.price.map { Pricing.nanodollars(reported, $0) } ?? 0)
                            object["cost_usd"] = .number(Self.usd(cost))
                            chunk["usage"] = .object(object)
                        }
                        if !includeUsage {
                            chunk["usage"] = nil
                            if chunk["choices"]?.arrayValue?.isEmpty ?? true { continue }
                        }
                    }
                    characters += UsageEstimate.characters(in: chunk)
                    try await writer.write(ByteBuffer(bytes: SSE.frame(.object(chunk))))
                }
                if Task.isCancelled { return await end() }
                outcome = .served
                try await writer.write(ByteBuffer(bytes: SSE.done))
            } catch let error as ProviderError {
                (outcome, detail) = (.broken, error.description)
                await end()
                try await writer.write(ByteBuffer(bytes: SSE.frame(error.gatewayError.openAIBody)))
                return try await writer.finish(nil)
            } catch {
                await end()
                throw error
            }
            await end()
            try await writer.finish(nil)
        })
    }

    private func describe<Answer>(_ served: Served<Answer>, in headers: inout HTTPFields) {
        headers[.switchyardRoute] = Tier(served.target).rawValue
        headers[.switchyardModel] = served.target.name
        if let escalation = served.escalation {
            headers[.switchyardEscalated] = escalation.escalated ? escalation.reason : "not-escalated(\(escalation.reason))"
        }
        if !served.skipped.isEmpty {
            headers[.switchyardFallback] = served.skipped.map(\.description).joined(separator: ", ")
        }
        if let scope = served.skipped.lazy.compactMap({ if case .budget(let scope) = $0.why { scope } else { nil } }).first {
            headers[.switchyardBudget] = "exhausted(\(scope)); served on the box"
        }
    }

    /// Request-level facts the attempts do not carry: a fallback happened, a cascade escalated.
    private func count<Answer>(_ served: Served<Answer>, _ metrics: GatewayMetrics) {
        if !served.skipped.isEmpty { metrics.fallbacks.increment() }
        guard let escalation = served.escalation else { return }
        (escalation.escalated ? metrics.escalated : metrics.escalationsKeptLocal).increment()
    }

    /// The constraint narrowed this request: counted and logged with the classes found, never
    /// the values (the log must not become the leak).
    private func recordPrivateData(_ decision: RouteDecision, requestID: String, metrics: GatewayMetrics) {
        let refused: Bool
        if case .deny = decision.action { refused = true } else { refused = false }
        metrics.privateData(decision.privateData, refused: refused)
        logger.notice("private data kept on the box", metadata: [
            "request_id": "\(requestID)",
            "classes": "\(decision.privateData.joined(separator: ","))",
            "outcome": "\(refused ? "refused" : "kept_local")",
            "rule": "\(decision.rule)",
        ])
    }

    /// One line per request: the decision, both cascade attempts (the local score and what followed), what was skipped.
    private func log(_ requestID: String, chat: ChatRequest, decision: RouteDecision, servedBy: String, skipped: [SkippedTarget],
                     escalation: Escalation?) {
        logger.info("routed", metadata: [
            "escalation": "\(escalation.map { ($0.escalated ? "escalated " : "kept-local ") + $0.reason } ?? "none")",
            "request_id": "\(requestID)",
            "requested_model": "\(chat.model)",
            "rule": "\(decision.rule)",
            "reason": "\(decision.reason)",
            "served_by": "\(servedBy)",
            "stream": "\(chat.stream)",
            "skipped": "\(skipped.map(\.description))",
        ])
    }

    /// Nano-dollars as a decimal USD amount (`0.000123`), exact.
    static func usd(_ nanodollars: Int64) -> String {
        let value = max(0, nanodollars)
        let fraction = String(value % 1_000_000_000)
        let digits = String(repeating: "0", count: 9 - fraction.count) + fraction
        var trimmed = Substring(digits)
        while trimmed.count > 6, trimmed.last == "0" { trimmed = trimmed.dropLast() }
        return "\(value / 1_000_000_000).\(trimmed)"
    }

    static func makeRequestID() -> String {
        let value = UInt64.random(in: 0...UInt64.max)
        let hex = String(value, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
