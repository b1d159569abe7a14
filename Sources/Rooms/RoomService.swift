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
    /// How room tokens are checked; no key of either kind = open server (every participant is a moderator).
    public var tokens = TokenPolicy()
    /// The HS256 key of `tokens` (kept for callers that set only that).
    public var jwtKey: String? {
        get { tokens.hmacKey }
        set { tokens.hmacKey = newValue }
    }
    public var maxParticipants = 100
    /// Rooms one server holds at most (`limits.maxRooms`).
    public var maxRooms = 1_000
    /// Streams (published plus subscribed) one participant may hold (`limits.maxStreamsPerParticipant`).
    public var maxStreamsPerParticipant = 64
    /// Told the config key of every limit that refused a request (for /metrics).
    public var limitRefused: @Sendable (String) -> Void = { _ in }
    /// Told every answered request: method (a known one, or `other`), outcome
    /// (`ok` or the error code) and how long it took (for /metrics).
    public var requestDone: @Sendable (_ method: String, _ outcome: String, _ duration: Duration) -> Void = { _, _, _ in }
    /// Told, at each timer tick, how many rooms and participants each mode has (for /metrics).
    public var census: @Sendable (_ byMode: [RoomMode: (rooms: Int, participants: Int)]) -> Void = { _ in }
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
///
/// This file holds what every part needs: connections and sessions, request
/// dispatch, reconnection, timers, media-event routing and eviction. Each
/// responsibility has a file of its own: joining, publishing and subscribing
/// (`+Participation`), feeding the mixer (`+Mixer`), mute (`+Mute`), the
/// composite layout (`+Layout`), recording (`+Recording`), active speakers
/// (`+Speakers`, whose state is the plain `SpeakerTracker`) and mode switches
/// (`+ModeSwitch`).
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
        /// Notifications sent while the socket was gone (within the grace):
        /// given to the socket that resumes the session, in order.
        var missed: [String] = []
        /// Set when this socket is another node's link to one of our rooms
        /// (`cascadeAttach`): the room, and that node's id.
        var link: (room: String, link: NodeLink)?
        init(id: String, now: Duration) {
            self.id = id
            self.lastSeen = now
        }
    }

    var connections: [ConnectionID: (sink: any RoomConnection, session: String)] = [:]
    /// What a resumed session missed, sent right after the `connect` answer.
    var missedAtResume: [ConnectionID: [String]] = [:]
    var sessions: [String: Session] = [:]
    var rooms: [String: Room] = [:]
    /// Endpoint id -> (room, owner, endpoint name as the owner knows it).
    var endpointOwners: [String: (room: String, user: String, name: String)] = [:]
    var nextConnection: ConnectionID = 1
    var nextSwitch = 1
    var nextRecording = 1
    /// Cascaded rooms (docs/cluster.md): set by `enableCascade` on a node of a cluster.
    var cascade: CascadeSettings?
    /// Rooms about to be hosted here for an owner on another node (`hostRelayRoom`), by room.
    var relayOwners: [String: String] = [:]

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
        if let link = s.link {
            // Another node's link: its participants leave with it.
            sessions[s.id] = nil
            Task { await self.dropLink(room: link.room, link: link.link) }
            return
        }
        s.connection = nil
        s.droppedAt = clock.monotonicNow
        if s.room == nil { sessions[s.id] = nil }
    }

    public var roomNames: [String] { rooms.keys.sorted() }
    /// Participants with a socket here (those other nodes host are theirs to count).
    public var participantCount: Int { rooms.values.reduce(0) { $0 + $1.locals.count } }
    /// What a cluster heartbeat reports: rooms, participants, and the rooms that run a mixer (MCU or hybrid).
    public var load: (rooms: [String], participants: Int, mixers: Int) {
        (roomNames, participantCount, rooms.values.filter { $0.mode != .sfu }.count)
    }

    /// Participants of `room` in join order, with what they publish (for tests and /rooms).
    public func describe(room: String) -> JSONValue? {
        guard let r = rooms[room] else { return nil }
        return [
            "mode": .string(r.mode.rawValue), "pipeline": r.pipeline.map { .string($0) } ?? .null,
            "participants": .array(r.members.map { p in
                ["name": .string(p.name), "publishing": .bool(p.publishing),
                 "streams": .array((p.publishing ? [p.primaryStream] : []).map { .string($0) } + p.extras.map { .string($0.id) }),
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
        let started = ContinuousClock.now
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
        // Labels stay bounded: a method dispatch does not know is counted as `other`.
        var method = request.method, outcomeLabel = "ok"
        if case .failure(let e) = outcome {
            outcomeLabel = String(e.code)
            if e.code == RoomError.Code.methodNotFound.rawValue { method = "other" }
        }
        options.requestDone(method, outcomeLabel, ContinuousClock.now - started)
        guard let id = request.id else { return flushMissed(connection) }  // a notification gets no answer
        let sessionID = sessions.values.first { $0.connection == connection }?.id ?? session.id
        reply(to: connection, id: id, outcome, session: sessionID)
        if request.method == "leaveRoom" || request.method == "closeSession", case .success = outcome {
            connections[connection]?.sink.close()
        }
        if request.method == "joinRoom", case .success = outcome { tellMutes(to: session) }
        flushMissed(connection)
    }

    /// A newcomer learns, right after its join answer, which publishers have a kind
    /// turned off (by themselves or a moderator), as the others learned it when it happened.
    func tellMutes(to session: Session) {
        guard let roomName = session.room, let user = session.user, let room = rooms[roomName], let me = room.participants[user] else { return }
        for p in room.members where p !== me && p.publishesAnything {
            for (kind, active) in [("audio", p.audioActive), ("video", p.videoActive)] where !active {
                let reason = p.forceMuted.contains(kind) ? "forceMute" : Self.ownMuteReason(kind)
                send("streamPropertyChanged", Self.propertyNote(p, kind: kind, active: false, reason: reason), to: me)
            }
        }
    }

    func reply(to connection: ConnectionID, id: JSONValue, _ outcome: Result<JSONValue, RoomError>, session: String) {
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

    func dispatch(
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
        case "cascadeAttach": return try await cascadeAttach(params, session: session, connection: connection)
        case "cascade":
            guard let link = session.link else { throw RoomError(.unauthorized, "cascade: this socket is not a node link") }
            await cascadeReceived(params, room: link.room, from: link.link.node)
            return [:]
        case "publishVideo": return try await publishVideo(params, session: session)
        case "unpublishVideo": return try await unpublishVideo(params, session: session)
        case "receiveVideoFrom": return try await receiveVideoFrom(params, session: session)
        case "unsubscribeFromVideo": return try await unsubscribeFromVideo(params, session: session)
        case "setSubscriptionQuality": return try await setSubscriptionQuality(params, session: session)
        case "onIceCandidate": return try await onIceCandidate(params, session: session)
        case "leaveRoom":
            let (room, p) = try member(session)
            await evict(room: room.name, user: p.name, notifyEvicted: false)
            return [:]
        case "sendMessage": return try sendMessage(params, session: session)
        case "customRequest":
            throw RoomError(.generic, "customRequest: this server has no application handler for custom requests")
        case "setRoomMode": return try await setRoomMode(params, session: session)
        case "streamPropertyChanged": return try await streamPropertyChanged(params, session: session)
        case "muteParticipant": return try await muteParticipant(params, session: session)
        case "setLayout": return try await setLayout(params, session: session)
        case "muteRoom": return try await muteRoom(params, session: session)
        case "muteSubscribedMedia": return try await muteSubscribed(params, session: session, muted: true)
        case "unmuteSubscribedMedia": return try await muteSubscribed(params, session: session, muted: false)
        case "startRecording": return try await startRecording(params, session: session)
        case "stopRecording": return try await stopRecording(params, session: session)
        case "kickParticipant": return try await kickParticipant(params, session: session)
        case "closeRoom": return try await closeRoom(session: session)
        default:
            throw RoomError(.methodNotFound, "Method not found: \(method)")
        }
    }

    // MARK: Helpers

    func string(_ params: [String: JSONValue], _ name: String) throws(RoomError) -> String {
        guard let v = params[name] else { throw .missing(name) }
        guard let s = v.stringValue else { throw RoomError(.invalidParams, "Request element '\(name)' must be a string") }
        return s
    }

    func member(_ session: Session) throws(RoomError) -> (Room, Participant) {
        guard let roomName = session.room, let user = session.user, let room = rooms[roomName], let p = room.participants[user] else {
            throw RoomError(.userNotFound, "User is not in any room: join a room first")
        }
        return (room, p)
    }

    func send(_ method: String, _ params: JSONValue, to p: Participant) {
        guard let session = sessions[p.session] else { return }
        guard let c = session.connection, let sink = connections[c]?.sink else {
            // Its socket dropped: kept for a resume (a chat line, a candidate, a new publisher),
            // the oldest given up past a bound.
            if session.droppedAt != nil {
                session.missed.append(RPCCodec.notification(method: method, params: params))
                if session.missed.count > Self.missedNotificationsKept { session.missed.removeFirst() }
            }
            return
        }
        sink.send(RPCCodec.notification(method: method, params: params))
    }

    /// A resumed session's missed notifications, after the `connect` answer.
    func flushMissed(_ connection: ConnectionID) {
        guard let missed = missedAtResume.removeValue(forKey: connection), let sink = connections[connection]?.sink else { return }
        for text in missed { sink.send(text) }
    }

    /// Notifications kept for a dropped socket (a busy room's few seconds of grace).
    static let missedNotificationsKept = 500

    func broadcast(_ method: String, _ params: JSONValue, in room: Room, except: String? = nil, feature: String? = nil) {
        for p in room.members where p.name != except {
            if let feature, !p.wants(feature) { continue }
            send(method, params, to: p)
        }
    }

    /// The node is leaving a cluster (docs/cluster.md, "Draining"): every
    /// participant with a socket here is told where to go (`roomMoved`, to
    /// clients of the `cluster` extension, with `params(room)`), and its socket
    /// closes. Rooms and media stay for the reconnect grace, so a client may
    /// keep its old media until the new room plays. Returns the sockets closed.
    public func evacuate(_ params: (String) -> JSONValue) -> Int {
        var closed = 0
        for room in rooms.values {
            // Cascaded rooms: the other nodes see their links end, and place the room again
            // (the owner's hosting nodes) or let this node's participants go (the owner).
            for link in room.links.values { link.transport.close() }
            let notice = params(room.name)
            for p in room.members where sendAway(p, notice) { closed += 1 }
        }
        return closed
    }

    /// Tells `p` its room moved (`roomMoved` with `notice`, to clients of the
    /// `cluster` extension) and closes its socket; false when it has none here.
    @discardableResult
    func sendAway(_ p: Participant, _ notice: JSONValue) -> Bool {
        guard let c = sessions[p.session]?.connection, let sink = connections[c]?.sink else { return false }
        if p.wants("cluster") { sink.send(RPCCodec.notification(method: "roomMoved", params: notice)) }
        sink.close()
        return true
    }

    func mediaError(_ e: RoomMediaError, _ code: RoomError.Code = .mediaSDP) -> RoomError {
        RoomError(code, e.message)
    }

    // MARK: §2 reconnection

    /// `connect {sessionId}` from a new socket: the participant behind that
    /// session continues on this socket (within the grace period).
    func resume(session oldSession: String, on connection: ConnectionID) -> Bool {
        guard let old = sessions[oldSession], let c = connections[connection] else { return false }
        if let current = sessions[c.session], current.id != old.id, current.room == nil { sessions[current.id] = nil }
        if let previous = old.connection, previous != connection { connections[previous] = nil }
        old.connection = connection
        old.droppedAt = nil
        old.lastSeen = clock.monotonicNow
        connections[connection] = (c.sink, old.id)
        missedAtResume[connection] = old.missed
        old.missed = []
        return true
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
            var note: [String: JSONValue] = [
                "endpointName": .string(owner.name), "candidate": c["candidate"] ?? "",
                "sdpMid": c["sdpMid"] ?? "0", "sdpMLineIndex": c["sdpMLineIndex"] ?? 0,
            ]
            // Extension `streams`: which stream the endpoint carries, so that a client
            // holding several PeerConnections per participant finds the right one.
            if p.wants("streams") {
                let stream: String? =
                    if owner.name == p.name { p.primaryStream }
                    else if let s = p.subscriptions[owner.name], s.endpoint == event.objectID { s.stream }
                    else if let i = owner.name.firstIndex(of: "_") { String(owner.name[owner.name.index(after: i)...]) }
                    else { room.participants[owner.name]?.primaryStream }
                if let stream { note["streamId"] = .string(stream) }
            }
            send("iceCandidate", .object(note), to: p)
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
                p.publisher == event.objectID || p.extras.contains(where: { $0.endpoint == event.objectID })
                    || p.subscriptions.values.contains(where: { $0.endpoint == event.objectID })
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
        var census: [RoomMode: (rooms: Int, participants: Int)] = [:]
        for mode in RoomMode.allCases { census[mode] = (0, 0) }
        for r in rooms.values { census[r.mode]!.rooms += 1; census[r.mode]!.participants += r.members.count }
        options.census(census)
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
    /// `reason` (a kick, a closed room) goes to the evicted participant in `participantEvicted`.
    func evict(room roomName: String, user: String, notifyEvicted: Bool, reason: String? = nil) async {
        guard let room = rooms[roomName], let p = room.participants[user] else { return }
        room.remove(user)
        if let s = sessions[p.session] {
            if notifyEvicted { send("participantEvicted", reason.map { ["reason": .string($0)] } ?? [:], to: p) }
            s.room = nil
            s.user = nil
            if s.connection == nil { sessions[s.id] = nil }
        }
        broadcast("participantLeft", ["name": .string(user)], in: room)
        await cascadeLeft(p, in: room)
        await finishParticipantFile(room, user: user)
        await dropSubscriptions(to: user, in: room)
        for extra in p.extras {
            await finishParticipantFile(room, user: p.key(of: extra))
            await dropSubscriptions(to: p.key(of: extra), in: room)
            await releaseEndpoint(extra.endpoint)
        }
        await releaseExtraPorts(of: p)
        p.extras = []
        for s in p.subscriptions.values { await releaseEndpoint(s.endpoint) }
        for olds in p.retiring.values { for o in olds { await releaseEndpoint(o) } }
        if let e = p.publisher { await releaseEndpoint(e) }
        if let port = p.hubPort { await media.release(port) }
        room.speakers.forget(user)
        if room.members.isEmpty {
            room.closing = true
            rooms[roomName] = nil
            await closeLinks(room)
            await finishRecording(room, reason: "lastParticipantLeft")
            if let composite = room.composite { await media.release(composite) }
            if let pipeline = room.pipeline { await media.release(pipeline) }
        } else {
            if room.switchID != nil { await progressSwitch(room) }
            await applyLayout(room)
            await detachIfEmpty(room)
        }
    }
}
