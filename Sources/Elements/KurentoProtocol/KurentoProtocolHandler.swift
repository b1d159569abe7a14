import Foundation
public import JSONRPC
import Logging

/// Identifies one client connection (one WebSocket).
public typealias ConnectionID = UInt64

/// Where text frames for one connection go. The server implements it with
/// the WebSocket's outbound stream; tests record what would be sent.
public protocol OutboundSink: Sendable {
    func send(_ text: String)
}

/// The Kurento JSON-RPC protocol (shared/spec/kurento-protocol.md §1) over a
/// `MediaSet`: sessions and their binding to connections, sessionId injection,
/// the duplicate-request cache, every server method, transactions and event
/// delivery. Sans-IO: text in, text out through sinks, time from a
/// `TimeSource`. Not Sendable: owned by `KurentoService`.
public final class KurentoProtocolHandler {
    public struct Options: Sendable {
        /// How long a session without a socket keeps its objects.
        public var gracePeriod: Duration = .seconds(240)
        /// How long responses are kept for retried request ids (KMS: 20 s).
        public var requestCacheTTL: Duration = .seconds(20)
        public init() {}
    }

    public let mediaSet: MediaSet
    public let options: Options
    let metrics: SignallingMetrics
    private var sinks: [ConnectionID: any OutboundSink] = [:]
    private var sessionOfConnection: [ConnectionID: String] = [:]
    private var connectionOfSession: [String: ConnectionID] = [:]
    private var cache: RequestCache

    /// Work for a response that is computed off the owner (see `Reply.deferred`).
    public struct PendingReply: Sendable {
        public let work: @Sendable () async -> Result<JSONValue, KurentoError>
        let id: JSONValue?
        let session: String
        let connection: ConnectionID
        let method: String
        let fingerprint: String
        let started: ContinuousClock.Instant
        /// Set for a `create` whose object is made once the work is done.
        let creation: PendingCreation?
    }

    public init(mediaSet: MediaSet, options: Options = Options(), metrics: SignallingMetrics = SignallingMetrics()) {
        self.mediaSet = mediaSet
        self.options = options
        self.metrics = metrics
        self.cache = RequestCache(ttl: options.requestCacheTTL)
    }

    public var connectionCount: Int { sinks.count }

    // MARK: Connections

    public func open(_ connection: ConnectionID, sink: any OutboundSink, serverOwned: Bool = false) {
        sinks[connection] = sink
        if serverOwned {
            // Its session exists from the start (random like any other, so nobody can
            // claim it) and is exempt from the per-client limits.
            let session = UUID().uuidString.lowercased()
            mediaSet.touch(session: session)
            mediaSet.limits.exemptSessions.insert(session)
            bind(connection, to: session)
        }
    }

    /// The socket is gone: its session starts its grace period.
    public func close(_ connection: ConnectionID) {
        sinks[connection] = nil
        if let s = sessionOfConnection.removeValue(forKey: connection) {
            connectionOfSession[s] = nil
            mediaSet.setConnected(session: s, false)
        }
    }

    private func bind(_ connection: ConnectionID, to session: String) {
        guard sinks[connection] != nil else { return }
        if let old = sessionOfConnection[connection], old != session {
            connectionOfSession[old] = nil
            mediaSet.setConnected(session: old, false)
        }
        if let previous = connectionOfSession[session], previous != connection {
            sessionOfConnection[previous] = nil
        }
        sessionOfConnection[connection] = session
        connectionOfSession[session] = connection
        mediaSet.setConnected(session: session, true)
    }

    public func boundSession(of connection: ConnectionID) -> String? { sessionOfConnection[connection] }

    // MARK: Timers

    /// Drops sessions past their grace period and expired cache entries.
    public func collectGarbage() {
        let dropped = mediaSet.collectGarbage(gracePeriod: options.gracePeriod)
        cache.purge(now: mediaSet.clock.monotonicNow)
        if !dropped.isEmpty { deliverEvents() }
        metrics.updateGauges(mediaSet)
    }

    // MARK: Requests

    /// Handles one inbound text frame. The response (if any) and the events
    /// it caused are written to the sinks before this returns, unless the
    /// answer needs time: then the caller runs the returned work and passes
    /// its result to `complete`.
    public func handle(_ text: String, from connection: ConnectionID) -> PendingReply? {
        let started = ContinuousClock.now
        switch RPCCodec.decode(text) {
        case .invalid(let error, let id):
            metrics.record(method: "invalid", outcome: "\(error.code)", since: started)
            send(RPCResponse(id: id, error: error).text, to: connection)
            return nil
        case .response:
            // Clients never answer us: KMS sends no server-to-client requests.
            metrics.record(method: "invalid", outcome: "\(RPCError.invalidRequest.code)", since: started)
            send(RPCResponse(id: nil, error: .invalidRequest).text, to: connection)
            return nil
        case .request(var request):
            injectSession(into: &request, connection: connection)
            // Keyed by session as KMS does. A request sent before the socket had
            // any session is keyed by the socket, and a retry is looked up both
            // ways: pyforkurento resends its very first `create` with the same id
            // after 5 ms without a reply (by then the socket is bound).
            let connectionKey = "connection:\(connection)"
            let fingerprint = Self.fingerprint(request)
            let sessionForCache = request.params?["sessionId"]?.stringValue ?? connectionKey
            if let id = request.id {
                let now = mediaSet.clock.monotonicNow
                if let cached = cache.lookup(session: sessionForCache, id: id, request: fingerprint, now: now)
                    ?? cache.lookup(session: connectionKey, id: id, request: fingerprint, now: now)
                {
                    metrics.record(method: metrics.methodLabel(request.method), outcome: "cached", since: started)
                    send(cached, to: connection)
                    return nil
                }
            }
            let outcome = execute(request, connection: connection)
            let pending: PendingReply?
            switch outcome {
            case .done(let response, let session):
                // Events the request raised go first, as KMS emits them while it works: a
                // client must not see `ElementDisconnected` of an element whose `release` it
                // already had answered (kurento-client-js: "Unknown object id").
                deliverEvents()
                finish(request: request, fingerprint: fingerprint, response: response, session: sessionForCache,
                       connection: connection, started: started)
                pending = nil
            case .deferred(let work, let session, let creation):
                pending = PendingReply(
                    work: work, id: request.id, session: session, connection: connection,
                    method: request.method, fingerprint: fingerprint, started: started, creation: creation)
            }
            deliverEvents()
            if ["create", "release", "transaction", "closeSession", "unref"].contains(request.method) {
                metrics.updateGauges(mediaSet)
            }
            return pending
        }
    }

    /// Sends the response of a deferred operation.
    public func complete(_ pending: PendingReply, with result: Result<JSONValue, KurentoError>) {
        var result = result
        if let creation = pending.creation, case .success = result {
            // The slow checks passed: make the object now, on the actor. Its
            // pipeline may have gone meanwhile; `create` then answers that.
            do throws(KurentoError) {
                let obj = try mediaSet.create(
                    type: creation.type, params: creation.params, session: pending.session, prepared: creation.prepared)
                result = .success(.string(obj.id))
            } catch {
                result = .failure(error)
            }
            deliverEvents()
            metrics.updateGauges(mediaSet)
        }
        let response: RPCResponse
        switch result {
        case .success(let v): response = RPCResponse(id: pending.id, result: ["value": v, "sessionId": .string(pending.session)])
        case .failure(let e): response = RPCResponse(id: pending.id, error: e.rpcError)
        }
        let request = RPCRequest(id: pending.id, method: pending.method)
        finish(request: request, fingerprint: pending.fingerprint, response: response, session: pending.session,
               connection: pending.connection, started: pending.started)
    }

    /// What makes a retry the same request: method and params (sessionId excluded,
    /// since injection may add it to the retry but not to the original).
    static func fingerprint(_ request: RPCRequest) -> String {
        var params = request.params?.objectValue ?? [:]
        params["sessionId"] = nil
        return request.method + " " + JSONWriter.string(.object(params))
    }

    private func finish(
        request: RPCRequest, fingerprint: String, response: RPCResponse, session: String?, connection: ConnectionID,
        started: ContinuousClock.Instant
    ) {
        let outcome: String
        switch response.outcome {
        case .result(let r):
            outcome = "ok"
            // Bind the socket to the session named in the result (protocol §1.3).
            if let s = r["sessionId"]?.stringValue { bind(connection, to: s) }
        case .error(let e): outcome = "\(e.code)"
        }
        metrics.record(method: metrics.methodLabel(request.method), outcome: outcome, since: started)
        guard let id = request.id else { return }  // notifications get no response
        let text = response.text
        if let s = session {
            cache.insert(session: s, id: id, request: fingerprint, response: text, now: mediaSet.clock.monotonicNow)
        }
        send(text, to: connection)
    }

    /// Requests lacking `params.sessionId` on a bound socket get the bound one.
    private func injectSession(into request: inout RPCRequest, connection: ConnectionID) {
        guard let bound = sessionOfConnection[connection] else { return }
        switch request.params {
        case nil, .null?:
            request.params = ["sessionId": .string(bound)]
        case .object(var o) where o["sessionId"] == nil:
            o["sessionId"] = .string(bound)
            request.params = .object(o)
        default:
            break
        }
    }

    private func send(_ text: String, to connection: ConnectionID) {
        sinks[connection]?.send(text)
    }

    /// Events go to whatever socket is bound to the subscribing session now;
    /// with none bound they are dropped (KMS does not queue).
    public func deliverEvents() {
        for (session, text) in mediaSet.takeOutbox() {
            if let c = connectionOfSession[session] { send(text, to: c) }
        }
    }
}
