import Elements
import NIOCore
import HummingbirdWebSocket
import Logging
import NIOWebSocket
import ServiceLifecycle

/// Sends text frames to one WebSocket through its outbound stream, so that
/// responses and events leave in the order they were produced.
struct StreamSink: OutboundSink {
    let continuation: AsyncStream<String>.Continuation
    func send(_ text: String) { continuation.yield(text) }
}

/// One Kurento protocol WebSocket: a task that feeds inbound text frames to
/// the service and a child task that writes everything queued for it.
enum KurentoWebSocket {
    /// Largest accepted message; SDP offers with many codecs run to tens of KiB.
    static let maxMessageSize = 1 << 20

    static func run(
        inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter,
        service: KurentoService, logger: Logger
    ) async {
        let (stream, continuation) = AsyncStream.makeStream(of: String.self)
        let connection = await service.openConnection(sink: StreamSink(continuation: continuation))
        logger.debug("connection opened", metadata: ["connection": "\(connection)"])
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await text in stream {
                    do { try await outbound.write(.text(text)) } catch { break }
                }
            }
            do {
                // On SIGTERM/SIGINT the read ends, so the server can stop with clients still connected.
                try await cancelWhenGracefulShutdown {
                    for try await message in inbound.messages(maxSize: maxMessageSize) {
                        switch message {
                        case .text(let text):
                            await service.handle(text, from: connection)
                        case .binary(var buffer):
                            // Kurento speaks text frames; a binary frame holding UTF-8 JSON is accepted too.
                            await service.handle(buffer.readString(length: buffer.readableBytes) ?? "", from: connection)
                        }
                    }
                }
            } catch {
                logger.debug("connection ended with error", metadata: ["connection": "\(connection)", "error": "\(error)"])
            }
            continuation.finish()
            await group.waitForAll()
            if Task.isShuttingDownGracefully {
                try? await outbound.close(.goingAway, reason: "server shutting down")
            }
        }
        await service.closeConnection(connection)
        logger.debug("connection closed", metadata: ["connection": "\(connection)"])
    }
}
