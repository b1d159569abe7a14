public import JSONRPC

/// How a room carries media (shared/spec/room-protocol.md §10.2).
public enum RoomMode: String, Sendable, CaseIterable {
    /// Every publisher forwarded to every subscriber.
    case sfu
    /// One composite (grid + mix-minus audio) per participant.
    case mcu
    /// Video forwarded, audio mixed.
    case hybrid
}

/// What a participant may do (from its JWT, or `moderator` on an open server).
public enum RoomRole: String, Sendable {
    case moderator, publisher, subscriber
}

/// The server's pseudo-participant that publishes the composite.
let mcuName = "$mcu"

/// One subscription: an endpoint of the subscriber receiving one sender.
struct Subscription {
    var endpoint: String
    /// The stream id asked for (`webcam`, `composite`, `audio`, `video`).
    var stream: String
    /// Which mode switch it was made during (0 = before any).
    var epoch: Int
    /// The simulcast quality asked for (extension `simulcast`): low, medium, high or auto.
    var quality = "auto"
    var flowing = false
}

/// A stream a participant publishes beside its first one (extension `streams`):
/// a shared screen, a second camera, extra audio. Its own WebRtcEndpoint (one
/// PeerConnection per stream, §10.1) and, while the room mixes, its own HubPort.
final class ExtraStream {
    /// The stream id, unique within its participant (`screen`, `camera2`).
    let id: String
    /// What it carries: `camera`, `screen`, `audio` or `custom`.
    let source: String
    let endpoint: String
    /// Its input port on the room's composite while the room mixes.
    var hubPort: String?

    init(id: String, source: String, endpoint: String) {
        self.id = id
        self.source = source
        self.endpoint = endpoint
    }
}

final class Participant {
    let name: String
    var session: String
    let role: RoomRole
    /// What its token allows (everything on an open server).
    var grant: RoomToken.Claims
    var extensions: Set<String>
    /// `joinRoom`'s `dataChannels`: its endpoints take data channels, and its
    /// publisher's messages reach subscribers that have them too.
    var dataChannels = false
    /// The endpoint of this participant's first stream (the one every client
    /// sees, legacy ones included), once it published.
    var publisher: String?
    var publishing: Bool { publisher != nil }
    /// The first stream's id (`webcam` unless `publishVideo` named it) and source.
    var primaryStream = "webcam"
    var primarySource = "camera"
    /// Streams published beside the first one, in publishing order.
    var extras: [ExtraStream] = []
    /// Publishes any stream at all (the first one may be gone while others stay).
    var publishesAnything: Bool { publisher != nil || !extras.isEmpty }

    /// The extra stream `id`, if this participant publishes it.
    func extra(_ id: String) -> ExtraStream? { extras.first { $0.id == id } }

    /// The key of `stream`'s subscriptions and endpoint name: the user name for
    /// the first stream (as Kurento Room names it), `user_stream` for the others.
    func key(of stream: ExtraStream) -> String { "\(name)_\(stream.id)" }
    /// Its port on the room's composite (input when publishing, output for `$mcu`).
    var hubPort: String?
    /// Every port its streams feed the composite through (its own and its extra streams'):
    /// what a listener's mix leaves out to leave this participant out.
    var inputPorts: [String] { [hubPort].compactMap { $0 } + extras.compactMap(\.hubPort) }
    /// By endpoint name: the sender's user name (its first stream), `user_stream`
    /// (its other streams), or `$mcu`.
    var subscriptions: [String: Subscription] = [:]
    /// Old endpoints kept until their replacement flows (make-before-break).
    var retiring: [String: [String]] = [:]
    /// Candidates that arrived before their endpoint existed.
    var pendingCandidates: [String: [(candidate: String, sdpMid: String, index: Int)]] = [:]
    var audioActive = true
    var videoActive = true
    /// Kinds a moderator muted; the participant cannot unmute them.
    var forceMuted: Set<String> = []
    /// Set while a mode switch waits for this participant's new subscriptions.
    var switchPending = false
    /// Senders whose audio this participant muted for itself (`muteSubscribedMedia`):
    /// out of its own mix while the room mixes, not connected to its SFU subscriptions.
    var mutedInMix: Set<String> = []
    /// Senders whose video this participant muted for itself: not connected to its subscriptions.
    var mutedVideo: Set<String> = []

    /// A participant hosted by another node of a cascaded room: the id of the
    /// node whose link brought it here (nil: its socket is on this node). Its
    /// first stream arrives over that link, through an RtpEndpoint that stands
    /// in for its publisher; it has no session here.
    var origin: String?

    init(name: String, session: String, role: RoomRole, extensions: Set<String>) {
        self.name = name
        self.session = session
        self.role = role
        self.grant = RoomToken.Claims(room: "*", user: name, role: role, canPublish: role != .subscriber, canSubscribe: true, canRecord: role == .moderator)
        self.extensions = extensions
    }

    /// Whether a notification `feature` (an extension name) goes to this client.
    func wants(_ feature: String) -> Bool { extensions.contains(feature) }
}

/// A room's link to another node of the same cascaded room (docs/cluster.md,
/// "Cascaded rooms"): cascade messages both ways, and the RtpEndpoints that
/// carry this node's streams to that node, one per stream.
final class NodeLink {
    let node: String
    let transport: any CascadeTransport
    /// By stream key (`user` for a first stream, `user_stream` for another): our
    /// RtpEndpoint sending that stream to the other node.
    var outgoing: [String: String] = [:]
    /// Stream keys being offered (the offer's awaits let others in).
    var offering: Set<String> = []
    /// On the owner, while the room mixes: the node's mix, a HubPort whose
    /// mix leaves out that node's own participants, and the RtpEndpoint that
    /// carries it (with the composite's picture) to that node.
    var mixPort: String?
    var mixOut: String?
    var offeringMix = false
    /// Whether that node shows the composite's picture to anyone (`mixVideo`):
    /// until then its mix carries sound only, and an audio room encodes no picture.
    var mixVideo = false

    init(node: String, transport: any CascadeTransport) {
        self.node = node
        self.transport = transport
    }
}

final class Room {
    let name: String
    var mode: RoomMode
    /// A cascaded room's node that holds it (its owner), on a node that only
    /// hosts some of its participants; nil on the owner and in a room of one node.
    var owner: String?
    /// Links to the room's other nodes, by node id: on the owner one per
    /// hosting node, on a hosting node the one to the owner.
    var links: [String: NodeLink] = [:]
    /// On a hosting node while the room mixes: the owner's mix for this node
    /// (an RtpEndpoint standing in for it) and the port that feeds its sound
    /// into this node's composite, which mixes it with the participants here.
    var ownerMix: String?
    var ownerMixPort: String?
    /// A hosting node's room whose owner died, while it is placed again and re-attaches.
    var orphaned = false
    /// Set while a hosting node's room lets everyone go (its owner is gone, or
    /// its last participant with a socket here left).
    var detaching = false
    /// Participants with a socket on this node.
    var locals: [Participant] { members.filter { $0.origin == nil } }
    /// The room's MediaPipeline, made by the first join.
    var pipeline: String?
    var composite: String?
    /// In join order.
    private(set) var order: [String] = []
    private(set) var participants: [String: Participant] = [:]
    var closing = false
    var switchID: String?
    /// False while a switch is still wiring the new mode (its awaits let other
    /// work in, timer ticks included): nothing may complete it before the new
    /// streams are advertised.
    var switchAdvertised = false
    var switchEpoch = 0
    var switchFrom: RoomMode = .sfu
    var switchStartedAt: Duration = .zero
    var layout = "grid"
    /// Whether a moderator chose the layout: until then a shared screen turns
    /// the default grid into `presentation` by itself.
    var layoutChosen = false
    var layoutRevision = 0
    /// `custom` layouts: the tile of each named participant, normalised (x, y, w, h) and z order.
    var customTiles: [(id: String, rect: [Double], z: Int)] = []
    /// What the composite was last told, to skip repeating it.
    var appliedLayout = ""
    /// The last `layoutChanged` sent (layout, revision, canvas, tiles): a participant who
    /// joins a mixing room gets it in `joinRoom`'s answer, so it can label the tiles at once.
    var lastLayout: JSONValue?
    /// The composite recording in progress, if any (§10.7).
    var recording: Recording?
    /// Who speaks, and the dominant speaker (§10.6).
    var speakers = SpeakerTracker()

    init(name: String, mode: RoomMode) {
        self.name = name
        self.mode = mode
    }

    var members: [Participant] { order.compactMap { participants[$0] } }

    /// How publishers feed the mixer: as the mode says, except that an SFU
    /// room whose composite is recorded mixes everything for the recorder (§10.7).
    var mixerMode: RoomMode { mode == .sfu && recording?.isComposite == true ? .mcu : mode }

    func add(_ p: Participant) {
        participants[p.name] = p
        order.append(p.name)
    }

    /// Moves `names` (those present) to the front of the join order, in that order.
    func putFirst(_ names: [String]) {
        let first = names.filter { participants[$0] != nil }
        order = first + order.filter { !first.contains($0) }
    }

    func remove(_ name: String) {
        participants[name] = nil
        order.removeAll { $0 == name }
    }

    /// Stream descriptors of `p` as `viewer` sees them in this mode: its first
    /// stream for every client, each other stream (with `source`) for clients
    /// of the `streams` extension. Nil when there is nothing to subscribe to.
    func streams(of p: Participant, for viewer: Participant? = nil) -> [JSONValue]? {
        guard mode != .mcu else { return nil }
        let aware = viewer?.wants("streams") ?? false
        var out: [JSONValue] = []
        func descriptor(_ id: String, _ source: String) -> JSONValue {
            var d: [String: JSONValue] = ["id": .string(id)]
            if mode == .hybrid { d["recvAudio"] = false }
            if aware { d["source"] = .string(source) }
            return .object(d)
        }
        if p.publishing { out.append(descriptor(p.primaryStream, p.primarySource)) }
        if aware { out += p.extras.map { descriptor($0.id, $0.source) } }
        return out.isEmpty ? nil : out
    }

    /// The `$mcu` pseudo-participant's streams in this mode, if it is present.
    var mcuStreams: [JSONValue]? {
        switch mode {
        case .sfu: return nil
        case .mcu: return [["id": "composite", "composite": true, "kind": "audio+video"]]
        case .hybrid: return [["id": "audio", "recvVideo": false, "composite": true, "kind": "audio"]]
        }
    }

    /// A `participantPublished`/joinRoom peer entry.
    static func peer(_ id: String, _ streams: [JSONValue]?) -> JSONValue {
        guard let streams else { return ["id": .string(id)] }
        return ["id": .string(id), "streams": .array(streams)]
    }

    /// Senders a participant should be subscribed to in this mode.
    func expectedSenders(for p: Participant) -> [String] {
        var out: [String] = []
        if mcuStreams != nil { out.append(mcuName) }
        if mode != .mcu {
            for other in members where other.name != p.name {
                if other.publishing { out.append(other.name) }
                if p.wants("streams") { out += other.extras.map { other.key(of: $0) } }
            }
        }
        return out
    }

    var compositeDescription: JSONValue {
        [
            "sender": "$mcu_composite", "audioSender": "$mcu_audio", "videoSender": "$mcu_video",
            "layout": .string(layout), "codec": "VP8",
        ]
    }
}
