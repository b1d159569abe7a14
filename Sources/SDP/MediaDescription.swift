// One media description: the m= line and everything up to the next m= line
// (RFC 8866 §5.14), with the WebRTC attributes modelled explicitly.

public struct MediaDescription: Sendable, Equatable {
    public var kind: MediaKind
    /// Port of the m= line. 0 means rejected, unless `bundleOnly` and the
    /// mid is in a BUNDLE group (RFC 8843 §6).
    public var port: UInt16
    /// Transport protocol, e.g. "UDP/TLS/RTP/SAVPF" (RFC 5764 §8).
    public var proto: String
    /// The format list as written: payload type numbers for RTP, or tokens
    /// such as "webrtc-datachannel" for other protocols.
    public var formats: [String]
    /// Address of the media-level c= line, or of the session-level one when
    /// the media has none (RFC 8866 §5.7).
    public var connectionAddress: String?
    public var mid: String?
    /// a=sendrecv/sendonly/recvonly/inactive; the session-level value or
    /// sendrecv when absent (RFC 8866 §6.7).
    public var direction: Direction
    /// ICE credentials of this m= section (RFC 8839 §5.4); nil means "use the
    /// session level ones".
    public var iceUfrag: String?
    public var icePwd: String?
    /// a=ice-options tokens, e.g. ["trickle"] (RFC 8839 §5.6).
    public var iceOptions: [String]
    public var fingerprints: [Fingerprint]
    public var setup: SetupRole?
    /// a=rtcp-mux (RFC 5761 §5.1.1, RFC 8858).
    public var rtcpMux: Bool
    /// a=rtcp-rsize, reduced-size RTCP (RFC 5506 §5).
    public var rtcpRsize: Bool
    /// a=bundle-only (RFC 8843 §6).
    public var bundleOnly: Bool
    /// Codecs in m= line order. Dynamic payload types without an rtpmap are
    /// left out; static ones without rtpmap get their RFC 3551 names.
    public var codecs: [Codec]
    public var extmaps: [Extmap]
    public var ssrcs: [SSRCAttribute]
    public var ssrcGroups: [SSRCGroup]
    /// The value of a=msid ("<stream id> <track id>", RFC 8830 §2).
    public var msid: String?
    /// Candidates as `candidate:...` strings, exactly what a browser puts in
    /// `RTCIceCandidate.candidate` (RFC 8839 §5.1).
    public var candidates: [String]
    /// a=end-of-candidates (RFC 8840 §8.2).
    public var endOfCandidates: Bool
    /// b=AS in kbit/s (RFC 8866 §5.8).
    public var bandwidthAS: UInt32?
    /// Media attributes not modelled above, in order.
    public var otherAttributes: [Attribute]

    public init(kind: MediaKind, port: UInt16 = 9, proto: String = "UDP/TLS/RTP/SAVPF",
                formats: [String] = [], connectionAddress: String? = nil, mid: String? = nil,
                direction: Direction = .sendrecv, iceUfrag: String? = nil, icePwd: String? = nil,
                iceOptions: [String] = [], fingerprints: [Fingerprint] = [], setup: SetupRole? = nil,
                rtcpMux: Bool = false, rtcpRsize: Bool = false, bundleOnly: Bool = false,
                codecs: [Codec] = [], extmaps: [Extmap] = [], ssrcs: [SSRCAttribute] = [],
                ssrcGroups: [SSRCGroup] = [], msid: String? = nil, candidates: [String] = [],
                endOfCandidates: Bool = false, bandwidthAS: UInt32? = nil,
                otherAttributes: [Attribute] = []) {
        self.kind = kind
        self.port = port
        self.proto = proto
        self.formats = formats
        self.connectionAddress = connectionAddress
        self.mid = mid
        self.direction = direction
        self.iceUfrag = iceUfrag
        self.icePwd = icePwd
        self.iceOptions = iceOptions
        self.fingerprints = fingerprints
        self.setup = setup
        self.rtcpMux = rtcpMux
        self.rtcpRsize = rtcpRsize
        self.bundleOnly = bundleOnly
        self.codecs = codecs
        self.extmaps = extmaps
        self.ssrcs = ssrcs
        self.ssrcGroups = ssrcGroups
        self.msid = msid
        self.candidates = candidates
        self.endOfCandidates = endOfCandidates
        self.bandwidthAS = bandwidthAS
        self.otherAttributes = otherAttributes
    }

    /// True when the proto carries RTP, so formats are payload types.
    public var isRTP: Bool { proto.uppercased().contains("RTP/") }

    /// The codec with this payload type, if listed.
    public func codec(payloadType: UInt8) -> Codec? {
        codecs.first { $0.payloadType == payloadType }
    }

    /// The first attribute with this name among `otherAttributes`.
    public func attribute(_ name: String) -> Attribute? {
        otherAttributes.first { $0.name == name }
    }

    /// Media SSRCs announced by the peer: FID/FEC-FR secondaries (RTX and
    /// FEC streams, RFC 5576 §4.2, RFC 4588 §8.3) are left out; FID primaries
    /// come first, then the remaining SSRCs in order of appearance.
    public var mediaSSRCs: [UInt32] {
        // Sets keep this linear: the SSRC lists come from the peer.
        var secondaries = Set<UInt32>()
        var primaries: [UInt32] = []
        var seen = Set<UInt32>()
        for group in ssrcGroups where group.semantics == "FID" || group.semantics == "FEC-FR" {
            if let first = group.ssrcs.first, seen.insert(first).inserted { primaries.append(first) }
            for other in group.ssrcs.dropFirst() { secondaries.insert(other) }
        }
        var result = primaries.filter { !secondaries.contains($0) }
        for attribute in ssrcs where !secondaries.contains(attribute.ssrc) && seen.insert(attribute.ssrc).inserted {
            result.append(attribute.ssrc)
        }
        return result
    }

    /// The RTX SSRC of the first `ssrc-group:FID` (RFC 4588 §8.3).
    public var rtxSSRC: UInt32? {
        guard let group = ssrcGroups.first(where: { $0.semantics == "FID" }), group.ssrcs.count >= 2 else {
            return nil
        }
        return group.ssrcs[1]
    }
}
