import HTTPTypes
import Hummingbird
import Logging
import SwitchyardProviders
import SwitchyardDecision
import SwitchyardExecution
import SwitchyardSignals
import SwitchyardTracing
import SwitchyardWire

/// What every model request goes through, whichever format it came in: the caller's rate
/// limit, the body read within its limit, the decision, the attempts and their accounting, and
/// headers that say where and why. A `ClientFormat` only translates at both ends. Follow a
/// request from `respond` down.
struct RequestPath: Sendable {
    let live: LivePolicy
    let logger: Logger
    let rateLimiter: RateLimiter
    /// Request bodies held at once, across every request (`server.max_inflight_body_bytes`).
    let bodies: BodyBudget
    /// Streams still open when the shutdown grace runs out are ended by it.
    let cutoff: ShutdownCutoff?
    /// Learns from cascades' outcomes, off every client's path; holds the trust decisions read
    /// (nil without a ledger).
    let learner: Learner?

    /// Runs the request's work so that a client hanging up before its answer cancels it: the
    /// upstream transfer is aborted and the engine's slot freed.
    func respond(to request: Request, context: GatewayRequestContext, as format: some ClientFormat) async throws -> Response {
        let key = context.key
        // One snapshot for the whole request (the one its key was checked under): a reload
        // meanwhile does not change its policy.
        let snapshot = context.snapshot ?? live.snapshot
        guard let hangup = context.hangup else { return await handle(request, key: key, snapshot: snapshot, hangup: nil, format) }
        return try await hangup.cancellingOnHangup { await handle(request, key: key, snapshot: snapshot, hangup: hangup, format) }
    }

    private func handle<Format: ClientFormat>(_ request: Request, key: AuthenticatedKey?, snapshot: LivePolicy.Snapshot,
                                              hangup: ClientHangup?, _ format: Format) async -> Response {
        let requestID = RequestID.make()
        var headers = format.headers(requestID: requestID)
        headers[.switchyardRequestID] = requestID
        let (decider, executor, metrics) = (snapshot.decider, snapshot.executor, snapshot.metrics)
        let caller = key?.caller ?? .anonymous
        metrics.requests(format.front).increment()
        // The request's span, when the policy traces: every other span of the request is its child.
        let trace = snapshot.tracing?.start(format.front.spanName, traceparent: request.headers[.traceparent],
                                            tracestate: request.headers[.tracestate])
        trace?.opened(requestID: requestID, front: format.front)
        var tracked: AttemptTracker?
        do {
            if let key { headers.append(try rateLimiter.admit(key)) }
            let (body, claim) = try await Self.readBody(request, limit: snapshot.policy.server.maxBodyBytes, budget: bodies)
            // The claim lasts as long as the request (and a stream's delivery holds it too); the
            // bytes read go once parsed, as nothing reads them again.
            defer { withExtendedLifetime(claim) {} }
            var gatewayRequest = try await format.parse(consume body, headers: request.headers, caller: caller)
            let summary = gatewayRequest.summary
            trace?.parsed(summary)
            let budgets = snapshot.ledger.flatMap { CallerBudgets(ledger: $0, key: key, policy: snapshot.policy, gauges: metrics.budgetRemaining) }
            if budgets != nil, summary.maxTokens == nil {
                // A budgeted request's output is capped, so that its reservation bounds what it can spend.
                gatewayRequest.chat.body["max_tokens"] = .int(BillingBounds.defaultMaxOutputTokens)
            }
            // A budgeted request is sent only where its worst case is known, and reserved at it.
            let bounds = budgets == nil ? nil : BillingBounds(gatewayRequest)
            let signalHeaders = Self.switchyardHeaders(request.headers)
            let inputs = Decider.Inputs(headers: signalHeaders, caller: caller, budgets: budgets, billing: bounds, trust: learner?.trust.trust)
            let decision: Decision
            if let trace {
                decision = try await trace.decide(decider, summary, inputs)
            } else {
                decision = try await decider.decide(summary, inputs)
            }
            let budget = budgets.flatMap { budgets in bounds.map { RequestBudget(budgets: budgets, bounds: $0) } }
            if !decision.privateData.isEmpty { recordPrivateData(decision, requestID: requestID, metrics: metrics) }
            headers[.switchyardRule] = decision.rule
            headers[.switchyardReason] = decision.reason
            let providerContext = ProviderContext(requestID: requestID)
            let tracker = AttemptTracker(request: AttemptRequest(requestID: requestID, rule: decision.rule, requestedModel: summary.model,
                                                                 stream: summary.stream, caller: caller, budget: budget, trace: trace),
                                         sink: snapshot.accounting)
            tracked = tracker
            if summary.stream {
                let served = try await executor.stream(gatewayRequest, decision: decision, context: providerContext, tracker: tracker)
                describe(served, gatewayRequest, tracker, in: &headers)
                // Its delivery ends the request's span, once the stream has ended.
                trace?.served(served)
                count(served, metrics)
                log(requestID, format.front, summary, decision: decision, servedBy: served.target.name, skipped: served.skipped,
                    escalation: served.escalation)
                await tracker.commit(served.attempt)
                let learning = observer(served, gatewayRequest, decision, snapshot, requestID, caller, signalHeaders)
                let delivery = StreamDelivery(served: served, request: gatewayRequest, decision: decision, tracker: tracker, hangup: hangup,
                                              renderer: format.renderer(for: gatewayRequest, answer: served.answer.format,
                                                                        model: served.target.remote?.model ?? served.target.name,
                                                                        promptTokens: decision.promptTokens, requestID: requestID, caller: caller),
                                              cutoff: cutoff, claim: claim, finished: learning)
                return delivery.response(headers: headers)
            }
            let served = try await executor.complete(gatewayRequest, decision: decision, context: providerContext, tracker: tracker)
            var attempt = served.attempt
            if attempt.span != nil { attempt.responseModel = served.answer.body["model"]?.stringValue }
            if let usage = served.answer.usage {
                await tracker.end(attempt, .served, usage: usage)
            } else {
                let estimate = UsageEstimate.of(request: summary, decision: decision,
                                                completionCharacters: UsageEstimate.characters(in: served.answer.body))
                await tracker.end(attempt, .served, usage: estimate, estimated: true)
            }
            describe(served, gatewayRequest, tracker, in: &headers)
            headers[.switchyardCostUSD] = Self.usd(tracker.costNanodollars)
            count(served, metrics)
            log(requestID, format.front, summary, decision: decision, servedBy: served.target.name, skipped: served.skipped,
                escalation: served.escalation)
            headers[.contentType] = "application/json"
            let answer = await format.body(served.answer, request: gatewayRequest, requestID: requestID, caller: caller)
            observer(served, gatewayRequest, decision, snapshot, requestID, caller, signalHeaders)?(AnswerText.of(served.answer.body))
            if let trace {
                trace.served(served)
                trace.answered(status: 200, costNanodollars: tracker.costNanodollars,
                               output: trace.captureContent ? AnswerText.of(served.answer.body) : nil)
            }
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: answer.serialized())))
        } catch {
            // Past the shutdown grace the outbound client is shut down: that, not an upstream, failed it.
            let error = cutoff?.hasCut == true ? GatewayError.shuttingDown : error
            metrics.rejected.increment()
            logger.info("request failed", metadata: ["request_id": "\(requestID)", "status": "\(error.status)", "error": "\(error.message)"])
            // A budget that had no room says so when the request then failed another way too.
            if let scope = tracked?.exhaustedBudget { headers[.switchyardBudget] = "exhausted(\(scope))" }
            trace?.failed(error, costNanodollars: tracked?.costNanodollars ?? 0)
            return format.front.errorResponse(error, headers: headers)
        }
    }

    /// A request that calls no model but takes work of the gateway (`count_tokens` asks the
    /// engine's tokenizer): admitted as a model request is (the key's rate limit, a request id, the
    /// body within its limit, cancelled by a hang-up), then `work` answers it.
    func respond(to request: Request, context: GatewayRequestContext, front: FrontEnd,
                 _ work: @escaping @Sendable (ByteBuffer, Decider) async throws(GatewayError) -> (JSON, HTTPFields)) async throws -> Response {
        let key = context.key
        let decider = (context.snapshot ?? live.snapshot).decider
        let run: @Sendable () async -> Response = {
            let requestID = RequestID.make()
            var headers: HTTPFields = [.switchyardRequestID: requestID]
            do throws(GatewayError) {
                if let key { headers.append(try rateLimiter.admit(key)) }
                let (body, claim) = try await Self.readBody(request, limit: decider.policy.server.maxBodyBytes, budget: bodies)
                defer { withExtendedLifetime(claim) {} }
                let (answer, extra) = try await work(consume body, decider)
                headers[.contentType] = "application/json"
                headers.append(contentsOf: extra)
                return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: answer.serialized())))
            } catch {
                return front.errorResponse(error, headers: headers)
            }
        }
        guard let hangup = context.hangup else { return await run() }
        return try await hangup.cancellingOnHangup { await run() }
    }

    /// `x-switchyard-NAME` request headers by NAME (lowercased): the `tenant`, `team` and `header.NAME` signals.
    static func switchyardHeaders(_ fields: HTTPFields) -> [String: String] {
        var headers: [String: String] = [:]
        for field in fields {
            if let name = SwitchyardHeaders.signalName(ofField: field.name.canonicalName) { headers[name] = field.value }
        }
        return headers
    }

    /// The whole body, with its claim on `budget`: 413 past `limit`, 503 past the budget. A body
    /// with a `Content-Length` is claimed whole before a byte is read, and read into one buffer of
    /// its size; one without claims as it arrives. The claim must be kept as long as anything made
    /// from the body is (the parsed request, a stream writing its answer).
    static func readBody(_ request: Request, limit: Int, budget: BodyBudget) async throws(GatewayError) -> (ByteBuffer, BodyClaim) {
        let length = request.headers[.contentLength].flatMap(Int.init)
        if let length, length > limit {
            await discard(request.body)
            throw .payloadTooLarge(limit: limit)
        }
        guard let claim = budget.claim(length ?? 0) else {
            await discard(request.body)
            throw .bodiesInFlight
        }
        var body = ByteBufferAllocator().buffer(capacity: length ?? 0)
        // A body refused midway is read to its end and dropped, as `discard` does (a body can be
        // iterated once: this loop goes on dropping).
        var refusal: GatewayError?
        var dropped = 0
        do {
            for try await chunk in request.body {
                if refusal != nil {
                    dropped += chunk.readableBytes
                    if dropped > discardLimit { break }
                    continue
                }
                let beyond = body.readableBytes + chunk.readableBytes - claim.held
                if chunk.readableBytes > limit - body.readableBytes {
                    refusal = .payloadTooLarge(limit: limit)
                } else if beyond > 0, !claim.grow(by: beyond) {
                    refusal = .bodiesInFlight
                } else {
                    body.writeImmutableBuffer(chunk)
                    continue
                }
                body = ByteBuffer()
            }
        } catch {
            throw .invalidRequest("The request body could not be read: \(error).")
        }
        if let refusal { throw refusal }
        return (body, claim)
    }

    /// How much of a refused body is read and dropped before the connection is given up.
    static let discardLimit = 1 << 30

    /// Reads and drops an oversize body (up to 1 GiB, within the connection's `body_timeout`)
    /// before answering 413: a client that sends its whole body before reading (Python's urllib)
    /// would otherwise block on a full socket and never see the answer. The 413 then closes the
    /// connection.
    static func discard(_ body: RequestBody) async {
        var dropped = 0
        do {
            for try await buffer in body {
                dropped += buffer.readableBytes
                if dropped > discardLimit { return }
            }
        } catch {}
    }

    private func describe<Answer>(_ served: Served<Answer>, _ request: GatewayRequest, _ tracker: AttemptTracker, in headers: inout HTTPFields) {
        headers[.switchyardRoute] = Tier(served.target).rawValue
        // An Anthropic request served from its chat form: what that form could not carry.
        if let messages = request.messages, !served.target.isAnthropic {
            let dropped = messages.untranslatable
            if !dropped.isEmpty { headers[.switchyardDropped] = dropped.joined(separator: ",") }
        }
        // A Responses request served from its chat form (every target but one that speaks Responses): likewise.
        if let dropped = request.responses?.conversation.untranslatable, !dropped.isEmpty, served.target.remote?.speaksResponses != true {
            headers[.switchyardDropped] = dropped.joined(separator: ",")
        }
        headers[.switchyardModel] = served.target.name
        if let escalation = served.escalation {
            headers[.switchyardEscalated] = escalation.escalated ? escalation.reason : "not-escalated(\(escalation.reason))"
        }
        // A learned threshold says which one was in force and why, whichever way the cascade went.
        if let threshold = served.verdict?.threshold {
            let said = headers[.switchyardEscalated].map { $0 + "; " } ?? "not-escalated; "
            headers[.switchyardEscalated] = said + "threshold=" + threshold.summary
        }
        if !served.skipped.isEmpty {
            headers[.switchyardFallback] = served.skipped.map(\.description).joined(separator: ", ")
        }
        // Whatever path it took (a fallback, a cascade keeping its local answer, a cheaper target).
        if let scope = tracker.exhaustedBudget {
            headers[.switchyardBudget] = "exhausted(\(scope)); " + (served.target.isLocal ? "served on the box" : "served by \(served.target.name)")
        }
    }

    /// What hands a cascade's outcome to the learner once the client has the whole answer (given
    /// the served answer's text): nil when nothing is to be learned from this request.
    private func observer<Answer>(_ served: Served<Answer>, _ request: GatewayRequest, _ decision: Decision, _ snapshot: LivePolicy.Snapshot,
                                  _ requestID: String, _ caller: Caller, _ signalHeaders: [String: String]) -> (@Sendable (String) -> Void)? {
        guard let learner, snapshot.policy.learning != nil, let verdict = served.verdict,
              case .cascade(let cascade) = decision.action else { return nil }
        let escalated = served.escalation?.escalated ?? false
        // Kept only because no escalation target answered: neither a kept answer nor an escalation.
        if verdict.escalate, !escalated { return nil }
        // What was kept on the box is the local answer itself; an escalation's local answer was judged whole or not at all.
        let localText = served.localText
        return { text in
            learner.observe(Learner.Observation(snapshot: snapshot, request: request, decision: decision, requestID: requestID, caller: caller,
                                                verdict: verdict, localTarget: cascade.first,
                                                localText: escalated ? localText : text, escalated: escalated,
                                                replacementText: escalated ? text : nil, streamed: request.summary.stream,
                                                optedOut: signalHeaders["shadow"]?.lowercased() == "off"))
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
    private func recordPrivateData(_ decision: Decision, requestID: String, metrics: GatewayMetrics) {
        let refused = decision.isRefusal
        metrics.privateData(decision.privateData, refused: refused)
        logger.notice("private data kept on the box", metadata: [
            "request_id": "\(requestID)",
            "classes": "\(decision.privateData.joined(separator: ","))",
            "outcome": "\(refused ? "refused" : "kept_local")",
            "rule": "\(decision.rule)",
        ])
    }

    /// One line per request: the decision, both cascade attempts (the local score and what followed), what was skipped.
    private func log(_ requestID: String, _ front: FrontEnd, _ request: RequestSummary, decision: Decision, servedBy: String,
                     skipped: [SkippedTarget], escalation: Escalation?) {
        logger.info("routed", metadata: [
            "escalation": "\(escalation.map { ($0.escalated ? "escalated " : "kept-local ") + $0.reason } ?? "none")",
            "front": "\(front.rawValue)",
            "request_id": "\(requestID)",
            "requested_model": "\(request.model)",
            "rule": "\(decision.rule)",
            "reason": "\(decision.reason)",
            "served_by": "\(servedBy)",
            "stream": "\(request.stream)",
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
}
