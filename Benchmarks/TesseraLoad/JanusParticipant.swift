import ArgumentParser
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import JSONRPC
import Logging
import Synchronization
import Transport

/// One session on a Janus server's HTTP API (`/janus`), shared by every
/// participant of a run: each participant is a plugin handle, and one
/// long-poll loop hands events to their handles (Janus's own model, so the
/// generator does not open hundreds of long-polls).
final class JanusSession: Sendable {
    let base: String
    private let id: Int64
    private let handlers = Mutex<[Int64: @Sendable (JSONValue) -> Void]>([:])
    private let stopped = Atomic<Bool>(false)
    private let transactions = Atomic<Int>(0)

    init(base: String) async throws {
        self.base = base
        let created = try await Self.post(base, ["janus": "create", "transaction": "create"])
        guard let id = created["data"]?["id"]?.intValue else {
            throw RPCSocket.Failure(description: "Janus create: \(JSONWriter.string(created))")
        }
        self.id = id
        Task { await self.poll() }
        Task { await self.keepalive() }
    }

    /// The session of a run: `--url` as Janus's HTTP API base (`ws://` read as
    /// `http://`, `/janus` added when there is no path). A Janus that does not
    /// answer ends the run with one line and exit status 1.
    static func open(_ common: CommonOptions) async throws -> JanusSession {
        var base = common.url.replacingOccurrences(of: "ws://", with: "http://").replacingOccurrences(of: "wss://", with: "https://")
        if !base.dropFirst(8).contains("/") { base += "/janus" }
        do { return try await JanusSession(base: base) } catch {
            FileHandle.standardError.write("tessera-load: cannot reach Janus at \(base): \(error)\n".data(using: .utf8)!)
            throw ExitCode(1)
        }
    }

    static func post(_ url: String, _ body: JSONValue, timeout: TimeInterval = 15) async throws -> JSONValue {
        guard let u = URL(string: url) else { throw RPCSocket.Failure(description: "bad URL \(url)") }
        var request = URLRequest(url: u, timeoutInterval: timeout)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = Data(JSONWriter.string(body).utf8)
        let (data, _) = try await URLSession.shared.data(for: request)
        guard let text = String(data: data, encoding: .utf8), let value = try? JSONParser.parse(text) else {
            throw RPCSocket.Failure(description: "Janus: unreadable answer")
        }
        if value["janus"]?.stringValue == "error" {
            throw RPCSocket.Failure(description: "Janus error \(value["error"]?["code"]?.intValue ?? 0): \(value["error"]?["reason"]?.stringValue ?? "")")
        }
        return value
    }

    private func transaction() -> JSONValue { .string("t\(transactions.add(1, ordering: .relaxed).newValue)") }

    func attach(plugin: String, events: @escaping @Sendable (JSONValue) -> Void) async throws -> Int64 {
        let r = try await Self.post("\(base)/\(id)", ["janus": "attach", "plugin": .string(plugin), "transaction": transaction()])
        guard let handle = r["data"]?["id"]?.intValue else { throw RPCSocket.Failure(description: "Janus attach failed") }
        handlers.withLock { $0[handle] = events }
        return handle
    }

    func send(_ handle: Int64, _ body: [String: JSONValue]) async throws -> JSONValue {
        var b = body
        b["transaction"] = transaction()
        return try await Self.post("\(base)/\(id)/\(handle)", .object(b))
    }

    func detach(_ handle: Int64) async {
        _ = try? await send(handle, ["janus": "detach"])
        _ = handlers.withLock { $0.removeValue(forKey: handle) }
    }

    private func poll() async {
        while !stopped.load(ordering: .relaxed) {
            guard let url = URL(string: "\(base)/\(id)?maxev=50") else { return }
            do {
                let (data, _) = try await URLSession.shared.data(for: URLRequest(url: url, timeoutInterval: 40))
                guard let text = String(data: data, encoding: .utf8), let value = try? JSONParser.parse(text) else { continue }
                for event in value.arrayValue ?? [value] {
                    guard let sender = event["sender"]?.intValue, let handler = handlers.withLock({ $0[sender] }) else { continue }
                    handler(event)
                }
            } catch {
                try? await Task.sleep(for: .milliseconds(200))
            }
        }
    }

    private func keepalive() async {
        while !stopped.load(ordering: .relaxed) {
            try? await Task.sleep(for: .seconds(25))
            _ = try? await Self.post("\(base)/\(id)", ["janus": "keepalive", "transaction": transaction()])
        }
    }

    func close() async {
        stopped.store(true, ordering: .relaxed)
        _ = try? await Self.post("\(base)/\(id)", ["janus": "destroy", "transaction": transaction()])
    }
}

/// One AudioBridge participant on Janus: a handle of the shared session, `join`
/// with our offer as jsep, the answer from the `joined` event, candidates
/// trickled both ways. The same peer connection as against Tessera.
final class JanusParticipant: LoadParticipant {
    let name: String
    private let session: JanusSession
    private let loop: LoadLoop
    private let registry: Registry
    private let certificate: DTLSCertificate
    private let settings: ICESettings
    private let clip: AudioClip?
    private let decode: Bool
    private let logger: Logger

    private struct State {
        var handle: Int64?
        var peer: Int?
        var waiting: CheckedContinuation<String, any Error>?
    }
    private let state = Mutex(State())
    private let progress: JoinProgress

    init(name: String, session: JanusSession, loop: LoadLoop, registry: Registry, certificate: DTLSCertificate,
         settings: ICESettings, clip: AudioClip?, decode: Bool, logger: Logger) {
        self.progress = JoinProgress(registry: registry)
        self.name = name
        self.session = session
        self.loop = loop
        self.registry = registry
        self.certificate = certificate
        self.settings = settings
        self.clip = clip
        self.decode = decode
        self.logger = logger
    }

    var peerIDs: [String: Int] { state.withLock { s in s.peer.map { [name: $0] } ?? [:] } }
    var isConnected: Bool { progress.isConnected }
    var hasFailed: Bool { progress.hasFailed }
    var receives: Bool { true }

    private func fail(_ why: String) { progress.fail(why) }

    func join(url: String, room: String, mode: String?) async {
        progress.start()
        do {
            let handle = try await session.attach(plugin: "janus.plugin.audiobridge") { [weak self] event in self?.event(event) }
            let id = registry.newPeerID()
            state.withLock { $0.handle = handle; $0.peer = id }
            progress.expect()
            let offer = try await loop.addPeer(
                id: id, certificate: certificate, settings: settings, clip: clip, decode: decode, logger: logger
            ) { [weak self] event in self?.peerEvent(event) }
            let answer: String = try await withCheckedThrowingContinuation { c in
                state.withLock { $0.waiting = c }
                Task {
                    do {
                        _ = try await session.send(handle, [
                            "janus": "message",
                            "body": ["request": "join", "room": .int(Int64(room) ?? 1234), "display": .string(name), "muted": false],
                            "jsep": ["type": "offer", "sdp": .string(offer)],
                        ])
                    } catch {
                        self.resume(.failure(error))
                    }
                }
                Task {
                    try? await Task.sleep(for: .seconds(20))
                    self.resume(.failure(RPCSocket.Failure(description: "Janus join: no answer within 20 s")))
                }
            }
            try await loop.apply(answer: answer, to: id)
        } catch {
            fail("\(error)")
        }
    }

    private func resume(_ result: Result<String, any Error>) {
        let waiter = state.withLock { s -> CheckedContinuation<String, any Error>? in
            defer { s.waiting = nil }
            return s.waiting
        }
        waiter?.resume(with: result)
    }

    private func event(_ e: JSONValue) {
        if let sdp = e["jsep"]?["sdp"]?.stringValue, e["jsep"]?["type"]?.stringValue == "answer" {
            resume(.success(sdp))
        } else if e["janus"]?.stringValue == "trickle", let c = e["candidate"]?["candidate"]?.stringValue,
            let peer = state.withLock({ $0.peer })
        {
            loop.addCandidate(c, to: peer)
        } else if let error = e["plugindata"]?["data"]?["error"]?.stringValue {
            resume(.failure(RPCSocket.Failure(description: "AudioBridge: \(error)")))
            fail("AudioBridge: \(error)")
        } else if e["janus"]?.stringValue == "hangup" {
            fail("Janus hung up: \(e["reason"]?.stringValue ?? "")")
        }
    }

    private func peerEvent(_ event: PeerEvent) {
        switch event {
        case .candidate(let c):
            guard let handle = state.withLock({ $0.handle }) else { return }
            Task { _ = try? await session.send(handle, ["janus": "trickle", "candidate": ["candidate": .string(c), "sdpMid": "0", "sdpMLineIndex": 0]]) }
        case .connected:
            guard let peer = state.withLock({ $0.peer }) else { return }
            progress.connected(peer)
        case .failed(let why):
            fail(why)
        }
    }

    func leave() async {
        let (handle, peer) = state.withLock { ($0.handle, $0.peer) }
        if let peer { loop.close(peer) }
        if let handle { await session.detach(handle) }
    }
}

/// A VideoRoom participant on Janus: the publishers `joinandconfigure` with
/// their offer; each viewer joins as a subscriber to every publisher's feed,
/// gets Janus's offer in the event, answers with `start`.
final class JanusVideoParticipant: LoadParticipant {
    let name: String
    private let session: JanusSession
    private let loop: LoadLoop
    private let registry: Registry
    private let certificate: DTLSCertificate
    private let settings: ICESettings
    private let clip: AudioClip?
    private let video: VideoClip?
    /// Feed ids of the publishers, filled as they are answered; viewers wait for them.
    private let feeds: FeedBoard
    private let logger: Logger

    private struct State {
        var handles: [Int64: Int] = [:]  // handle -> peer id
        var waiting: [Int64: CheckedContinuation<JSONValue, any Error>] = [:]
    }
    private let state = Mutex(State())
    private let progress: JoinProgress

    init(name: String, session: JanusSession, loop: LoadLoop, registry: Registry, certificate: DTLSCertificate,
         settings: ICESettings, clip: AudioClip?, video: VideoClip?, feeds: FeedBoard, logger: Logger) {
        self.progress = JoinProgress(registry: registry)
        self.name = name
        self.session = session
        self.loop = loop
        self.registry = registry
        self.certificate = certificate
        self.settings = settings
        self.clip = clip
        self.video = video
        self.feeds = feeds
        self.logger = logger
    }

    var peerIDs: [String: Int] {
        state.withLock { s in Dictionary(uniqueKeysWithValues: s.handles.map { ("\($0.key)", $0.value) }) }
    }
    var isConnected: Bool { progress.isConnected }
    var hasFailed: Bool { progress.hasFailed }
    var receives: Bool { video == nil }

    private func fail(_ why: String) { progress.fail(why) }

    func join(url: String, room: String, mode: String?) async {
        progress.start()
        let roomID = JSONValue.int(Int64(room) ?? 1234)
        do {
            if video != nil {
                let (handle, id) = try await newHandle()
                let offer = try await loop.addPeer(
                    id: id, certificate: certificate, settings: settings, clip: clip, video: video, decode: false,
                    logger: logger) { [weak self] e in self?.peerEvent(e, id: id, handle: handle) }
                let event = try await request(handle, [
                    "janus": "message",
                    "body": ["request": "joinandconfigure", "room": roomID, "ptype": "publisher", "display": .string(name),
                             "audio": true, "video": true],
                    "jsep": ["type": "offer", "sdp": .string(offer)],
                ])
                guard let sdp = event["jsep"]?["sdp"]?.stringValue, let feed = event["plugindata"]?["data"]?["id"]?.intValue else {
                    throw RPCSocket.Failure(description: "VideoRoom publish: no answer")
                }
                try await loop.apply(answer: sdp, to: id)
                // Janus offers a feed to subscribers only once its publisher's media is up.
                let deadline = ContinuousClock.now + .seconds(15)
                while !progress.isConnected(id), !progress.hasFailed, ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(50))
                }
                try await Task.sleep(for: .milliseconds(300))
                await feeds.add(feed)
            } else {
                for feed in await feeds.all() {
                    let (handle, id) = try await newHandle()
                    let event = try await request(handle, [
                        "janus": "message",
                        "body": ["request": "join", "room": roomID, "ptype": "subscriber", "streams": [["feed": .int(feed)]]],
                    ])
                    guard let offer = event["jsep"]?["sdp"]?.stringValue else {
                        throw RPCSocket.Failure(description: "VideoRoom subscribe: no offer")
                    }
                    let answer = try await loop.addPeer(
                        id: id, certificate: certificate, settings: settings, clip: nil, wantsVideo: true, answering: offer,
                        decode: false, logger: logger) { [weak self] e in self?.peerEvent(e, id: id, handle: handle) }
                    _ = try await session.send(handle, [
                        "janus": "message", "body": ["request": "start", "room": roomID],
                        "jsep": ["type": "answer", "sdp": .string(answer)],
                    ])
                }
            }
        } catch {
            fail("\(error)")
        }
    }

    private func newHandle() async throws -> (Int64, Int) {
        let handle = try await session.attach(plugin: "janus.plugin.videoroom") { [weak self] event in self?.event(event) }
        let id = registry.newPeerID()
        state.withLock { $0.handles[handle] = id }
        progress.expect()
        return (handle, id)
    }

    /// Sends a plugin message and waits for the event that carries its jsep (at most 20 s).
    private func request(_ handle: Int64, _ body: [String: JSONValue]) async throws -> JSONValue {
        try await withCheckedThrowingContinuation { c in
            state.withLock { $0.waiting[handle] = c }
            Task {
                do { _ = try await session.send(handle, body) } catch { self.resume(handle, .failure(error)) }
            }
            Task {
                try? await Task.sleep(for: .seconds(20))
                self.resume(handle, .failure(RPCSocket.Failure(description: "VideoRoom: no answer within 20 s")))
            }
        }
    }

    private func resume(_ handle: Int64, _ result: Result<JSONValue, any Error>) {
        let waiter = state.withLock { $0.waiting.removeValue(forKey: handle) }
        waiter?.resume(with: result)
    }

    private func event(_ e: JSONValue) {
        guard let handle = e["sender"]?.intValue else { return }
        if e["jsep"] != nil {
            resume(handle, .success(e))
        } else if e["janus"]?.stringValue == "trickle", let c = e["candidate"]?["candidate"]?.stringValue,
            let peer = state.withLock({ $0.handles[handle] })
        {
            loop.addCandidate(c, to: peer)
        } else if let error = e["plugindata"]?["data"]?["error"]?.stringValue {
            resume(handle, .failure(RPCSocket.Failure(description: "VideoRoom: \(error)")))
        }
    }

    private func peerEvent(_ event: PeerEvent, id: Int, handle: Int64) {
        switch event {
        case .candidate(let c):
            Task { _ = try? await session.send(handle, ["janus": "trickle", "candidate": ["candidate": .string(c), "sdpMid": "0", "sdpMLineIndex": 0]]) }
        case .connected:
            progress.connected(id)
        case .failed(let why):
            fail(why)
        }
    }

    func leave() async {
        let handles = state.withLock { $0.handles }
        for (handle, peer) in handles {
            loop.close(peer)
            await session.detach(handle)
        }
    }
}

/// The publishers' feed ids, which viewers wait for (at most 20 s).
actor FeedBoard {
    private var feeds: [Int64] = []
    private let expected: Int

    init(expected: Int) { self.expected = expected }

    func add(_ feed: Int64) { feeds.append(feed) }

    func all() async -> [Int64] {
        let deadline = ContinuousClock.now + .seconds(20)
        while feeds.count < expected, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(100))
        }
        return feeds
    }
}
