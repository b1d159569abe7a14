import Foundation
import JSONRPC
import Logging
import Synchronization
import Transport

/// One Kurento-protocol connection for the whole run, as an application
/// server keeps one to its media server: the pipeline, the hub (a Composite for
/// mixing, a DispatcherOneToMany for forwarding) and the routing of `onEvent`
/// notifications to the participant that owns the object.
final class KurentoSession: Sendable {
    let socket: RPCSocket
    let pipeline: String
    let hub: String
    let mixing: Bool
    /// Each participant's endpoint is connected to itself: it receives what it sends.
    let loopback: Bool
    private final class Routes: Sendable {
        let map = Mutex<[String: @Sendable (JSONValue) -> Void]>([:])
    }
    private let routes: Routes

    init(url: String, mixing: Bool, loopback: Bool = false, logger: Logger) async throws {
        let routes = Routes()
        socket = try await RPCSocket(url: url, logger: logger) { method, params in
            guard method == "onEvent", let value = params["value"],
                let object = value["object"]?.stringValue ?? value["data"]?["source"]?.stringValue,
                let route = routes.map.withLock({ $0[object] })
            else { return }
            route(value)
        }
        self.routes = routes
        self.mixing = mixing
        self.loopback = loopback
        pipeline = try await Self.create(socket, "MediaPipeline", [:])
        hub = try await Self.create(socket, mixing ? "Composite" : "DispatcherOneToMany", ["mediaPipeline": .string(pipeline)])
    }

    static func create(_ socket: RPCSocket, _ type: String, _ params: [String: JSONValue]) async throws -> String {
        let r = try await socket.call("create", ["type": .string(type), "constructorParams": .object(params)])
        guard let id = r["value"]?.stringValue else { throw RPCSocket.Failure(description: "create \(type): no id") }
        return id
    }

    func create(_ type: String, _ params: [String: JSONValue]) async throws -> String {
        try await Self.create(socket, type, params)
    }

    func invoke(_ object: String, _ operation: String, _ params: [String: JSONValue] = [:]) async throws -> JSONValue {
        try await socket.call("invoke", ["object": .string(object), "operation": .string(operation), "operationParams": .object(params)])
    }

    func route(_ object: String, to handler: @escaping @Sendable (JSONValue) -> Void) {
        routes.map.withLock { $0[object] = handler }
    }

    func close() async {
        _ = try? await socket.call("release", ["object": .string(pipeline)], timeout: .seconds(10))
        socket.close()
    }
}

/// A participant through the Kurento protocol: a WebRtcEndpoint and a HubPort
/// of the session's hub. Mixing: endpoint -> port -> endpoint (it hears the
/// Composite's mix without itself). Forwarding: the publisher's port is the
/// dispatcher's source, each viewer's port feeds its endpoint.
final class KurentoParticipant: LoadParticipant {
    let name: String
    private let session: KurentoSession
    private let loop: LoadLoop
    private let registry: Registry
    private let certificate: DTLSCertificate
    private let settings: ICESettings
    private let clip: AudioClip?
    private let video: VideoClip?
    private let publishes: Bool
    private let watchesVideo: Bool
    private let decode: Bool
    /// The colour of the video it should get back, decoded and checked (`--video-colours`).
    private let expectColour: RGB?
    private let logger: Logger

    private struct State {
        var endpoint: String?
        var peer: Int?
    }
    private let state = Mutex(State())
    private let progress: JoinProgress

    init(name: String, session: KurentoSession, loop: LoadLoop, registry: Registry, certificate: DTLSCertificate,
         settings: ICESettings, clip: AudioClip?, video: VideoClip?, publishes: Bool, watchesVideo: Bool, decode: Bool,
         expectColour: RGB? = nil, logger: Logger) {
        self.progress = JoinProgress(registry: registry)
        self.name = name
        self.session = session
        self.loop = loop
        self.registry = registry
        self.certificate = certificate
        self.settings = settings
        self.clip = clip
        self.video = video
        self.publishes = publishes
        self.watchesVideo = watchesVideo
        self.decode = decode
        self.expectColour = expectColour
        self.logger = logger
    }

    var peerIDs: [String: Int] { state.withLock { s in s.peer.map { [name: $0] } ?? [:] } }
    var isConnected: Bool { progress.isConnected }
    var hasFailed: Bool { progress.hasFailed }
    var receives: Bool { session.mixing || session.loopback || !publishes }

    private func fail(_ why: String) { progress.fail(why) }

    func join(url: String, room: String, mode: String?) async {
        progress.start()
        do {
            let pipeline = JSONValue.string(session.pipeline)
            let endpoint = try await session.create("WebRtcEndpoint", ["mediaPipeline": pipeline])
            let id = registry.newPeerID()
            state.withLock { $0.endpoint = endpoint; $0.peer = id }
            progress.expect()
            session.route(endpoint) { [weak self] value in self?.event(value) }
            _ = try await session.socket.call("subscribe", ["object": .string(endpoint), "type": "IceCandidateFound"])
            if session.loopback {
                _ = try await session.invoke(endpoint, "connect", ["sink": .string(endpoint)])
            } else {
                try await connectToHub(endpoint)
            }
            let offer = try await loop.addPeer(
                id: id, certificate: certificate, settings: settings, clip: publishes ? clip : nil,
                video: publishes ? video : nil, wantsVideo: watchesVideo || (publishes && video != nil),
                expectColour: expectColour, decode: decode, logger: logger) { [weak self] e in self?.peerEvent(e) }
            let answer = try await session.invoke(endpoint, "processOffer", ["offer": .string(offer)])
            guard let sdp = answer["value"]?.stringValue else { throw RPCSocket.Failure(description: "processOffer: no answer") }
            try await loop.apply(answer: sdp, to: id)
            _ = try await session.invoke(endpoint, "gatherCandidates")
        } catch {
            fail("\(error)")
        }
    }

    private func connectToHub(_ endpoint: String) async throws {
        let port = try await session.create("HubPort", ["hub": .string(session.hub)])
        if session.mixing || publishes {
            _ = try await session.invoke(endpoint, "connect", ["sink": .string(port)])
        }
        if session.mixing || !publishes {
            _ = try await session.invoke(port, "connect", ["sink": .string(endpoint)])
        }
        if !session.mixing && publishes {
            _ = try await session.invoke(session.hub, "setSource", ["source": .string(port)])
        }
    }

    private func event(_ value: JSONValue) {
        guard value["type"]?.stringValue == "IceCandidateFound",
            let candidate = value["data"]?["candidate"]?["candidate"]?.stringValue,
            let peer = state.withLock({ $0.peer })
        else { return }
        loop.addCandidate(candidate, to: peer)
    }

    private func peerEvent(_ event: PeerEvent) {
        switch event {
        case .candidate(let c):
            guard let endpoint = state.withLock({ $0.endpoint }) else { return }
            Task {
                do {
                    _ = try await session.invoke(endpoint, "addIceCandidate", [
                        "candidate": ["__module__": "kurento", "__type__": "IceCandidate", "candidate": .string(c),
                                      "sdpMid": "0", "sdpMLineIndex": 0],
                    ])
                } catch {
                    self.fail("addIceCandidate: \(error)")
                }
            }
        case .connected:
            guard let peer = state.withLock({ $0.peer }) else { return }
            progress.connected(peer)
        case .failed(let why):
            fail(why)
        }
    }

    func leave() async {
        let (endpoint, peer) = state.withLock { ($0.endpoint, $0.peer) }
        if let peer { loop.close(peer) }
        if let endpoint { _ = try? await session.socket.call("release", ["object": .string(endpoint)], timeout: .seconds(5)) }
    }
}
