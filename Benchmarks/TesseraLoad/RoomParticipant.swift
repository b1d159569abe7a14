import Foundation
import JSONRPC
import Logging
import Synchronization
import Transport

/// Where a participant's peers, failures and timings are written; shared by all.
final class Registry: Sendable {
    private struct State {
        var failures: [String: Int] = [:]
        var setupMillis: [Double] = []
        var nextPeerID = 1
    }
    private let state = Mutex(State())

    func fail(_ reason: String) {
        // Ids and addresses would make every reason unique: keep the kind.
        let key = String(reason.prefix(120))
        state.withLock { $0.failures[key, default: 0] += 1 }
    }

    func setupDone(_ d: Duration) { state.withLock { $0.setupMillis.append(d.milliseconds) } }
    func newPeerID() -> Int { state.withLock { s in defer { s.nextPeerID += 1 }; return s.nextPeerID } }
    var failures: [String: Int] { state.withLock { $0.failures } }
    var setupMillis: [Double] { state.withLock { $0.setupMillis } }
}

/// How far one participant's join got: the connections it expects and those
/// carrying SRTP, when it started, whether it failed. The first failure's
/// reason goes to the registry; the setup time is recorded once every
/// expected connection is up. Shared by every kind of participant.
final class JoinProgress: Sendable {
    private struct State {
        var expected = 0
        var connected: Set<Int> = []
        var failed = false
        var started = ContinuousClock.now
    }
    private let state = Mutex(State())
    private let registry: Registry

    init(registry: Registry) { self.registry = registry }

    func start() { state.withLock { $0.started = .now } }
    /// One more connection (peer `id` of the generator) to wait for.
    func expect() { state.withLock { $0.expected += 1 } }

    func connected(_ id: Int) {
        let done = state.withLock { s -> Duration? in
            s.connected.insert(id)
            return s.connected.count == s.expected ? ContinuousClock.now - s.started : nil
        }
        if let done { registry.setupDone(done) }
    }

    func fail(_ reason: String) {
        let first = state.withLock { s -> Bool in
            defer { s.failed = true }
            return !s.failed
        }
        if first { registry.fail(reason) }
    }

    func isConnected(_ id: Int) -> Bool { state.withLock { $0.connected.contains(id) } }
    var isConnected: Bool { state.withLock { !$0.failed && $0.expected > 0 && $0.connected.count == $0.expected } }
    var hasFailed: Bool { state.withLock { $0.failed } }
}

extension Duration {
    var milliseconds: Double { Double(components.seconds) * 1000 + Double(components.attoseconds) / 1e15 }
    var seconds: Double { milliseconds / 1000 }
}

/// What the run needs of a participant, whatever protocol it speaks.
protocol LoadParticipant: Sendable {
    var name: String { get }
    var peerIDs: [String: Int] { get }
    var isConnected: Bool { get }
    var hasFailed: Bool { get }
    /// Whether the participant is meant to receive anything (a publisher of
    /// an SFU room that nobody else publishes to receives nothing).
    var receives: Bool { get }
    func join(url: String, room: String, mode: String?) async
    func leave() async
}

/// One room participant, as KurentoRoom.js would be: a WebSocket on `/room`,
/// `joinRoom`, a publisher peer connection (`publishVideo`) when it talks or
/// listens as a publisher, and one receive-only peer connection per stream the
/// room advertises (`receiveVideoFrom`: `$mcu_audio` in mixing rooms, each other
/// publisher in SFU rooms), ICE candidates trickled both ways.
final class RoomParticipant: LoadParticipant {
    let name: String
    private let loop: LoadLoop
    private let registry: Registry
    private let certificate: DTLSCertificate
    private let settings: ICESettings
    private let logger: Logger
    private let clip: AudioClip?
    private let video: VideoClip?
    private let publishes: Bool
    private let receiveVideo: Bool
    private let decode: Bool
    private let subscribeToPeers: Bool

    private struct State {
        var socket: RPCSocket?
        /// endpointName (the room's name for a connection) -> peer id
        var peers: [String: Int] = [:]
        /// Candidates that arrived before their peer existed.
        var early: [String: [String]] = [:]
        var subscribed: Set<String> = []
    }
    private let state = Mutex(State())
    private let progress: JoinProgress

    init(name: String, loop: LoadLoop, registry: Registry, certificate: DTLSCertificate, settings: ICESettings,
         clip: AudioClip?, video: VideoClip? = nil, publishes: Bool = true, receiveVideo: Bool = false,
         decode: Bool, subscribeToPeers: Bool, logger: Logger) {
        self.progress = JoinProgress(registry: registry)
        self.video = video
        self.publishes = publishes
        self.receiveVideo = receiveVideo
        self.name = name
        self.loop = loop
        self.registry = registry
        self.certificate = certificate
        self.settings = settings
        self.clip = clip
        self.decode = decode
        self.subscribeToPeers = subscribeToPeers
        self.logger = logger
    }

    /// Peer ids of this participant, by connection name.
    var peerIDs: [String: Int] { state.withLock { $0.peers } }
    var isConnected: Bool { progress.isConnected }
    var hasFailed: Bool { progress.hasFailed }
    var receives: Bool { state.withLock { !$0.subscribed.isEmpty } }

    func join(url: String, room: String, mode: String?) async {
        progress.start()
        do {
            let socket = try await RPCSocket(url: url, logger: logger) { [weak self] method, params in
                self?.notification(method, params)
            }
            state.withLock { $0.socket = socket }
            var params: [String: JSONValue] = ["user": .string(name), "room": .string(room)]
            if let mode { params["mode"] = .string(mode) }
            let joined = try await socket.call("joinRoom", .object(params))
            if publishes {
                try await publish(socket)
            }
            for peer in joined["value"]?.arrayValue ?? [] {
                advertise(peer)
            }
        } catch {
            fail("\(error)")
        }
    }

    private func fail(_ reason: String) { progress.fail(reason) }

    private func newPeer(endpoint: String, clip: AudioClip?, video: VideoClip?, wantsVideo: Bool, decode: Bool) async throws -> (Int, String) {
        let id = registry.newPeerID()
        let early = state.withLock { s -> [String] in
            s.peers[endpoint] = id
            return s.early.removeValue(forKey: endpoint) ?? []
        }
        progress.expect()
        let offer = try await loop.addPeer(
            id: id, certificate: certificate, settings: settings, clip: clip, video: video, wantsVideo: wantsVideo,
            decode: decode, logger: logger
        ) { [weak self] event in self?.peerEvent(event, id: id, endpoint: endpoint) }
        for candidate in early { loop.addCandidate(candidate, to: id) }
        return (id, offer)
    }

    private func publish(_ socket: RPCSocket) async throws {
        let (id, offer) = try await newPeer(endpoint: name, clip: clip, video: video, wantsVideo: video != nil, decode: false)
        let answer = try await socket.call("publishVideo", ["sdpOffer": .string(offer), "doLoopback": false])
        guard let sdp = answer["sdpAnswer"]?.stringValue else { throw RPCSocket.Failure(description: "publishVideo: no sdpAnswer") }
        try await loop.apply(answer: sdp, to: id)
    }

    /// A peer entry of joinRoom or participantPublished: subscribe to what an
    /// audio participant hears.
    private func advertise(_ peer: JSONValue) {
        guard let user = peer["id"]?.stringValue, user != name else { return }
        for stream in peer["streams"]?.arrayValue ?? [] {
            guard let streamID = stream["id"]?.stringValue else { continue }
            let sender: String
            if user == "$mcu" {
                // The mix: with the composite picture when this participant watches video.
                sender = receiveVideo && streamID == "composite" ? "$mcu_composite" : "$mcu_audio"
            } else {
                guard subscribeToPeers else { continue }
                sender = "\(user)_\(streamID)"
            }
            let fresh = state.withLock { s -> Bool in s.subscribed.insert(user).inserted }
            guard fresh else { continue }
            Task { await self.subscribe(endpoint: user, sender: sender) }
        }
    }

    private func subscribe(endpoint: String, sender: String) async {
        guard let socket = state.withLock({ $0.socket }) else { return }
        do {
            let (id, offer) = try await newPeer(endpoint: endpoint, clip: nil, video: nil, wantsVideo: receiveVideo, decode: decode)
            let answer = try await socket.call("receiveVideoFrom", ["sender": .string(sender), "sdpOffer": .string(offer)])
            guard let sdp = answer["sdpAnswer"]?.stringValue else { throw RPCSocket.Failure(description: "receiveVideoFrom: no sdpAnswer") }
            try await loop.apply(answer: sdp, to: id)
        } catch {
            fail("\(error)")
        }
    }

    private func notification(_ method: String, _ params: JSONValue) {
        switch method {
        case "iceCandidate":
            guard let endpoint = params["endpointName"]?.stringValue, let candidate = params["candidate"]?.stringValue else { return }
            let id = state.withLock { s -> Int? in
                if let id = s.peers[endpoint] { return id }
                s.early[endpoint, default: []].append(candidate)
                return nil
            }
            if let id { loop.addCandidate(candidate, to: id) }
        case "participantPublished":
            advertise(params)
        case "participantEvicted":
            fail("evicted by the server")
        default:
            return
        }
    }

    private func peerEvent(_ event: PeerEvent, id: Int, endpoint: String) {
        switch event {
        case .candidate(let candidate):
            guard let socket = state.withLock({ $0.socket }) else { return }
            Task {
                do {
                    _ = try await socket.call("onIceCandidate", [
                        "endpointName": .string(endpoint), "candidate": .string(candidate), "sdpMid": "0", "sdpMLineIndex": 0,
                    ])
                } catch {
                    self.fail("onIceCandidate: \(error)")
                }
            }
        case .connected:
            progress.connected(id)
        case .failed(let why):
            fail(why)
        }
    }

    func leave() async {
        let (socket, ids) = state.withLock { ($0.socket, Array($0.peers.values)) }
        if let socket {
            _ = try? await socket.call("leaveRoom", .object([:]), timeout: .seconds(5))
            socket.close()
        }
        for id in ids { loop.close(id) }
    }
}
