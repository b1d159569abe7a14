public import Elements
public import JSONRPC
import Synchronization

/// An `OutboundSink` that keeps every frame, for tests of the protocol
/// handler without sockets.
public final class RecordingSink: OutboundSink, Sendable {
    private let frames = Mutex<[String]>([])

    public init() {}

    public func send(_ text: String) { frames.withLock { $0.append(text) } }

    /// Removes and returns everything sent so far.
    public func take() -> [String] { frames.withLock { f in defer { f.removeAll() }; return f } }

    /// Removes and returns everything sent so far, parsed.
    public func takeJSON() -> [JSONValue] { take().compactMap { try? JSONParser.parse($0) } }
}

/// A protocol handler with a fake clock and recording connections.
public final class ProtocolHarness {
    public let clock: FakeClock
    public let handler: KurentoProtocolHandler
    public var sinks: [ConnectionID: RecordingSink] = [:]
    private var nextID: ConnectionID = 1
    private var nextRequest: Int64 = 1

    public init(gracePeriod: Duration = .seconds(240), requestCacheTTL: Duration = .seconds(20)) {
        clock = FakeClock()
        var options = KurentoProtocolHandler.Options()
        options.gracePeriod = gracePeriod
        options.requestCacheTTL = requestCacheTTL
        handler = KurentoProtocolHandler(mediaSet: MediaSet(clock: clock), options: options)
    }

    public var mediaSet: MediaSet { handler.mediaSet }

    @discardableResult
    public func connect() -> ConnectionID {
        let id = nextID
        nextID += 1
        let sink = RecordingSink()
        sinks[id] = sink
        handler.open(id, sink: sink)
        return id
    }

    public func disconnect(_ c: ConnectionID) {
        handler.close(c)
    }

    /// Sends raw text and returns every frame it produced on that connection.
    public func sendRaw(_ text: String, on c: ConnectionID = 1) -> [JSONValue] {
        _ = handler.handle(text, from: c)
        return sinks[c]?.takeJSON() ?? []
    }

    /// Sends a request with a fresh id; returns the response (the frame
    /// carrying that id) and any other frames (events) produced.
    public func call(_ method: String, _ params: JSONValue? = nil, id: JSONValue? = nil, on c: ConnectionID = 1) -> (response: JSONValue, others: [JSONValue]) {
        let rid = id ?? .int(nextRequest)
        nextRequest += 1
        let req = RPCRequest(id: rid, method: method, params: params)
        let frames = sendRaw(JSONWriter.string(req.json), on: c)
        let response = frames.first { $0["id"] == rid } ?? .null
        return (response, frames.filter { $0["id"] != rid })
    }

    /// `result` of a call, or nil when it failed.
    public func result(_ method: String, _ params: JSONValue? = nil, on c: ConnectionID = 1) -> JSONValue? {
        call(method, params, on: c).response["result"]
    }

    /// The error code of a call, or nil when it succeeded.
    public func errorCode(_ method: String, _ params: JSONValue? = nil, on c: ConnectionID = 1) -> Int64? {
        call(method, params, on: c).response["error"]?["code"]?.intValue
    }
}
