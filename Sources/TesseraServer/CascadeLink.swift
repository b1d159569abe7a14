import Cluster
import Foundation
import HummingbirdWSClient
import JSONRPC
import Logging
import NIOWebSocket
import Rooms
import Synchronization

/// A hosting node's link to the owner of a cascaded room (docs/cluster.md,
/// "Cascaded rooms"): a WebSocket to the owner's room path that attaches
/// with `cascadeAttach` (proving itself with the cluster's secret), then
/// carries `cascade` notifications both ways. What the owner sends goes to
/// this node's RoomService once the room has taken the roster; when the
/// socket ends the RoomService is told.
enum CascadeLink {
    /// Opens `room`'s link to node `owner`, attaches, and returns once the owner answered.
    static func connect(room: String, owner: String, cluster: ClusterNode, rooms: RoomService, maxFrame: Int, logger: Logger) async throws -> CascadeAttachment {
        guard let node = await cluster.nodes.first(where: { $0.id == owner }) else { throw ClusterError("node '\(owner)' is not live") }
        let url = cluster.settings.roomURL(of: node)
        let secret = await cluster.secret
        let attach = RPCRequest(id: .int(1), method: "cascadeAttach", params: [
            "room": .string(room), "node": .string(cluster.settings.nodeID), "secret": .string(secret),
        ])
        // The answer to the attach, then every `cascade` message, in order; the
        // messages wait in `held` until `start`.
        let (answers, answered) = AsyncStream.makeStream(of: Result<JSONValue, ClusterError>.self)
        let (held, hold) = AsyncStream.makeStream(of: [String: JSONValue].self)
        let (opened, openedContinuation) = AsyncStream.makeStream(of: WebSocketOutboundWriter?.self)
        let task = Task {
            do {
                try await WebSocketClient.connect(url: url, configuration: .init(maxFrameSize: maxFrame), logger: logger) { inbound, outbound, _ in
                    openedContinuation.yield(outbound)
                    try await outbound.write(.text(JSONWriter.string(attach.json)))
                    for try await message in inbound.messages(maxSize: maxFrame) {
                        guard case .text(let text) = message else { continue }
                        switch RPCCodec.decode(text) {
                        case .response(let r):
                            switch r.outcome {
                            case .result(let v): answered.yield(.success(v))
                            case .error(let e): answered.yield(.failure(ClusterError("node '\(owner)' refused the link: \(e.message)")))
                            }
                        case .request(let r) where r.method == "cascade":
                            if let params = r.params?.objectValue { hold.yield(params) }
                        default:
                            continue
                        }
                    }
                }
            } catch {
                logger.info("cascade link ended", metadata: ["room": "\(room)", "node": "\(owner)", "error": "\(error)"])
            }
            openedContinuation.yield(nil)
            answered.yield(.failure(ClusterError("the link to node '\(owner)' closed")))
            hold.finish()
        }
        let writer = try await openedWriter(opened, url: url, task: task)
        let roster: JSONValue
        do {
            roster = try await withDeadline(.seconds(5), "node '\(owner)' did not answer cascadeAttach within 5 s") {
                for await answer in answers { return try answer.get() }
                throw ClusterError("the link to node '\(owner)' closed")
            }
        } catch {
            task.cancel()
            throw error
        }
        let transport = WriterTransport(writer: writer, task: task)
        let started = Mutex(false)
        let start: @Sendable () -> Void = {
            guard started.withLock({ s in defer { s = true }; return !s }) else { return }
            Task {
                for await params in held { await rooms.cascadeReceived(params, room: room, from: owner) }
                await rooms.cascadeLinkEnded(room: room, node: owner)
            }
        }
        logger.info("cascade link to the room's node", metadata: ["room": "\(room)", "node": "\(owner)", "url": "\(url)"])
        return CascadeAttachment(transport: transport, roster: roster, start: start)
    }
}

/// Cascade messages out through the link's WebSocket, in order.
private final class WriterTransport: CascadeTransport {
    private let queue: AsyncStream<String>.Continuation
    private let task: Task<Void, Never>

    init(writer: WebSocketOutboundWriter, task: Task<Void, Never>) {
        let (stream, queue) = AsyncStream.makeStream(of: String.self)
        self.queue = queue
        self.task = task
        Task {
            for await text in stream {
                do { try await writer.write(.text(text)) } catch { break }
            }
            try? await writer.close(.normalClosure, reason: nil)
        }
    }

    func send(_ message: JSONValue) { queue.yield(RPCCodec.notification(method: "cascade", params: message)) }

    func close() {
        queue.finish()
        task.cancel()
    }
}
