import Cluster
import Elements
import HummingbirdWebSocket
import JSONRPC
import Logging
import NIOCore
import NIOWebSocket
import Rooms

/// A room client's socket as the room layer sees it: frames out, and a way
/// to close it (after leaveRoom, or from the ping watchdog).
struct RoomSocketSink: RoomConnection {
    let continuation: AsyncStream<OutboundFrame>.Continuation
    func send(_ text: String) { continuation.yield(.text(text)) }
    func close() { continuation.yield(.close(.normalClosure)) }
}

/// One room protocol WebSocket (`ws://HOST:8888/room`).
enum RoomWebSocket {
    static func run(
        inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter, rooms: RoomService, cluster: ClusterNode?,
        relayed: @escaping @Sendable (Int) -> Void = { _ in }, limits: SocketLimits, logger: Logger
    ) async {
        let (stream, continuation) = AsyncStream.makeStream(of: OutboundFrame.self)
        let connection = await rooms.openConnection(RoomSocketSink(continuation: continuation))
        // In a cluster, requests for rooms other nodes hold go to them (docs/cluster.md).
        let relay = cluster.map { cluster in
            // Cascaded rooms: a join the room's node is too full for is hosted here.
            let hosting = RoomRelay.Hosting(
                hosts: { await rooms.hostsRelayRoom($0) },
                full: { await rooms.isFullHere($0) },
                host: { await rooms.hostRelayRoom($0, owner: $1) },
                deliver: { await rooms.handle($0, from: connection) })
            return RoomRelay(cluster: cluster, client: continuation, maxFrame: limits.limits.hardMessageCap, logger: logger, counted: relayed,
                             hosting: hosting, onRelay: { await rooms.closeConnection(connection) })
        }
        await WebSocketServing.serve(
            inbound: inbound, outbound: outbound, stream: stream, continuation: continuation, limits: limits, kurento: false, logger: logger,
            deliver: { text in
                if let relay, await relay.route(text) { return }
                await rooms.handle(text, from: connection)
            },
            refusal: { id, why in RPCResponse(id: id, error: RPCError(code: RoomError.Code.limitReached.rawValue, message: why)).text })
        await relay?.close()
        await rooms.closeConnection(connection)
    }
}
