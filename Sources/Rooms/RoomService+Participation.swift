import Foundation
import Elements
import JSONRPC

// Joining, publishing, subscribing and trickling: the requests of §4 of the room protocol.
extension RoomService {
    // MARK: §4.1 joinRoom

    func joinRoom(_ params: [String: JSONValue], session: Session) async throws(RoomError) -> JSONValue {
        let user = try string(params, "user"), roomName = try string(params, "room")
        guard !user.isEmpty else { throw RoomError(.generic, "Empty user name is not allowed") }
        guard !user.contains("_"), !user.hasPrefix("$") else {
            throw RoomError(.generic, "User name '\(user)' is not allowed: '_' and a leading '$' are reserved")
        }
        guard !roomName.isEmpty else { throw RoomError(.generic, "Empty room name is not allowed") }
        if let problem = Self.nameProblem(user) { throw RoomError(.generic, "User name is not allowed: \(problem)") }
        if let problem = Self.nameProblem(roomName) { throw RoomError(.generic, "Room name is not allowed: \(problem)") }
        guard session.room == nil else {
            throw RoomError(.existingUserInRoom, "This session already joined room '\(session.room ?? "")' as '\(session.user ?? "")'")
        }
        // An open server: everyone may do everything.
        var grant = RoomToken.Claims(room: roomName, user: user, role: .moderator, canPublish: true, canSubscribe: true, canRecord: true)
        if options.tokens.enabled {
            guard let token = params["token"]?.stringValue else { throw RoomError(.unauthorized, "A room token is required") }
            do throws(RoomTokenError) {
                grant = try RoomToken.verify(token, policy: options.tokens, now: clock.wallClockMillis / 1000)
            } catch {
                throw RoomError(.unauthorized, "Invalid room token: \(error)")
            }
            guard grant.allows(room: roomName), grant.user == user else {
                throw RoomError(.unauthorized, "The token is for user '\(grant.user)' in room '\(grant.room)'")
            }
        }
        let role = grant.role
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
            guard !existing.closing, !existing.detaching else { throw RoomError(.roomClosed, "Room '\(roomName)' is closing") }
            guard existing.participants[user] == nil else {
                throw RoomError(.existingUserInRoom, "User '\(user)' already exists in room '\(roomName)'")
            }
            guard existing.members.count < options.maxParticipants else {
                options.limitRefused("rooms.maxParticipants")
                throw RoomError(.roomFull, "Room '\(roomName)' is full: rooms.maxParticipants (\(options.maxParticipants)) reached")
            }
            if isFull(existing) || (params[Self.cascadeHop]?.boolValue == true && leavesToHost(existing)) {
                // Cluster: the next participant is hosted by another node (docs/cluster.md, "Cascaded rooms").
                throw RoomError(.nodeFull, "Room '\(roomName)' cannot take more participants on this node (cluster.maxParticipantsPerNode \(cascade?.maxParticipantsPerNode ?? 0), cluster.participantsPerNode \(cascade?.participantsPerNode ?? 0)): join through another node of the cluster")
            }
            room = existing
        } else {
            guard rooms.count < options.maxRooms else { throw .limit("limits.maxRooms", options.maxRooms, "Too many rooms", options: options) }
            room = Room(name: roomName, mode: mode)
            room.owner = relayOwners.removeValue(forKey: roomName)
            rooms[roomName] = room
        }
        let p = Participant(name: user, session: session.id, role: role, extensions: extensions)
        p.dataChannels = params["dataChannels"]?.boolValue ?? false
        p.grant = grant
        room.add(p)
        session.room = roomName
        session.user = user
        /// The join cannot complete: the participant goes, and the room with it if it was alone.
        func undo() async {
            room.remove(user)
            session.room = nil
            session.user = nil
            if room.members.isEmpty, rooms[roomName] === room {
                rooms[roomName] = nil
                if let pipeline = room.pipeline { await media.release(pipeline) }
            }
        }
        if room.pipeline == nil {
            do {
                let pipeline = try await media.createPipeline()
                if room.pipeline == nil { room.pipeline = pipeline } else { await media.release(pipeline) }
            } catch {
                await undo()
                throw RoomError(.roomCannotBeCreated, "Room '\(roomName)' cannot be created: \(error)")
            }
        }
        if room.owner != nil, room.links.isEmpty {
            do { try await attachToOwner(room) } catch {
                await undo()
                throw error
            }
        }
        if room.mode != .sfu, room.composite == nil { try await ensureComposite(room) }
        broadcast("participantJoined", ["id": .string(user)], in: room, except: user)
        cascadeJoined(p, in: room)
        var peers: [JSONValue] = room.members.filter { $0.name != user }.map { Room.peer($0.name, room.streams(of: $0, for: p)) }
        if let s = room.mcuStreams { peers.insert(Room.peer(mcuName, s), at: 0) }
        if options.autoMCUThreshold > 0, room.mode == .sfu, room.switchID == nil, room.members.count >= options.autoMCUThreshold {
            // Automatic policy: big rooms mix. Runs after the answer is built.
            Task { try? await self.switchMode(room.name, to: .mcu) }
        }
        return [
            "value": .array(peers),
            "room": [
                "name": .string(roomName), "mode": .string(room.mode.rawValue), "modes": .array(options.modes.map { .string($0.rawValue) }),
                "composite": room.mode == .sfu ? .null : room.compositeDescription,
                // What a participant who joins late would otherwise miss: the tiles of a
                // mixing room's picture and a recording already running.
                "layout": room.mode == .sfu || !extensions.contains("layout") ? .null : room.lastLayout ?? .null,
                "recording": room.recording.map { ["id": .string($0.id), "name": .string($0.name)] } ?? .null,
                // Who is speaking now (the events only mark changes), for clients of `speaking`.
                "speakers": extensions.contains("speaking") ? .array(room.speakers.speaking.sorted().map { .string($0) }) : .null,
                "dominantSpeaker": extensions.contains("speaking") ? room.speakers.dominant.map { .string($0) } ?? .null : .null,
            ],
            "role": .string(role.rawValue),
            "extensionsAccepted": .array(extensions.sorted().filter(Self.extensions.contains).map { .string($0) }),
        ]
    }

    /// Throws when `p` holds as many streams (published and subscribed) as a participant may.
    func checkStreams(of p: Participant) throws(RoomError) {
        let held = p.subscriptions.count + (p.publishing ? 1 : 0) + p.extras.count
        guard held < options.maxStreamsPerParticipant else {
            throw .limit("limits.maxStreamsPerParticipant", options.maxStreamsPerParticipant, "Too many streams", options: options)
        }
    }

    /// Longest user or room name, in characters.
    static let maxNameLength = 64
    /// Characters a name may not hold: markup and quotes, which a careless page
    /// would turn into script in every other participant's browser.
    static let markup: Set<Character> = ["<", ">", "&", "\"", "'", "`"]

    /// Why `name` cannot name a user or a room, or nil when it can: at most
    /// `maxNameLength` characters, no control or format characters, no markup.
    static func nameProblem(_ name: String) -> String? {
        guard name.count <= maxNameLength else { return "longer than \(maxNameLength) characters" }
        // Format characters include the bidirectional overrides that disguise a name; the
        // zero-width joiner (U+200D) is one too, but emoji sequences need it.
        if name.unicodeScalars.contains(where: {
            $0 != "\u{200D}" && [.control, .format, .lineSeparator, .paragraphSeparator].contains($0.properties.generalCategory)
        }) {
            return "it holds control characters"
        }
        if name.contains(where: { markup.contains($0) }) { return "it holds one of < > & \" ' `" }
        return nil
    }

    static let extensions: Set<String> = [
        "mode", "composite", "layout", "mute", "speaking", "recording", "admin", "simulcast", "streams",
        // Served by the node a client connects to in a cluster (docs/cluster.md): accepted everywhere.
        "cluster", "redirect",
    ]

    /// A WebRtcEndpoint of `p` called `name` (the `endpointName` of its ICE
    /// candidates); candidates that came early under `name` or `alias` are added.
    func newEndpoint(_ room: Room, owner p: Participant, name: String, alias: String? = nil) async throws(RoomError) -> String {
        guard let pipeline = room.pipeline else { throw RoomError(.mediaEndpoint, "The room has no pipeline") }
        let endpoint: String
        do { endpoint = try await media.createWebRtcEndpoint(pipeline: pipeline, dataChannels: p.dataChannels) } catch {
            throw RoomError(.mediaEndpoint, "Endpoint creation failed: \(error.message)")
        }
        endpointOwners[endpoint] = (room.name, p.name, name)
        var early = p.pendingCandidates.removeValue(forKey: name) ?? []
        if let alias, alias != name { early += p.pendingCandidates.removeValue(forKey: alias) ?? [] }
        for c in early {
            try? await media.addIceCandidate(endpoint, candidate: c.candidate, sdpMid: c.sdpMid, sdpMLineIndex: c.index)
        }
        return endpoint
    }

    func releaseEndpoint(_ endpoint: String) async {
        endpointOwners[endpoint] = nil
        await media.release(endpoint)
    }

    // MARK: §4.2 publishVideo, §4.3 unpublishVideo

    /// Stream sources a `publishVideo` may name (extension `streams`).
    static let sources: Set<String> = ["camera", "screen", "audio", "custom"]
    /// Longest stream id, in characters.
    static let maxStreamIDLength = 32

    /// `publishVideo`'s `streamId` and `source` (extension `streams`): `webcam`
    /// and `camera` when absent; a stream called `screen` is a screen by default.
    static func streamParams(_ params: [String: JSONValue]) throws(RoomError) -> (id: String, source: String) {
        var id = "webcam"
        if let v = params["streamId"] {
            guard let s = v.stringValue else { throw RoomError(.invalidParams, "Request element 'streamId' must be a string") }
            guard !s.isEmpty, s.count <= maxStreamIDLength, !s.contains("_"), !s.hasPrefix("$"), nameProblem(s) == nil else {
                throw RoomError(.invalidParams, "streamId '\(s)' is not allowed: 1-\(maxStreamIDLength) characters, no '_', no leading '$', no markup")
            }
            id = s
        }
        var source = id == "screen" ? "screen" : "camera"
        if let v = params["source"] {
            guard let s = v.stringValue, sources.contains(s) else {
                throw RoomError(.invalidParams, "'source' must be one of \(sources.sorted().joined(separator: ", "))")
            }
            source = s
        }
        return (id, source)
    }

    func publishVideo(_ params: [String: JSONValue], session: Session) async throws(RoomError) -> JSONValue {
        let offer = try string(params, "sdpOffer")
        let loopback = params["doLoopback"]?.boolValue ?? false
        let stream = try Self.streamParams(params)
        let (room, p) = try member(session)
        guard p.grant.canPublish else { throw RoomError(.unauthorized, "This participant's token does not allow publishing") }
        guard !(p.publishing && p.primaryStream == stream.id), p.extra(stream.id) == nil else {
            throw RoomError(.mediaSDP, "User '\(p.name)' is already publishing stream '\(stream.id)': unpublishVideo first")
        }
        // The first stream keeps Kurento Room's names; any other is an extra stream.
        let first = !p.publishing
        guard first || params["streamId"] != nil else {
            throw RoomError(.mediaSDP, "User '\(p.name)' is already publishing: unpublishVideo first, or name another stream with 'streamId'")
        }
        try checkStreams(of: p)
        let endpointName = first ? p.name : "\(p.name)_\(stream.id)"
        let endpoint = try await newEndpoint(room, owner: p, name: endpointName, alias: "\(p.name)_\(stream.id)")
        let answer: String
        do { answer = try await media.processOffer(endpoint, offer: offer) } catch {
            await releaseEndpoint(endpoint)
            throw mediaError(error)
        }
        guard room.participants[p.name] === p, !(p.publishing && p.primaryStream == stream.id), p.extra(stream.id) == nil else {
            await releaseEndpoint(endpoint)
            throw RoomError(.userClosed, "User '\(p.name)' left while publishing")
        }
        if loopback { try? await media.connect(endpoint, endpoint, kind: nil) }
        if first {
            p.publisher = endpoint
            p.primaryStream = stream.id
            p.primarySource = stream.source
            try await wireIntoMixer(room, p, mode: room.mixerMode)
            do { try await startParticipantFile(room, p) } catch {
                send("mediaError", ["error": .string(error.message)], to: p)
            }
            announce(p, in: room)
            await cascadePublished(p, in: room)
        } else {
            let extra = ExtraStream(id: stream.id, source: stream.source, endpoint: endpoint)
            p.extras.append(extra)
            try await wireIntoMixer(room, p, mode: room.mixerMode)
            do { try await startParticipantFile(room, p, stream: extra) } catch {
                send("mediaError", ["error": .string(error.message)], to: p)
            }
            announce(p, in: room, onlyAware: true)
            await cascadePublished(p, in: room)
        }
        await applyLayout(room)
        return ["sdpAnswer": .string(answer), "streamId": .string(stream.id)]
    }

    /// `participantPublished` for `p`, to each other participant as it sees
    /// `p`'s streams (legacy clients: the first stream only); `onlyAware` when
    /// only an extra stream changed, which legacy clients never see.
    func announce(_ p: Participant, in room: Room, onlyAware: Bool = false) {
        for viewer in room.members where viewer !== p {
            if onlyAware, !viewer.wants("streams") { continue }
            if let streams = room.streams(of: p, for: viewer) { send("participantPublished", Room.peer(p.name, streams), to: viewer) }
        }
    }

    /// `unpublishVideo {streamId}`: that stream; without `streamId`, every stream of the caller.
    func unpublishVideo(_ params: [String: JSONValue], session: Session) async throws(RoomError) -> JSONValue {
        let (room, p) = try member(session)
        guard p.publishesAnything else { throw RoomError(.userNotStreaming, "User '\(p.name)' is not publishing") }
        if let v = params["streamId"] {
            guard let id = v.stringValue else { throw RoomError(.invalidParams, "Request element 'streamId' must be a string") }
            if let extra = p.extra(id) {
                await unpublish(extra, of: p, in: room)
            } else if p.publishing, p.primaryStream == id {
                await unpublishFirst(p, in: room)
            } else {
                throw RoomError(.userNotStreaming, "User '\(p.name)' is not publishing stream '\(id)'")
            }
        } else {
            for extra in p.extras { await unpublish(extra, of: p, in: room) }
            if p.publishing { await unpublishFirst(p, in: room) }
        }
        await applyLayout(room)
        return [:]
    }

    /// Stops `p`'s first stream: its file, its subscribers, its endpoint.
    func unpublishFirst(_ p: Participant, in room: Room) async {
        guard let endpoint = p.publisher else { return }
        await finishParticipantFile(room, user: p.name)
        p.publisher = nil
        // Those subscribed are told in every mode (an MCU room's viewers may still hold
        // a subscription from before a switch); in SFU and hybrid modes everyone is.
        let subscribed = Set(room.members.filter { $0.subscriptions[p.name] != nil }.map(\.name))
        await dropSubscriptions(to: p.name, in: room)
        await releaseEndpoint(endpoint)
        await voiceChanged(room, user: p.name, speaking: false, level: nil)
        await cascadeUnpublished(p, in: room)
        if room.mode == .sfu || room.mode == .hybrid || !subscribed.isEmpty {
            for viewer in room.members where viewer !== p && (room.mode != .mcu || subscribed.contains(viewer.name)) {
                var note: [String: JSONValue] = ["name": .string(p.name)]
                if viewer.wants("streams") { note["streamId"] = .string(p.primaryStream) }
                send("participantUnpublished", .object(note), to: viewer)
            }
        }
        p.primaryStream = "webcam"
        p.primarySource = "camera"
    }

    /// Stops one of `p`'s extra streams: its file, its subscribers, its endpoint and port.
    func unpublish(_ extra: ExtraStream, of p: Participant, in room: Room) async {
        let key = p.key(of: extra)
        await cascadeUnpublished(p, extra, in: room)
        p.extras.removeAll { $0 === extra }
        await finishParticipantFile(room, user: key)
        await dropSubscriptions(to: key, in: room)
        await releaseEndpoint(extra.endpoint)
        if let port = extra.hubPort {
            extra.hubPort = nil
            await media.release(port)
        }
        if room.mode == .sfu || room.mode == .hybrid {
            broadcast("participantUnpublished", ["name": .string(p.name), "streamId": .string(extra.id)], in: room, except: p.name, feature: "streams")
        }
    }

    /// Releases every subscription to `sender` in `room`.
    func dropSubscriptions(to sender: String, in room: Room) async {
        for other in room.members {
            if let s = other.subscriptions.removeValue(forKey: sender) { await releaseEndpoint(s.endpoint) }
            for old in other.retiring.removeValue(forKey: sender) ?? [] { await releaseEndpoint(old) }
        }
    }

    // MARK: §4.4 receiveVideoFrom, §4.5 unsubscribeFromVideo

    func receiveVideoFrom(_ params: [String: JSONValue], session: Session) async throws(RoomError) -> JSONValue {
        let sender = try string(params, "sender"), offer = try string(params, "sdpOffer")
        let quality = try Self.quality(params)
        let (room, p) = try member(session)
        guard p.grant.canSubscribe else { throw RoomError(.unauthorized, "This participant's token does not allow subscribing") }
        let parts = sender.split(separator: "_", maxSplits: 1).map(String.init)
        let user = parts.first ?? "", stream = parts.count > 1 ? parts[1] : "webcam"
        // The subscription's key: `user` for a first stream (whatever stream id a legacy
        // client names) or the mixer, `user_stream` for another stream of `user`.
        let extra = room.participants[user]?.extra(stream)
        let key = extra.map { _ in "\(user)_\(stream)" } ?? user
        if p.subscriptions[key] == nil { try checkStreams(of: p) }  // a replacement does not add one
        let endpoint: String
        if user == mcuName {
            guard room.mode != .sfu || room.switchID != nil || room.composite != nil else {
                throw RoomError(.userNotFound, "Sender '\(sender)' is not in room '\(room.name)': the room is in SFU mode")
            }
            guard ["composite", "audio", "video"].contains(stream) else {
                throw RoomError(.userNotStreaming, "The mixer has no stream '\(stream)'")
            }
            endpoint = try await newEndpoint(room, owner: p, name: mcuName, alias: sender)
            do {
                let port = try await ensureHubPort(room, p)
                let kind: RoomMediaKind? = stream == "audio" ? .audio : (stream == "video" ? .video : nil)
                if room.owner != nil {
                    // A hosting node: the sound mixed here, the owner's picture.
                    if kind != .video { try? await media.connect(port, endpoint, kind: .audio) }
                    if kind != .audio {
                        wantMixVideo(room)
                        if let mix = room.ownerMix { try? await media.connect(mix, endpoint, kind: .video) }
                    }
                } else {
                    try? await media.connect(port, endpoint, kind: kind)
                }
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
            guard extra != nil || source.publishing else {
                throw RoomError(.userNotStreaming, "User '\(user)' is not publishing media")
            }
            endpoint = try await newEndpoint(room, owner: p, name: key, alias: sender)
            if quality != "auto" { try? await media.setReceiveQuality(endpoint, quality: quality) }
            // Only what the sender sends now and this subscriber did not mute (hybrid: the audio is in the mix).
            do { try await connectSubscription(room, from: source, extra, to: p, endpoint: endpoint) } catch {
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
        // The extra stream may have stopped while the offer was processed.
        if let extra, room.participants[user]?.extra(stream) !== extra {
            await releaseEndpoint(endpoint)
            throw RoomError(.userNotStreaming, "User '\(user)' stopped publishing stream '\(stream)'")
        }
        // A repeated subscription replaces the old one, which stays until the new one flows (§10.8).
        if let old = p.subscriptions[key] { p.retiring[key, default: []].append(old.endpoint) }
        p.subscriptions[key] = Subscription(endpoint: endpoint, stream: stream, epoch: room.switchEpoch, quality: quality)
        return ["sdpAnswer": .string(answer)]
    }

    /// The `quality` of receiveVideoFrom / setSubscriptionQuality (extension `simulcast`): auto when absent.
    static func quality(_ params: [String: JSONValue]) throws(RoomError) -> String {
        guard let value = params["quality"] else { return "auto" }
        guard let q = value.stringValue, ["low", "medium", "high", "auto"].contains(q) else {
            throw RoomError(.invalidParams, "'quality' must be one of low, medium, high, auto")
        }
        return q
    }

    /// Extension `simulcast`: the layer of a sender's simulcast video this
    /// subscriber wants; its bandwidth still caps what it gets.
    func setSubscriptionQuality(_ params: [String: JSONValue], session: Session) async throws(RoomError) -> JSONValue {
        let sender = try string(params, "sender")
        guard params["quality"] != nil else { throw .missing("quality") }
        let quality = try Self.quality(params)
        let (room, p) = try member(session)
        let key = Self.subscriptionKey(sender, in: room)
        guard var s = p.subscriptions[key] else {
            throw RoomError(.userNotFound, "User '\(p.name)' is not subscribed to '\(sender)'")
        }
        do { try await media.setReceiveQuality(s.endpoint, quality: quality) } catch {
            throw RoomError(.mediaEndpoint, "Cannot set the quality: \(error.message)")
        }
        s.quality = quality
        p.subscriptions[key] = s
        return [:]
    }

    func unsubscribeFromVideo(_ params: [String: JSONValue], session: Session) async throws(RoomError) -> JSONValue {
        let sender = try string(params, "sender")
        let (room, p) = try member(session)
        let key = Self.subscriptionKey(sender, in: room)
        guard let s = p.subscriptions.removeValue(forKey: key) else {
            throw RoomError(.userNotFound, "User '\(p.name)' is not subscribed to '\(sender)'")
        }
        await releaseEndpoint(s.endpoint)
        for old in p.retiring.removeValue(forKey: key) ?? [] { await releaseEndpoint(old) }
        return [:]
    }

    /// The subscription key `sender` (`user_stream`) names: `user_stream` when
    /// `user` publishes `stream` beside its first stream, else `user` (its first
    /// stream under whatever id a legacy client gives it, or the mixer).
    static func subscriptionKey(_ sender: String, in room: Room) -> String {
        let parts = sender.split(separator: "_", maxSplits: 1).map(String.init)
        let user = parts.first ?? ""
        guard parts.count > 1, room.participants[user]?.extra(parts[1]) != nil else { return user }
        return sender
    }

    // MARK: §4.6 onIceCandidate

    func onIceCandidate(_ params: [String: JSONValue], session: Session) async throws(RoomError) -> JSONValue {
        let name = try string(params, "endpointName"), candidate = try string(params, "candidate")
        guard params["sdpMLineIndex"] != nil else { throw .missing("sdpMLineIndex") }
        let mid = params["sdpMid"]?.stringValue ?? params["sdpMid"]?.intValue.map { String($0) } ?? "0"
        let index = Int(params["sdpMLineIndex"]?.intValue ?? 0)
        let (room, p) = try member(session)
        // Its own streams: `user` (the first), `user_stream` (that stream, the first one included).
        // Subscriptions: `sender` or `sender_stream` as subscriptionKey resolves it.
        let endpoint: String?
        if name == p.name {
            endpoint = p.publisher
        } else if name.hasPrefix(p.name + "_") {
            let stream = String(name.dropFirst(p.name.count + 1))
            endpoint = p.extra(stream)?.endpoint ?? (stream == p.primaryStream ? p.publisher : nil)
        } else {
            endpoint = p.subscriptions[name]?.endpoint ?? p.subscriptions[Self.subscriptionKey(name, in: room)]?.endpoint
        }
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

    func sendMessage(_ params: [String: JSONValue], session: Session) throws(RoomError) -> JSONValue {
        let message = try string(params, "message"), user = try string(params, "userMessage"), roomName = try string(params, "roomMessage")
        let (room, p) = try member(session)
        guard user == p.name else { throw RoomError(.userNotFound, "userMessage '\(user)' is not the caller ('\(p.name)')") }
        guard roomName == room.name else { throw RoomError(.roomNotFound, "roomMessage '\(roomName)' is not the caller's room") }
        broadcast("sendMessage", ["room": .string(room.name), "user": .string(p.name), "message": .string(message)], in: room)
        cascadeSend(["op": "message", "user": .string(p.name), "message": .string(message)], in: room, except: nil)
        return [:]
    }
}
