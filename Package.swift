// swift-tools-version:6.1
import PackageDescription

/// Module layout (one job each; follow a request top to bottom):
/// switchyard (CLI) → SwitchyardServer (HTTP in) → SwitchyardRouter (decision)
/// → SwitchyardProviders (upstream wire formats) → SwitchyardHTTP (libcurl out).
/// SwitchyardEngine supervises llama-server; SwitchyardPolicy loads policy files;
/// SwitchyardWire holds the OpenAI wire format shared by all of them.
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
    ],
    targets: [
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        // SwitchyardWire for HeaderSyntax: the client and the policy loader refuse the same headers.
        .target(name: "SwitchyardHTTP", dependencies: ["CCurl", "SwitchyardWire"]),
        .target(name: "SwitchyardWire"),
        .target(name: "SwitchyardPolicy", dependencies: [
            "SwitchyardWire",
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
            "SwitchyardHTTP", "SwitchyardPolicy",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Subprocess", package: "swift-subprocess"),
            .product(name: "SystemPackage", package: "swift-system"),
        ]),
        .target(name: "SwitchyardProviders", dependencies: [
            "SwitchyardHTTP", "SwitchyardWire", "SwitchyardPolicy", "SwitchyardEngine",
        ]),
        .target(name: "SwitchyardRouter", dependencies: [
            "SwitchyardWire", "SwitchyardPolicy", "SwitchyardProviders",
        ]),
        // How far to trust the small model, learned from live traffic: labels, refits and the
        // risk-bounded threshold, as pure values (no I/O).
        .target(name: "SwitchyardLearning", dependencies: ["SwitchyardPolicy"]),
        .target(name: "SwitchyardEval", dependencies: [
            "SwitchyardLearning", "SwitchyardWire", "SwitchyardPolicy", "SwitchyardEngine", "SwitchyardHTTP", "SwitchyardProviders", "SwitchyardRouter",
            .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "SwitchyardServer", dependencies: [
            "SwitchyardHTTP", "SwitchyardWire", "SwitchyardPolicy", "SwitchyardEngine",
            "SwitchyardProviders", "SwitchyardRouter", "SwitchyardLedger",
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
        ]),
        .executableTarget(name: "switchyard", dependencies: [
            "SwitchyardServer", "SwitchyardPolicy", "SwitchyardRouter", "SwitchyardWire", "SwitchyardEval", "SwitchyardLedger",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .testTarget(name: "SwitchyardTests", dependencies: [
            "SwitchyardHTTP", "SwitchyardWire", "SwitchyardPolicy", "SwitchyardEngine",
            "SwitchyardProviders", "SwitchyardRouter", "SwitchyardServer", "SwitchyardEval", "SwitchyardLedger",
            "SwitchyardLearning",
            .product(name: "Hummingbird", package: "hummingbird"),
        ]),
    ],
    swiftLanguageModes: [.v6]
)
