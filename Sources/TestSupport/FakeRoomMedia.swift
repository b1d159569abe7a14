import Foundation
public import JSONRPC
public import Rooms
public import Synchronization

/// A `RoomMedia` double: makes ids, records every call, answers offers, and
/// fails an offer whose text is "bad".
public final class FakeRoomMedia: RoomMedia {
    public struct State {
        public var next = 1
        public var calls: [String] = []
        public var live: Set<String> = []
        public var connections: Set<String> = []
    }
    public let state = Mutex(State())
    /// Runs inside `createComposite`, while the caller is suspended on it.
    public let duringCreateComposite = Mutex<(@Sendable () async -> Void)?>(nil)
    public let events: AsyncStream<RoomMediaEvent>
    public let sink: AsyncStream<RoomMediaEvent>.Continuation

    public init() { (events, sink) = AsyncStream.makeStream(of: RoomMediaEvent.self) }

    private func make(_ kind: String, _ call: String) -> String {
        state.withLock { s in
            let id = "\(kind)-\(s.next)"
            s.next += 1
            s.calls.append("\(call) -> \(id)")
            s.live.insert(id)
            return id
        }
    }
    private func log(_ call: String) { state.withLock { $0.calls.append(call) } }

    public var calls: [String] { state.withLock { $0.calls } }
    /// The ids made by the calls starting with `call` (e.g. "createHubPort"), in order.
    public func made(_ call: String) -> [String] {
        calls.filter { $0.hasPrefix(call) }.compactMap { $0.components(separatedBy: " -> ").dropFirst().first }
    }
    public var live: Set<String> { state.withLock { $0.live } }
    public var connections: Set<String> { state.withLock { $0.connections } }
    public func takeCalls() -> [String] { state.withLock { s in defer { s.calls = [] }; return s.calls } }

    public func createPipeline() async throws(RoomMediaError) -> String { make("pipeline", "createPipeline") }
    public func createWebRtcEndpoint(pipeline: String, dataChannels: Bool) async throws(RoomMediaError) -> String {
        make("webrtc", "createWebRtcEndpoint(\(pipeline)\(dataChannels ? ", data" : ""))")
    }
    public func createComposite(pipeline: String) async throws(RoomMediaError) -> String {
        if let hook = duringCreateComposite.withLock({ $0 }) { await hook() }
        return make("composite", "createComposite(\(pipeline))")
    }
    public func createLinkEndpoint(pipeline: String) async throws(RoomMediaError) -> String {
        make("rtp", "createLinkEndpoint(\(pipeline))")
    }
    public func generateOffer(_ endpoint: String) async throws(RoomMediaError) -> String {
        log("generateOffer(\(endpoint))")
        return "offer(\(endpoint))"
    }
    public func answerLink(_ endpoint: String, offer: String) async throws(RoomMediaError) -> String {
        log("answerLink(\(endpoint))")
        return "answer(\(offer))"
    }
    public func processAnswer(_ endpoint: String, answer: String) async throws(RoomMediaError) {
        log("processAnswer(\(endpoint), \(answer))")
    }
    public func createHubPort(hub: String) async throws(RoomMediaError) -> String { make("port", "createHubPort(\(hub))") }
    public func processOffer(_ endpoint: String, offer: String) async throws(RoomMediaError) -> String {
        log("processOffer(\(endpoint))")
        if offer == "bad" { throw RoomMediaError(code: 40208, message: "Error processing offer: no usable codec") }
        return "answer(\(offer))"
    }
    public func addIceCandidate(_ endpoint: String, candidate: String, sdpMid: String, sdpMLineIndex: Int) async throws(RoomMediaError) {
        log("addIceCandidate(\(endpoint), \(candidate))")
    }
    public func connect(_ source: String, _ sink: String, kind: RoomMediaKind?) async throws(RoomMediaError) {
        log("connect(\(source), \(sink), \(kind?.rawValue ?? "ALL"))")
        state.withLock { s in
            for k in kind.map({ [$0.rawValue] }) ?? ["AUDIO", "VIDEO"] { s.connections.insert("\(source)>\(sink):\(k)") }
        }
    }
    public func disconnect(_ source: String, _ sink: String, kind: RoomMediaKind?) async throws(RoomMediaError) {
        log("disconnect(\(source), \(sink), \(kind?.rawValue ?? "ALL"))")
        state.withLock { s in
            for k in kind.map({ [$0.rawValue] }) ?? ["AUDIO", "VIDEO"] { s.connections.remove("\(source)>\(sink):\(k)") }
        }
    }
    public func setLayout(composite: String, layout: String, order: [String], rects: [[Double]]) async throws(RoomMediaError) {
        log("setLayout(\(composite), \(layout), \(order.joined(separator: ",")))")
    }
    public func setMixExclusions(composite: String, port: String, exclude: [String]) async throws(RoomMediaError) {
        log("setMixExclusions(\(composite), \(port), \(exclude.joined(separator: ",")))")
    }
    public func createRecorder(pipeline: String, uri: String, profile: String) async throws(RoomMediaError) -> String {
        make("recorder", "createRecorder(\(uri), \(profile))")
    }
    public func record(_ recorder: String) async throws(RoomMediaError) { log("record(\(recorder))") }
    /// One inbound and one outbound audio register, with fixed numbers.
    public func stats(_ endpoint: String) async throws(RoomMediaError) -> [String: JSONValue] {
        [
            "inbound-audio-1": ["type": "inboundrtp", "packetsReceived": 100, "bytesReceived": 10000, "packetsLost": 2, "jitter": 0.004,
                                "nackCount": 0, "pliCount": 1],
            "outbound-audio-2": ["type": "outboundrtp", "packetsSent": 90, "bytesSent": 9000, "roundTripTime": 0.02, "fractionLost": 0.01,
                                 "nackCount": 3, "pliCount": 0, "firCount": 0],
        ]
    }

    public func setRecorderAudioMuted(_ recorder: String, muted: Bool) async throws(RoomMediaError) {
        log("setRecorderAudioMuted(\(recorder), \(muted))")
    }
    public func setReceiveQuality(_ endpoint: String, quality: String) async throws(RoomMediaError) {
        log("setReceiveQuality(\(endpoint), \(quality))")
    }
    public func stopRecorder(_ recorder: String) async throws(RoomMediaError) { log("stopRecorder(\(recorder))") }
    public func release(_ object: String) async {
        log("release(\(object))")
        _ = state.withLock { $0.live.remove(object) }
    }
}

/// One client socket: everything sent to it, and whether the server closed it.
public final class TestConnection: RoomConnection {
    public let frames = Mutex<[String]>([])
    public let closed = Mutex(false)
    public init() {}
    public func send(_ text: String) { frames.withLock { $0.append(text) } }
    public func close() { closed.withLock { $0 = true } }
    public var isClosed: Bool { closed.withLock { $0 } }
    public func take() -> [JSONValue] { frames.withLock { f in defer { f = [] }; return f.compactMap { try? JSONParser.parse($0) } } }
}
