// swift-tools-version: 6.2
import PackageDescription

/// Every target is compiled in Swift 6 language mode with strict concurrency
/// (the tools-version default) and with all warnings treated as errors.
let strictSettings: [SwiftSetting] = [
    .treatAllWarnings(as: .error),
]

/// The inference engine is optimised in debug builds too: unoptimised, its
/// kernels run about a hundred times slower (over a second per token on the
/// tiny test models), which would make the test suite, which runs debug
/// builds, take hours. Debugging the engine itself: remove this line.
let optimizedInDebug = SwiftSetting.unsafeFlags(["-O"], .when(configuration: .debug))

/// The row kernels (Sources/RowKernels) are compiled twice: `RowKernels`
/// for the baseline CPU, and `RowKernelsAVX2` (the same files, through a
/// symbolic link) for AVX2, FMA and F16C (x86-64 machines from 2013 on;
/// F16C converts Float16 in one instruction instead of a library call per
/// element). The module names keep the two copies' symbols apart, so one
/// binary holds both; `KernelPath` chooses between them at run time. No
/// other target carries a CPU flag: the binary runs on any x86-64 CPU.
/// `ROW_KERNELS_AVX2` tells the shared code which copy it is in.
#if arch(x86_64)
let rowKernelsAVX2Flags: [SwiftSetting] = [
    .unsafeFlags(["-target-cpu", "haswell"]), .define("ROW_KERNELS_AVX2"), optimizedInDebug,
]
#else
let rowKernelsAVX2Flags: [SwiftSetting] = [optimizedInDebug]
#endif

/// The C kernels are optimised in every configuration, for the same reason
/// as ``optimizedInDebug``; each function names its own instruction set with
/// `__attribute__((target(...)))`, so the file itself is compiled for the
/// baseline CPU.
let cKernelFlags: [CSetting] = [.unsafeFlags(["-O2"])]

/// The test targets. The targets are in several arrays: one expression holding
/// every target took the compiler too long to type-check.
let testTargets: [Target] = [
    .testTarget(
        name: "PrometheusTextTests",
        dependencies: ["PrometheusText"],
        swiftSettings: strictSettings
    ),
    .testTarget(
        name: "HtpasswdKitTests",
        dependencies: ["HtpasswdKit"],
        swiftSettings: strictSettings
    ),
    .testTarget(
        name: "ProxyTests",
        dependencies: [
            "Loopback",
            "PrometheusText",
            "Proxy",
            "PostgresState",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "NIOEmbedded", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            // The WebSocket echo upstream of the passthrough tests.
            .product(name: "NIOWebSocket", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ],
        swiftSettings: strictSettings
    ),
    .testTarget(
        name: "GatewayTests",
        dependencies: [
            "Gateway", "Proxy",
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Logging", package: "swift-log"),
        ],
        swiftSettings: strictSettings
    ),
    .testTarget(
        name: "BackendTests",
        dependencies: ["Backend", "Kernels", "OpenAIWire", "Loopback"],
        resources: [.copy("Fixtures")],
        // Optimised in debug builds like the engine: the tests' own loops
        // over whole vocabularies (log-softmax, arg-max per position of
        // every reference fixture) were 85% of the suite's CPU time unoptimised.
        swiftSettings: strictSettings + [optimizedInDebug]
    ),
]

/// The system libraries and the libraries of the proxy, its shared pieces and the engine.
let libraryTargets: [Target] = [
    // System libraries, found through pkg-config; see each module.modulemap.
    .systemLibrary(name: "COpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),
    .systemLibrary(name: "CCrypt", pkgConfig: "libxcrypt", providers: [.apt(["libcrypt-dev"])]),
    // `openblas`, not `blas`: the latter may resolve to the slow reference BLAS.
    .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),

    // The OpenAI wire format both the proxy and the backend write (the error body).
    .target(
        name: "OpenAIWire",
        swiftSettings: strictSettings
    ),
    // The Prometheus text format both the proxy's and the backend's /metrics write.
    .target(
        name: "PrometheusText",
        swiftSettings: strictSettings
    ),
    // What counts as a loopback address, for the proxy and the backend.
    .target(
        name: "Loopback",
        dependencies: [.product(name: "NIOCore", package: "swift-nio")],
        swiftSettings: strictSettings
    ),
    .target(
        name: "HtpasswdKit",
        dependencies: ["COpenSSL", "CCrypt"],
        swiftSettings: strictSettings
    ),
    .target(
        name: "Proxy",
        dependencies: [
            "PrometheusText",
            "Loopback",
            "COpenSSL",
            "HtpasswdKit",
            "OpenAIWire",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Yams", package: "Yams"),
            .product(name: "SQLiteNIO", package: "sqlite-nio"),
            .product(name: "Mustache", package: "swift-mustache"),
        ],
        swiftSettings: strictSettings
    ),
]

/// The PostgreSQL store, the kernels, the backend and the gateway.
let serverTargets: [Target] = [
    // The PostgreSQL store of state shared by several proxies (state.postgres). Its own target,
    // which the proxy's does not depend on: postgres-nio brings two BoringSSL builds, and the
    // coverage-instrumented fuzzer build of the proxy (scripts/fuzz-proxy) need not compile them.
    .target(
        name: "PostgresState",
        dependencies: [
            "Proxy",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "PostgresNIO", package: "postgres-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
        ],
        swiftSettings: strictSettings
    ),
    // Integer-dot kernels with intrinsics (instructions Swift cannot reach:
    // vpdpbusd, maddubs), chosen at run time by CPU features.
    .target(
        name: "CKernels",
        cSettings: cKernelFlags
    ),
    // GGML's tensor element types, shared by the kernels' targets.
    .target(
        name: "GGMLTypes",
        swiftSettings: strictSettings
    ),
    // The per-row float kernels (dot products, dequantization), for the
    // baseline CPU, and the same files compiled for AVX2 (see above).
    .target(
        name: "RowKernels",
        dependencies: ["GGMLTypes"],
        swiftSettings: strictSettings + [optimizedInDebug]
    ),
    .target(
        name: "RowKernelsAVX2",
        dependencies: ["GGMLTypes"],
        swiftSettings: strictSettings + rowKernelsAVX2Flags
    ),
    // Quantized and float matrix kernels, run-time CPU dispatch.
    .target(
        name: "Kernels",
        dependencies: ["COpenBLAS", "CKernels", "GGMLTypes", "RowKernels", "RowKernelsAVX2"],
        swiftSettings: strictSettings + [optimizedInDebug]
    ),
    .target(
        name: "Backend",
        dependencies: [
            "Kernels",
            "COpenBLAS",
            "OpenAIWire",
            "PrometheusText",
            "Loopback",
            // The tokenizers' merge queues.
            .product(name: "HeapModule", package: "swift-collections"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ],
        swiftSettings: strictSettings + [optimizedInDebug]
    ),
    // `lmgate serve`: the proxy and a supervised backend as one deployable.
    .target(
        name: "Gateway",
        dependencies: [
            "Proxy",
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
            // Start-up, signals and shutdown order of the long-running commands.
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "UnixSignals", package: "swift-service-lifecycle"),
        ],
        swiftSettings: strictSettings
    ),
]

/// The executables: wiring only.
let executableTargets: [Target] = [
    .executableTarget(
        name: "lmgate",
        dependencies: [
            "Proxy",
            "PostgresState",
            "Gateway",
            "Backend",
            "HtpasswdKit",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ],
        swiftSettings: strictSettings
    ),
    .executableTarget(
        name: "kernels-bench",
        dependencies: ["Kernels"],
        swiftSettings: strictSettings
    ),
    .executableTarget(
        name: "grammar-bench",
        dependencies: ["Backend"],
        swiftSettings: strictSettings
    ),
    .executableTarget(
        name: "tokenizer-bench",
        dependencies: ["Backend"],
        swiftSettings: strictSettings
    ),
    .executableTarget(
        name: "swift-htpasswd",
        dependencies: ["HtpasswdKit"],
        swiftSettings: strictSettings
    ),
    // Benchmark for scripts/bench-htpasswd (not a test; run in release mode).
    .executableTarget(
        name: "htpasswd-bench",
        dependencies: ["HtpasswdKit", "CCrypt", "COpenSSL"],
        swiftSettings: strictSettings
    ),
    // Coverage-guided fuzzing of the proxy's request path (scripts/fuzz-proxy builds it
    // with -sanitize=fuzzer); a plain build replays input files instead.
    .executableTarget(
        name: "proxy-fuzz",
        dependencies: [
            "Proxy",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOEmbedded", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
        ],
        swiftSettings: strictSettings
    ),
]

let package = Package(
    name: "lmgate",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "HtpasswdKit", targets: ["HtpasswdKit"]),
        .library(name: "Proxy", targets: ["Proxy"]),
        .library(name: "Backend", targets: ["Backend"]),
        .library(name: "Gateway", targets: ["Gateway"]),
        .executable(name: "lmgate", targets: ["lmgate"]),
        .executable(name: "swift-htpasswd", targets: ["swift-htpasswd"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.6.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        // Usage accounting and token-quota state in an SQLite file (Proxy/Usage). Chosen over GRDB
        // for its build time (docs/BENCHMARKS.md, "Usage store: build time"): its SQLite is one C file.
        .package(url: "https://github.com/vapor/sqlite-nio.git", from: "1.13.2"),
        // The admin console's server-rendered pages (Proxy/Admin): logic-less templates, no
        // dependencies of its own.
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
        // Usage and token-quota state shared by several proxies in PostgreSQL (state.postgres,
        // the PostgresState target). Its clean debug build time is in docs/BENCHMARKS.md, "Shared state: build time".
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        // TLS to that server (state.postgres ?sslmode=): postgres-nio builds it already.
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
    ],
    targets: libraryTargets + serverTargets + executableTargets + testTargets
)
