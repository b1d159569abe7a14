// The peer's ICE and DTLS parameters, and the transport checks negotiation
// applies to them (RFC 8839 ICE, RFC 8842 DTLS, RFC 8843 BUNDLE, RFC 8858).

extension Negotiation {
    /// The remote's ICE credentials, fingerprints and DTLS role, taken from
    /// the m-line that carries the BUNDLE transport (the first mid of the
    /// BUNDLE group, RFC 8843 §7.2.1), else from the first active m-line;
    /// media-level values override session-level ones.
    ///
    /// Candidates are those of that m-line only, with its mid and index.
    /// Other bundled m-lines either repeat them (browsers) or describe
    /// transports the peer drops once BUNDLE is agreed (aiortc gathers a
    /// port per m-line, RFC 8843 §7.3.1); checking those would pair with a
    /// socket that no longer receives media.
    public static func remoteTransport(of sdp: SessionDescription) throws(SDPError)
        -> (ufrag: String, pwd: String, fingerprints: [Fingerprint], setup: SetupRole?,
            candidates: [(mid: String?, index: Int, candidate: String)]) {
        let active = sdp.media.indices.filter { sdp.isActive(mediaAt: $0) }
        guard !active.isEmpty else { throw .noUsableMedia("every m= line is disabled (port 0)") }
        let index = remoteTransportIndex(of: sdp, active: active)
        try requireTransport(sdp, mediaAt: index)
        guard let ufrag = sdp.effectiveIceUfrag(mediaAt: index), let pwd = sdp.effectiveIcePwd(mediaAt: index) else {
            throw .missingField("a=ice-ufrag / a=ice-pwd")
        }
        let section = sdp.media[index]
        let candidates = section.candidates.map { (mid: section.mid, index: index, candidate: $0) }
        return (ufrag, pwd, sdp.effectiveFingerprints(mediaAt: index), sdp.effectiveSetup(mediaAt: index), candidates)
    }

    /// Index of the m-line whose transport is used: the BUNDLE tag (first mid
    /// of the group holding the first active m-line) if it is active,
    /// otherwise the first active m-line.
    static func remoteTransportIndex(of sdp: SessionDescription, active: [Int]) -> Int {
        guard let first = active.first else { return 0 }
        if let mid = sdp.media[first].mid, let group = sdp.bundleGroup(containing: mid), let tag = group.first,
           let tagIndex = sdp.media.firstIndex(where: { $0.mid == tag }), active.contains(tagIndex) {
            return tagIndex
        }
        return first
    }

    /// ICE credentials (RFC 8839 §5.4) and a DTLS fingerprint (RFC 8122 §5)
    /// are mandatory for the transport m-line.
    static func requireTransport(_ sdp: SessionDescription, mediaAt index: Int) throws(SDPError) {
        guard let ufrag = sdp.effectiveIceUfrag(mediaAt: index), !ufrag.isEmpty else {
            throw .missingField("a=ice-ufrag (m-line \(index))")
        }
        guard let pwd = sdp.effectiveIcePwd(mediaAt: index), !pwd.isEmpty else {
            throw .missingField("a=ice-pwd (m-line \(index))")
        }
        guard !sdp.effectiveFingerprints(mediaAt: index).isEmpty else {
            throw .missingField("a=fingerprint (m-line \(index))")
        }
    }

    /// RTP and RTCP must share one port (RFC 5761 §5.1.1, RFC 8858): either
    /// the m-line says a=rtcp-mux, or it is bundled with one that does (RFC
    /// 8843 §9.3: rtcp-mux applies to the whole BUNDLE transport).
    static func requireRTCPMux(_ sdp: SessionDescription, mediaAt index: Int) throws(SDPError) {
        let section = sdp.media[index]
        if section.rtcpMux { return }
        if let mid = section.mid, let group = sdp.bundleGroup(containing: mid),
           sdp.media.contains(where: { other in other.rtcpMux && other.mid.map(group.contains) == true }) {
            return
        }
        throw .unsupported("m-line \(index) (\(section.kind.rawValue)) without a=rtcp-mux; RFC 8858 rtcp-mux is required")
    }
}

// MARK: - Candidate fields

/// The fields of one ICE candidate attribute (RFC 8839 §5.1). Descriptions
/// keep candidates as strings (what JavaScript's RTCIceCandidate.candidate
/// holds); this reads the fields out when needed, e.g. to fill the c= line
/// and m= port from our first candidate (RFC 8839 §4.2.1.1).
public struct SDPCandidate: Sendable, Equatable, Hashable {
    public var foundation: String
    public var component: UInt8
    /// "udp" / "tcp" as written (compare case-insensitively).
    public var transport: String
    public var priority: UInt32
    /// IP address or FQDN (mDNS ".local" names included).
    public var address: String
    public var port: UInt16
    /// host, srflx, prflx or relay.
    public var type: String
    public var relatedAddress: String?
    public var relatedPort: UInt16?
    /// For TCP candidates: active, passive or so (RFC 6544 §4.5).
    public var tcpType: String?
    /// Every `name value` pair after the type, in order, including raddr,
    /// rport and tcptype, plus extensions such as generation or ufrag.
    public var extensions: [(name: String, value: String)]

    /// Parses `candidate:...`, also accepting an `a=` prefix or no prefix at
    /// all. Returns nil when a mandatory field is missing or not a number.
    public init?(_ text: String) {
        var body = Substring(text).sdpTrimmed
        if body.hasPrefix("a=") { body = body.dropFirst(2) }
        if body.hasPrefix("candidate:") { body = body.dropFirst("candidate:".count) }
        let fields = body.sdpFields
        guard fields.count >= 8, fields[6] == "typ",
              let component = UInt8(fields[1]), let priority = UInt32(fields[3]),
              let port = UInt16(fields[5]) else { return nil }
        foundation = String(fields[0])
        self.component = component
        transport = String(fields[2])
        self.priority = priority
        address = String(fields[4])
        self.port = port
        type = String(fields[7])
        extensions = []
        var index = 8
        while index + 1 < fields.count {
            let name = String(fields[index]), value = String(fields[index + 1])
            extensions.append((name, value))
            switch name {
            case "raddr": relatedAddress = value
            case "rport": relatedPort = UInt16(value)
            case "tcptype": tcpType = value
            default: break
            }
            index += 2
        }
    }

    /// True when the address is an IPv6 literal (for c=IN IP6, RFC 8866 §5.7).
    public var isIPv6: Bool { address.contains(":") }

    public static func == (lhs: SDPCandidate, rhs: SDPCandidate) -> Bool {
        lhs.foundation == rhs.foundation && lhs.component == rhs.component && lhs.transport == rhs.transport
            && lhs.priority == rhs.priority && lhs.address == rhs.address && lhs.port == rhs.port
            && lhs.type == rhs.type && lhs.relatedAddress == rhs.relatedAddress
            && lhs.relatedPort == rhs.relatedPort && lhs.tcpType == rhs.tcpType
            && lhs.extensions.map(\.name) == rhs.extensions.map(\.name)
            && lhs.extensions.map(\.value) == rhs.extensions.map(\.value)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(foundation)
        hasher.combine(component)
        hasher.combine(address)
        hasher.combine(port)
    }
}
