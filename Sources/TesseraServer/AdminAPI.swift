import Cluster
import Foundation
import HTTPTypes
import Hummingbird
import JSONRPC
import Logging
import NIOCore
import Rooms

/// The operator's HTTP API under `/admin` (docs/admin-api.yaml): JSON in and
/// out, a bearer key (`admin.key`). Without a key there is no admin API at
/// all: every `/admin` path answers 404, as an unknown path would.
enum AdminAPI {
    static func register(on router: Router<BasicRequestContext>, rooms: RoomService, cluster: ClusterNode?, key: String?, logger: Logger) {
        guard let key else { return }
        let admin = router.group("admin")
        let gate = Gate(key: key, logger: logger)
        let run = gate.run
        admin.get("cluster") { request, _ in
            await run(request) { () throws(RoomError) in
                guard let cluster else { throw RoomError(.roomNotFound, "this server is not in a cluster (cluster.databaseURL is empty)") }
                return await TesseraServer.describe(cluster)
            }
        }
        admin.get("rooms") { request, _ in
            await run(request) { () throws(RoomError) in ["rooms": await rooms.adminRooms()] }
        }
        admin.get("rooms/:room") { request, context in
            let name = context.parameters.get("room") ?? ""
            return await run(request) { () throws(RoomError) in await rooms.adminRoom(name) }
        }
        admin.get("rooms/:room/media") { request, context in
            let name = context.parameters.get("room") ?? ""
            return await run(request) { () throws(RoomError) in await rooms.adminRoomMedia(name) }
        }
        admin.delete("rooms/:room") { request, context in
            let name = context.parameters.get("room") ?? ""
            return await run(request) { () throws(RoomError) in try await rooms.adminCloseRoom(name) }
        }
        admin.delete("rooms/:room/participants/:user") { request, context in
            let name = context.parameters.get("room") ?? "", user = context.parameters.get("user") ?? ""
            return await run(request) { () throws(RoomError) in try await rooms.adminRemove(room: name, user: user) }
        }
        admin.post("rooms/:room/participants/:user/mute") { request, context in
            let name = context.parameters.get("room") ?? "", user = context.parameters.get("user") ?? ""
            let body = await bodyObject(request)
            return await run(request) { () throws(RoomError) in
                guard let body, let kind = body["kind"]?.stringValue, let muted = body["muted"]?.boolValue else {
                    throw RoomError(.invalidParams, "the body must be {\"kind\": \"audio\"|\"video\", \"muted\": true|false}")
                }
                return try await rooms.adminMute(room: name, user: user, kind: kind, muted: muted)
            }
        }
        admin.post("rooms/:room/recording") { request, context in
            let name = context.parameters.get("room") ?? ""
            let body = await bodyObject(request)
            return await run(request) { () throws(RoomError) in
                guard let body else { throw RoomError(.invalidParams, "the body must be a JSON object (may be {})") }
                return try await rooms.adminStartRecording(room: name, body)
            }
        }
        admin.delete("rooms/:room/recording") { request, context in
            let name = context.parameters.get("room") ?? ""
            return await run(request) { () throws(RoomError) in try await rooms.adminStopRecording(room: name) }
        }
        admin.put("rooms/:room/mode") { request, context in
            let name = context.parameters.get("room") ?? ""
            let body = await bodyObject(request)
            return await run(request) { () throws(RoomError) in
                guard let mode = body?["mode"]?.stringValue else { throw RoomError(.invalidParams, "the body must be {\"mode\": \"sfu\"|\"mcu\"|\"hybrid\"}") }
                return try await rooms.adminSetMode(room: name, mode: mode)
            }
        }
    }

    /// Authenticates every admin request, then runs it and turns its outcome into JSON.
    struct Gate: Sendable {
        let key: String
        let logger: Logger

        func run(_ request: Request, _ work: () async throws(RoomError) -> JSONValue?) async -> Response {
            guard let given = AccessPolicy.bearerToken(request.headers[.authorization]), AccessPolicy.matches(given, key) else {
                logger.warning("refused an admin request", metadata: ["path": "\(request.uri.path)"])
                var r = json(.unauthorized, ["error": ["code": 401, "message": "the admin key is required (Authorization: Bearer KEY)"]])
                r.headers[.wwwAuthenticate] = "Bearer"
                return r
            }
            do throws(RoomError) {
                guard let value = try await work() else { return json(.notFound, ["error": ["code": 404, "message": "no such room"]]) }
                return json(.ok, value)
            } catch {
                return json(status(of: error), ["error": ["code": .int(Int64(error.code)), "message": .string(error.message)]])
            }
        }
    }

    /// The HTTP status of a room error.
    static func status(of error: RoomError) -> HTTPResponse.Status {
        switch RoomError.Code(rawValue: error.code) {
        case .roomNotFound, .userNotFound: .notFound
        case .invalidParams, .roomModeNotSupported, .mediaMute, .userNotStreaming: .badRequest
        case .recordingInProgress, .recordingStop, .roomModeSwitchInProgress, .roomClosed: .conflict
        default: .internalServerError
        }
    }

    /// The request body as a JSON object (an empty body is {}); nil when it is not one.
    static func bodyObject(_ request: Request) async -> [String: JSONValue]? {
        var request = request
        guard let buffer = try? await request.collectBody(upTo: 64 * 1024) else { return nil }
        let text = String(buffer: buffer)
        if text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { return [:] }
        return (try? JSONParser.parse(text))?.objectValue
    }

    static func json(_ status: HTTPResponse.Status, _ value: JSONValue) -> Response {
        Response(status: status, headers: [.contentType: "application/json"],
                 body: .init(byteBuffer: ByteBuffer(string: JSONWriter.string(value) + "\n")))
    }
}
