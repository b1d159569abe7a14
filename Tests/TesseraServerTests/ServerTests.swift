import Elements
import Foundation
import Hummingbird
import HummingbirdTesting
import HummingbirdWSTesting
import HummingbirdWebSocket
import JSONRPC
import MediaPlane
import Testing
import TesseraServer

/// The real HTTP/WebSocket server on a loopback port.
struct ServerTests {
    func makeServer() throws -> TesseraServer {
        var config = TesseraConfig.defaults
        config.address = "127.0.0.1"
        config.port = 0
        config.iceUDPPort = 0  // tests run side by side: shared media ports chosen by the kernel
        return try TesseraServer(config: config)
    }

    /// A fresh install has no recording directory: the server makes it at start.
    @Test func aMissingRecordingDirectoryIsCreated() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tessera-rec-\(UUID())/nested").path
        defer { try? FileManager.default.removeItem(atPath: (dir as NSString).deletingLastPathComponent) }
        var config = TesseraConfig.defaults
        config.address = "127.0.0.1"
        config.port = 0
        config.iceUDPPort = 0
        config.recordingDirectory = dir
        let server = try TesseraServer(config: config)
        var isDirectory: ObjCBool = false
        #expect(FileManager.default.fileExists(atPath: dir, isDirectory: &isDirectory) && isDirectory.boolValue)
        server.media.shutdown()
    }

    static func get(_ client: some TestClientProtocol, _ path: String) async throws -> (HTTPResponse.Status, String) {
        try await client.execute(uri: path, method: .get) { response in
            (response.status, String(buffer: response.body))
        }
    }

    @Test func healthMetricsAndWebSocket() async throws {
        let server = try makeServer()
        try await server.makeApplication().test(.live) { client in
            let (status, health) = try await Self.get(client, "/health")
            #expect(status == .ok)
            #expect(health.contains("\"status\":\"ok\""))

            let replies = ReplyBox()
            try await client.ws("/kurento") { inbound, outbound, _ in
                try await outbound.write(.text(#"{"jsonrpc":"2.0","id":1,"method":"create","params":{"type":"MediaPipeline"}}"#))
                for try await message in inbound.messages(maxSize: 1 << 20) {
                    if case .text(let text) = message { replies.append(text) }
                    break
                }
            }
            let reply = try JSONParser.parse(try #require(replies.all.first))
            #expect(reply["result"]?["value"]?.stringValue?.hasSuffix("_kurento.MediaPipeline") == true)

            let (_, metrics) = try await Self.get(client, "/metrics")
            #expect(metrics.contains(#"tessera_rpc_requests_total{method="create",outcome="ok"} 1"#))
            #expect(metrics.contains(#"tessera_objects{type="MediaPipeline"} 1"#))
            #expect(metrics.contains("tessera_rpc_request_duration_seconds"))
            #expect(metrics.contains("tessera_sessions"))
        }
    }

    @Test func unknownPathIsNotFound() async throws {
        let server = try makeServer()
        try await server.makeApplication().test(.live) { client in
            let (status, _) = try await Self.get(client, "/nope")
            #expect(status == .notFound)
        }
    }
}

/// Collects frames received inside a WebSocket handler.
final class ReplyBox: @unchecked Sendable {
    // Touched by one WebSocket handler task, then read after it has finished.
    private var items: [String] = []
    func append(_ s: String) { items.append(s) }
    var all: [String] { items }
}
