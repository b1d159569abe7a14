import ArgumentParser
import Foundation
import Hummingbird
import HummingbirdWSClient
import HummingbirdWebSocket
import JSONRPC
import Logging

/// `tessera-loadgen`: load generators for benchmarks (not tests).
///
/// - `rpc`: request rate of the Kurento protocol over one WebSocket, with a
///   window of requests in flight: `ping`, or `create`+`release` of a pipeline.
/// - `echo-server`: a WebSocket server that sends every frame back unchanged:
///   the floor of the same WebSocket stack with no protocol work, for a
///   side-by-side run (`Benchmarks/run-rpc-bench.sh`).
@main
struct LoadGenerator: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tessera-loadgen", abstract: "Tessera load generators.",
        subcommands: [RPC.self, EchoServer.self])
}

struct RPC: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Kurento JSON-RPC request rate over one WebSocket.")

    enum Workload: String, ExpressibleByArgument { case ping, createRelease = "create-release" }

    @Option(help: "WebSocket URL.") var url = "ws://127.0.0.1:8888/kurento"
    @Option(help: "ping or create-release.") var workload: Workload = .ping
    @Option(help: "Operations to run (a create-release pair is one operation).") var operations = 20000
    @Option(help: "Operations in flight at once.") var window = 32
    @Option(help: "Label printed with the result.") var label = "tessera"

    func run() async throws {
        let logger = Logger(label: "loadgen")
        let stats = Stats()
        let n = operations, w = max(1, window), workload = self.workload
        try await WebSocketClient.connect(
            url: url, configuration: .init(maxFrameSize: 1 << 20), logger: logger
        ) { inbound, outbound, _ in
            var nextID: Int64 = 1
            var started: [Int64: ContinuousClock.Instant] = [:]  // operation start by the id in flight
            var opStart: [Int64: ContinuousClock.Instant] = [:]
            var latencies: [Duration] = []
            latencies.reserveCapacity(n)
            var launched = 0, done = 0
            func send(_ method: String, _ params: JSONValue, start: ContinuousClock.Instant) async throws {
                let id = nextID
                nextID += 1
                opStart[id] = start
                started[id] = .now
                try await outbound.write(.text(JSONWriter.string(RPCRequest(id: .int(id), method: method, params: params).json)))
            }
            func launch() async throws {
                launched += 1
                switch workload {
                case .ping: try await send("ping", .object([:]), start: .now)
                case .createRelease: try await send("create", ["type": "MediaPipeline"], start: .now)
                }
            }
            let begin = ContinuousClock.now
            while launched < min(w, n) { try await launch() }
            for try await message in inbound.messages(maxSize: 1 << 20) {
                guard case .text(let text) = message, let reply = try? JSONParser.parse(text),
                    let id = reply["id"]?.intValue, let start = opStart.removeValue(forKey: id)
                else { continue }
                started[id] = nil
                stats.requests += 1
                if reply["error"] != nil { stats.errors += 1 }
                if workload == .createRelease, let created = reply["result"]?["value"]?.stringValue,
                    created.hasSuffix("MediaPipeline")
                {
                    try await send("release", ["object": .string(created)], start: start)
                    continue
                }
                latencies.append(.now - start)
                done += 1
                if done == n { break }
                if launched < n { try await launch() }
            }
            stats.elapsed = .now - begin
            stats.latencies = latencies
        }
        stats.print(label: label, workload: workload.rawValue, window: w)
    }
}

final class Stats: @unchecked Sendable {
    // Written by the one WebSocket handler task, read after it returns.
    var requests = 0
    var errors = 0
    var elapsed: Duration = .zero
    var latencies: [Duration] = []

    func print(label: String, workload: String, window: Int) {
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let sorted = latencies.sorted()
        func pct(_ p: Double) -> Double {
            guard !sorted.isEmpty else { return 0 }
            let d = sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
            return (Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18) * 1e6
        }
        let ops = Double(latencies.count) / seconds
        let reqs = Double(requests) / seconds
        Swift.print(String(
            format: "%-10@ %-15@ window %3d: %8.0f ops/s %8.0f requests/s  p50 %7.0f us  p99 %7.0f us  errors %d",
            label as NSString, workload as NSString, window, ops, reqs, pct(0.5), pct(0.99), errors))
    }
}

struct EchoServer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "echo-server", abstract: "WebSocket echo server: the transport floor for the RPC benchmark.")

    @Option var port = 8899

    func run() async throws {
        let router = Router(context: BasicWebSocketRequestContext.self)
        router.ws("/kurento") { inbound, outbound, _ in
            for try await message in inbound.messages(maxSize: 1 << 20) {
                if case .text(let t) = message { try await outbound.write(.text(t)) }
            }
        }
        let app = Application(
            router: Router(),
            server: .http1WebSocketUpgrade(webSocketRouter: router, configuration: .init(ws: .init(maxFrameSize: 1 << 20))),
            configuration: .init(address: .hostname("127.0.0.1", port: port)))
        try await app.runService()
    }
}
