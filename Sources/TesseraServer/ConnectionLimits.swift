import Foundation
import JSONRPC
import Synchronization

/// Per-connection limits of both WebSockets (`limits.*`).
public struct ConnectionLimits: Sendable {
    /// WebSocket connections open at once; past it an upgrade gets HTTP 503.
    public var maxConnections = 10_000
    /// Requests a room connection may send per second (a token bucket holding one second's worth).
    public var requestsPerSecond = 1_000
    /// The same for a Kurento connection; 0 = no limit. An application server
    /// speaks for all its users on one connection, from an allowed network.
    public var kurentoRequestsPerSecond = 0
    /// Largest message answered with a JSON-RPC error rather than read.
    public var maxMessageBytes = 1 << 20
    /// Past this the WebSocket layer itself closes the socket (1009) without an
    /// answer: a client sending that much is not speaking JSON-RPC.
    public var hardMessageCap: Int { max(maxMessageBytes * 4, 4 << 20) }
    public init() {}
}

/// WebSocket connections open now, shared by the gate (which refuses past the
/// limit) and the sockets (which count themselves in and out).
final class ConnectionCount: Sendable {
    private let value = Atomic<Int>(0)
    var current: Int { value.load(ordering: .relaxed) }
    func opened() { value.add(1, ordering: .relaxed) }
    func closed() { value.subtract(1, ordering: .relaxed) }
}

/// `rate` tokens a second, holding at most `rate`: a client may burst one
/// second's worth, then keeps to the rate.
struct TokenBucket {
    let rate: Double
    private var tokens: Double
    private var last: ContinuousClock.Instant

    init(rate: Int, now: ContinuousClock.Instant = .now) {
        self.rate = Double(max(rate, 1))
        tokens = self.rate
        last = now
    }

    mutating func take(now: ContinuousClock.Instant = .now) -> Bool {
        let elapsed = now - last
        last = now
        tokens = min(rate, tokens + rate * (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18))
        guard tokens >= 1 else { return false }
        tokens -= 1
        return true
    }
}

/// Applies the per-connection limits to one socket's inbound messages.
struct InboundLimiter {
    enum Verdict: Equatable {
        case deliver
        /// Answer this request with the protocol's limit error (no answer for a notification).
        case refuse(id: JSONValue?, key: String, message: String)
        /// Answer with this text, then close the socket (1009).
        case close(reply: String)
    }

    let limits: ConnectionLimits
    /// Requests a second and the key naming that limit; no bucket = no limit.
    let rate: (perSecond: Int, key: String)
    private var bucket: TokenBucket?
    let refused: @Sendable (String) -> Void

    init(limits: ConnectionLimits, kurento: Bool = false, refused: @escaping @Sendable (String) -> Void) {
        self.limits = limits
        rate = kurento ? (limits.kurentoRequestsPerSecond, "limits.kurentoRequestsPerSecond") : (limits.requestsPerSecond, "limits.requestsPerSecond")
        self.bucket = rate.perSecond > 0 ? TokenBucket(rate: rate.perSecond) : nil
        self.refused = refused
    }

    mutating func check(_ text: String, now: ContinuousClock.Instant = .now) -> Verdict {
        let size = text.utf8.count
        if size > limits.maxMessageBytes {
            refused("limits.maxMessageBytes")
            let error = RPCError(code: RPCError.invalidRequest.code,
                                 message: "Message of \(size) bytes: limits.maxMessageBytes (\(limits.maxMessageBytes)) exceeded")
            return .close(reply: RPCResponse(id: nil, error: error).text)
        }
        if bucket != nil, !bucket!.take(now: now) {
            refused(rate.key)
            var id: JSONValue?
            if case .request(let r) = RPCCodec.decode(text) { id = r.id }
            return .refuse(id: id, key: rate.key, message: "Too many requests: \(rate.key) (\(rate.perSecond)) exceeded")
        }
        return .deliver
    }
}
