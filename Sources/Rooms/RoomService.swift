public import Elements
public import JSONRPC
import Foundation

/// Where the room layer sends a client's frames; `close` ends its socket
/// (after `leaveRoom`, or when the ping watchdog gives up on it).
public protocol RoomConnection: OutboundSink {
    func close()
}

/// Settings of the room layer (the `rooms.*` config keys).
public struct RoomOptions: Sendable {
    /// How long a participant whose socket dropped keeps its place; a
    /// `connect` with its sessionId within this time resumes it.
    public var reconnectGrace: Duration = .seconds(10)
    /// Ping interval assumed when a client's first ping names none (§2).
    public var defaultPingInterval: Duration = .seconds(20)
    /// Mode of a room whose first join names none.
    public var defaultMode: RoomMode = .sfu
    /// Modes this server offers.
    public var modes: [RoomMode] = RoomMode.allCases
    /// A room in SFU mode switches itself to MCU when it reaches this many participants; 0 = never.
    public var autoMCUThreshold = 0
    /// How long a mode switch waits for a subscriber's new streams before it drops the old ones anyway.
    public var switchTimeout: Duration = .seconds(5)
    /// HS256 key for room tokens; nil = open server (every participant is a moderator).
    public var jwtKey: String?
    public var maxParticipants = 100
    /// The composite canvas, for the tile geometry in `layoutChanged`.
    public var canvasWidth = 1280, canvasHeight = 720, canvasFPS = 30
    /// Absolute path of the recording directory (`recording.directory`).
    public var recordingDirectory = "/tmp"

    public init() {}
}

/// The room JSON-RPC protocol (shared/spec/room-protocol.md) and the rooms
/// themselves. One actor: every request, media event and timer tick runs
/// here in turn; media operations are awaited, and state is checked again
/// after each await because other requests may have run meanwhile.
public actor RoomService {
    let media: any RoomMedia
    let options: RoomOptions
    let clock: any TimeSource

    final class Session {
        let id: String
        var connection: ConnectionID?
        var pingInterval: Duration?
        var lastSeen: Duration
        var droppedAt: Duration?
        var room: String?
        var user: String?
        init(id: String, now: Duration) {
            self.id = id
            self.lastSeen = now
        }
    }

    private var connections: [ConnectionID: (sink: any RoomConnection, session: String)] = [:]
    private var sessions: [String: Session] = [:]
    private var rooms: [String: Room] = [:]
    /// Endpoint id -> (room, owner, endpoint name as the owner knows it).
    private var endpointOwners: [String: (room: String, user: String, name: String)] = [:]
    private var nextConnection: ConnectionID = 1
    private var nextSwitch = 1
    private var nextRecording = 1

    public init(media: any RoomMedia, options: RoomOptions = RoomOptions(), clock: any TimeSource = SystemTimeSource()) {
        self.media = media
        self.options = options
        self.clock = clock
    }

    // MARK: Connections

    public func openConnection(_ sink: any RoomConnection) -> ConnectionID {
        let id = nextConnection
        nextConnection += 1
        let session = Session(id: UUID().uuidString.lowercased(), now: clock.monotonicNow)
        session.connection = id
        sessions[session.id] = session
        connections[id] = (sink, session.id)
        return id
    }

    /// The socket is gone: the participant keeps its place for the grace period.
    public func closeConnection(_ id: ConnectionID) {
        guard let c = connections.removeValue(forKey: id), let s = sessions[c.session], s.connection == id else { return }
        s.connection = nil
        s.droppedAt = clock.monotonicNow
        if s.room == nil { sessions[s.id] = nil }
    }

    public var roomNames: [String] { rooms.keys.sorted() }
    public var participantCount: Int { rooms.values.reduce(0) { $0 + $1.members.count } }

    /// Participants of `room` in join order, with what they publish (for tests and /rooms).
    public func describe(room: String) -> JSONValue? {
        guard let r = rooms[room] else { return nil }
        return [
            "mode": .string(r.mode.rawValue), "pipeline": r.pipeline.map { .string($0) } ?? .null,
            "participants": .array(r.members.map { p in
                ["name": .string(p.name), "publishing": .bool(p.publishing),
                 "subscriptions": .array(p.subscriptions.keys.sorted().map { .string($0) })]
            }),
        ]
    }

    // MARK: Requests

    public func handle(_ text: String, from connection: ConnectionID) async {
        guard let conn = connections[connection] else { return }
        let request: RPCRequest
        switch RPCCodec.decode(text) {
        case .invalid(let error, let id):
            conn.sink.send(RPCResponse(id: id, error: error).text)
            return
        case .response:
            conn.sink.send(RPCResponse(id: nil, error: .invalidRequest).text)
            return
        case .request(let r):
            request = r
        }
        var params = request.params?.objectValue ?? [:]
        // The jsonrpc layer's, not the handler's (§1); `connect` uses it to resume a session.
        let claimedSession = params.removeValue(forKey: "sessionId")?.stringValue
        guard let session = sessions[conn.session] else { return }
        session.lastSeen = clock.monotonicNow
        let outcome: Result<JSONValue, RoomError>
        do throws(RoomError) {
            outcome = .success(try await dispatch(
                request.method, params, claimedSession: claimedSession, session: session, connection: connection))
        } catch {
            outcome = .failure(error)
        }
        guard let id = request.id else { return }  // a notification gets no answer
        let sessionID = sessions.values.first { $0.connection == connection }?.id ?? session.id
        reply(to: connection, id: id, outcome, session: sessionID)
        if request.method == "leaveRoom" || request.method == "closeSession", case .success = outcome {
            connections[connection]?.sink.close()
        }
    }

    private func reply(to connection: ConnectionID, id: JSONValue, _ outcome: Result<JSONValue, RoomError>, session: String) {
        guard let sink = connections[connection]?.sink else { return }
        switch outcome {
        case .success(let value):
            // Non-object results are wrapped as {"value": …}; sessionId goes inside (§1).
            var object = value.objectValue ?? ["value": value]
            object["sessionId"] = .string(session)
            sink.send(RPCResponse(id: id, result: .object(object)).text)
        case .failure(let e):
            sink.send(RPCResponse(id: id, error: RPCError(code: e.code, message: e.message, data: ["sessionId": .string(session)])).text)
        }
    }

    private func dispatch(
        _ method: String, _ params: [String: JSONValue], claimedSession: String?, session: Session, connection: ConnectionID
    ) async throws(RoomError) -> JSONValue {
        switch method {
        case "ping":
            if let ms = params["interval"]?.intValue, ms > 0 {
                session.pingInterval = .milliseconds(ms)
            } else if session.pingInterval == nil {
                session.pingInterval = options.defaultPingInterval
            }
            return "pong"
        case "connect":
            guard let claimed = claimedSession else { return "OK" }
            guard resume(session: claimed, on: connection) else { throw RoomError(.reconnection, "reconnection error") }
            return "reconnection successful"
        case "closeSession":
            if let room = session.room, let user = session.user { await evict(room: room, user: user, notifyEvicted: false) }
            return "bye"
        case "joinRoom": return try await joinRoom(params, session: session)
        case "publishVideo": return try await publishVideo(params, session: session)
        case "unpublishVideo": return try await unpublishVideo(session: session)
        case "receiveVideoFrom": return try await receiveVideoFrom(params, session: session)
        case "unsubscribeFromVideo": return try await unsubscribeFromVideo(params, session: session)
        case "onIceCandidate": return try await onIceCandidate(params, session: session)
        case "leaveRoom":
            let (room, p) = try member(session)
            await evict(room: room.name, user: p.name, notifyEvicted: false)
            return [:]
        case "sendMessage": return try sendMessage(params, session: session)
        case "customRequest":
            throw RoomError(.generic, "customRequest: this server has no application handler for custom requests")
        case "setRoomMode": return try await setRoomMode(params, session: session)
        case "streamPropertyChanged": return try streamPropertyChanged(params, session: session)
        case "muteParticipant": return try muteParticipant(params, session: session)
        case "setLayout": return try await setLayout(params, session: session)
        case "muteRoom": return try muteRoom(params, session: session)
        case "muteSubscribedMedia": return try await muteSubscribed(params, session: session, muted: true)
        case "unmuteSubscribedMedia": return try await muteSubscribed(params, session: session, muted: false)
        case "startRecording": return try await startRecording(params, session: session)
        case "stopRecording": return try await stopRecording(params, session: session)
        default:
            throw RoomError(.methodNotFound, "Method not found: \(method)")
        }
    }

    // MARK: Helpers

    private func string(_ params: [String: JSONValue], _ name: String) throws(RoomError) -> String {
        guard let v = params[name] else { throw .missing(name) }
        guard let s = v.stringValue else { throw RoomError(.invalidParams, "Request element '\(name)' must be a string") }
        return s
    }

    private func member(_ session: Session) throws(RoomError) -> (Room, Participant) {
        guard let roomName = session.room, let user = session.user, let room = rooms[roomName], let p = room.participants[user] else {
            throw RoomError(.userNotFound, "User is not in any room: join a room first")
        }
        return (room, p)
    }

    private func send(_ method: String, _ params: JSONValue, to p: Participant) {
        guard let c = sessions[p.session]?.connection, let sink = connections[c]?.sink else { return }
        sink.send(RPCCodec.notification(method: method, params: params))
    }

    private func broadcast(_ method: String, _ params: JSONValue, in room: Room, except: String? = nil, feature: String? = nil) {
        for p in room.members where p.name != except {
            if let feature, !p.wants(feature) { continue }
            send(method, params, to: p)
        }
    }

    private func mediaError(_ e: RoomMediaError, _ code: RoomError.Code = .mediaSDP) -> RoomError {
        RoomError(code, e.message)
    }

    // MARK: §2 reconnection

    /// `connect {sessionId}` from a new socket: the participant behind that
    /// session continues on this socket (within the grace period).
    private func resume(session oldSession: String, on connection: ConnectionID) -> Bool {
        guard let old = sessions[oldSession], let c = connections[connection] else { return false }
        if let current = sessions[c.session], current.id != old.id, current.room == nil { sessions[current.id] = nil }
        if let previous = old.connection, previous != connection { connections[previous] = nil }
        old.connection = connection
        old.droppedAt = nil
        old.lastSeen = clock.monotonicNow
        connections[connection] = (c.sink, old.id)
        return true
    }

    // MARK: §4.1 joinRoom

    private func joinRoom(_ params: [String: JSONValue], session: Session) async throws(RoomError) -> JSONValue {
        let user = try string(params, "user"), roomName = try string(params, "room")
        guard !user.isEmpty else { throw RoomError(.generic, "Empty user name is not allowed") }
        guard !user.contains("_"), !user.hasPrefix("$") else {
            throw RoomError(.generic, "User name '\(user)' is not allowed: '_' and a leading '$' are reserved")
        }
        guard !roomName.isEmpty else { throw RoomError(.generic, "Empty room name is not allowed") }
        guard session.room == nil else {
            throw RoomError(.existingUserInRoom, "This session already joined room '\(session.room ?? "")' as '\(session.user ?? "")'")
        }
        var role = RoomRole.moderator
        if let key = options.jwtKey {
            guard let token = params["token"]?.stringValue else { throw RoomError(.unauthorized, "A room token is required") }
            let claims: RoomToken.Claims
            do throws(RoomTokenError) {
                claims = try RoomToken.verify(token, key: key, now: clock.wallClockMillis / 1000)
            } catch {
                throw RoomError(.unauthorized, "Invalid room token: \(error)")
            }
            guard claims.room == roomName, claims.user == user else {
                throw RoomError(.unauthorized, "The token is for user '\(claims.user)' in room '\(claims.room)'")
            }
            role = claims.role
        }
        var mode = options.defaultMode
        if let m = params["mode"]?.stringValue {
            guard let parsed = RoomMode(rawValue: m), options.modes.contains(parsed) else {
                throw RoomError(.roomModeNotSupported, "Room mode '\(m)' is not supported; modes: \(options.modes.map(\.rawValue).joined(separator: ", "))")
            }
            mode = parsed
        }
        let extensions = Set(params["extensions"]?.arrayValue?.compactMap(\.stringValue) ?? [])
        let room: Room
        if let existing = rooms[roomName] {
            guard !existing.closing else { throw RoomError(.roomClosed, "Room '\(roomName)' is closing") }
            guard existing.participants[user] == nil else {
                throw RoomError(.existingUserInRoom, "User '\(user)' already exists in room '\(roomName)'")
            }
            guard existing.members.count < options.maxParticipants else { throw RoomError(.roomFull, "Room '\(roomName)' is full") }
            room = existing
        } else {
            room = Room(name: roomName, mode: mode)
            rooms[roomName] = room
        }
        let p = Participant(name: user, session: session.id, role: role, extensions: extensions)
        room.add(p)
        session.room = roomName
        session.user = user
        if room.pipeline == nil {
            do {
                let pipeline = try await media.createPipeline()
                if room.pipeline == nil { room.pipeline = pipeline } else { await media.release(pipeline) }
            } catch {
                room.remove(user)
                session.room = nil
                session.user = nil
                if room.members.isEmpty { rooms[roomName] = nil }
                throw RoomError(.roomCannotBeCreated, "Room '\(roomName)' cannot be created: \(error)")
            }
        }
        if room.mode != .sfu, room.composite == nil { try await ensureComposite(room) }
        broadcast("participantJoined", ["id": .string(user)], in: room, except: user)
        var peers: [JSONValue] = room.members.filter { $0.name != user }.map { Room.peer($0.name, room.streams(of: $0)) }
        if let s = room.mcuStreams { peers.insert(Room.peer(mcuName, s), at: 0) }
        if options.autoMCUThreshold > 0, room.mode == .sfu, room.switchID == nil, room.members.count >= options.autoMCUThreshold {
            // Automatic policy: big rooms mix. Runs after the answer is built.
            Task { try? await self.switchMode(room.name, to: .mcu) }
        }
        return [
            "value": .array(peers),
            "room": [
                "name": .string(roomName), "mode": .string(room.mode.rawValue), "modes": .array(options.modes.map { .string($0.rawValue) }),
                "composite": room.mode == .sfu ? .null : room.compositeDescription, "recording": .null,
            ],
            "role": .string(role.rawValue),
            "extensionsAccepted": .array(extensions.sorted().filter(Self.extensions.contains).map { .string($0) }),
        ]
    }

    static let extensions: Set<String> = ["mode", "composite", "layout", "mute", "speaking", "recording"]

    private func ensureComposite(_ room: Room) async throws(RoomError) {
        guard room.composite == nil, let pipeline = room.pipeline else { return }
        do {
            let c = try await media.createComposite(pipeline: pipeline)
            if room.composite == nil { room.composite = c } else { await media.release(c) }
        } catch {
            throw RoomError(.mediaMixer, "The mixer could not start: \(error.message)")
        }
    }

    private func ensureHubPort(_ room: Room, _ p: Participant) async throws(RoomError) -> String {
        if let port = p.hubPort { return port }
        try await ensureComposite(room)
        guard let composite = room.composite else { throw RoomError(.mediaMixer, "The room has no mixer") }
        do {
            let port = try await media.createHubPort(hub: composite)
            if let existing = p.hubPort { await media.release(port); return existing }
            p.hubPort = port
            await applyAllMixExclusions(room)  // this port may be someone's muted sender, or a listener with mutes
            return port
        } catch {
            throw RoomError(.mediaMixer, "The mixer could not add a port: \(error.message)")
        }
    }

    /// Feeds `p`'s published media into its composite port as `mode` wants.
    private func wireIntoMixer(_ room: Room, _ p: Participant, mode: RoomMode) async throws(RoomError) {
        guard let publisher = p.publisher else { return }
        switch mode {
        case .sfu:
            return
        case .mcu:
            let port = try await ensureHubPort(room, p)
            try? await media.connect(publisher, port, kind: p.audioActive ? nil : .video)
            if !p.audioActive { try? await media.disconnect(publisher, port, kind: .audio) }
            if !p.videoActive { try? await media.disconnect(publisher, port, kind: .video) }
        case .hybrid:
            let port = try await ensureHubPort(room, p)
            if p.audioActive { try? await media.connect(publisher, port, kind: .audio) }
            try? await media.disconnect(publisher, port, kind: .video)
        }
    }

    private func newEndpoint(_ room: Room, owner p: Participant, name: String) async throws(RoomError) -> String {
        guard let pipeline = room.pipeline else { throw RoomError(.mediaEndpoint, "The room has no pipeline") }
        let endpoint: String
        do { endpoint = try await media.createWebRtcEndpoint(pipeline: pipeline) } catch {
            throw RoomError(.mediaEndpoint, "Endpoint creation failed: \(error.message)")
        }
        endpointOwners[endpoint] = (room.name, p.name, name)
        for c in p.pendingCandidates.removeValue(forKey: name) ?? [] {
            try? await media.addIceCandidate(endpoint, candidate: c.candidate, sdpMid: c.sdpMid, sdpMLineIndex: c.index)
        }
        return endpoint
    }

    private func releaseEndpoint(_ endpoint: String) async {
        endpointOwners[endpoint] = nil
        await media.release(endpoint)
    }

    // MARK: §4.2 publishVideo, §4.3 unpublishVideo

    private func publishVideo(_ params: [String: JSONValue], session: Session) async throws(RoomError) -> JSONValue {
        let offer = try string(params, "sdpOffer")
        let loopback = params["doLoopback"]?.boolValue ?? false
        let (room, p) = try member(session)
        guard p.role != .subscriber else { throw RoomError(.unauthorized, "Role 'subscriber' may not publish") }
        guard !p.publishing else { throw RoomError(.mediaSDP, "User '\(p.name)' is already publishing: unpublishVideo first") }
        let endpoint = try await newEndpoint(room, owner: p, name: p.name)
        let answer: String
        do { answer = try await media.processOffer(endpoint, offer: offer) } catch {
            await releaseEndpoint(endpoint)
            throw mediaError(error)
        }
        guard room.participants[p.name] === p, !p.publishing else {
            await releaseEndpoint(endpoint)
            throw RoomError(.userClosed, "User '\(p.name)' left while publishing")
        }
        p.publisher = endpoint
        if loopback { try? await media.connect(endpoint, endpoint, kind: nil) }
        try await wireIntoMixer(room, p, mode: room.mixerMode)
        do { try await startParticipantFile(room, p) } catch {
            send("mediaError", ["error": .string(error.message)], to: p)
        }
        if let streams = room.streams(of: p) {
            broadcast("participantPublished", Room.peer(p.name, streams), in: room, except: p.name)
        }
        await applyLayout(room)
        return ["sdpAnswer": .string(answer)]
    }

    private func unpublishVideo(session: Session) async throws(RoomError) -> JSONValue {
        let (room, p) = try member(session)
        guard let endpoint = p.publisher else { throw RoomError(.userNotStreaming, "User '\(p.name)' is not publishing") }
        await finishParticipantFile(room, user: p.name)
        p.publisher = nil
        await dropSubscriptions(to: p.name, in: room)
        await releaseEndpoint(endpoint)
        room.voices[p.name] = nil
        await sfuSpeakersChanged(room)
        if room.mode == .sfu || room.mode == .hybrid {
            broadcast("participantUnpublished", ["name": .string(p.name)], in: room, except: p.name)
        }
        await applyLayout(room)
        return [:]
    }

    /// Releases every subscription to `sender` in `room`.
    private func dropSubscriptions(to sender: String, in room: Room) async {
        for other in room.members {
            if let s = other.subscriptions.removeValue(forKey: sender) { await releaseEndpoint(s.endpoint) }
            for old in other.retiring.removeValue(forKey: sender) ?? [] { await releaseEndpoint(old) }
        }
    }

    // MARK: §4.4 receiveVideoFrom, §4.5 unsubscribeFromVideo

    private func receiveVideoFrom(_ params: [String: JSONValue], session: Session) async throws(RoomError) -> JSONValue {
        let sender = try string(params, "sender"), offer = try string(params, "sdpOffer")
        let (room, p) = try member(session)
        let parts = sender.split(separator: "_", maxSplits: 1).map(String.init)
        let user = parts.first ?? "", stream = parts.count > 1 ? parts[1] : "webcam"
        let endpoint: String
        if user == mcuName {
            guard room.mode != .sfu || room.switchID != nil || room.composite != nil else {
                throw RoomError(.userNotFound, "Sender '\(sender)' is not in room '\(room.name)': the room is in SFU mode")
            }
            guard ["composite", "audio", "video"].contains(stream) else {
                throw RoomError(.userNotStreaming, "The mixer has no stream '\(stream)'")
            }
            endpoint = try await newEndpoint(room, owner: p, name: mcuName)
            do {
                let port = try await ensureHubPort(room, p)
                let kind: RoomMediaKind? = stream == "audio" ? .audio : (stream == "video" ? .video : nil)
                try? await media.connect(port, endpoint, kind: kind)
            } catch {
                await releaseEndpoint(endpoint)
                throw error
            }
        } else {
            guard let source = room.participants[user] else {
                throw RoomError(.userNotFound, "User '\(user)' not found in room '\(room.name)'")
            }
            guard source.name != p.name else {
                throw RoomError(.userNotStreaming, "Can loopback only when publishing media: use doLoopback in publishVideo")
            }
            guard let published = source.publisher else {
                throw RoomError(.userNotStreaming, "User '\(user)' is not publishing media")
            }
            endpoint = try await newEndpoint(room, owner: p, name: user)
            // Hybrid: the audio is in the mix. A sender this subscriber muted: video only.
            let kind: RoomMediaKind? = room.mode == .hybrid || p.mutedInMix.contains(user) ? .video : nil
            do { try await media.connect(published, endpoint, kind: kind) } catch {
                await releaseEndpoint(endpoint)
                throw RoomError(.mediaEndpoint, "Cannot connect to '\(user)': \(error.message)")
            }
        }
        let answer: String
        do { answer = try await media.processOffer(endpoint, offer: offer) } catch {
            await releaseEndpoint(endpoint)
            throw mediaError(error)
        }
        guard room.participants[p.name] === p else {
            await releaseEndpoint(endpoint)
            throw RoomError(.userClosed, "User '\(p.name)' left")
        }
        // A repeated subscription replaces the old one, which stays until the new one flows (§10.8).
        if let old = p.subscriptions[user] { p.retiring[user, default: []].append(old.endpoint) }
        p.subscriptions[user] = Subscription(endpoint: endpoint, stream: stream, epoch: room.switchEpoch)
        return ["sdpAnswer": .string(answer)]
    }

    private func unsubscribeFromVideo(_ params: [String: JSONValue], session: Session) async throws(RoomError) -> JSONValue {
        let sender = try string(params, "sender")
        let (_, p) = try member(session)
        let user = String(sender.prefix { $0 != "_" })
        guard let s = p.subscriptions.removeValue(forKey: user) else {
            throw RoomError(.userNotFound, "User '\(p.name)' is not subscribed to '\(sender)'")
        }
        await releaseEndpoint(s.endpoint)
        for old in p.retiring.removeValue(forKey: user) ?? [] { await releaseEndpoint(old) }
        return [:]
    }

    // MARK: §4.6 onIceCandidate

    private func onIceCandidate(_ params: [String: JSONValue], session: Session) async throws(RoomError) -> JSONValue {
        let name = try string(params, "endpointName"), candidate = try string(params, "candidate")
        guard params["sdpMLineIndex"] != nil else { throw .missing("sdpMLineIndex") }
        let mid = params["sdpMid"]?.stringValue ?? params["sdpMid"]?.intValue.map { String($0) } ?? "0"
        let index = Int(params["sdpMLineIndex"]?.intValue ?? 0)
        let (_, p) = try member(session)
        let endpoint = name == p.name ? p.publisher : p.subscriptions[name]?.endpoint
        guard let endpoint else {
            // The endpoint is being made (the client trickles right after its offer): keep it for later.
            p.pendingCandidates[name, default: []].append((candidate, mid, index))
            return [:]
        }
        do { try await media.addIceCandidate(endpoint, candidate: candidate, sdpMid: mid, sdpMLineIndex: index) } catch {
            throw RoomError(.mediaEndpoint, "Cannot add the candidate: \(error.message)")
        }
        return [:]
    }

    // MARK: §4.8 sendMessage

    private func sendMessage(_ params: [String: JSONValue], session: Session) throws(RoomError) -> JSONValue {
        let message = try string(params, "message"), user = try string(params, "userMessage"), roomName = try string(params, "roomMessage")
        let (room, p) = try member(session)
        guard user == p.name else { throw RoomError(.userNotFound, "userMessage '\(user)' is not the caller ('\(p.name)')") }
        guard roomName == room.name else { throw RoomError(.roomNotFound, "roomMessage '\(roomName)' is not the caller's room") }
        broadcast("sendMessage", ["room": .string(room.name), "user": .string(p.name), "message": .string(message)], in: room)
        return [:]
    }

    // MARK: §10.5 mute

    private func streamPropertyChanged(_ params: [String: JSONValue], session: Session) throws(RoomError) -> JSONValue {
        let property = try string(params, "property")
        guard let value = params["newValue"]?.boolValue else { throw .missing("newValue") }
        let (room, p) = try member(session)
        guard p.publishing else { throw RoomError(.userNotStreaming, "User '\(p.name)' is not publishing") }
        let kind: String
        switch property {
        case "audioActive": kind = "audio"
        case "videoActive": kind = "video"
        default: throw RoomError(.invalidParams, "property must be audioActive or videoActive")
        }
        if value, p.forceMuted.contains(kind) { throw RoomError(.mediaMute, "A moderator muted your \(kind)") }
        try setActive(room, p, kind: kind, active: value, reason: "publish" + (kind == "audio" ? "Audio" : "Video"))
        return [:]
    }

    private func muteParticipant(_ params: [String: JSONValue], session: Session) throws(RoomError) -> JSONValue {
        let target = try string(params, "target"), kind = try string(params, "kind")
        guard let muted = params["muted"]?.boolValue else { throw .missing("muted") }
        let (room, p) = try member(session)
        guard p.role == .moderator else { throw RoomError(.unauthorized, "Only a moderator may mute others") }
        guard kind == "audio" || kind == "video" else { throw RoomError(.invalidParams, "kind must be audio or video") }
        guard let t = room.participants[target] else { throw RoomError(.userNotFound, "User '\(target)' not found") }
        guard t.publishing else { throw RoomError(.userNotStreaming, "User '\(target)' is not publishing") }
        if muted { t.forceMuted.insert(kind) } else { t.forceMuted.remove(kind) }
        try setActive(room, t, kind: kind, active: !muted, reason: "forceMute")
        return [:]
    }

    /// Moderator: mute (or unmute) one kind for every publisher, moderators too unless `exceptModerators`.
    private func muteRoom(_ params: [String: JSONValue], session: Session) throws(RoomError) -> JSONValue {
        let kind = try string(params, "kind")
        guard let muted = params["muted"]?.boolValue else { throw .missing("muted") }
        let exceptModerators = params["exceptModerators"]?.boolValue ?? true
        let (room, p) = try member(session)
        guard p.role == .moderator else { throw RoomError(.unauthorized, "Only a moderator may mute the room") }
        guard kind == "audio" || kind == "video" else { throw RoomError(.invalidParams, "kind must be audio or video") }
        var affected: [JSONValue] = []
        for t in room.members where t.publishing && !(exceptModerators && t.role == .moderator) {
            if muted { t.forceMuted.insert(kind) } else { t.forceMuted.remove(kind) }
            try setActive(room, t, kind: kind, active: !muted, reason: "forceMute")
            affected.append(.string(t.name))
        }
        return ["muted": .bool(muted), "kind": .string(kind), "participants": .array(affected)]
    }

    /// Receiver side: stop (or resume) receiving one kind of one sender, for this subscriber only.
    private func muteSubscribed(_ params: [String: JSONValue], session: Session, muted: Bool) async throws(RoomError) -> JSONValue {
        let sender = try string(params, "sender")
        let (room, p) = try member(session)
        let user = String(sender.prefix { $0 != "_" })
        var kinds: Set<RoomMediaKind>
        let onlyVideo = params["kind"]?.stringValue == "video"
        switch params["kind"]?.stringValue {
        case "audio": kinds = [.audio]
        case "video": kinds = [.video]
        case nil, "all": kinds = [.audio, .video]
        case let other: throw RoomError(.invalidParams, "kind must be audio, video or all, not '\(other ?? "")'")
        }
        guard user != mcuName else {
            throw RoomError(.mediaMute, "Mute the senders inside '\(sender)' by name (muteSubscribedMedia {sender: \"bob\"}); the composite itself is unsubscribed with unsubscribeFromVideo")
        }
        let target = room.participants[user]
        let sub = p.subscriptions[user]
        guard target != nil, sub != nil || room.mixerMode != .sfu else {
            throw RoomError(.userNotFound, "User '\(p.name)' is not subscribed to '\(sender)'")
        }
        // MCU: one picture is encoded for everyone, so a tile cannot be hidden for one
        // viewer. Asked for video alone, that is an error; for all kinds, the mix (audio) is muted.
        if sub == nil, onlyVideo, muted {
            throw RoomError(.mediaMute, "Hiding one tile for one viewer is not supported in MCU mode: the composite picture is shared; use setLayout")
        }
        if sub == nil { kinds.remove(.video) }
        // Remembered across mode switches. In a mixing room the sender leaves this
        // listener's own mix only (§10.5); in SFU mode its audio is disconnected below.
        if kinds.contains(.audio) {
            if muted { p.mutedInMix.insert(user) } else { p.mutedInMix.remove(user) }
            if room.mode != .sfu {
                await applyMixExclusions(room, for: p)
                kinds.remove(.audio)
            }
        }
        if let sub, let source = target?.publisher {
            for kind in kinds {
                do {
                    if muted { try await media.disconnect(source, sub.endpoint, kind: kind) } else { try await media.connect(source, sub.endpoint, kind: kind) }
                } catch {
                    throw RoomError(.mediaMute, "Cannot \(muted ? "mute" : "unmute") \(kind.rawValue.lowercased()) of '\(user)': \(error.message)")
                }
            }
        }
        return ["sender": .string(sender), "muted": .bool(muted)]
    }

    /// Tells the mixer which senders `p` muted for itself (their current ports).
    private func applyMixExclusions(_ room: Room, for p: Participant) async {
        guard room.mode != .sfu, let composite = room.composite, let port = p.hubPort else { return }
        let exclude = p.mutedInMix.sorted().compactMap { room.participants[$0]?.hubPort }
        try? await media.setMixExclusions(composite: composite, port: port, exclude: exclude)
    }

    /// After ports were made (a join, a publish, a switch to a mixing mode): every listener's exclusions again.
    private func applyAllMixExclusions(_ room: Room) async {
        for p in room.members where !p.mutedInMix.isEmpty { await applyMixExclusions(room, for: p) }
    }

    /// Stops or resumes mixing and forwarding one kind of `p`'s media (no SDP change).
    private func setActive(_ room: Room, _ p: Participant, kind: String, active: Bool, reason: String) throws(RoomError) {
        if kind == "audio" { p.audioActive = active } else { p.videoActive = active }
        guard let publisher = p.publisher else { return }
        let mediaKind: RoomMediaKind = kind == "audio" ? .audio : .video
        let sinks = room.members.compactMap { $0.subscriptions[p.name]?.endpoint }
        let port = p.hubPort
        let mode = room.mode
        let media = self.media
        Task {
            for sink in sinks {
                if active { try? await media.connect(publisher, sink, kind: mediaKind) } else { try? await media.disconnect(publisher, sink, kind: mediaKind) }
            }
            if let port, mode != .sfu, mode == .mcu || mediaKind == .audio {
                if active { try? await media.connect(publisher, port, kind: mediaKind) } else { try? await media.disconnect(publisher, port, kind: mediaKind) }
            }
        }
        let property = kind == "audio" ? "audioActive" : "videoActive"
        broadcast("streamPropertyChanged", [
            "id": .string(p.name), "streamId": "webcam", "property": .string(property), "newValue": .bool(active), "reason": .string(reason),
        ], in: room)
    }

    // MARK: §10.4 layout

    static let layouts = ["grid", "speaker", "pip", "custom"]

    private func setLayout(_ params: [String: JSONValue], session: Session) async throws(RoomError) -> JSONValue {
        let layout = try string(params, "layout")
        let (room, p) = try member(session)
        guard p.role == .moderator else { throw RoomError(.unauthorized, "Only a moderator may change the layout") }
        guard Self.layouts.contains(layout) else {
            throw RoomError(.mediaLayout, "Unknown layout '\(layout)'; layouts: \(Self.layouts.joined(separator: ", "))")
        }
        var tiles: [(id: String, rect: [Double], z: Int)] = []
        if layout == "custom" {
            guard let list = params["tiles"]?.arrayValue, !list.isEmpty else {
                throw RoomError(.mediaLayout, "A custom layout needs 'tiles': [{id, x, y, w, h, z}]")
            }
            for t in list {
                guard let id = t["id"]?.stringValue else { throw RoomError(.mediaLayout, "Every tile needs an 'id'") }
                var rect: [Double] = []
                for key in ["x", "y", "w", "h"] {
                    guard let v = t[key]?.doubleValue, v >= 0, v <= 1 else {
                        throw RoomError(.mediaLayout, "Tile '\(id)': '\(key)' must be a number from 0 to 1")
                    }
                    rect.append(v)
                }
                guard rect[0] + rect[2] <= 1.0001, rect[1] + rect[3] <= 1.0001, rect[2] > 0, rect[3] > 0 else {
                    throw RoomError(.mediaLayout, "Tile '\(id)' does not fit in the canvas")
                }
                tiles.append((id, rect, Int(t["z"]?.intValue ?? 0)))
            }
        }
        room.layout = layout
        room.customTiles = tiles
        room.appliedLayout = ""
        await applyLayout(room, force: true)
        return ["layout": .string(layout), "revision": .int(Int64(room.layoutRevision))]
    }

    /// Tells the composite the tiles (who, where, in which order) and the
    /// clients that asked for `layout` the geometry, when anything changed.
    private func applyLayout(_ room: Room, force: Bool = false) async {
        guard let composite = room.composite, room.mixerMode == .mcu else { return }
        var shown = room.members.filter { $0.publishing && $0.hubPort != nil && $0.videoActive }
        if room.layout == "speaker" || room.layout == "pip", let d = room.dominant, let i = shown.firstIndex(where: { $0.name == d }) {
            shown.insert(shown.remove(at: i), at: 0)
        }
        var rects: [[Double]] = []
        var z: [Int] = []
        if room.layout == "custom" {
            let byName = Dictionary(uniqueKeysWithValues: shown.map { ($0.name, $0) })
            shown = room.customTiles.compactMap { byName[$0.id] }
            rects = room.customTiles.filter { byName[$0.id] != nil }.map(\.rect)
            z = room.customTiles.filter { byName[$0.id] != nil }.map(\.z)
        }
        let order = shown.compactMap(\.hubPort)
        let signature = "\(room.layout)|\(order)|\(rects)"
        guard force || signature != room.appliedLayout else { return }
        room.appliedLayout = signature
        try? await media.setLayout(composite: composite, layout: room.layout, order: order, rects: rects)
        room.layoutRevision += 1
        let geometry = TileGeometry.tiles(
            layout: room.layout, count: shown.count, custom: rects, width: options.canvasWidth, height: options.canvasHeight)
        var tiles: [JSONValue] = []
        for (i, p) in shown.enumerated() where i < geometry.count {
            let g = geometry[i]
            var tile: [String: JSONValue] = [
                "id": .string(p.name), "streamId": "webcam", "x": .double(g[0]), "y": .double(g[1]), "w": .double(g[2]), "h": .double(g[3]),
                "z": .int(Int64(i < z.count ? z[i] : (room.layout == "pip" && i > 0 ? 1 : 0))), "label": .string(p.name),
            ]
            if room.speaking.contains(p.name) { tile["speaking"] = true }
            tiles.append(.object(tile))
        }
        broadcast("layoutChanged", [
            "layout": .string(room.layout), "revision": .int(Int64(room.layoutRevision)),
            "canvas": ["width": .int(Int64(options.canvasWidth)), "height": .int(Int64(options.canvasHeight)), "frameRate": .int(Int64(options.canvasFPS))],
            "tiles": .array(tiles),
        ], in: room, feature: "layout")
    }

    // MARK: §10.7 recording

    private func startRecording(_ params: [String: JSONValue], session: Session) async throws(RoomError) -> JSONValue {
        let (room, p) = try member(session)
        guard p.role == .moderator else { throw RoomError(.unauthorized, "Only a moderator may record") }
        let target = params["target"]?.stringValue ?? "composite"
        guard target == "composite" || target == "participants" else {
            throw RoomError(.recordingStart, "target must be 'composite' (one file of the mixed meeting) or 'participants' (one file per publisher)")
        }
        let format = params["format"]?.stringValue ?? "webm"
        guard ["webm", "mkv"].contains(format) else { throw RoomError(.recordingStart, "format must be webm or mkv") }
        guard room.recording == nil else { throw RoomError(.recordingInProgress, "The room is already being recorded (\(room.recording?.id ?? ""))") }
        let hasAudio = params["hasAudio"]?.boolValue ?? true, hasVideo = params["hasVideo"]?.boolValue ?? true
        guard hasAudio || hasVideo else { throw RoomError(.recordingStart, "hasAudio and hasVideo cannot both be false") }
        let profile = (format == "mkv" ? "MKV" : "WEBM") + (hasAudio && hasVideo ? "" : hasAudio ? "_AUDIO_ONLY" : "_VIDEO_ONLY")
        let id = "rec-\(nextRecording)"
        nextRecording += 1
        let rawName = params["name"]?.stringValue ?? id
        let base = "\(options.recordingDirectory)/\(Self.fileSafe(room.name))-\(Self.fileSafe(rawName))-\(id)"
        guard let pipeline = room.pipeline else { throw RoomError(.recordingStart, "The room has no pipeline") }
        let created = clock.wallClockMillis

        if target == "participants" {
            // One recorder per publisher, fed by its own endpoint: what it sends, as it sends it.
            room.recording = Recording(
                id: id, name: rawName, target: target, uri: "file://\(options.recordingDirectory)/", path: base,
                startedAt: clock.monotonicNow, createdAt: created, format: format, profile: profile)
            for other in room.members where other.publishing {
                do { try await startParticipantFile(room, other) } catch {
                    await finishRecording(room, reason: "mediaError", notify: false)
                    throw error
                }
            }
            broadcast("recordingStarted", ["id": .string(id), "name": .string(rawName)], in: room, feature: "recording")
            return ["id": .string(id), "name": .string(rawName), "status": "started", "createdAt": .int(created),
                    "target": "participants", "uri": .string("file://\(options.recordingDirectory)/")]
        }

        let path = "\(base).\(format)"
        let uri = "file://\(path)"
        // The recorder takes the composite's own output (no second encode) through a port of its own.
        var recorder: String?
        var port: String?
        do {
            try await ensureComposite(room)
            guard let composite = room.composite else { throw RoomError(.mediaMixer, "The room has no mixer") }
            let r = try await media.createRecorder(pipeline: pipeline, uri: uri, profile: profile)
            recorder = r
            let hp = try await media.createHubPort(hub: composite)
            port = hp
            try await media.connect(hp, r, kind: nil)
            try await media.record(r)
        } catch {
            // Nothing half-made stays behind.
            if let port { await media.release(port) }
            if let recorder { await media.release(recorder) }
            let detail = (error as? RoomMediaError)?.message ?? (error as? RoomError)?.message ?? "\(error)"
            throw RoomError(.recordingStart, "The recorder could not start: \(detail)")
        }
        guard let recorder, let port else { throw RoomError(.recordingStart, "The recorder could not start") }
        room.recording = Recording(id: id, name: rawName, recorder: recorder, port: port, uri: uri, path: path,
                                   startedAt: clock.monotonicNow, createdAt: created)
        // An SFU room now mixes for the recorder: feed the publishers in and lay out the grid.
        for other in room.members where other.publishing { try? await wireIntoMixer(room, other, mode: room.mixerMode) }
        room.appliedLayout = ""
        await applyLayout(room)
        broadcast("recordingStarted", ["id": .string(id), "name": .string(rawName)], in: room, feature: "recording")
        return ["id": .string(id), "name": .string(rawName), "status": "started", "createdAt": .int(created), "uri": .string(uri)]
    }

    static func fileSafe(_ text: String) -> String {
        String(text.map { $0.isLetter || $0.isNumber || $0 == "-" ? $0 : "_" }.prefix(64))
    }

    /// A `participants` recording: a file for `p`'s published stream (a second
    /// publish in the same recording gets a numbered file).
    private func startParticipantFile(_ room: Room, _ p: Participant) async throws(RoomError) {
        guard var rec = room.recording, !rec.isComposite, let publisher = p.publisher, let pipeline = room.pipeline else { return }
        guard !rec.files.contains(where: { $0.user == p.name && $0.endedAt == nil }) else { return }
        let earlier = rec.files.filter { $0.user == p.name }.count
        let path = "\(rec.path)-\(Self.fileSafe(p.name))\(earlier == 0 ? "" : "-\(earlier + 1)").\(rec.format)"
        let uri = "file://\(path)"
        let kind: RoomMediaKind? = rec.profile.hasSuffix("_AUDIO_ONLY") ? .audio : rec.profile.hasSuffix("_VIDEO_ONLY") ? .video : nil
        var recorder: String?
        do {
            let r = try await media.createRecorder(pipeline: pipeline, uri: uri, profile: rec.profile)
            recorder = r
            try await media.connect(publisher, r, kind: kind)
            try await media.record(r)
        } catch {
            if let recorder { await media.release(recorder) }
            throw RoomError(.recordingStart, "The recorder for '\(p.name)' could not start: \(error.message)")
        }
        guard let recorder, room.recording?.id == rec.id else {
            if let recorder { await media.release(recorder) }
            return
        }
        rec = room.recording!
        rec.files.append(ParticipantFile(user: p.name, recorder: recorder, uri: uri, path: path, startedAt: clock.monotonicNow))
        room.recording = rec
    }

    /// Ends `user`'s open file of a `participants` recording (complete when this returns).
    @discardableResult
    private func finishParticipantFile(_ room: Room, user: String) async -> Bool {
        guard var rec = room.recording, let i = rec.files.firstIndex(where: { $0.user == user && $0.endedAt == nil }) else { return true }
        rec.files[i].endedAt = clock.monotonicNow
        room.recording = rec
        let recorder = rec.files[i].recorder
        var ok = true
        do { try await media.stopRecorder(recorder) } catch { ok = false }
        await media.release(recorder)
        return ok
    }

    private func stopRecording(_ params: [String: JSONValue], session: Session) async throws(RoomError) -> JSONValue {
        let id = try string(params, "id")
        let (room, p) = try member(session)
        guard p.role == .moderator else { throw RoomError(.unauthorized, "Only a moderator may stop a recording") }
        guard let rec = room.recording, rec.id == id else { throw RoomError(.recordingStop, "No recording '\(id)' in this room") }
        guard let result = await finishRecording(room, reason: "stoppedByUser") else {
            throw RoomError(.recordingStop, "The recorder could not stop cleanly")
        }
        return result
    }

    /// Seconds, to a tenth.
    private func seconds(_ d: Duration) -> Double {
        (d / .seconds(1) * 10).rounded() / 10
    }

    private func fileSize(_ path: String) -> Int {
        (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
    }

    /// Stops the room's recording (the files are complete when this returns) and tells the clients.
    @discardableResult
    private func finishRecording(_ room: Room, reason: String, notify: Bool = true) async -> JSONValue? {
        guard let rec = room.recording else { return nil }
        var ok = true
        if rec.isComposite {
            room.recording = nil
            if let recorder = rec.recorder {
                do { try await media.stopRecorder(recorder) } catch { ok = false }
            }
            if let port = rec.port { await media.release(port) }
            if let recorder = rec.recorder { await media.release(recorder) }
        } else {
            for file in rec.files where file.endedAt == nil {
                if !(await finishParticipantFile(room, user: file.user)) { ok = false }
            }
        }
        let final = room.recording ?? rec
        room.recording = nil
        let now = clock.monotonicNow
        if notify {
            broadcast("recordingStopped", ["id": .string(rec.id), "name": .string(rec.name), "reason": .string(reason)], in: room, feature: "recording")
        }
        if room.mixerMode == .sfu {
            for p in room.members {
                if let port = p.hubPort {
                    p.hubPort = nil
                    await media.release(port)
                }
            }
        }
        guard ok else { return nil }
        if rec.isComposite {
            return [
                "id": .string(rec.id), "name": .string(rec.name), "status": "stopped",
                "duration": .double(seconds(now - rec.startedAt)), "size": .int(Int64(fileSize(rec.path))), "uri": .string(rec.uri),
            ]
        }
        let files: [JSONValue] = final.files.map { f in
            [
                "user": .string(f.user), "uri": .string(f.uri), "size": .int(Int64(fileSize(f.path))),
                "duration": .double(seconds((f.endedAt ?? now) - f.startedAt)),
            ]
        }
        let total = final.files.reduce(0) { $0 + fileSize($1.path) }
        return [
            "id": .string(rec.id), "name": .string(rec.name), "status": "stopped", "target": "participants",
            "duration": .double(seconds(now - rec.startedAt)), "size": .int(Int64(total)), "uri": .string(rec.uri),
            "files": .array(files),
        ]
    }

    // MARK: §10.6 active speaker

    /// The composite's speakers changed: `speaking` ports, the `dominant` one,
    /// levels in dBov. The source of speaking events while the room mixes audio.
    private func speakersChanged(_ room: Room, _ data: [String: JSONValue]) async {
        guard room.mode != .sfu else { return }  // an SFU room being recorded: its publishers report themselves
        let userOfPort = Dictionary(room.members.compactMap { p in p.hubPort.map { ($0, p.name) } }, uniquingKeysWith: { a, _ in a })
        let speaking = Set((data["speaking"]?.arrayValue ?? []).compactMap { $0.stringValue.flatMap { userOfPort[$0] } })
        let levels = data["levels"]?.objectValue ?? [:]
        let dominant = data["dominant"]?.stringValue.flatMap { userOfPort[$0] }
        await announceSpeakers(room, speaking: speaking, dominant: dominant) { user in
            guard let port = room.participants[user]?.hubPort, let l = levels[port] else { return .null }
            return l
        }
    }

    /// A publisher's endpoint reported its speech (from the RFC 6464 levels it
    /// sends): in SFU mode the room's speaking events come from these.
    private func voiceChanged(_ room: Room, user: String, speaking: Bool, level: Double) async {
        room.voices[user] = (speaking, level)
        await sfuSpeakersChanged(room)
    }

    /// Speaking set and dominant speaker from the publishers' own reports. The
    /// dominant speaker changes when it stops speaking, or when another
    /// speaker is louder by the mixer's switch margin (6 dB).
    private func sfuSpeakersChanged(_ room: Room) async {
        guard room.mode == .sfu else { return }
        let voices = room.voices
        let speaking = Set(voices.filter { $0.value.speaking }.keys)
        var dominant = room.dominant
        if let loudest = speaking.max(by: { (voices[$0]?.level ?? -127, $1) < (voices[$1]?.level ?? -127, $0) }) {
            let current = dominant.flatMap { voices[$0] }
            if current?.speaking != true || voices[loudest]!.level > current!.level + 6 { dominant = loudest }
        }
        await announceSpeakers(room, speaking: speaking, dominant: dominant) { user in
            voices[user].map { .double($0.level) } ?? .null
        }
    }

    /// Sends the speaking edges and a dominant speaker change to clients that
    /// asked for `speaking`; a new dominant speaker moves the speaker layouts.
    private func announceSpeakers(_ room: Room, speaking: Set<String>, dominant: String?, level: (String) -> JSONValue) async {
        for user in speaking.subtracting(room.speaking).sorted() {
            broadcast("participantSpeaking", ["id": .string(user), "speaking": true, "level": level(user)], in: room, feature: "speaking")
        }
        for user in room.speaking.subtracting(speaking).sorted() where room.participants[user] != nil {
            broadcast("participantSpeaking", ["id": .string(user), "speaking": false, "level": level(user)], in: room, feature: "speaking")
        }
        room.speaking = speaking
        if let dominant, dominant != room.dominant {
            if let old = room.dominant { room.previousDominants.insert(old, at: 0) }
            room.previousDominants = Array(room.previousDominants.filter { $0 != dominant }.prefix(3))
            room.dominant = dominant
            broadcast("dominantSpeakerChanged", [
                "id": .string(dominant), "previous": .array(room.previousDominants.map { .string($0) }), "silence": .bool(speaking.isEmpty),
            ], in: room, feature: "speaking")
            if room.layout == "speaker" || room.layout == "pip" { await applyLayout(room) }
        }
    }

    // MARK: §10.8 mode switch

    private func setRoomMode(_ params: [String: JSONValue], session: Session) async throws(RoomError) -> JSONValue {
        let modeName = try string(params, "mode")
        let (room, p) = try member(session)
        guard p.role == .moderator else { throw RoomError(.unauthorized, "Only a moderator may change the room mode") }
        guard let mode = RoomMode(rawValue: modeName), options.modes.contains(mode) else {
            throw RoomError(.roomModeNotSupported, "Room mode '\(modeName)' is not supported")
        }
        guard room.switchID == nil else { throw RoomError(.roomModeSwitchInProgress, "A mode switch is in progress (\(room.switchID ?? ""))") }
        let previous = room.mode
        guard mode != previous else { return ["mode": .string(mode.rawValue), "previousMode": .string(previous.rawValue), "switchId": .null] }
        let id = try await switchMode(room.name, to: mode)
        return ["mode": .string(mode.rawValue), "previousMode": .string(previous.rawValue), "switchId": .string(id)]
    }

    /// Make-before-break (§10.8): wire the new mode, advertise its streams,
    /// and drop each subscriber's old streams once its new ones flow.
    @discardableResult
    func switchMode(_ roomName: String, to mode: RoomMode) async throws(RoomError) -> String {
        guard let room = rooms[roomName], room.switchID == nil, room.mode != mode else { return "" }
        let id = "sw-\(nextSwitch)"
        nextSwitch += 1
        room.switchID = id
        room.switchAdvertised = false
        room.switchFrom = room.mode
        room.switchEpoch += 1
        let previous = room.mode
        room.mode = mode
        if mode != .sfu {
            do { try await ensureComposite(room) } catch {
                room.mode = previous
                room.switchID = nil
                throw error
            }
        }
        for p in room.members where p.publishing { try? await wireIntoMixer(room, p, mode: room.mixerMode) }
        room.appliedLayout = ""
        await applyLayout(room)
        var started: [String: JSONValue] = [
            "mode": .string(mode.rawValue), "previousMode": .string(previous.rawValue), "switchId": .string(id), "phase": "started",
        ]
        if mode != .sfu { started["composite"] = room.compositeDescription }
        broadcast("roomModeChanged", .object(started), in: room, feature: "mode")
        // Advertise what the new mode offers; clients subscribe as usual.
        if let streams = room.mcuStreams {
            broadcast("participantPublished", Room.peer(mcuName, streams), in: room)
        }
        if mode != .mcu {
            for publisher in room.members where publisher.publishing {
                broadcast("participantPublished", Room.peer(publisher.name, room.streams(of: publisher)), in: room, except: publisher.name)
            }
        }
        for p in room.members { p.switchPending = true }
        room.switchAdvertised = true
        room.switchStartedAt = clock.monotonicNow
        await progressSwitch(room)
        return id
    }

    /// Completes the switch for every participant whose new streams flow
    /// (or who waited longer than the switch timeout).
    private func progressSwitch(_ room: Room) async {
        guard let id = room.switchID, room.switchAdvertised else { return }
        let timedOut = clock.monotonicNow - room.switchStartedAt >= options.switchTimeout
        for p in room.members where p.switchPending {
            let expected = room.expectedSenders(for: p)
            let ready = expected.allSatisfy { sender in
                guard let s = p.subscriptions[sender] else { return false }
                return s.epoch == room.switchEpoch && s.flowing
            }
            guard ready || timedOut else { continue }
            p.switchPending = false
            // Old streams that the new mode does not carry go away.
            for (sender, s) in p.subscriptions where !expected.contains(sender) {
                p.subscriptions[sender] = nil
                send("participantUnpublished", ["name": .string(sender)], to: p)
                await releaseEndpoint(s.endpoint)
            }
            for (sender, olds) in p.retiring {
                p.retiring[sender] = nil
                for old in olds { await releaseEndpoint(old) }
            }
        }
        guard room.members.allSatisfy({ !$0.switchPending }) else { return }
        await applyLayout(room)
        // Nothing is fed into the mixer in SFU mode (unless it records): unwire the publishers.
        if room.mixerMode == .sfu {
            for p in room.members {
                if let port = p.hubPort {
                    p.hubPort = nil
                    await media.release(port)
                }
            }
        }
        room.switchID = nil
        await sfuSpeakersChanged(room)  // back to SFU: the publishers' own reports take over
        broadcast("roomModeChanged", [
            "mode": .string(room.mode.rawValue), "previousMode": .string(room.switchFrom.rawValue), "switchId": .string(id), "phase": "completed",
        ], in: room, feature: "mode")
    }

    // MARK: Media events

    /// Follows the media events of every endpoint the rooms made; runs until the stream ends.
    public func runMediaEvents() async {
        for await event in media.events {
            await deliver(event)
        }
    }

    func deliver(_ event: RoomMediaEvent) async {
        if event.type == "SpeakersChanged" {
            guard let room = rooms.values.first(where: { $0.composite == event.objectID }) else { return }
            await speakersChanged(room, event.data)
            return
        }
        guard let owner = endpointOwners[event.objectID], let room = rooms[owner.room], let p = room.participants[owner.user] else { return }
        switch event.type {
        case "IceCandidateFound":
            guard let c = event.data["candidate"] else { return }
            send("iceCandidate", [
                "endpointName": .string(owner.name), "candidate": c["candidate"] ?? "",
                "sdpMid": c["sdpMid"] ?? "0", "sdpMLineIndex": c["sdpMLineIndex"] ?? 0,
            ], to: p)
        case "MediaFlowOutStateChanged":
            guard event.data["state"]?.stringValue == "FLOWING" else { return }
            guard var s = p.subscriptions[owner.name], s.endpoint == event.objectID else { return }
            s.flowing = true
            p.subscriptions[owner.name] = s
            if room.switchID != nil {
                // During a mode switch the old endpoints stay until every new stream of this
                // participant flows (a hybrid re-subscription carries no audio: the mix does).
                await progressSwitch(room)
            } else {
                // The replacement flows: the endpoints it replaces can go.
                for old in p.retiring.removeValue(forKey: owner.name) ?? [] { await releaseEndpoint(old) }
            }
        case "SpeakingChanged":
            guard p.publisher == event.objectID, let speaking = event.data["speaking"]?.boolValue else { return }
            await voiceChanged(room, user: p.name, speaking: speaking, level: event.data["level"]?.doubleValue ?? -127)
        case "IceComponentStateChanged":
            // A peer silent past the consent window (RFC 7675) is gone: the
            // room lets it go as if its grace period had ended.
            guard event.data["reason"]?.stringValue == "consentExpired",
                p.publisher == event.objectID || p.subscriptions.values.contains(where: { $0.endpoint == event.objectID })
            else { return }
            await evict(room: room.name, user: p.name, notifyEvicted: true)
        case "Error":
            let type = event.data["type"]?.stringValue ?? "MEDIA_ERROR"
            let description = event.data["description"]?.stringValue ?? ""
            let code = event.data["errorCode"]?.intValue ?? 0
            send("mediaError", ["error": .string("\(type): \(description)(errCode=\(code))")], to: p)
        default:
            return
        }
    }

    // MARK: Timers

    /// Runs the ping watchdog, the reconnection grace period and mode-switch
    /// timeouts; called periodically.
    public func tick() async {
        let now = clock.monotonicNow
        for s in sessions.values {
            if let c = s.connection, let interval = s.pingInterval, now - s.lastSeen > interval * 3 {
                // No ping for three intervals (§2): close the socket; the grace period starts.
                connections[c]?.sink.close()
                closeConnection(c)
            }
        }
        for s in Array(sessions.values) {
            guard let dropped = s.droppedAt, now - dropped >= options.reconnectGrace else { continue }
            sessions[s.id] = nil
            if let room = s.room, let user = s.user { await evict(room: room, user: user, notifyEvicted: true) }
        }
        for room in Array(rooms.values) where room.switchID != nil {
            await progressSwitch(room)
        }
    }

    /// Removes a participant: releases its endpoints and every subscription
    /// to it, tells the others, and closes the room when it was the last.
    func evict(room roomName: String, user: String, notifyEvicted: Bool) async {
        guard let room = rooms[roomName], let p = room.participants[user] else { return }
        room.remove(user)
        if let s = sessions[p.session] {
            if notifyEvicted { send("participantEvicted", [:], to: p) }
            s.room = nil
            s.user = nil
            if s.connection == nil { sessions[s.id] = nil }
        }
        broadcast("participantLeft", ["name": .string(user)], in: room)
        await finishParticipantFile(room, user: user)
        await dropSubscriptions(to: user, in: room)
        for s in p.subscriptions.values { await releaseEndpoint(s.endpoint) }
        for olds in p.retiring.values { for o in olds { await releaseEndpoint(o) } }
        if let e = p.publisher { await releaseEndpoint(e) }
        if let port = p.hubPort { await media.release(port) }
        room.voices[user] = nil
        room.speaking.remove(user)
        if room.members.isEmpty {
            room.closing = true
            rooms[roomName] = nil
            await finishRecording(room, reason: "lastParticipantLeft")
            if let composite = room.composite { await media.release(composite) }
            if let pipeline = room.pipeline { await media.release(pipeline) }
        } else {
            if room.switchID != nil { await progressSwitch(room) }
            await applyLayout(room)
        }
    }
}
