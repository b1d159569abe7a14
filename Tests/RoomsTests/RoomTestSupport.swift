import Foundation
import Elements
import JSONRPC
import Synchronization
import TestSupport
@testable import Rooms

/// A `RoomMedia` double: makes ids, records every call, answers offers, and
/// fails an offer whose text is "bad".
final class FakeRoomMedia: RoomMedia {
    struct State {
        var next = 1
        var calls: [String] = []
        var live: Set<String> = []
        var connections: Set<String> = []
    }
    let state = Mutex(State())
    /// Runs inside `createComposite`, while the caller is suspended on it.
    let duringCreateComposite = Mutex<(@Sendable () async -> Void)?>(nil)
    let events: AsyncStream<RoomMediaEvent>
    let sink: AsyncStream<RoomMediaEvent>.Continuation

    init() { (events, sink) = AsyncStream.makeStream(of: RoomMediaEvent.self) }

    private func make(_ kind: String, _ call: String) -> String {
        state.withLock { s in
            let id = "\(kind)-\(s.next)"
            s.next += 1
            s.calls.append("\(call) -> \(id)")
            s.live.insert(id)
            return id
        }
    }
    private func log(_ call: String) { state.withLock { $0.calls.append(call) } }

    var calls: [String] { state.withLock { $0.calls } }
    /// The ids made by the calls starting with `call` (e.g. "createHubPort"), in order.
    func made(_ call: String) -> [String] {
        calls.filter { $0.hasPrefix(call) }.compactMap { $0.components(separatedBy: " -> ").dropFirst().first }
    }
    var live: Set<String> { state.withLock { $0.live } }
    var connections: Set<String> { state.withLock { $0.connections } }
    func takeCalls() -> [String] { state.withLock { s in defer { s.calls = [] }; return s.calls } }

    func createPipeline() async throws(RoomMediaError) -> String { make("pipeline", "createPipeline") }
    func createWebRtcEndpoint(pipeline: String) async throws(RoomMediaError) -> String { make("webrtc", "createWebRtcEndpoint(\(pipeline))") }
    func createComposite(pipeline: String) async throws(RoomMediaError) -> String {
        if let hook = duringCreateComposite.withLock({ $0 }) { await hook() }
        return make("composite", "createComposite(\(pipeline))")
    }
    func createHubPort(hub: String) async throws(RoomMediaError) -> String { make("port", "createHubPort(\(hub))") }
    func processOffer(_ endpoint: String, offer: String) async throws(RoomMediaError) -> String {
        log("processOffer(\(endpoint))")
        if offer == "bad" { throw RoomMediaError(code: 40208, message: "Error processing offer: no usable codec") }
        return "answer(\(offer))"
    }
    func addIceCandidate(_ endpoint: String, candidate: String, sdpMid: String, sdpMLineIndex: Int) async throws(RoomMediaError) {
        log("addIceCandidate(\(endpoint), \(candidate))")
    }
    func connect(_ source: String, _ sink: String, kind: RoomMediaKind?) async throws(RoomMediaError) {
        log("connect(\(source), \(sink), \(kind?.rawValue ?? "ALL"))")
        state.withLock { s in
            for k in kind.map({ [$0.rawValue] }) ?? ["AUDIO", "VIDEO"] { s.connections.insert("\(source)>\(sink):\(k)") }
        }
    }
    func disconnect(_ source: String, _ sink: String, kind: RoomMediaKind?) async throws(RoomMediaError) {
        log("disconnect(\(source), \(sink), \(kind?.rawValue ?? "ALL"))")
        state.withLock { s in
            for k in kind.map({ [$0.rawValue] }) ?? ["AUDIO", "VIDEO"] { s.connections.remove("\(source)>\(sink):\(k)") }
        }
    }
    func setLayout(composite: String, layout: String, order: [String], rects: [[Double]]) async throws(RoomMediaError) {
        log("setLayout(\(composite), \(layout), \(order.joined(separator: ",")))")
    }
    func setMixExclusions(composite: String, port: String, exclude: [String]) async throws(RoomMediaError) {
        log("setMixExclusions(\(composite), \(port), \(exclude.joined(separator: ",")))")
    }
    func createRecorder(pipeline: String, uri: String, profile: String) async throws(RoomMediaError) -> String {
        make("recorder", "createRecorder(\(uri), \(profile))")
    }
    func record(_ recorder: String) async throws(RoomMediaError) { log("record(\(recorder))") }
    func stopRecorder(_ recorder: String) async throws(RoomMediaError) { log("stopRecorder(\(recorder))") }
    func release(_ object: String) async {
        log("release(\(object))")
        _ = state.withLock { $0.live.remove(object) }
    }
}

/// One client socket: everything sent to it, and whether the server closed it.
final class TestConnection: RoomConnection {
    let frames = Mutex<[String]>([])
    let closed = Mutex(false)
    func send(_ text: String) { frames.withLock { $0.append(text) } }
    func close() { closed.withLock { $0 = true } }
    var isClosed: Bool { closed.withLock { $0 } }
    func take() -> [JSONValue] { frames.withLock { f in defer { f = [] }; return f.compactMap { try? JSONParser.parse($0) } } }
}

/// A room service on a fake clock and fake media, with named clients.
final class RoomHarness: @unchecked Sendable {
    let media = FakeRoomMedia()
    let clock = FakeClock()
    let service: RoomService
    var clients: [String: (id: ConnectionID, conn: TestConnection)] = [:]
    private var nextRequest: Int64 = 1

    init(options: RoomOptions = RoomOptions()) {
        service = RoomService(media: media, options: options, clock: clock)
    }

    func connect(_ name: String) async {
        let conn = TestConnection()
        let id = await service.openConnection(conn)
        clients[name] = (id, conn)
    }

    /// Sends a request from `client` and returns its response (result or error object).
    @discardableResult
    func request(_ client: String, _ method: String, _ params: JSONValue = [:]) async -> JSONValue {
        let id = nextRequest
        nextRequest += 1
        let c = clients[client]!
        await service.handle(JSONWriter.string(RPCRequest(id: .int(id), method: method, params: params).json), from: c.id)
        var response: JSONValue = .null
        var rest: [String] = []
        for text in c.conn.frames.withLock({ f in defer { f = [] }; return f }) {
            if let v = try? JSONParser.parse(text), v["id"] == .int(id) { response = v } else { rest.append(text) }
        }
        c.conn.frames.withLock { $0.insert(contentsOf: rest, at: 0) }
        return response
    }

    func result(_ client: String, _ method: String, _ params: JSONValue = [:]) async -> JSONValue {
        let r = await request(client, method, params)
        return r["result"] ?? .null
    }

    func errorCode(_ client: String, _ method: String, _ params: JSONValue = [:]) async -> Int? {
        let r = await request(client, method, params)
        return r["error"]?["code"]?.intValue.map(Int.init)
    }

    /// Notifications received by `client` since the last call, as (method, params).
    func notifications(_ client: String) -> [(String, JSONValue)] {
        clients[client]!.conn.take().compactMap { v in
            guard v["id"] == nil, let m = v["method"]?.stringValue else { return nil }
            return (m, v["params"] ?? .null)
        }
    }

    func join(_ user: String, room: String = "demo", extra: [String: JSONValue] = [:]) async -> JSONValue {
        if clients[user] == nil { await connect(user) }
        var params: [String: JSONValue] = ["user": .string(user), "room": .string(room)]
        params.merge(extra) { _, b in b }
        return await request(user, "joinRoom", .object(params))
    }

    func publish(_ user: String) async -> JSONValue {
        await request(user, "publishVideo", ["sdpOffer": .string("offer-\(user)"), "doLoopback": false])
    }
}
