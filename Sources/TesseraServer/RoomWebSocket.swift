import Elements
import HummingbirdWebSocket
import Logging
import ServiceLifecycle
import NIOCore
import Rooms
import WSCore
import NIOWebSocket

/// A room client's socket as the room layer sees it: frames out, and a way
/// to close it (after leaveRoom, or from the ping watchdog).
struct RoomSocketSink: RoomConnection {
    enum Frame: Sendable { case text(String), close }
    let continuation: AsyncStream<Frame>.Continuation
    func send(_ text: String) { continuation.yield(.text(text)) }
    func close() { continuation.yield(.close) }
}

/// One room protocol WebSocket (`ws://HOST:8888/room`).
enum RoomWebSocket {
    static func run(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter, rooms: RoomService, logger: Logger) async {
        let (stream, continuation) = AsyncStream.makeStream(of: RoomSocketSink.Frame.self)
        let connection = await rooms.openConnection(RoomSocketSink(continuation: continuation))
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await frame in stream {
                    switch frame {
                    case .text(let text):
                        do { try await outbound.write(.text(text)) } catch { return }
                    case .close:
                        try? await outbound.close(.normalClosure, reason: nil)
                        return
                    }
                }
            }
            do {
                // On SIGTERM/SIGINT the read ends, so the server can stop with clients still connected.
                try await cancelWhenGracefulShutdown {
                    for try await message in inbound.messages(maxSize: KurentoWebSocket.maxMessageSize) {
                        switch message {
                        case .text(let text): await rooms.handle(text, from: connection)
                        case .binary(var buffer): await rooms.handle(buffer.readString(length: buffer.readableBytes) ?? "", from: connection)
                        }
                    }
                }
            } catch {
                logger.debug("room connection ended with error", metadata: ["error": "\(error)"])
            }
            continuation.finish()
            await group.waitForAll()
            if Task.isShuttingDownGracefully {
                try? await outbound.close(.goingAway, reason: "server shutting down")
            }
        }
        await rooms.closeConnection(connection)
    }
}
