// swift-tools-version:6.2
import PackageDescription
import class Foundation.ProcessInfo

/// The hot-loop benchmarks (ordo-one/benchmark) are built only when asked for,
/// so `make run` and `make test` never fetch or compile the benchmark harness.
let withBenchmarks = ProcessInfo.processInfo.environment["TESSERA_BENCHMARKS"] == "1"
/// libFuzzer targets (Sources/Fuzz{JSON,SDP,RTP,Kurento,SRTP,STUN}), built only by `make fuzz` with `-sanitize=fuzzer,address`:
/// their entry point is libFuzzer's, so an ordinary build could not link them.
let withFuzzers = ProcessInfo.processInfo.environment["TESSERA_FUZZ"] == "1"

// Settings shared by every Swift target (see docs/STYLE notes in README).
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
    .enableUpcomingFeature("MemberImportVisibility"),
]
// Protocol core and object model: every `unsafe` must stand out.
let strictSettings = swiftSettings + [.strictMemorySafety()]

/// One `.systemLibrary` per C library: a module map and a single shim header.
func cLibrary(_ name: String, pkgConfig: String?, apt: [String]) -> Target {
    .systemLibrary(name: name, path: "Sources/\(name)", pkgConfig: pkgConfig, providers: [.apt(apt)])
}

let package = Package(
    name: "tessera",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "tessera", targets: ["tessera"]),
        .executable(name: "tessera-loadgen", targets: ["LoadGenerator"]),
        .executable(name: "tessera-load", targets: ["TesseraLoad"]),
        .executable(name: "tessera-composite-replay", targets: ["CompositeReplay"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket.git", from: "2.8.1"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
    ] + (withBenchmarks
        ? [.package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"])]
        : []),
    targets: [
        // MARK: C libraries
        cLibrary("COpus", pkgConfig: "opus", apt: ["libopus-dev"]),
        cLibrary("CVPX", pkgConfig: "vpx", apt: ["libvpx-dev"]),
        cLibrary("CNice", pkgConfig: "nice", apt: ["libnice-dev"]),
        cLibrary("CSRTP", pkgConfig: "libsrtp2", apt: ["libsrtp2-dev"]),
        cLibrary("COpenSSL", pkgConfig: "openssl", apt: ["libssl-dev"]),
        cLibrary(
            "CGStreamer", pkgConfig: "gstreamer-app-1.0",
            apt: ["libgstreamer1.0-dev", "libgstreamer-plugins-base1.0-dev"]),
        // Debian's libyuv ships no pkg-config file: the module map links `yuv` itself.
        cLibrary("CYUV", pkgConfig: nil, apt: ["libyuv-dev"]),

        // MARK: Protocol core (sans-IO)
        .target(name: "JSONRPC", swiftSettings: strictSettings),
        .target(name: "SDP", swiftSettings: strictSettings),
        .target(name: "RTP", swiftSettings: strictSettings),
        .target(name: "STUN", swiftSettings: strictSettings),

        // MARK: Mixer: codec owners, audio mix-minus, video composition (pure types, no IO)
        // The C kernels are built optimised even in debug builds: they are the inner loops.
        .target(
            name: "CMixKernels",
            cSettings: [.unsafeFlags(["-O3", "-fno-math-errno"])]
        ),
        .target(
            name: "Mixer",
            dependencies: ["COpus", "CVPX", "CYUV", "CMixKernels", "RTP"],
            swiftSettings: swiftSettings
        ),

        // Batched UDP I/O (recvmmsg/sendmmsg) for the media loops' shared ports.
        .target(name: "CNetIO", cSettings: [.unsafeFlags(["-O2"])]),
        // SRTP/SRTCP for the two WebRTC profiles on OpenSSL's libcrypto (Debian's libsrtp2 runs on NSS).
        .target(name: "CSRTPCore", cSettings: [.unsafeFlags(["-O2"])], linkerSettings: [.linkedLibrary("crypto")]),

        // usrsctp (Debian's libusrsctp-dev, a static library) behind a few plain C functions: WebRTC data channels.
        .target(name: "CSCTP", cSettings: [.define("INET"), .define("INET6")], linkerSettings: [.linkedLibrary("usrsctp")]),

        // MARK: Transport: media loops, ICE (libnice), DTLS (OpenSSL), SRTP (libsrtp2), SCTP (usrsctp)
        .target(
            name: "Transport",
            dependencies: [
                "CNice", "CNetIO", "COpenSSL", "CSRTP", "CSRTPCore", "CSCTP", "STUN",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),

        // MARK: Recording and playback: GStreamer pipelines behind appsrc/appsink, URI rules, timestamps
        .target(
            name: "Recording",
            dependencies: ["CGStreamer"],
            swiftSettings: swiftSettings
        ),

        // MARK: Media plane: per-loop nodes (sessions, forwarding, hubs, mixer
        // wiring, recorder, player), reached from Elements by id only
        .target(
            name: "MediaPlane",
            dependencies: [
                "SDP", "RTP", "STUN", "Transport", "Mixer", "Recording",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: strictSettings
        ),

        // MARK: Kurento object model
        .target(
            name: "Elements",
            dependencies: [
                "MediaPlane", "JSONRPC", "SDP", "RTP", "STUN", "Transport", "Mixer", "Recording",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            resources: [.copy("KMD")],
            swiftSettings: strictSettings
        ),

        // MARK: Rooms: the room JSON-RPC protocol, a client of the element layer
        .target(
            name: "Rooms",
            dependencies: ["Elements", "JSONRPC", "COpenSSL", "Mixer"],
            swiftSettings: swiftSettings
        ),

        // MARK: Cluster: nodes, room placement and leases in PostgreSQL (docs/cluster.md)
        .target(
            name: "Cluster",
            dependencies: [
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),

        // MARK: Server: HTTP, WebSocket, config, metrics
        .target(
            name: "TesseraServer",
            dependencies: [
                "Elements", "MediaPlane", "JSONRPC", "Transport", "Rooms", "COpenSSL", "Cluster",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            resources: [.copy("Demo"), .copy("SDK")],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "tessera",
            dependencies: [
                "TesseraServer", "Rooms", "JSONRPC",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // SeededRandom for the fuzz tests: no dependencies.
        .target(name: "FuzzSupport", swiftSettings: swiftSettings),
        .target(
            name: "TestSupport",
            dependencies: ["Elements", "JSONRPC", "Rooms"],
            swiftSettings: swiftSettings
        ),

        // MARK: Benchmarks and load generators
        .executableTarget(
            name: "LoadGenerator",
            dependencies: [
                "JSONRPC",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Benchmarks/LoadGenerator",
            swiftSettings: swiftSettings
        ),

        // The media load generator: real WebRTC participants (libnice full ICE,
        // DTLS client, SRTP) built from the server's own transport and SDP modules.
        .executableTarget(
            name: "TesseraLoad",
            dependencies: [
                "JSONRPC", "SDP", "RTP", "STUN", "Transport", "Mixer", "CNice", "CNetIO",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Benchmarks/TesseraLoad",
            swiftSettings: swiftSettings
        ),

        // The composite mixer fed from VP8 files: the same-input comparison with
        // GStreamer's composite (Benchmarks/mixer/composite_compare.py).
        .executableTarget(
            name: "CompositeReplay",
            dependencies: ["Mixer"],
            path: "Benchmarks/CompositeReplay",
            swiftSettings: swiftSettings
        ),

        // MARK: Tests
        .testTarget(
            name: "JSONRPCTests",
            dependencies: ["JSONRPC", "FuzzSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "SDPTests", dependencies: ["SDP", "FuzzSupport"], resources: [.copy("Fixtures")], swiftSettings: swiftSettings),
        .testTarget(name: "STUNTests", dependencies: ["STUN"], swiftSettings: swiftSettings),
        .testTarget(name: "RTPTests", dependencies: ["RTP", "STUN", "FuzzSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "TransportTests", dependencies: ["Transport", "CSRTP", "CSRTPCore"], swiftSettings: swiftSettings),
        .testTarget(
            name: "ElementsTests",
            dependencies: ["Elements", "MediaPlane", "JSONRPC", "RTP", "SDP", "Transport", "TestSupport", "FuzzSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MediaPlaneTests",
            dependencies: ["MediaPlane", "RTP", "SDP", "Transport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TesseraServerTests",
            dependencies: [
                "TesseraServer", "Elements", "MediaPlane", "JSONRPC", "TestSupport", "Transport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HummingbirdWSTesting", package: "hummingbird-websocket"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "ClusterTests", dependencies: ["Cluster"], swiftSettings: swiftSettings),
        .testTarget(name: "RoomsTests", dependencies: ["Rooms", "Elements", "JSONRPC", "TestSupport", "FuzzSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "RecordingTests", dependencies: ["Recording", "Mixer", "RTP"], resources: [.copy("Fixtures")], swiftSettings: swiftSettings),
        .testTarget(name: "MixerTests", dependencies: ["Mixer", "RTP", "COpus", "CVPX", "FuzzSupport"], swiftSettings: swiftSettings),
        .testTarget(
            name: "CLibraryTests",
            dependencies: ["COpus", "CVPX", "CNice", "CSRTP", "COpenSSL", "CGStreamer", "CYUV"],
            swiftSettings: swiftSettings
        ),
    ]
)

if withBenchmarks {
    package.targets.append(
        .executableTarget(
            name: "MixerBenchmarks",
            dependencies: [
                "Mixer", "COpus", "CVPX", "CYUV", "CMixKernels",
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/MixerBenchmarks",
            swiftSettings: swiftSettings,
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ))
    package.targets.append(
        .executableTarget(
            name: "ForwardingBenchmarks",
            dependencies: ["MediaPlane", "RTP", "SDP", "Transport", .product(name: "Benchmark", package: "benchmark")],
            path: "Benchmarks/ForwardingBenchmarks",
            swiftSettings: swiftSettings,
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ))
}

if withFuzzers {
    package.targets.append(.target(name: "FuzzDriver", path: "Sources/FuzzDriver", swiftSettings: swiftSettings))
    for (name, dependencies) in [
        ("FuzzJSON", ["JSONRPC"]), ("FuzzSDP", ["SDP"]), ("FuzzRTP", ["RTP", "STUN"]),
        ("FuzzKurento", ["Elements", "JSONRPC", "TestSupport"]), ("FuzzSRTP", ["Transport"]),
        ("FuzzSTUN", ["STUN", "Transport"]), ("FuzzRooms", ["Rooms", "JSONRPC", "TestSupport"]),
        ("FuzzDTLS", ["Transport"]), ("FuzzDepacketize", ["Mixer"]), ("FuzzDataChannel", ["Transport"]),
    ] {
        package.targets.append(
            .executableTarget(
                name: name, dependencies: (dependencies + ["FuzzDriver"]).map { .target(name: $0) }, path: "Sources/\(name)",
                swiftSettings: swiftSettings))
    }
}
