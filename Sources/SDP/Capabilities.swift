// Inputs and outputs of negotiation: what the server supports, its transport
// identity, what it sends, and what was agreed per m-line.

/// One codec the server can send and receive.
public struct CodecCapability: Sendable, Equatable {
    public var name: String
    public var clockRate: UInt32
    /// Required channel count (2 for opus, whose rtpmap always says /2,
    /// RFC 7587 §7); nil means "don't care".
    public var channels: UInt8?
    /// fmtp we put in our offers and answers for this codec.
    public var fmtp: String?
    /// rtcp-fb values we support, e.g. ["nack", "nack pli", "ccm fir"].
    public var feedback: [String]
    /// Whether we do RFC 4588 retransmission for it (pairs it with rtx).
    public var rtx: Bool

    public init(name: String, clockRate: UInt32, channels: UInt8? = nil, fmtp: String? = nil,
                feedback: [String] = [], rtx: Bool = false) {
        self.name = name
        self.clockRate = clockRate
        self.channels = channels
        self.fmtp = fmtp
        self.feedback = feedback
        self.rtx = rtx
    }

    public static let opus = CodecCapability(name: "opus", clockRate: 48000, channels: 2,
                                             fmtp: "minptime=10;useinbandfec=1", feedback: ["transport-cc"])
    public static let vp8 = CodecCapability(name: "VP8", clockRate: 90000,
                                            feedback: ["nack", "nack pli", "ccm fir", "goog-remb", "transport-cc"],
                                            rtx: true)
}

/// Header extension URIs (RFC 8285) we know by name.
public enum HeaderExtensionURI {
    public static let mid = "urn:ietf:params:rtp-hdrext:sdes:mid"
    public static let absSendTime = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
    public static let audioLevel = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"
    public static let transportWideCC = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"
    /// RTP stream id (RFC 8852 §3.1): which simulcast stream (rid) a packet belongs to.
    public static let rtpStreamID = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id"
    /// Repaired RTP stream id (RFC 8852 §3.2): the rid an RTX packet repairs.
    public static let repairedRtpStreamID = "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id"
}

/// What the server supports.
public struct LocalMediaCapabilities: Sendable, Equatable {
    /// In preference order (used for our offers; answers follow the offer's order).
    public var audioCodecs: [CodecCapability]
    public var videoCodecs: [CodecCapability]
    /// Header extension URIs we accept.
    public var headerExtensions: [String]
    /// Whether a data channel m-line (SCTP over DTLS, RFC 8841) is accepted
    /// and offered: Kurento's `useDataChannels`, off by default.
    public var dataChannels = false

    public init(audioCodecs: [CodecCapability], videoCodecs: [CodecCapability], headerExtensions: [String]) {
        self.audioCodecs = audioCodecs
        self.videoCodecs = videoCodecs
        self.headerExtensions = headerExtensions
    }

    /// The same with data channels on.
    public func withDataChannels(_ on: Bool = true) -> LocalMediaCapabilities {
        var c = self
        c.dataChannels = on
        return c
    }

    /// opus/48000/2 and VP8 with rtx; mid, abs-send-time, audio level and
    /// transport-wide CC header extensions.
    public static let `default` = LocalMediaCapabilities(
        audioCodecs: [.opus], videoCodecs: [.vp8],
        headerExtensions: [HeaderExtensionURI.mid, HeaderExtensionURI.absSendTime,
                           HeaderExtensionURI.audioLevel, HeaderExtensionURI.transportWideCC,
                           HeaderExtensionURI.rtpStreamID, HeaderExtensionURI.repairedRtpStreamID])

    public func codecs(for kind: MediaKind) -> [CodecCapability] {
        switch kind {
        case .audio: return audioCodecs
        case .video: return videoCodecs
        default: return []
        }
    }
}

/// Our ICE/DTLS identity; the same for every bundled m-line.
public struct TransportParameters: Sendable, Equatable {
    public var iceUfrag: String
    public var icePwd: String
    /// Our certificate fingerprint (sha-256).
    public var fingerprint: Fingerprint
    public var iceLite: Bool
    /// "candidate:..." strings to embed; empty when trickling.
    public var candidates: [String]
    public var endOfCandidates: Bool
    /// a=ice-options tokens; "trickle" by default since we accept trickled
    /// candidates (RFC 8840 §4.1.1).
    public var iceOptions: [String]

    public init(iceUfrag: String, icePwd: String, fingerprint: Fingerprint, iceLite: Bool = false,
                candidates: [String] = [], endOfCandidates: Bool = false, iceOptions: [String] = ["trickle"]) {
        self.iceUfrag = iceUfrag
        self.icePwd = icePwd
        self.fingerprint = fingerprint
        self.iceLite = iceLite
        self.candidates = candidates
        self.endOfCandidates = endOfCandidates
        self.iceOptions = iceOptions
    }
}

/// A stream we send on an m-line (announced with a=msid and a=ssrc).
public struct LocalStream: Sendable, Equatable {
    public var ssrc: UInt32
    public var rtxSSRC: UInt32?
    public var cname: String
    public var streamID: String
    public var trackID: String

    public init(ssrc: UInt32, rtxSSRC: UInt32? = nil, cname: String, streamID: String, trackID: String) {
        self.ssrc = ssrc
        self.rtxSSRC = rtxSSRC
        self.cname = cname
        self.streamID = streamID
        self.trackID = trackID
    }
}

/// What this endpoint wants to do. `allowSend == false` makes it receive
/// only, `allowReceive == false` send only. A missing stream does not stop
/// sending; it only leaves the m-line without a=msid/a=ssrc lines.
public struct SendPreferences: Sendable, Equatable {
    public var audio: LocalStream?
    public var video: LocalStream?
    public var allowSend: Bool
    public var allowReceive: Bool

    public init(audio: LocalStream? = nil, video: LocalStream? = nil, allowSend: Bool = true,
                allowReceive: Bool = true) {
        self.audio = audio
        self.video = video
        self.allowSend = allowSend
        self.allowReceive = allowReceive
    }

    /// The direction these preferences allow at most.
    public var maximumDirection: Direction { Direction(sending: allowSend, receiving: allowReceive) }

    public func stream(for kind: MediaKind) -> LocalStream? {
        switch kind {
        case .audio: return audio
        case .video: return video
        default: return nil
        }
    }
}

/// The agreed result for one m-line.
public struct NegotiatedMedia: Sendable, Equatable {
    public var mid: String
    public var kind: MediaKind
    /// m-line index.
    public var index: Int
    /// false: port 0 in the answer (unsupported kind, no common codec, ...).
    public var accepted: Bool
    /// OUR direction.
    public var direction: Direction
    /// The chosen codec with the offerer's payload type (RFC 8829 §5.3.1:
    /// the answer reuses the offer's numbers).
    public var codec: Codec?
    /// RTX payload type whose apt is `codec`'s (RFC 4588 §8.6).
    public var rtxPayloadType: UInt8?
    /// Negotiated header extensions: URI -> id.
    public var extensions: [String: UInt8]
    /// The remote's media SSRCs (FID primaries first), and its RTX SSRC.
    public var remoteSSRCs: [UInt32]
    public var remoteRTXSSRC: UInt32?
    /// Simulcast streams the peer sends, by rid in its `a=simulcast` order
    /// (RFC 8853), when our answer accepted them; empty otherwise.
    public var simulcastRIDs: [String] = []
    /// Simulcast by SSRC group (`a=ssrc-group:SIM`), lowest resolution first.
    public var simulcastSSRCs: [UInt32] = []
    /// Every `ssrc-group:FID` of the peer: RTX SSRC -> the SSRC it repairs (RFC 4588 §8.3).
    public var remoteRTXPairs: [UInt32: UInt32] = [:]
    public var nack: Bool
    public var pli: Bool
    public var fir: Bool
    public var remb: Bool
    public var transportCC: Bool
    /// A data channel m-line: the peer's SCTP port (`a=sctp-port`, RFC 8841
    /// §5) and the largest message it takes (`a=max-message-size`, §6; 0: no limit).
    public var sctpPort: UInt16?
    public var maxMessageSize: Int?

    public init(mid: String, kind: MediaKind, index: Int, accepted: Bool, direction: Direction,
                codec: Codec? = nil, rtxPayloadType: UInt8? = nil, extensions: [String: UInt8] = [:],
                remoteSSRCs: [UInt32] = [], remoteRTXSSRC: UInt32? = nil, nack: Bool = false,
                pli: Bool = false, fir: Bool = false, remb: Bool = false, transportCC: Bool = false) {
        self.mid = mid
        self.kind = kind
        self.index = index
        self.accepted = accepted
        self.direction = direction
        self.codec = codec
        self.rtxPayloadType = rtxPayloadType
        self.extensions = extensions
        self.remoteSSRCs = remoteSSRCs
        self.remoteRTXSSRC = remoteRTXSSRC
        self.nack = nack
        self.pli = pli
        self.fir = fir
        self.remb = remb
        self.transportCC = transportCC
    }
}
