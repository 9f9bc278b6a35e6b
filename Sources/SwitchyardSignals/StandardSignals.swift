import SwitchyardWire

extension SignalRegistry {
    /// The signals every policy can read (docs/policy.md, Signals).
    public static let standard = SignalRegistry([
        SignalDefinition(naming: .exactly("model"), kind: .string, cost: .free,
                         summary: "The model the client asked for: `auto` or a policy model name.") { e, _ in
            .string(e.request.model)
        },
        SignalDefinition(naming: .exactly("tenant"), kind: .string, cost: .free,
                         summary: "The caller's tenant: from its API key, else `x-switchyard-tenant` (unverified).") { e, _ in
            // A key's identity wins; only an anonymous caller's headers are taken.
            .string(e.caller.isAnonymous ? e.headers["tenant"] ?? "" : e.caller.tenant ?? "")
        },
        SignalDefinition(naming: .exactly("team"), kind: .string, cost: .free,
                         summary: "The caller's team: from its API key, else `x-switchyard-team` (unverified).") { e, _ in
            .string(e.caller.isAnonymous ? e.headers["team"] ?? "" : e.caller.team ?? "")
        },
        SignalDefinition(naming: .exactly("key"), kind: .string, cost: .free,
                         summary: "The name of the caller's API key; empty for an anonymous caller.") { e, _ in
            .string(e.caller.keyName ?? "")
        },
        SignalDefinition(naming: .exactly("budget.remaining_usd"), kind: .number, range: 0...Double.greatestFiniteMagnitude, cost: .free,
                         summary: "What is left of the caller's tightest cloud budget this period, in USD (infinite without one).") { e, _ in
            .number(await e.callerBudget()?.remainingUSD ?? .infinity)
        } explain: { value in
            // JSON has no infinity: a caller without a budget shows null.
            if case .number(let n) = value, !n.isFinite { return .null }
            return SignalDefinition.plain(value)
        },
        SignalDefinition(naming: .exactly("budget.used_ratio"), kind: .number, range: 0...1, cost: .free,
                         summary: "The share of that budget already spent or reserved, 0 to 1 (0 without one).") { e, _ in
            .number(await e.callerBudget()?.usedRatio ?? 0)
        },
        SignalDefinition(naming: .header, kind: .string, cost: .free,
                         summary: "Any `x-switchyard-NAME` request header, as `header.NAME` (case-insensitive; empty when absent).") { e, name in
            .string(e.headers[name] ?? "")
        },
        SignalDefinition(naming: .exactly("messages"), kind: .number, range: 0...Double.greatestFiniteMagnitude, isCount: true, cost: .free,
                         summary: "Turns in the conversation.") { e, _ in
            .number(Double(e.request.turns.count))
        },
        SignalDefinition(naming: .exactly("prompt_chars"), kind: .number, range: 0...Double.greatestFiniteMagnitude, isCount: true,
                         cost: .free, summary: "Characters of the turns' text.") { e, _ in
            .number(Double(e.request.turns.reduce(0) { $0 + $1.text.count }))
        },
        SignalDefinition(naming: .exactly("prompt_tokens"), kind: .number, range: 0...Double.greatestFiniteMagnitude, isCount: true,
                         cost: .engineCall, summary: "Exact prompt tokens on the local model (its chat template and tokenizer).") { e, _ in
            .number(Double(await e.tokens()))
        } stubbed: { e, value in
            if case .number(let n) = value { e.setTokens(Int(n)) }
        },
        SignalDefinition(naming: .exactly("prompt_ratio"), kind: .number, range: 0...Double.greatestFiniteMagnitude, cost: .engineCall,
                         summary: "`prompt_tokens` over the local model's context per slot.") { e, _ in
            let tokens = await e.tokens()
            return .number(e.localContext.map { Double(tokens) / Double(max(1, $0)) } ?? 0)
        },
        SignalDefinition(naming: .exactly("max_tokens"), kind: .number, range: 0...Double.greatestFiniteMagnitude, isCount: true, cost: .free,
                         summary: "Requested output tokens (`max_completion_tokens` or `max_tokens`; 0 when unset).") { e, _ in
            .number(Double(e.request.maxTokens ?? 0))
        },
        SignalDefinition(naming: .exactly("stream"), kind: .bool, cost: .free, summary: "The client asked for a stream.") { e, _ in
            .bool(e.request.stream)
        },
        SignalDefinition(naming: .exactly("tools"), kind: .bool, cost: .free, summary: "The request offers tools.") { e, _ in
            .bool(e.request.hasTools)
        },
        SignalDefinition(naming: .exactly("images"), kind: .bool, cost: .free, summary: "The request carries images.") { e, _ in
            .bool(e.request.hasImages)
        },
        SignalDefinition(naming: .exactly("pii"), kind: .set, members: PIIClass.allCases.map(\.rawValue), cost: .localScan,
                         summary: "PII classes found in every string the request would carry upstream.") { e, _ in
            .set(e.pii())
        },
        SignalDefinition(naming: .exactly("complexity"), kind: .number, range: 0...1, cost: .localScan,
                         summary: "Estimated difficulty, 0 to 1: the calibration's probability that the local answer is wrong, else a provisional score.") { e, _ in
            guard let model = e.complexityModel else { return .number(ComplexityScorer.score(e.request)) }
            let tokens = await e.tokens()
            return .number(model.probability(PromptFeatures.of(e.request, promptTokens: tokens)))
        },
        SignalDefinition(naming: .exactly("confidence"), kind: .number, range: 0...1, cost: .afterGeneration,
                         summary: "Probability that the local answer is right (a cascade's `when` only).") { _, _ in
            nil  // known only after generation: the cascade sets it
        },
        SignalDefinition(naming: .exactly("confidence.threshold"), kind: .number, range: 0...1, cost: .afterGeneration,
                         summary: "The threshold in force for a cascade's `confidence < auto`: learned within its `risk`, or its starting point.") { _, _ in
            nil  // set by the cascade with the threshold in force
        },
        SignalDefinition(naming: .localTarget(suffix: "queue"), kind: .number, range: 0...Double.greatestFiniteMagnitude, isCount: true,
                         cost: .free, summary: "Requests waiting for a slot on the local target.") { e, target in
            e.box?.load(of: target).map { .number(Double($0.queued)) }
        },
        SignalDefinition(naming: .localTarget(suffix: "free_slots"), kind: .number, range: 0...Double.greatestFiniteMagnitude, isCount: true,
                         cost: .free, summary: "The local target's free generation slots.") { e, target in
            e.box?.load(of: target).map { .number(Double($0.freeSlots)) }
        },
        SignalDefinition(naming: .localTarget(suffix: "ready"), kind: .bool, cost: .free,
                         summary: "The local target's engine serves now (not starting or restarting).") { e, target in
            e.box?.isReady(target).map(ConditionValue.bool)
        },
    ])
}
