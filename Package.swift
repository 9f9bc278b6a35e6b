// swift-tools-version:6.1
import PackageDescription

/// Module layout (one job each; follow a request top to bottom):
/// switchyard (CLI) → SwitchyardServer (HTTP in, fronts) → SwitchyardDecision (pure: where to serve)
/// → SwitchyardExecution (candidates, retries, breakers, cascades) → SwitchyardProviders (upstream
/// wire formats) → SwitchyardHTTP (libcurl out).
/// SwitchyardSignals defines what a policy can read; SwitchyardPolicy loads policy files;
/// SwitchyardEngine supervises llama-server; SwitchyardLearning calibrates trust from live traffic;
/// SwitchyardTracing names what a request's spans say; SwitchyardWire holds the wire formats shared by all of them.
/// SwitchyardLedger keeps API keys, budgets and every upstream attempt (SQLite or PostgreSQL).
let package = Package(
    name: "switchyard",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "switchyard", targets: ["switchyard"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1", traits: []),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        // No default traits: the SubprocessFoundation trait would pull Foundation into the engine.
        .package(url: "https://github.com/swiftlang/swift-subprocess.git", from: "1.0.2", traits: []),
        // Already in the graph (swift-nio, swift-subprocess); declared because the engine names
        // its FilePath and FileDescriptor types, which Subprocess's API takes.
        .package(url: "https://github.com/apple/swift-system.git", from: "1.5.0"),
        // The ledger's two stores and the hash of API keys.
        .package(url: "https://github.com/vapor/sqlite-nio.git", from: "1.13.2"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        // Traces (docs/operations.md, Tracing): the API everything records spans through, and the
        // OpenTelemetry SDK that exports them. OTLP/HTTP only: the default traits add the gRPC
        // exporter and its packages, minutes of every cold build for a transport no one asked for.
        .package(url: "https://github.com/apple/swift-distributed-tracing.git", from: "1.7.3"),
        .package(url: "https://github.com/swift-otel/swift-otel.git", from: "1.6.0", traits: ["OTLPHTTP"]),
    ],
    targets: [
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(name: "CMalloc"),
        // Counts the process's allocations for the allocation-count tests; linked into the tests only.
        .target(name: "CAllocationCounter"),
        // SwitchyardWire for HeaderSyntax: the client and the policy loader refuse the same headers.
        .target(name: "SwitchyardHTTP", dependencies: ["CCurl", "SwitchyardWire"]),
        .target(name: "SwitchyardWire"),
        // What a policy can read of a request, one definition per signal, and how each is
        // computed (the PII scan, complexity, the tokenizer through a protocol): pure.
        .target(name: "SwitchyardSignals", dependencies: ["SwitchyardWire"]),
        .target(name: "SwitchyardPolicy", dependencies: [
            "SwitchyardSignals", "SwitchyardWire", "SwitchyardLearning",
            .product(name: "Yams", package: "Yams"),
        ]),
        .target(name: "SwitchyardLedger", dependencies: [
            "SwitchyardWire",
            .product(name: "SQLiteNIO", package: "sqlite-nio"),
            .product(name: "PostgresNIO", package: "postgres-nio"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ]),
        .target(name: "SwitchyardEngine", dependencies: [
            "SwitchyardHTTP", "SwitchyardPolicy", "SwitchyardProviders",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Subprocess", package: "swift-subprocess"),
            .product(name: "SystemPackage", package: "swift-system"),
        ]),
        // What a request's spans say and how they link: the attribute names (OpenTelemetry's GenAI
        // conventions), the request's trace and the attributes of each target, made at load.
        // The tracing API only; the exporter is the server's.
        .target(name: "SwitchyardTracing", dependencies: [
            "SwitchyardPolicy", "SwitchyardWire",
            .product(name: "Tracing", package: "swift-distributed-tracing"),
        ]),
        .target(name: "SwitchyardProviders", dependencies: [
            "SwitchyardHTTP", "SwitchyardWire", "SwitchyardPolicy", "SwitchyardSignals",
        ]),
        // Policy + request summary + signals → a decision: no providers, engine or HTTP.
        .target(name: "SwitchyardDecision", dependencies: ["SwitchyardSignals", "SwitchyardPolicy", "SwitchyardLearning", "SwitchyardWire"]),
        // Serving a decision: candidates, fallbacks, retries, breakers, cascades, admission, attempts.
        .target(name: "SwitchyardExecution", dependencies: [
            "SwitchyardDecision", "SwitchyardSignals", "SwitchyardPolicy", "SwitchyardProviders", "SwitchyardTracing", "SwitchyardWire",
            .product(name: "Tracing", package: "swift-distributed-tracing"),
        ]),
        // How far to trust the small model, learned from live traffic: labels, refits and the
        // risk-bounded threshold, as pure values (no I/O).
        .target(name: "SwitchyardLearning", dependencies: ["SwitchyardSignals"]),
        .target(name: "SwitchyardEval", dependencies: [
            "SwitchyardLearning", "SwitchyardWire", "SwitchyardPolicy", "SwitchyardEngine", "SwitchyardHTTP", "SwitchyardProviders", "SwitchyardDecision", "SwitchyardExecution", "SwitchyardSignals",
            .product(name: "Logging", package: "swift-log"),
            // The oracle cloud of `eval selfcal` (an OpenAI-compatible server in-process).
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdCore", package: "hummingbird"),
        ]),
        .target(name: "SwitchyardServer", dependencies: [
            "CMalloc", "SwitchyardHTTP", "SwitchyardWire", "SwitchyardPolicy", "SwitchyardEngine",
            "SwitchyardProviders", "SwitchyardDecision", "SwitchyardExecution", "SwitchyardSignals", "SwitchyardLedger", "SwitchyardTracing",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdCore", package: "hummingbird"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            .product(name: "Tracing", package: "swift-distributed-tracing"),
            .product(name: "OTel", package: "swift-otel"),
        ]),
        .executableTarget(name: "switchyard", dependencies: [
            "SwitchyardServer", "SwitchyardPolicy", "SwitchyardDecision", "SwitchyardExecution", "SwitchyardSignals", "SwitchyardWire", "SwitchyardEval", "SwitchyardLearning", "SwitchyardLedger",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "UnixSignals", package: "swift-service-lifecycle"),
        ]),
        .testTarget(name: "SwitchyardTests", dependencies: [
            "SwitchyardHTTP", "SwitchyardWire", "SwitchyardPolicy", "SwitchyardEngine",
            "SwitchyardProviders", "SwitchyardDecision", "SwitchyardExecution", "SwitchyardSignals", "SwitchyardServer", "SwitchyardEval", "SwitchyardLedger",
            "SwitchyardLearning", "CAllocationCounter", "SwitchyardTracing",
            .product(name: "Hummingbird", package: "hummingbird"),
        ]),
    ],
    swiftLanguageModes: [.v6]
)
