public import JSONRPC
public import Logging
public import Transport
import Dispatch
import Synchronization

/// An event raised on a media loop, on its way to the signalling actor.
public struct MediaEvent: Sendable {
    public var objectID: String
    public var event: String
    public var data: [String: JSONValue]
}

/// What media objects share: the media loops, ICE settings, the server's
/// DTLS identities, and the channel that carries their events to the
/// signalling plane (in order, through one stream).
public final class MediaContext: Sendable {
    public let loops: MediaLoopGroup
    /// Worker threads for codec work (Composite): never a media loop.
    public let mixerLoops: MediaLoopGroup
    public let mixer: MixerSettings
    public let ice: ICESettings
    public let logger: Logger
    /// Where RecorderEndpoint may write (`recording.directory`); recordings must resolve inside it.
    public let recordingDirectory: String
    public let events: AsyncStream<MediaEvent>
    /// Packet counters for /metrics (no-ops unless a metrics backend is given).
    public let metrics: MediaMetrics
    /// Recordings being finished off the media loops (muxer draining, index
    /// written, file closed); shutdown waits for it to empty.
    let finishing = DispatchGroup()
    let eventSink: AsyncStream<MediaEvent>.Continuation
    private let ecdsa: DTLSCertificate
    /// Made on first use: RSA key generation takes a noticeable time and few peers ask for it.
    private let rsa = Mutex<DTLSCertificate?>(nil)

    public init(
        loopCount: Int = 0, mixerThreads: Int = 0, mixer: MixerSettings = MixerSettings(),
        ice: ICESettings = ICESettings(), logger: Logger = Logger(label: "tessera.media"),
        recordingDirectory: String = "recordings", metrics: MediaMetrics = MediaMetrics()
    ) throws {
        self.recordingDirectory = recordingDirectory
        self.metrics = metrics
        loops = MediaLoopGroup(count: loopCount, name: "media")
        mixerLoops = MediaLoopGroup(count: mixerThreads, name: "mixer")
        self.mixer = mixer
        self.ice = ice
        self.logger = logger
        (events, eventSink) = AsyncStream.makeStream(of: MediaEvent.self)
        // One identity per server and key type (RFC 8827 allows reuse across peers).
        ecdsa = try DTLSCertificate(keyType: .ecdsa)
    }

    /// The server's identity of `type`; falls back to ECDSA if RSA generation fails.
    public func certificate(_ type: DTLSCertificate.KeyType) -> DTLSCertificate {
        guard type == .rsa else { return ecdsa }
        return rsa.withLock { cached in
            if let c = cached { return c }
            guard let c = try? DTLSCertificate(keyType: .rsa) else { return ecdsa }
            cached = c
            return c
        }
    }

    /// Stops the media and mixer threads after what was already posted to them
    /// and waits for them to exit. Nothing may be posted afterwards.
    public func shutdown() {
        loops.shutdown()
        mixerLoops.shutdown()
    }

    /// Returns once every media loop has run what was posted to it before this
    /// call (releases post their node's close to the loop).
    public func drainLoops() async {
        for loop in loops.loops { await loop.run {} }
    }

    /// Waits (off the caller's thread) until every recording that was being
    /// finished is complete, or `timeout` passes. Returns false on timeout.
    public func waitForRecordingsToFinish(timeout: Duration) async -> Bool {
        let group = finishing
        return await runBlocking(qos: .utility) { group.wait(timeout: .now() + timeout / .seconds(1)) == .success }
    }

    /// Called on a media loop: queues an event for the signalling plane.
    func raise(_ event: String, on objectID: String, _ data: [String: JSONValue] = [:]) {
        eventSink.yield(MediaEvent(objectID: objectID, event: event, data: data))
    }
}
