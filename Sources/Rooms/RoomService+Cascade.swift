import Foundation
import Elements
public import JSONRPC

/// One message channel between two nodes of a cascaded room.
public protocol CascadeTransport: Sendable {
    /// One cascade message (an object with `op`) to the other node.
    func send(_ message: JSONValue)
    func close()
}

/// A hosting node's link to a room's owner, attached (what `CascadeSettings.connect` gives back).
public struct CascadeAttachment: Sendable {
    public var transport: any CascadeTransport
    /// The owner's answer to `cascadeAttach`: `{mode, participants: [{name, audioActive, videoActive}]}`.
    public var roster: JSONValue
    /// Starts handing the owner's messages to the room service (they are held
    /// until the room has taken the roster and the link).
    public var start: @Sendable () -> Void

    public init(transport: any CascadeTransport, roster: JSONValue, start: @escaping @Sendable () -> Void) {
        self.transport = transport
        self.roster = roster
        self.start = start
    }
}

/// How this node takes part in cascaded rooms (docs/cluster.md).
public struct CascadeSettings: Sendable {
    /// This node's id.
    public var node: String
    /// What another node proves itself with in `cascadeAttach` (the cluster's shared secret).
    public var secret: String
    /// Participants of one room this node hosts itself before the room's
    /// further participants go to other nodes (`cluster.maxParticipantsPerNode`); 0 = no limit.
    public var maxParticipantsPerNode: Int
    /// Opens the link of `room` to its owner node `owner` and attaches (`cascadeAttach`).
    public var connect: @Sendable (_ room: String, _ owner: String) async throws -> CascadeAttachment
    /// The node that holds `room`, placing it if none does (the cluster's
    /// placement rule): a hosting node whose owner died asks it again.
    public var place: @Sendable (_ room: String) async throws -> String
    /// How long a hosting node whose owner died keeps trying to re-attach.
    public var reattachFor: Duration = .seconds(30)
    /// Participants past which this node, holding a room, lets another node
    /// that offers to host a join of it do so (`cluster.participantsPerNode`); 0 = never.
    public var participantsPerNode = 0

    public init(node: String, secret: String, maxParticipantsPerNode: Int,
                connect: @escaping @Sendable (_ room: String, _ owner: String) async throws -> CascadeAttachment,
                place: @escaping @Sendable (_ room: String) async throws -> String = { _ in throw RoomError(.generic, "no placement") }) {
        self.node = node
        self.secret = secret
        self.maxParticipantsPerNode = maxParticipantsPerNode
        self.connect = connect
        self.place = place
    }
}

/// A link that arrived as a socket of this node's room server: cascade
/// messages go out as `cascade` notifications.
struct SocketCascadeTransport: CascadeTransport {
    let sink: any RoomConnection
    func send(_ message: JSONValue) { sink.send(RPCCodec.notification(method: "cascade", params: message)) }
    func close() { sink.close() }
}

// Cascaded rooms (docs/cluster.md, "Cascaded rooms"): one room over several
// nodes. The owner holds the room; a hosting node holds the participants
// whose sockets are on it, and one link to the owner. Over a link each side
// tells the other who joins, publishes, mutes and leaves (messages with an
// `op`), and each published stream crosses once, from an RtpEndpoint
// connected to its publisher to an RtpEndpoint that stands in for that
// publisher on the other side (SDES-SRTP; the sending side offers). A
// participant that came over a link (`origin`) is told to every other link,
// never back over its own: streams of one hosting node reach another through
// the owner. While the room mixes, the owner makes the mix once and sends each
// hosting node its own (everyone but that node's participants), which the
// hosting node completes with its participants' sound. Moderator actions on a
// participant of another node (mute, kick) go toward that participant's node.
extension RoomService {
    public func enableCascade(_ settings: CascadeSettings) { cascade = settings }

    /// The `joinRoom` param that marks a join another node sent on (docs/cluster.md): the node
    /// that gets it offers to host it, and it is never sent on again.
    public static let cascadeHop = "cascadeHop"

    /// The next join of `room` here hosts it for `owner`, whose node is full
    /// (the owner refused the join with `nodeFull`).
    public func hostRelayRoom(_ room: String, owner: String) {
        if rooms[room] == nil { relayOwners[room] = owner }
    }

    /// Whether joins of `room` stay here: this node hosts part of it and has room for more.
    public func hostsRelayRoom(_ room: String) -> Bool {
        guard let r = rooms[room], r.owner != nil, !r.closing else { return false }
        return !isFull(r)
    }

    /// Whether this node holds or hosts `room` with as many participants as one node may.
    public func isFullHere(_ room: String) -> Bool {
        guard let r = rooms[room], !r.closing else { return false }
        return isFull(r)
    }

    /// Whether `room` holds as many participants with sockets here as one node may host.
    func isFull(_ room: Room) -> Bool {
        guard let limit = cascade?.maxParticipantsPerNode, limit > 0 else { return false }
        return room.locals.count >= limit
    }

    /// Whether a join of `room` that another node offers to host (`cascadeHop`)
    /// goes there: the room's per-node limit, or this node's capacity, is reached.
    func leavesToHost(_ room: Room) -> Bool {
        guard let cascade, room.owner == nil else { return false }
        return isFull(room) || (cascade.participantsPerNode > 0 && participantCount >= cascade.participantsPerNode)
    }

    // MARK: The owner's side

    /// `cascadeAttach {room, node, secret}`: another node hosts participants
    /// of `room` and links to it. Answers the room's mode and participants
    /// (but that node's own); their streams follow as `published` messages.
    func cascadeAttach(_ params: [String: JSONValue], session: Session, connection: ConnectionID) async throws(RoomError) -> JSONValue {
        guard let cascade else { throw RoomError(.unauthorized, "cascadeAttach: this node is not in a cluster") }
        guard params["secret"]?.stringValue == cascade.secret else { throw RoomError(.unauthorized, "cascadeAttach: not a node of this cluster") }
        let roomName = try string(params, "room"), node = try string(params, "node")
        guard session.room == nil, session.link == nil else { throw RoomError(.existingUserInRoom, "cascadeAttach: this socket is already in use") }
        guard let room = rooms[roomName], !room.closing, room.owner == nil else {
            throw RoomError(.roomNotFound, "Room '\(roomName)' is not held by this node")
        }
        guard let sink = connections[connection]?.sink else { throw RoomError(.userClosed, "cascadeAttach: the socket closed") }
        if let stale = room.links[node] { await dropLink(room: roomName, link: stale) }
        guard rooms[roomName] === room, !room.closing else { throw RoomError(.roomClosed, "Room '\(roomName)' is closing") }
        let link = NodeLink(node: node, transport: SocketCascadeTransport(sink: sink))
        room.links[node] = link
        session.link = (roomName, link)
        let roster: [JSONValue] = room.members.filter { $0.origin != node }.map { p in
            ["name": .string(p.name), "audioActive": .bool(p.audioActive), "videoActive": .bool(p.videoActive)]
        }
        for p in room.members where p.origin != node { await offerStreams(of: p, in: room, over: link) }
        await ensureNodeMix(room, link)
        return ["mode": .string(room.mode.rawValue), "participants": .array(roster), "layout": .object(layoutMessage(room))]
    }

    // MARK: The hosting node's side

    /// Links a room hosted here to its owner: takes the owner's mode and
    /// participants, and tells it ours. Throws when the owner cannot be reached.
    func attachToOwner(_ room: Room) async throws(RoomError) {
        guard let cascade, let owner = room.owner, room.links.isEmpty else { return }
        let attachment: CascadeAttachment
        do { attachment = try await cascade.connect(room.name, owner) } catch {
            throw RoomError(.roomCannotBeCreated, "Room '\(room.name)' is held by node '\(owner)', which this node cannot link to: \(error)")
        }
        guard rooms[room.name] === room, !room.closing, room.links.isEmpty else {
            attachment.transport.close()
            return
        }
        let link = NodeLink(node: owner, transport: attachment.transport)
        room.links[owner] = link
        if let name = attachment.roster["mode"]?.stringValue, let mode = RoomMode(rawValue: name), mode != room.mode, room.switchID == nil {
            // A room that re-attaches after its owner died switches its participants; a new one takes the mode.
            if room.locals.contains(where: { !$0.subscriptions.isEmpty }) { _ = try? await switchMode(room.name, to: mode) } else { room.mode = mode }
        }
        for entry in attachment.roster["participants"]?.arrayValue ?? [] {
            addRemote(entry, in: room, over: link)
        }
        // The owner's participants come first, in its order, as in the owner's grid.
        room.putFirst(attachment.roster["participants"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? [])
        if let layout = attachment.roster["layout"]?.objectValue { takeLayout(layout, in: room) }
        for p in room.locals { link.transport.send(.object(joinedMessage(p))) }
        for p in room.locals { await offerStreams(of: p, in: room, over: link) }
        attachment.start()
    }

    // MARK: Both sides

    /// A participant another node announced (`joined`, or the roster): joins
    /// here without a session. A name taken here stays with its holder.
    func addRemote(_ entry: JSONValue, in room: Room, over link: NodeLink) {
        guard let name = entry["name"]?.stringValue, !name.isEmpty, room.participants[name] == nil, Self.nameProblem(name) == nil else { return }
        let p = Participant(name: name, session: "", role: .publisher, extensions: [])
        p.origin = link.node
        p.audioActive = entry["audioActive"]?.boolValue ?? true
        p.videoActive = entry["videoActive"]?.boolValue ?? true
        room.add(p)
        broadcast("participantJoined", ["id": .string(name)], in: room, except: name)
        cascadeJoined(p, in: room)
    }

    /// A message of the link from `node` to `room`.
    public func cascadeReceived(_ params: [String: JSONValue], room roomName: String, from node: String) async {
        guard let room = rooms[roomName], let link = room.links[node], let op = params["op"]?.stringValue else { return }
        let name = params["name"]?.stringValue ?? ""
        // The participant this message is about, when it came over this link.
        let remote = room.participants[name].flatMap { $0.origin == node ? $0 : nil }
        switch op {
        case "joined":
            addRemote(.object(params), in: room, over: link)
        case "left":
            if remote != nil { await evict(room: roomName, user: name, notifyEvicted: false) }
        case "published":
            guard let p = remote, let offer = params["offer"]?.stringValue else { return }
            if params["first"]?.boolValue ?? true {
                await takeStream(of: p, offer: offer, in: room, over: link,
                                 stream: params["stream"]?.stringValue ?? "webcam", source: params["source"]?.stringValue ?? "camera")
            } else if let id = params["stream"]?.stringValue, p.extra(id) == nil {
                await takeExtra(of: p, id: id, source: params["source"]?.stringValue ?? "camera", offer: offer, in: room, over: link)
            }
        case "answer":
            guard let endpoint = name == mcuName ? link.mixOut : link.outgoing[name], let answer = params["answer"]?.stringValue else { return }
            do { try await media.processAnswer(endpoint, answer: answer) } catch {
                await dropOutgoing(name, of: link)
            }
        case "unpublished":
            guard let p = remote else { return }
            if let id = params["stream"]?.stringValue, let extra = p.extra(id) {
                await unpublish(extra, of: p, in: room)
            } else if params["stream"] == nil || params["stream"]?.stringValue == p.primaryStream {
                await unpublishFirst(p, in: room)
            }
            await applyLayout(room)
        case "mute":
            guard let p = remote, let kind = params["kind"]?.stringValue, kind == "audio" || kind == "video",
                let active = params["active"]?.boolValue
            else { return }
            let reason = params["reason"]?.stringValue ?? Self.ownMuteReason(kind)
            if reason == "forceMute" { if active { p.forceMuted.remove(kind) } else { p.forceMuted.insert(kind) } }
            await setActive(room, p, kind: kind, active: active, reason: reason)
        case "mode":
            // The owner switched: this node's participants follow.
            guard room.owner == node, let mode = params["mode"]?.stringValue.flatMap(RoomMode.init(rawValue:)) else { return }
            _ = try? await switchMode(roomName, to: mode)
        case "setMode":
            // A moderator on a hosting node asked for a switch; the owner makes it.
            guard room.owner == nil, let mode = params["mode"]?.stringValue else { return }
            _ = try? await setMode(of: room, to: mode)
        case "forceMute":
            // A moderator of another node muted a participant: passed on toward its node.
            guard let p = room.participants[name], let kind = params["kind"]?.stringValue, kind == "audio" || kind == "video",
                let muted = params["muted"]?.boolValue, p.publishesAnything
            else { return }
            await setForceMuted(room, p, kind: kind, muted: muted)
        case "kick":
            _ = try? await remove(name, from: room)
        case "close":
            guard !room.closing else { return }
            _ = await close(room)
        case "mix":
            guard room.owner == node, let offer = params["offer"]?.stringValue else { return }
            await takeOwnerMix(offer, in: room, over: link)
        case "mixVideo":
            // A participant of that node watches the composite: its mix carries the picture too.
            guard room.owner == nil else { return }
            link.mixVideo = true
            if let port = link.mixPort, let out = link.mixOut { try? await media.connect(port, out, kind: .video) }
        case "mixEnded":
            guard room.owner == node else { return }
            await dropOwnerMix(room)
        case "drawn":
            // The owner's picture changed: its tiles, as this node's participants see them.
            guard room.owner == node, let description = params["layout"] else { return }
            room.lastLayout = description
            broadcast("layoutChanged", description, in: room, feature: "layout")
        case "speakers":
            guard room.owner == node else { return }
            let levels = params["levels"]?.objectValue ?? [:]
            let speaking = Set((params["speaking"]?.arrayValue ?? []).compactMap(\.stringValue).filter { room.participants[$0] != nil })
            let dominant = params["dominant"]?.stringValue.flatMap { room.participants[$0] != nil ? $0 : nil }
            await announceSpeakers(room, speaking: speaking, dominant: dominant) { levels[$0] ?? .null }
        case "layout":
            // The owner's moderator chose a layout.
            guard room.owner == node else { return }
            takeLayout(params, in: room)
        case "setLayout":
            guard room.owner == nil, let layout = params["layout"]?.stringValue, let tiles = try? Self.layoutTiles(layout, params) else { return }
            await chooseLayout(room, layout, tiles)
        case "message":
            guard let user = params["user"]?.stringValue, let message = params["message"]?.stringValue,
                room.participants[user]?.origin == node
            else { return }
            broadcast("sendMessage", ["room": .string(room.name), "user": .string(user), "message": .string(message)], in: room)
            cascadeSend(["op": "message", "user": .string(user), "message": .string(message)], in: room, except: node)
        default:
            return
        }
    }

    /// Sends every stream `p` publishes over `link` (those not sent yet).
    func offerStreams(of p: Participant, in room: Room, over link: NodeLink) async {
        if p.publishing { await offerStream(of: p, in: room, over: link) }
        for extra in p.extras { await offerStream(of: p, extra, in: room, over: link) }
    }

    /// Sends one stream of `p` (its first, or `extra`) over `link`: an
    /// RtpEndpoint connected to its endpoint offers it; the other side answers
    /// (`answer`, named by the stream's key: the user, or `user_stream`).
    func offerStream(of p: Participant, _ extra: ExtraStream? = nil, in room: Room, over link: NodeLink) async {
        let key = extra.map { p.key(of: $0) } ?? p.name
        guard link.outgoing[key] == nil, !link.offering.contains(key), let source = extra?.endpoint ?? p.publisher else { return }
        // In MCU mode a hosting node's participants see and hear the owner's mix only.
        guard room.owner != nil || room.mode != .mcu else { return }
        link.offering.insert(key)
        defer { link.offering.remove(key) }
        guard let (endpoint, offer) = await offeringEndpoint(from: source, kind: nil, in: room) else { return }
        let current = extra.map { e in p.extras.contains { $0 === e } } ?? (p.publisher == source)
        guard room.links[link.node] === link, room.participants[p.name] === p, current else {
            await media.release(endpoint)
            return
        }
        link.outgoing[key] = endpoint
        link.transport.send([
            "op": "published", "name": .string(p.name), "offer": .string(offer), "first": .bool(extra == nil),
            "stream": .string(extra?.id ?? p.primaryStream), "source": .string(extra?.source ?? p.primarySource),
            "audioActive": .bool(p.audioActive), "videoActive": .bool(p.videoActive),
        ])
    }

    /// An RtpEndpoint here fed by `source` (`kind`, or every kind), and its
    /// offer to the other node; nil (nothing left behind) when it failed.
    func offeringEndpoint(from source: String, kind: RoomMediaKind?, in room: Room) async -> (endpoint: String, offer: String)? {
        guard let pipeline = room.pipeline, let endpoint = try? await media.createLinkEndpoint(pipeline: pipeline) else { return nil }
        do {
            try await media.connect(source, endpoint, kind: kind)
            return (endpoint, try await media.generateOffer(endpoint))
        } catch {
            await media.release(endpoint)
            return nil
        }
    }

    /// An RtpEndpoint here that answers another node's `offer` (a stream, or a
    /// mix), and its answer; nil (nothing left behind) when it failed.
    func answeringEndpoint(_ offer: String, in room: Room) async -> (endpoint: String, answer: String)? {
        guard let pipeline = room.pipeline, let endpoint = try? await media.createLinkEndpoint(pipeline: pipeline) else { return nil }
        do { return (endpoint, try await media.answerLink(endpoint, offer: offer)) } catch {
            await media.release(endpoint)
            return nil
        }
    }

    /// `published` of a stream beside `p`'s first one: an RtpEndpoint stands in
    /// for that stream's endpoint, as a local extra stream's would.
    func takeExtra(of p: Participant, id: String, source: String, offer: String, in room: Room, over link: NodeLink) async {
        guard let (endpoint, answer) = await answeringEndpoint(offer, in: room) else { return }
        guard room.participants[p.name] === p, p.extra(id) == nil, room.links[link.node] === link else {
            await media.release(endpoint)
            return
        }
        let extra = ExtraStream(id: id, source: source, endpoint: endpoint)
        endpointOwners[endpoint] = (room.name, p.name, p.key(of: extra))
        p.extras.append(extra)
        link.transport.send(["op": "answer", "name": .string(p.key(of: extra)), "answer": .string(answer)])
        try? await wireIntoMixer(room, p, mode: room.mixerMode)
        guard p.extras.contains(where: { $0 === extra }) else { return }
        announce(p, in: room, onlyAware: true)
        await cascadePublished(p, in: room)
        await applyLayout(room)
    }

    /// `published` over `link`: an RtpEndpoint answers the offer and stands
    /// in for `p`'s publisher here, as a local publisher's endpoint would.
    func takeStream(of p: Participant, offer: String, in room: Room, over link: NodeLink, stream: String, source: String) async {
        guard p.publisher == nil, let (endpoint, answer) = await answeringEndpoint(offer, in: room) else { return }
        guard room.participants[p.name] === p, p.publisher == nil, room.links[link.node] === link else {
            await media.release(endpoint)
            return
        }
        endpointOwners[endpoint] = (room.name, p.name, p.name)
        p.publisher = endpoint
        p.primaryStream = stream
        p.primarySource = source
        link.transport.send(["op": "answer", "name": .string(p.name), "answer": .string(answer)])
        try? await wireIntoMixer(room, p, mode: room.mixerMode)
        guard room.participants[p.name] === p, p.publisher == endpoint else { return }
        announce(p, in: room)
        await cascadePublished(p, in: room)
        await applyLayout(room)
    }

    // MARK: Mixing on the owner

    /// What a mode change means for the links (the owner's side). While the
    /// room mixes, each hosting node gets a mix of its own (`mix`): everyone
    /// but that node's participants, with the composite's picture. Outside MCU
    /// mode every first stream crosses (hosting nodes' participants subscribe
    /// to them); once an MCU switch is complete they stop crossing.
    func cascadeModeChanged(_ room: Room, completed: Bool) async {
        guard room.owner == nil, !room.links.isEmpty else { return }
        if !completed { cascadeSend(["op": "mode", "mode": .string(room.mode.rawValue)], in: room, except: nil) }
        for link in Array(room.links.values) {
            if room.mode != .sfu { await ensureNodeMix(room, link) } else if completed { await dropNodeMix(link) }
            if room.mode != .mcu {
                for p in room.members where p.origin != link.node { await offerStreams(of: p, in: room, over: link) }
            } else if completed {
                for key in Array(link.outgoing.keys) {
                    // A key is `user` or `user_stream` (user names hold no '_').
                    let parts = key.split(separator: "_", maxSplits: 1).map(String.init)
                    guard room.participants[parts[0]]?.origin != link.node else { continue }
                    await dropOutgoing(key, of: link)
                    var note: [String: JSONValue] = ["op": "unpublished", "name": .string(parts[0])]
                    if parts.count > 1 { note["stream"] = .string(parts[1]) }
                    link.transport.send(.object(note))
                }
            }
        }
    }

    /// The mix for `link`'s node: a HubPort of the composite that leaves that
    /// node's participants out, sent to it through an RtpEndpoint (`mix` offer).
    func ensureNodeMix(_ room: Room, _ link: NodeLink) async {
        guard room.owner == nil, room.mode != .sfu, link.mixOut == nil, !link.offeringMix else { return }
        link.offeringMix = true
        defer { link.offeringMix = false }
        try? await ensureComposite(room)
        guard let composite = room.composite, let port = try? await media.createHubPort(hub: composite) else { return }
        guard let (out, offer) = await offeringEndpoint(from: port, kind: link.mixVideo ? nil : .audio, in: room) else {
            await media.release(port)
            return
        }
        guard room.links[link.node] === link, room.mode != .sfu, room.composite == composite else {
            await media.release(out)
            await media.release(port)
            return
        }
        link.mixPort = port
        link.mixOut = out
        await applyNodeMixExclusions(room, link)
        link.transport.send(["op": "mix", "offer": .string(offer)])
    }

    /// A node's mix leaves out its own participants (all their streams).
    func applyNodeMixExclusions(_ room: Room, _ link: NodeLink) async {
        guard let composite = room.composite, let port = link.mixPort else { return }
        let exclude = room.members.filter { $0.origin == link.node }.flatMap(\.inputPorts)
        try? await media.setMixExclusions(composite: composite, port: port, exclude: exclude)
    }

    func dropNodeMix(_ link: NodeLink) async {
        guard link.mixOut != nil || link.mixPort != nil else { return }
        await releaseMix(of: link)
        link.transport.send(["op": "mixEnded"])
    }

    /// Releases the mix made for `link`'s node (its port and its RtpEndpoint).
    func releaseMix(of link: NodeLink) async {
        for object in [link.mixOut, link.mixPort].compactMap({ $0 }) { await media.release(object) }
        link.mixOut = nil
        link.mixPort = nil
    }

    // MARK: Mixing on a hosting node

    /// `mix` from the owner: an RtpEndpoint stands in for the owner's mix. Its
    /// sound goes into this node's composite (which adds the participants here,
    /// each listener's own voice left out); its picture goes to every `$mcu`
    /// subscription as it is.
    func takeOwnerMix(_ offer: String, in room: Room, over link: NodeLink) async {
        await dropOwnerMix(room)
        guard let (endpoint, answer) = await answeringEndpoint(offer, in: room) else { return }
        guard room.links[link.node] === link, room.ownerMix == nil else {
            await media.release(endpoint)
            return
        }
        room.ownerMix = endpoint
        link.transport.send(["op": "answer", "name": .string(mcuName), "answer": .string(answer)])
        try? await ensureComposite(room)
        if let composite = room.composite, let port = try? await media.createHubPort(hub: composite) {
            if room.ownerMix == endpoint, room.ownerMixPort == nil {
                room.ownerMixPort = port
                try? await media.connect(endpoint, port, kind: .audio)
            } else {
                await media.release(port)
            }
        }
        for p in room.locals {
            guard let s = p.subscriptions[mcuName], s.stream != "audio" else { continue }
            // The owner's picture replaces this node's (a room that was its own owner meanwhile).
            if let port = p.hubPort { try? await media.disconnect(port, s.endpoint, kind: .video) }
            try? await media.connect(endpoint, s.endpoint, kind: .video)
            wantMixVideo(room)
        }
    }

    /// A participant here subscribed to the composite's picture: the owner's mix
    /// for this node must carry it (said once per link; the owner keeps it).
    func wantMixVideo(_ room: Room) {
        guard let owner = room.owner, let link = room.links[owner], !link.mixVideo else { return }
        link.mixVideo = true
        link.transport.send(["op": "mixVideo"])
    }

    func dropOwnerMix(_ room: Room) async {
        for object in [room.ownerMix, room.ownerMixPort].compactMap({ $0 }) { await media.release(object) }
        room.ownerMix = nil
        room.ownerMixPort = nil
    }

    func dropOutgoing(_ name: String, of link: NodeLink) async {
        if let endpoint = link.outgoing.removeValue(forKey: name) { await media.release(endpoint) }
    }

    /// Sends `message` over every link of `room` but the one to `except`.
    func cascadeSend(_ message: JSONValue, in room: Room, except: String?) {
        for link in room.links.values where link.node != except { link.transport.send(message) }
    }

    // MARK: What the rest of the room layer tells the links

    func cascadeJoined(_ p: Participant, in room: Room) {
        cascadeSend(.object(joinedMessage(p)), in: room, except: p.origin)
    }

    /// `joined`, with what the participant has turned off (a re-attaching node's may be muted).
    func joinedMessage(_ p: Participant) -> [String: JSONValue] {
        ["op": "joined", "name": .string(p.name), "audioActive": .bool(p.audioActive), "videoActive": .bool(p.videoActive)]
    }

    func cascadeLeft(_ p: Participant, in room: Room) async {
        for link in Array(room.links.values) {
            await dropOutgoing(p.name, of: link)
            for extra in p.extras { await dropOutgoing(p.key(of: extra), of: link) }
        }
        cascadeSend(["op": "left", "name": .string(p.name)], in: room, except: p.origin)
    }

    func cascadePublished(_ p: Participant, in room: Room) async {
        for link in Array(room.links.values) where link.node != p.origin { await offerStreams(of: p, in: room, over: link) }
    }

    /// `p` stopped its first stream, or `extra`.
    func cascadeUnpublished(_ p: Participant, _ extra: ExtraStream? = nil, in room: Room) async {
        for link in Array(room.links.values) { await dropOutgoing(extra.map { p.key(of: $0) } ?? p.name, of: link) }
        cascadeSend(["op": "unpublished", "name": .string(p.name), "stream": .string(extra?.id ?? p.primaryStream)], in: room, except: p.origin)
    }

    func cascadeMuted(_ p: Participant, kind: String, active: Bool, reason: String, in room: Room) {
        cascadeSend(["op": "mute", "name": .string(p.name), "kind": .string(kind), "active": .bool(active), "reason": .string(reason)],
                    in: room, except: p.origin)
    }

    /// The layout as a `layout` message: its name, whether a moderator chose it, and custom tiles.
    func layoutMessage(_ room: Room) -> [String: JSONValue] {
        [
            "op": "layout", "layout": .string(room.layout), "chosen": .bool(room.layoutChosen),
            "tiles": .array(room.customTiles.map { t in
                ["id": .string(t.id), "x": .double(t.rect[0]), "y": .double(t.rect[1]), "w": .double(t.rect[2]), "h": .double(t.rect[3]), "z": .int(Int64(t.z))]
            }),
        ]
    }

    /// The owner's layout (a `layout` message) as this hosting node's state: it
    /// draws nothing itself (`drawn` carries the owner's tiles), but keeps what to
    /// tell a joiner and to draw should it come to hold the room (`becomeOwner`).
    func takeLayout(_ message: [String: JSONValue], in room: Room) {
        guard let name = message["layout"]?.stringValue, let tiles = try? Self.layoutTiles(name, message) else { return }
        room.layout = name
        room.layoutChosen = message["chosen"]?.boolValue ?? false
        room.customTiles = tiles
    }

    /// The owner's moderator chose a layout: its hosting nodes keep the same.
    func cascadeLayout(_ room: Room) {
        guard room.owner == nil else { return }
        cascadeSend(.object(layoutMessage(room)), in: room, except: nil)
    }


    // MARK: Ends

    /// A link ended (its socket closed, or its room went). On the owner, the
    /// participants that came over it leave. On a hosting node whose owner is
    /// gone, the participants of other nodes leave, and the room is placed
    /// again and re-attached (`reattach`); without cascading, or with nobody
    /// left here, the room ends here (`letGo`).
    func dropLink(room roomName: String, link: NodeLink) async {
        guard let room = rooms[roomName], room.links[link.node] === link else { return }
        await release(link, of: room)
        if room.owner == link.node {
            await dropOwnerMix(room)
            if cascade != nil, !room.locals.isEmpty {
                // The participants here stay: the room is placed again and this node re-attaches.
                for p in room.members where p.origin != nil { await evict(room: roomName, user: p.name, notifyEvicted: false) }
                guard rooms[roomName] === room, !room.locals.isEmpty else { return }
                room.owner = nil
                room.orphaned = true
                Task { await self.reattach(roomName, lost: link.node) }
                return
            }
            await letGo(room, lost: link.node)
        } else {
            for p in room.members where p.origin == link.node { await evict(room: roomName, user: p.name, notifyEvicted: false) }
        }
    }

    /// A hosting node's room whose owner died: places the room again (once the
    /// dead node's lease has run out) and re-attaches to the node that takes it,
    /// or holds it itself. The participants here keep their sessions; those of
    /// other nodes come back as their nodes re-attach or their clients rejoin.
    /// Past `reattachFor`, the participants are told (`roomMoved`) and let go.
    func reattach(_ roomName: String, lost: String) async {
        guard let cascade else { return }
        let deadline = clock.monotonicNow + cascade.reattachFor
        while clock.monotonicNow < deadline {
            guard let room = rooms[roomName], room.orphaned, !room.closing else { return }
            if let holder = try? await cascade.place(roomName), rooms[roomName] === room, room.orphaned {
                if holder == cascade.node {
                    await becomeOwner(room)
                    return
                }
                room.owner = holder
                do {
                    try await attachToOwner(room)
                    room.orphaned = false
                    return
                } catch {
                    room.owner = nil
                }
            }
            try? await Task.sleep(for: .seconds(1))
        }
        guard let room = rooms[roomName], room.orphaned else { return }
        room.orphaned = false
        await letGo(room, lost: lost)
    }

    /// A hosting node's room without its owner ends here: each participant is
    /// told (`roomMoved`, reason `nodeLost`, to clients of the `cluster`
    /// extension) and its socket closes; its rejoin places the room on a live node.
    func letGo(_ room: Room, lost: String) async {
        room.detaching = true
        let notice: JSONValue = ["room": .string(room.name), "node": .string(lost), "reason": "nodeLost"]
        for p in room.locals { sendAway(p, notice) }
        for p in room.members { await evict(room: room.name, user: p.name, notifyEvicted: false) }
    }

    /// The room was placed on this node: it is the owner now, and draws its own picture.
    func becomeOwner(_ room: Room) async {
        room.orphaned = false
        room.owner = nil
        guard room.mode != .sfu else { return }
        for p in room.locals {
            guard let s = p.subscriptions[mcuName], s.stream != "audio", let port = p.hubPort else { continue }
            try? await media.connect(port, s.endpoint, kind: .video)
        }
        room.appliedLayout = ""
        await applyLayout(room, force: true)
    }

    /// The link of hosted `room` to its owner ended (the hosting node's side).
    public func cascadeLinkEnded(room roomName: String, node: String) async {
        guard let link = rooms[roomName]?.links[node] else { return }
        await dropLink(room: roomName, link: link)
    }

    /// A room that closed: its links close, and what they carried is released.
    func closeLinks(_ room: Room) async {
        for link in Array(room.links.values) { await release(link, of: room) }
        await dropOwnerMix(room)
    }

    /// Takes `link` out of `room`, closes it and releases what it carried (the
    /// streams sent over it, the mix made for its node).
    func release(_ link: NodeLink, of room: Room) async {
        room.links[link.node] = nil
        link.transport.close()
        for name in Array(link.outgoing.keys) { await dropOutgoing(name, of: link) }
        await releaseMix(of: link)
    }

    /// A hosting node's room whose last participant with a socket here left:
    /// its link closes, and the room with it.
    func detachIfEmpty(_ room: Room) async {
        guard room.owner != nil, !room.detaching, !room.closing, room.locals.isEmpty, rooms[room.name] === room else { return }
        room.detaching = true
        await closeLinks(room)
        for p in room.members { await evict(room: room.name, user: p.name, notifyEvicted: false) }
    }
}
