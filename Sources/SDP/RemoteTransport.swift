// The peer's ICE and DTLS parameters, and the transport checks negotiation
// applies to them (RFC 8839 ICE, RFC 8842 DTLS, RFC 8843 BUNDLE, RFC 8858).

extension Negotiation {
    /// The remote's ICE credentials, fingerprints and DTLS role, taken from
    /// the m-line that carries the BUNDLE transport (the first mid of the
    /// BUNDLE group, RFC 8843 §7.2.1), else from the first active m-line;
    /// media-level values override session-level ones. Candidates are listed
    /// for every active m-line with the mid and index they belong to.
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
        var candidates: [(mid: String?, index: Int, candidate: String)] = []
        for activeIndex in active {
            let section = sdp.media[activeIndex]
            for candidate in section.candidates { candidates.append((section.mid, activeIndex, candidate)) }
        }
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
