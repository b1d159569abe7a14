public import JSONRPC
public import Elements
public import Rooms
import Synchronization

/// A room service on a fake clock and fake media, with named clients.
public final class RoomHarness: @unchecked Sendable {
    public let media = FakeRoomMedia()
    public let clock = FakeClock()
    public let service: RoomService
    public var clients: [String: (id: ConnectionID, conn: TestConnection)] = [:]
    private var nextRequest: Int64 = 1

    public init(options: RoomOptions = RoomOptions()) {
        service = RoomService(media: media, options: options, clock: clock)
    }

    public func connect(_ name: String) async {
        let conn = TestConnection()
        let id = await service.openConnection(conn)
        clients[name] = (id, conn)
    }

    /// Sends a request from `client` and returns its response (result or error object).
    @discardableResult
    public func request(_ client: String, _ method: String, _ params: JSONValue = [:]) async -> JSONValue {
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

    public func result(_ client: String, _ method: String, _ params: JSONValue = [:]) async -> JSONValue {
        let r = await request(client, method, params)
        return r["result"] ?? .null
    }

    public func errorCode(_ client: String, _ method: String, _ params: JSONValue = [:]) async -> Int? {
        let r = await request(client, method, params)
        return r["error"]?["code"]?.intValue.map(Int.init)
    }

    /// Notifications received by `client` since the last call, as (method, params).
    public func notifications(_ client: String) -> [(String, JSONValue)] {
        clients[client]!.conn.take().compactMap { v in
            guard v["id"] == nil, let m = v["method"]?.stringValue else { return nil }
            return (m, v["params"] ?? .null)
        }
    }

    public func join(_ user: String, room: String = "demo", extra: [String: JSONValue] = [:]) async -> JSONValue {
        if clients[user] == nil { await connect(user) }
        var params: [String: JSONValue] = ["user": .string(user), "room": .string(room)]
        params.merge(extra) { _, b in b }
        return await request(user, "joinRoom", .object(params))
    }

    public func publish(_ user: String) async -> JSONValue {
        await request(user, "publishVideo", ["sdpOffer": .string("offer-\(user)"), "doLoopback": false])
    }
}
