// JSEP answer to a remote offer (RFC 8829 §5.3.1, RFC 3264 §6).

/// Offer/answer for the WebRtcEndpoint. All functions are pure.
public enum Negotiation {
    /// JSEP answer to a remote offer. Keeps the offer's m-line order and mids
    /// and puts every accepted mid in one BUNDLE group (RFC 8843 §7.3).
    /// Our DTLS role follows RFC 8842 §5.3: passive for actpass (we are the
    /// DTLS server), active for passive, passive for active.
    ///
    /// Rejected m-lines (port 0, still listed, RFC 3264 §6): kinds other
    /// than audio/video (data channels are not supported yet), non DTLS-SRTP
    /// protocols, m-lines without a common codec, a second m-line of a kind
    /// (the endpoint handles one audio and one video stream), and m-lines
    /// outside the BUNDLE group we use.
    ///
    /// Throws when no m-line is usable, when the offer lacks ICE credentials
    /// or a fingerprint, or when accepted media are not rtcp-mux (RFC 8858;
    /// browsers require it too).
    public static func answer(to offer: SessionDescription, capabilities: LocalMediaCapabilities,
                              transport: TransportParameters, streams: SendPreferences,
                              sessionID: UInt64) throws(SDPError) -> (answer: SessionDescription, media: [NegotiatedMedia]) {
        guard !offer.media.isEmpty else { throw .noUsableMedia("the offer has no m= lines") }
        var selections = selectMedia(in: offer, capabilities: capabilities)
        let dataIndex = capabilities.dataChannels ? dataChannelIndex(in: offer) : nil
        let acceptedIndices = selections.indices.filter { selections[$0] != nil || $0 == dataIndex }
        guard let first = acceptedIndices.first else {
            let offered = offer.media.map(\.codecSummary).joined(separator: "; ")
            let supported = (capabilities.audioCodecs + capabilities.videoCodecs)
                .map { "\($0.name)/\($0.clockRate)" }.joined(separator: ", ")
            throw .noUsableMedia("no common codec; offered \(offered); supported \(supported)")
        }

        // BUNDLE (RFC 8843 §7.3.1): we can only bundle mids the offerer put in
        // one group; with a single transport, anything else is rejected.
        var bundle: [String] = []
        var data = dataIndex
        if let firstMid = offer.media[first].mid, let group = offer.bundleGroup(containing: firstMid) {
            for index in acceptedIndices {
                if let mid = offer.media[index].mid, group.contains(mid) { bundle.append(mid) } else {
                    selections[index] = nil
                    if index == data { data = nil }
                }
            }
        } else if acceptedIndices.count > 1 {
            throw .unsupported("offer with several media but no BUNDLE group (RFC 8843); Tessera uses one transport")
        }
        let accepted = selections.indices.filter { selections[$0] != nil }
        guard !accepted.isEmpty || data != nil else { throw .noUsableMedia("no m-line is in the BUNDLE group") }

        let transportIndex = remoteTransportIndex(of: offer, active: (accepted + (data.map { [$0] } ?? [])).sorted())
        try requireTransport(offer, mediaAt: transportIndex)
        for index in accepted { try requireRTCPMux(offer, mediaAt: index) }
        let offeredSetup = offer.effectiveSetup(mediaAt: transportIndex)
        if offeredSetup == .holdconn { throw .unsupported("a=setup:holdconn (RFC 4145 §4)") }
        let role = SetupRole.answering(offeredSetup)

        var answer = SessionDescription(sessionID: sessionID, sessionVersion: 1, iceLite: transport.iceLite,
                                        otherAttributes: [Attribute(name: "msid-semantic", value: "WMS *")])
        if !bundle.isEmpty { answer.bundleGroups = [bundle] }
        var results: [NegotiatedMedia] = []
        let endpoint = TransportEndpoint(transport)
        for (index, offered) in offer.media.enumerated() {
            if index == data {
                var section = MediaDescription(kind: .application, proto: offered.proto, formats: offered.formats,
                                               mid: offered.mid, direction: .sendrecv)
                endpoint.apply(to: &section, setup: role)
                section.otherAttributes += dataChannelAttributes(legacy: offered.proto == "DTLS/SCTP")
                answer.media.append(section)
                results.append(negotiatedData(index: index, remote: offered))
                continue
            }
            guard let selection = selections[index] else {
                answer.media.append(rejectedSection(offered))
                results.append(.rejected(index: index, section: offered))
                continue
            }
            let direction = offered.direction.reversed.intersection(streams.maximumDirection)
            var section = MediaDescription(kind: offered.kind, proto: offered.proto, mid: offered.mid,
                                           direction: direction, rtcpMux: true, rtcpRsize: offered.rtcpRsize)
            endpoint.apply(to: &section, setup: role)
            section.codecs = [answerCodec(selection)]
            if let rtx = selection.rtx {
                section.codecs.append(Codec(payloadType: rtx.payloadType, name: rtx.name,
                                            clockRate: rtx.clockRate, fmtp: "apt=\(selection.codec.payloadType)"))
            }
            section.formats = section.codecs.map { String($0.payloadType) }
            // The offerer's ids (RFC 8285 §6); a directional mapping is
            // mirrored like the media direction.
            section.extmaps = selection.extensions.map {
                Extmap(id: $0.id, direction: $0.direction?.reversed, uri: $0.uri)
            }
            if direction.sends, let stream = streams.stream(for: offered.kind) {
                announce(stream, rtx: selection.rtx != nil, in: &section)
            }
            if direction.receives, offered.kind == .video { acceptSimulcast(offered, selection: selection, in: &section) }
            answer.media.append(section)
            results.append(selection.negotiated(index: index, remote: offered, direction: direction))
        }
        return (answer, results)
    }

    /// Our SCTP port (RFC 8841 §5) and the largest message we take (§6).
    public static let sctpPort: UInt16 = 5000
    public static let maxMessageSize = 262_144

    /// The first data channel m-line of an offer: `UDP/DTLS/SCTP` (or the
    /// older `DTLS/SCTP`) with `webrtc-datachannel`, not rejected.
    static func dataChannelIndex(in offer: SessionDescription) -> Int? {
        offer.media.indices.first { i in
            let m = offer.media[i]
            return m.kind == .application && offer.isActive(mediaAt: i)
                && (m.proto == "UDP/DTLS/SCTP" || m.proto == "TCP/DTLS/SCTP" || m.proto == "DTLS/SCTP")
                && (m.formats.contains("webrtc-datachannel") || m.proto == "DTLS/SCTP")
        }
    }

    /// `a=sctp-port` and `a=max-message-size` (RFC 8841); the pre-standard
    /// `DTLS/SCTP` form names the port in `a=sctpmap` instead.
    static func dataChannelAttributes(legacy: Bool) -> [Attribute] {
        legacy
            ? [Attribute(name: "sctpmap", value: "\(sctpPort) webrtc-datachannel 1024"), Attribute(name: "max-message-size", value: "\(maxMessageSize)")]
            : [Attribute(name: "sctp-port", value: "\(sctpPort)"), Attribute(name: "max-message-size", value: "\(maxMessageSize)")]
    }

    /// What was agreed for a data m-line: the peer's SCTP port (5000 when it
    /// names none, RFC 8841 §5) and its largest message (64 KiB when unsaid, §6.1).
    static func negotiatedData(index: Int, remote: MediaDescription) -> NegotiatedMedia {
        var m = NegotiatedMedia(mid: remote.mid ?? String(index), kind: .application, index: index, accepted: true, direction: .sendrecv)
        let sctpmapPort = remote.attribute("sctpmap")?.value?.split(separator: " ").first.flatMap { UInt16($0) }
        m.sctpPort = remote.attribute("sctp-port")?.value.flatMap { UInt16($0) } ?? sctpmapPort ?? sctpPort
        m.maxMessageSize = remote.attribute("max-message-size")?.value.flatMap { Int($0) } ?? 65_536
        return m
    }

    /// Per m-line selection; nil for m-lines we reject before BUNDLE rules.
    static func selectMedia(in offer: SessionDescription,
                            capabilities: LocalMediaCapabilities) -> [MediaSelection?] {
        var usedKinds = Set<MediaKind>()
        return offer.media.indices.map { index -> MediaSelection? in
            let section = offer.media[index]
            guard offer.isActive(mediaAt: index), section.kind == .audio || section.kind == .video,
                  section.isSecureRTP, !usedKinds.contains(section.kind),
                  let selection = MediaSelection(remote: section, capabilities: capabilities) else { return nil }
            usedKinds.insert(section.kind)
            return selection
        }
    }

    /// The codec line of the answer: the offerer's payload type and name,
    /// our fmtp when we have one (it states what we want to receive), and the
    /// common feedback.
    static func answerCodec(_ selection: MediaSelection) -> Codec {
        var codec = selection.codec
        if let fmtp = selection.capability.fmtp { codec.fmtp = fmtp }
        return codec
    }

    /// A rejected m-line: port 0, same kind and proto, the offered formats,
    /// and the mid so the peer can match it (RFC 3264 §6, RFC 8829 §5.3.1).
    static func rejectedSection(_ offered: MediaDescription) -> MediaDescription {
        MediaDescription(kind: offered.kind, port: 0, proto: offered.proto,
                         formats: offered.formats.isEmpty ? ["0"] : offered.formats,
                         connectionAddress: "0.0.0.0", mid: offered.mid, direction: .inactive)
    }

    /// Receives the offer's simulcast streams (RFC 8853 §5.3): a `rid:<id>
    /// recv` line per stream and `simulcast:recv` with the same list, when
    /// the rid extension (RFC 8852) was agreed so that packets can be told
    /// apart. Otherwise the peer sends a single stream.
    static func acceptSimulcast(_ offered: MediaDescription, selection: MediaSelection, in section: inout MediaDescription) {
        let rids = offered.offeredSimulcastRIDs
        guard !rids.isEmpty, selection.extensions.contains(where: { $0.uri == HeaderExtensionURI.rtpStreamID }) else { return }
        for rid in rids { section.otherAttributes.append(Attribute(name: "rid", value: "\(rid) recv")) }
        let streams = SimulcastStreams(streams: rids.map { ([$0], false) })
        section.otherAttributes.append(Attribute(name: "simulcast", value: SimulcastDescription(recv: streams).serialized))
    }

    /// a=msid plus a=ssrc cname/msid lines, and ssrc-group:FID for RTX
    /// (RFC 8830 §2, RFC 5576 §4, RFC 4588 §8.3).
    static func announce(_ stream: LocalStream, rtx: Bool, in section: inout MediaDescription) {
        let msid = "\(stream.streamID) \(stream.trackID)"
        section.msid = msid
        var ssrcs = [stream.ssrc]
        if rtx, let rtxSSRC = stream.rtxSSRC, rtxSSRC != stream.ssrc {
            ssrcs.append(rtxSSRC)
            section.ssrcGroups = [SSRCGroup(semantics: "FID", ssrcs: ssrcs)]
        }
        for ssrc in ssrcs {
            section.ssrcs.append(SSRCAttribute(ssrc: ssrc, name: "cname", value: stream.cname))
            section.ssrcs.append(SSRCAttribute(ssrc: ssrc, name: "msid", value: msid))
        }
    }
}

/// Our transport identity as written into each accepted m-line.
struct TransportEndpoint {
    let transport: TransportParameters
    let port: UInt16
    let address: String

    /// The m= port and c= address come from our first candidate; without
    /// candidates (trickle) they are the placeholders 9 and 0.0.0.0
    /// (RFC 8840 §4.1.1, RFC 8829 §5.2.1).
    init(_ transport: TransportParameters) {
        self.transport = transport
        if let first = transport.candidates.lazy.compactMap(SDPCandidate.init).first {
            port = first.port
            address = first.address
        } else {
            port = 9
            address = "0.0.0.0"
        }
    }

    /// Bundled m-lines all carry the same transport attributes and
    /// candidates, as browsers write them.
    func apply(to section: inout MediaDescription, setup: SetupRole) {
        section.port = port
        section.connectionAddress = address
        section.iceUfrag = transport.iceUfrag
        section.icePwd = transport.icePwd
        section.iceOptions = transport.iceOptions
        section.fingerprints = [transport.fingerprint]
        section.setup = setup
        section.candidates = transport.candidates.map { text in
            let body = Substring(text).sdpTrimmed
            let bare = body.hasPrefix("a=") ? body.dropFirst(2) : body
            return bare.hasPrefix("candidate:") ? String(bare) : "candidate:" + bare
        }
        section.endOfCandidates = transport.endOfCandidates
    }
}
