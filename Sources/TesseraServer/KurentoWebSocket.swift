import Elements
import NIOCore
import HummingbirdWebSocket
import JSONRPC
import Logging
import NIOWebSocket
import ServiceLifecycle

/// What goes out on one WebSocket, in order: text frames, then perhaps a close.
enum OutboundFrame: Sendable {
    case text(String)
    case close(WebSocketErrorCode)
}

/// Queues frames for one WebSocket's writer task, so that responses and
/// events leave in the order they were produced.
struct StreamSink: OutboundSink {
    let continuation: AsyncStream<OutboundFrame>.Continuation
    func send(_ text: String) { continuation.yield(.text(text)) }
}

/// What both WebSockets share: the per-connection limits, the count of open
/// connections, and how a refusal is counted.
struct SocketLimits: Sendable {
    let limits: ConnectionLimits
    let connections: ConnectionCount
    let refused: @Sendable (String) -> Void
}

enum WebSocketServing {
    /// Runs one WebSocket: a writer task drains `stream`; each inbound message
    /// passes the limits, then goes to `deliver`; a request refused by the rate
    /// limit is answered with `refusal(id, message)`. Returns when the socket ends.
    static func serve(
        inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter,
        stream: AsyncStream<OutboundFrame>, continuation: AsyncStream<OutboundFrame>.Continuation,
        limits: SocketLimits, kurento: Bool, logger: Logger,
        deliver: @escaping @Sendable (String) async -> Void,
        refusal: @escaping @Sendable (JSONValue, String) -> String
    ) async {
        limits.connections.opened()
        defer { limits.connections.closed() }
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await frame in stream {
                    switch frame {
                    case .text(let text):
                        do { try await outbound.write(.text(text)) } catch { return }
                    case .close(let code):
                        try? await outbound.close(code, reason: nil)
                        return
                    }
                }
            }
            do {
                // On SIGTERM/SIGINT the read ends, so the server can stop with clients still connected.
                try await cancelWhenGracefulShutdown {
                    var limiter = InboundLimiter(limits: limits.limits, kurento: kurento, refused: limits.refused)
                    for try await message in inbound.messages(maxSize: limits.limits.hardMessageCap) {
                        let text: String
                        switch message {
                        case .text(let t): text = t
                        // Both protocols speak text frames; a binary frame holding UTF-8 JSON is accepted too.
                        case .binary(var buffer): text = buffer.readString(length: buffer.readableBytes) ?? ""
                        }
                        switch limiter.check(text) {
                        case .deliver:
                            await deliver(text)
                        case .refuse(let id, _, let why):
                            if let id { continuation.yield(.text(refusal(id, why))) }
                        case .close(let reply):
                            continuation.yield(.text(reply))
                            continuation.yield(.close(.messageTooLarge))
                            return
                        }
                    }
                }
            } catch {
                logger.debug("connection ended with error", metadata: ["error": "\(error)"])
            }
            continuation.finish()
            await group.waitForAll()
            if Task.isShuttingDownGracefully {
                try? await outbound.close(.goingAway, reason: "server shutting down")
            }
        }
    }
}

/// One Kurento protocol WebSocket.
enum KurentoWebSocket {
    static func run(
        inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter,
        service: KurentoService, limits: SocketLimits, logger: Logger
    ) async {
        let (stream, continuation) = AsyncStream.makeStream(of: OutboundFrame.self)
        let connection = await service.openConnection(sink: StreamSink(continuation: continuation))
        logger.debug("connection opened", metadata: ["connection": "\(connection)"])
        await WebSocketServing.serve(
            inbound: inbound, outbound: outbound, stream: stream, continuation: continuation, limits: limits, kurento: true, logger: logger,
            deliver: { text in await service.handle(text, from: connection) },
            refusal: { id, why in RPCResponse(id: id, error: KurentoError(.notEnoughResources, why).rpcError).text })
        await service.closeConnection(connection)
        logger.debug("connection closed", metadata: ["connection": "\(connection)"])
    }
}
