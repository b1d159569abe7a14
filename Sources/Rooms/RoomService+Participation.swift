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
            guard !existing.closing else { throw RoomError(.roomClosed, "Room '\(roomName)' is closing") }
            guard existing.participants[user] == nil else {
                throw RoomError(.existingUserInRoom, "User '\(user)' already exists in room '\(roomName)'")
            }
            guard existing.members.count < options.maxParticipants else {
                options.limitRefused("rooms.maxParticipants")
                throw RoomError(.roomFull, "Room '\(roomName)' is full: rooms.maxParticipants (\(options.maxParticipants)) reached")
            }
            room = existing
        } else {
            guard rooms.count < options.maxRooms else { throw .limit("limits.maxRooms", options.maxRooms, "Too many rooms", options: options) }
            room = Room(name: roomName, mode: mode)
            rooms[roomName] = room
        }
        let p = Participant(name: user, session: session.id, role: role, extensions: extensions)
        p.dataChannels = params["dataChannels"]?.boolValue ?? false
        p.grant = grant
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

    /// Throws when `p` holds as many streams (published and subscribed) as a participant may.
    func checkStreams(of p: Participant) throws(RoomError) {
        let held = p.subscriptions.count + (p.publishing ? 1 : 0)
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

    static let extensions: Set<String> = ["mode", "composite", "layout", "mute", "speaking", "recording", "admin", "simulcast"]

    func newEndpoint(_ room: Room, owner p: Participant, name: String) async throws(RoomError) -> String {
        guard let pipeline = room.pipeline else { throw RoomError(.mediaEndpoint, "The room has no pipeline") }
        let endpoint: String
        do { endpoint = try await media.createWebRtcEndpoint(pipeline: pipeline, dataChannels: p.dataChannels) } catch {
            throw RoomError(.mediaEndpoint, "Endpoint creation failed: \(error.message)")
        }
        endpointOwners[endpoint] = (room.name, p.name, name)
        for c in p.pendingCandidates.removeValue(forKey: name) ?? [] {
            try? await media.addIceCandidate(endpoint, candidate: c.candidate, sdpMid: c.sdpMid, sdpMLineIndex: c.index)
        }
        return endpoint
    }

    func releaseEndpoint(_ endpoint: String) async {
        endpointOwners[endpoint] = nil
        await media.release(endpoint)
    }

    // MARK: §4.2 publishVideo, §4.3 unpublishVideo

    func publishVideo(_ params: [String: JSONValue], session: Session) async throws(RoomError) -> JSONValue {
        let offer = try string(params, "sdpOffer")
        let loopback = params["doLoopback"]?.boolValue ?? false
        let (room, p) = try member(session)
        guard p.grant.canPublish else { throw RoomError(.unauthorized, "This participant's token does not allow publishing") }
        guard !p.publishing else { throw RoomError(.mediaSDP, "User '\(p.name)' is already publishing: unpublishVideo first") }
        try checkStreams(of: p)
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

    func unpublishVideo(session: Session) async throws(RoomError) -> JSONValue {
        let (room, p) = try member(session)
        guard let endpoint = p.publisher else { throw RoomError(.userNotStreaming, "User '\(p.name)' is not publishing") }
        await finishParticipantFile(room, user: p.name)
        p.publisher = nil
        await dropSubscriptions(to: p.name, in: room)
        await releaseEndpoint(endpoint)
        await voiceChanged(room, user: p.name, speaking: false, level: nil)
        if room.mode == .sfu || room.mode == .hybrid {
            broadcast("participantUnpublished", ["name": .string(p.name)], in: room, except: p.name)
        }
        await applyLayout(room)
        return [:]
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
        if p.subscriptions[user] == nil { try checkStreams(of: p) }  // a replacement does not add one
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
            guard source.publishing else {
                throw RoomError(.userNotStreaming, "User '\(user)' is not publishing media")
            }
            endpoint = try await newEndpoint(room, owner: p, name: user)
            if quality != "auto" { try? await media.setReceiveQuality(endpoint, quality: quality) }
            // Only what the sender sends now and this subscriber did not mute (hybrid: the audio is in the mix).
            do { try await connectSubscription(room, from: source, to: p, endpoint: endpoint) } catch {
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
        p.subscriptions[user] = Subscription(endpoint: endpoint, stream: stream, epoch: room.switchEpoch, quality: quality)
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
        let (_, p) = try member(session)
        let user = String(sender.prefix { $0 != "_" })
        guard var s = p.subscriptions[user] else {
            throw RoomError(.userNotFound, "User '\(p.name)' is not subscribed to '\(sender)'")
        }
        do { try await media.setReceiveQuality(s.endpoint, quality: quality) } catch {
            throw RoomError(.mediaEndpoint, "Cannot set the quality: \(error.message)")
        }
        s.quality = quality
        p.subscriptions[user] = s
        return [:]
    }

    func unsubscribeFromVideo(_ params: [String: JSONValue], session: Session) async throws(RoomError) -> JSONValue {
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

    func onIceCandidate(_ params: [String: JSONValue], session: Session) async throws(RoomError) -> JSONValue {
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

    func sendMessage(_ params: [String: JSONValue], session: Session) throws(RoomError) -> JSONValue {
        let message = try string(params, "message"), user = try string(params, "userMessage"), roomName = try string(params, "roomMessage")
        let (room, p) = try member(session)
        guard user == p.name else { throw RoomError(.userNotFound, "userMessage '\(user)' is not the caller ('\(p.name)')") }
        guard roomName == room.name else { throw RoomError(.roomNotFound, "roomMessage '\(roomName)' is not the caller's room") }
        broadcast("sendMessage", ["room": .string(room.name), "user": .string(p.name), "message": .string(message)], in: room)
        return [:]
    }
}
