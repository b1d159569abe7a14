public import JSONRPC
public import Logging
public import Transport

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
    public let ice: ICESettings
    public let logger: Logger
    public let events: AsyncStream<MediaEvent>
    let eventSink: AsyncStream<MediaEvent>.Continuation
    private let ecdsa: DTLSCertificate
    private let rsa: DTLSCertificate

    public init(loopCount: Int = 0, ice: ICESettings = ICESettings(), logger: Logger = Logger(label: "tessera.media")) throws {
        loops = MediaLoopGroup(count: loopCount)
        self.ice = ice
        self.logger = logger
        (events, eventSink) = AsyncStream.makeStream(of: MediaEvent.self)
        // One identity per server and key type (RFC 8827 allows reuse across peers).
        ecdsa = try DTLSCertificate(keyType: .ecdsa)
        rsa = try DTLSCertificate(keyType: .rsa)
    }

    public func certificate(_ type: DTLSCertificate.KeyType) -> DTLSCertificate {
        type == .rsa ? rsa : ecdsa
    }

    /// Called on a media loop: queues an event for the signalling plane.
    func raise(_ event: String, on objectID: String, _ data: [String: JSONValue] = [:]) {
        eventSink.yield(MediaEvent(objectID: objectID, event: event, data: data))
    }
}
