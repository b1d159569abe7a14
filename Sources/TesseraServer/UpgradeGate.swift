import Foundation
import HummingbirdCore
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOHTTP1

/// Applies the `AccessPolicy` to requests for the WebSocket paths before the
/// upgrade handler sees them. A refused request goes on as a plain GET of the
/// same path (its upgrade headers removed) carrying the refusal in
/// `X-Tessera-Refusal`, so the HTTP router answers it with a real 401 or 403
/// and the reason: the WebSocket router alone can only refuse with a bare 400.
/// Sits right after the HTTP request decoder of every connection, for its
/// first request (the only one that can be upgraded).
final class UpgradeGateHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart

    static let refusalHeader = "X-Tessera-Refusal"

    let policy: AccessPolicy
    /// Path -> whether it is the Kurento one (address and secret checked too).
    let paths: [String: Bool]
    let limits: SocketLimits
    let logger: Logger

    init(policy: AccessPolicy, paths: [String: Bool], limits: SocketLimits, logger: Logger) {
        self.policy = policy
        self.paths = paths
        self.limits = limits
        self.logger = logger
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(var head):
            // Only the gate says what was refused.
            head.headers.remove(name: Self.refusalHeader)
            let path = String(head.uri.prefix { $0 != "?" })
            if let kurento = paths[path] {
                let remote = context.channel.remoteAddress?.ipAddress
                if let refusal = refusal(head, remote: remote, kurento: kurento) {
                    logger.warning("refused a WebSocket upgrade", metadata: [
                        "path": "\(path)", "remote": "\(remote ?? "unknown")", "status": "\(refusal.status)", "reason": "\(refusal.reason)"])
                    for name in ["upgrade", "sec-websocket-key", "sec-websocket-version", "sec-websocket-extensions", "sec-websocket-protocol"] {
                        head.headers.remove(name: name)
                    }
                    head.headers.replaceOrAdd(name: "connection", value: "close")
                    head.headers.add(name: Self.refusalHeader, value: "\(refusal.status) \(refusal.reason)")
                }
            }
            context.fireChannelRead(wrapInboundOut(.head(head)))
        case .body:
            context.fireChannelRead(data)
        case .end:
            context.fireChannelRead(data)
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        }
    }

    private func refusal(_ head: HTTPRequestHead, remote: String?, kurento: Bool) -> AccessPolicy.Refusal? {
        if let r = policy.checkOrigin(head.headers.first(name: "origin"), host: head.headers.first(name: "host")) { return r }
        if kurento, let r = policy.checkKurento(
            remote: remote, authorization: head.headers.first(name: "authorization"), querySecret: Self.query(head.uri, "secret"))
        {
            return r
        }
        let max = limits.limits.maxConnections
        if limits.connections.current >= max {
            limits.refused("limits.maxConnections")
            return AccessPolicy.Refusal(status: 503, reason: "too many connections: limits.maxConnections (\(max)) reached")
        }
        return nil
    }

    /// A query parameter of a request target, percent-decoded.
    static func query(_ uri: String, _ name: String) -> String? {
        guard let q = uri.firstIndex(of: "?") else { return nil }
        for pair in uri[uri.index(after: q)...].split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1)
            if kv.first.map(String.init) == name {
                return kv.count > 1 ? String(kv[1]).replacingOccurrences(of: "+", with: " ").removingPercentEncoding : ""
            }
        }
        return nil
    }
}

/// The HTTP/1 + WebSocket channel with the gate added after the request decoder.
struct GatedWebSocketChannel: ServerChildChannel {
    let inner: HTTP1WebSocketUpgradeChannel
    let makeGate: @Sendable () -> UpgradeGateHandler

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<HTTP1WebSocketUpgradeChannel.Value> {
        inner.setup(channel: channel, logger: logger).flatMapThrowing { value in
            let decoder = try channel.pipeline.syncOperations.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self)
            try channel.pipeline.syncOperations.addHandler(makeGate(), position: .after(decoder))
            return value
        }
    }

    func handle(value: HTTP1WebSocketUpgradeChannel.Value, logger: Logger) async {
        await inner.handle(value: value, logger: logger)
    }
}
