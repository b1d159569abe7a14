public import JSONRPC

/// Audio, video or both: the media a connection between elements carries.
public enum RoomMediaKind: String, Sendable {
    case audio = "AUDIO", video = "VIDEO"
    /// Data channel messages (Kurento's DATA), between endpoints with data channels.
    case data = "DATA"
}

/// An event of a media object the room layer created.
public struct RoomMediaEvent: Sendable {
    public var objectID: String
    public var type: String
    public var data: [String: JSONValue]

    public init(objectID: String, type: String, data: [String: JSONValue]) {
        self.objectID = objectID
        self.type = type
        self.data = data
    }
}

/// A failed media operation: the element layer's error code and message.
public struct RoomMediaError: Error, Sendable, CustomStringConvertible {
    public var code: Int
    public var message: String
    public init(code: Int, message: String) {
        self.code = code
        self.message = message
    }
    public var description: String { "\(message) (code \(code))" }
}

/// What a room needs from the element layer. The room layer is a client of
/// the element layer, as a Kurento application is a client of a media
/// server: it creates, connects and releases elements and listens to their
/// events, and never touches a packet. `KurentoRoomMedia` speaks the Kurento
/// protocol to the server's own element layer; tests use a double.
public protocol RoomMedia: Sendable {
    func createPipeline() async throws(RoomMediaError) -> String
    /// A WebRtcEndpoint, with data channels (Kurento's `useDataChannels`) when asked for.
    func createWebRtcEndpoint(pipeline: String, dataChannels: Bool) async throws(RoomMediaError) -> String
    func createComposite(pipeline: String) async throws(RoomMediaError) -> String
    /// An RtpEndpoint with SDES-SRTP under a random key: one end of a link
    /// that carries one stream between two nodes of a cascaded room.
    func createLinkEndpoint(pipeline: String) async throws(RoomMediaError) -> String
    /// An SDP offer of `endpoint` (audio and video).
    func generateOffer(_ endpoint: String) async throws(RoomMediaError) -> String
    func processAnswer(_ endpoint: String, answer: String) async throws(RoomMediaError)
    /// Answers `offer` on a link endpoint (no ICE to gather).
    func answerLink(_ endpoint: String, offer: String) async throws(RoomMediaError) -> String
    func createHubPort(hub: String) async throws(RoomMediaError) -> String
    /// Answers `offer` and starts gathering candidates (trickled as IceCandidateFound events).
    func processOffer(_ endpoint: String, offer: String) async throws(RoomMediaError) -> String
    func addIceCandidate(_ endpoint: String, candidate: String, sdpMid: String, sdpMLineIndex: Int) async throws(RoomMediaError)
    /// Connects `source` to `sink` for `kind`, or for both kinds when nil.
    func connect(_ source: String, _ sink: String, kind: RoomMediaKind?) async throws(RoomMediaError)
    func disconnect(_ source: String, _ sink: String, kind: RoomMediaKind?) async throws(RoomMediaError)
    /// Tessera's extension of Composite: the tile layout (`grid`, `speaker`,
    /// `pip`, `custom`), which ports' video fill the tiles in which order, and
    /// for `custom` one normalised rectangle per tile (x, y, width, height).
    func setLayout(composite: String, layout: String, order: [String], rects: [[Double]]) async throws(RoomMediaError)
    /// Tessera's extension of Composite: the listener on `port` stops hearing
    /// the ports in `exclude` in its mix (receiver-side mute); [] undoes it.
    func setMixExclusions(composite: String, port: String, exclude: [String]) async throws(RoomMediaError)
    /// A RecorderEndpoint writing `uri` (file:// in the recording directory) with `profile` (WEBM, ...).
    func createRecorder(pipeline: String, uri: String, profile: String) async throws(RoomMediaError) -> String
    func record(_ recorder: String) async throws(RoomMediaError)
    /// Tessera's extension of RecorderEndpoint: while muted, the audio it writes is silence.
    func setRecorderAudioMuted(_ recorder: String, muted: Bool) async throws(RoomMediaError)
    /// Tessera's extension of BaseRtpEndpoint: which simulcast layer of its
    /// video source `endpoint` forwards (`low`, `medium`, `high`, `auto`).
    func setReceiveQuality(_ endpoint: String, quality: String) async throws(RoomMediaError)
    /// Stops and returns once the file is complete.
    func stopRecorder(_ recorder: String) async throws(RoomMediaError)
    /// Kurento's `getStats` of an endpoint: its registers by stats id.
    func stats(_ endpoint: String) async throws(RoomMediaError) -> [String: JSONValue]
    func release(_ object: String) async
    /// Events of every object made through this interface, in order.
    var events: AsyncStream<RoomMediaEvent> { get }
}
