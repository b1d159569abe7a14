// Offer/answer for plain RTP over UDP (the RtpEndpoint): RTP/AVP and
// RTP/AVPF profiles (RFC 3551, RFC 4585), no ICE and no DTLS. Each m-line has
// its own ports: RTP on the m= port, RTCP on a=rtcp (RFC 3605) or port + 1
// (RFC 3550 §11), or on the RTP port with a=rtcp-mux (RFC 5761).

/// Where we receive the media of one kind.
public struct PlainLocalPorts: Sendable, Equatable {
    public var rtp: UInt16
    public var rtcp: UInt16

    public init(rtp: UInt16, rtcp: UInt16) {
        self.rtp = rtp
        self.rtcp = rtcp
    }
}

/// Our side of a plain RTP session: the advertised address (c=, o=) and the
/// ports of each kind we can take.
public struct PlainLocalTransport: Sendable, Equatable {
    public var address: String
    public var audio: PlainLocalPorts?
    public var video: PlainLocalPorts?

    public init(address: String, audio: PlainLocalPorts?, video: PlainLocalPorts?) {
        self.address = address
        self.audio = audio
        self.video = video
    }

    public func ports(for kind: MediaKind) -> PlainLocalPorts? {
        switch kind {
        case .audio: return audio
        case .video: return video
        default: return nil
        }
    }
}

/// Where the peer receives the media of one accepted m-line.
public struct PlainRemoteTransport: Sendable, Equatable {
    public var kind: MediaKind
    /// The c= address (media level, else session level). "0.0.0.0" means the
    /// peer did not say; the session then learns it from the first packet.
    public var address: String
    public var rtpPort: UInt16
    public var rtcpAddress: String
    public var rtcpPort: UInt16
    public var rtcpMux: Bool
    /// SDES-SRTP: the key the peer protects this m-line's packets with.
    public var crypto: SDESCrypto?

    public init(kind: MediaKind, address: String, rtpPort: UInt16, rtcpAddress: String, rtcpPort: UInt16,
                rtcpMux: Bool, crypto: SDESCrypto? = nil) {
        self.kind = kind
        self.address = address
        self.rtpPort = rtpPort
        self.rtcpAddress = rtcpAddress
        self.rtcpPort = rtcpPort
        self.rtcpMux = rtcpMux
        self.crypto = crypto
    }
}

extension MediaDescription {
    /// True for the plain RTP profiles: "RTP/AVP" and "RTP/AVPF" (any case).
    public var isPlainRTP: Bool {
        let upper = proto.uppercased()
        return upper == "RTP/AVP" || upper == "RTP/AVPF"
    }

    /// The a=rtcp attribute (RFC 3605 §2.1): port, and address when given.
    var rtcpAttribute: (port: UInt16, address: String?)? {
        guard let value = attribute("rtcp")?.value else { return nil }
        let fields = value.sdpFields
        guard let first = fields.first, let port = UInt16(first) else { return nil }
        return (port, fields.count >= 4 ? String(fields[3]) : nil)
    }
}

extension Negotiation {
    /// What the RtpEndpoint supports: opus and VP8 with NACK, PLI, FIR and
    /// REMB; RTX only when the peer offers it (`plainOffer` never adds it);
    /// only the abs-send-time and audio level header extensions.
    public static let plainCapabilities: LocalMediaCapabilities = {
        var opus = CodecCapability.opus
        opus.feedback = []
        var vp8 = CodecCapability.vp8
        vp8.feedback = ["nack", "nack pli", "ccm fir", "goog-remb"]
        return LocalMediaCapabilities(audioCodecs: [opus], videoCodecs: [vp8],
                                      headerExtensions: [HeaderExtensionURI.absSendTime, HeaderExtensionURI.audioLevel])
    }()

    /// The peer's addresses and ports for m-line `index` (RFC 8866 §5.7,
    /// RFC 3605, RFC 5761).
    public static func plainRemoteTransport(of sdp: SessionDescription, mediaAt index: Int) throws(SDPError)
        -> PlainRemoteTransport {
        let section = sdp.media[index]
        guard let address = section.connectionAddress ?? sdp.connectionAddress, !address.isEmpty else {
            throw .missingField("c= line for m-line \(index) (\(section.kind.rawValue))")
        }
        let rtcp = section.rtcpAttribute
        let rtcpPort: UInt16
        if section.rtcpMux {
            rtcpPort = section.port
        } else if let rtcp {
            rtcpPort = rtcp.port
        } else {
            rtcpPort = section.port == UInt16.max ? section.port : section.port + 1
        }
        return PlainRemoteTransport(kind: section.kind, address: address, rtpPort: section.port,
                                    rtcpAddress: section.rtcpMux ? address : (rtcp?.address ?? address),
                                    rtcpPort: rtcpPort, rtcpMux: section.rtcpMux)
    }

    /// Answer to a plain RTP offer. Keeps the m-line order; accepts the first
    /// audio and the first video m-line with a plain RTP profile, a non-zero
    /// port and a common codec; rejects the others with port 0 (RFC 3264 §6).
    /// The answer keeps the offered profile (AVP stays AVP) and rtcp-mux when
    /// offered; otherwise it names our RTCP port with a=rtcp.
    ///
    /// With `sdes` (our key and suite) only RTP/SAVP(F) m-lines with an
    /// a=crypto line in that suite are accepted, and the answer carries our
    /// key; without it only RTP/AVP(F). Throws when nothing is usable; the
    /// message says why (profile, suite, no common codec, every m-line rejected).
    public static func plainAnswer(to offer: SessionDescription, capabilities: LocalMediaCapabilities = plainCapabilities,
                                   local: PlainLocalTransport, streams: SendPreferences, sessionID: UInt64,
                                   sdes: SDESCrypto? = nil)
        throws(SDPError) -> (answer: SessionDescription, media: [NegotiatedMedia], remote: [PlainRemoteTransport]) {
        guard !offer.media.isEmpty else { throw .noUsableMedia("the offer has no m= lines") }
        var answer = SessionDescription(sessionID: sessionID, sessionVersion: 1, originAddress: local.address,
                                        sessionName: "Tessera", connectionAddress: local.address)
        var results: [NegotiatedMedia] = []
        var remotes: [PlainRemoteTransport] = []
        var usedKinds = Set<MediaKind>()
        var reasons: [String] = []
        for (index, offered) in offer.media.enumerated() {
            let reject = { (why: String) in
                reasons.append("m-line \(index) (\(offered.kind.rawValue)): \(why)")
                var section = rejectedSection(offered)
                section.connectionAddress = nil
                answer.media.append(section)
                results.append(.rejected(index: index, section: offered))
            }
            guard offered.kind == .audio || offered.kind == .video else { reject("unsupported media kind"); continue }
            guard offered.port != 0 else { reject("port 0 (a rejected stream)"); continue }
            guard offered.isPlainRTP || offered.isSDESProfile else {
                if offered.proto.uppercased().contains("TLS") {
                    reject("profile \(SDPError.quote(offered.proto)) is DTLS-SRTP: WebRTC peers need a WebRtcEndpoint")
                } else {
                    reject("profile \(SDPError.quote(offered.proto)) is not RTP/AVP(F) or RTP/SAVP(F)")
                }
                continue
            }
            // SDES: an encrypting endpoint takes only RTP/SAVP(F) with a key in its suite, a plain one only RTP/AVP(F).
            var theirCrypto: SDESCrypto?
            if let sdes {
                guard offered.isSDESProfile else {
                    reject("this endpoint encrypts (SDES \(sdes.suite)): the offer must use RTP/SAVP or RTP/SAVPF with a=crypto")
                    continue
                }
                guard let match = offered.cryptos.first(where: { $0.suite == sdes.suite }) else {
                    let offeredSuites = offered.otherAttributes.filter { $0.name == "crypto" }.compactMap { $0.value?.sdpFields.dropFirst().first }
                    reject("no usable a=crypto line for \(sdes.suite) (offered: \(offeredSuites.isEmpty ? "none" : offeredSuites.joined(separator: ", ")))")
                    continue
                }
                theirCrypto = match
            } else if offered.isSDESProfile {
                reject("profile \(SDPError.quote(offered.proto)) needs SDES-SRTP: create the RtpEndpoint with 'crypto'")
                continue
            }
            guard !usedKinds.contains(offered.kind) else { reject("a second \(offered.kind.rawValue) m-line"); continue }
            guard let ports = local.ports(for: offered.kind) else { reject("no local port"); continue }
            guard let selection = MediaSelection(remote: offered, capabilities: capabilities) else {
                let supported = capabilities.codecs(for: offered.kind).map { "\($0.name)/\($0.clockRate)" }
                reject("no common codec; offered \(offered.codecSummary); supported \(supported.joined(separator: ", "))")
                continue
            }
            var remote = try plainRemoteTransport(of: offer, mediaAt: index)
            remote.crypto = theirCrypto
            usedKinds.insert(offered.kind)
            let direction = offered.direction.reversed.intersection(streams.maximumDirection)
            var section = MediaDescription(kind: offered.kind, port: ports.rtp, proto: offered.proto,
                                           mid: offered.mid, direction: direction, rtcpMux: offered.rtcpMux)
            if !offered.rtcpMux { section.otherAttributes.append(Attribute(name: "rtcp", value: String(ports.rtcp))) }
            if let sdes, let theirCrypto {
                // Our key, under the tag of the line we accepted (RFC 4568 §5.1.2).
                section.otherAttributes.append(Attribute(
                    name: "crypto", value: SDESCrypto(tag: theirCrypto.tag, suite: sdes.suite, keyAndSalt: sdes.keyAndSalt).attributeValue))
            }
            section.codecs = [answerCodec(selection)]
            if let rtx = selection.rtx {
                section.codecs.append(Codec(payloadType: rtx.payloadType, name: rtx.name, clockRate: rtx.clockRate,
                                            fmtp: "apt=\(selection.codec.payloadType)"))
            }
            section.formats = section.codecs.map { String($0.payloadType) }
            section.extmaps = selection.extensions.map { Extmap(id: $0.id, direction: $0.direction?.reversed, uri: $0.uri) }
            if direction.sends, let stream = streams.stream(for: offered.kind) {
                section.ssrcs = [SSRCAttribute(ssrc: stream.ssrc, name: "cname", value: stream.cname)]
            }
            answer.media.append(section)
            results.append(selection.negotiated(index: index, remote: offered, direction: direction))
            remotes.append(remote)
        }
        guard results.contains(where: \.accepted) else {
            throw .noUsableMedia(reasons.joined(separator: "; "))
        }
        return (answer, results, remotes)
    }

    /// Our plain RTP offer: one m-line per wanted kind on its own ports,
    /// RTP/AVPF, a=rtcp with the RTCP port, opus 111 and VP8 96 (no RTX), and
    /// a=ssrc cname for what we send. No rtcp-mux is offered: peers such as a
    /// bare GStreamer udpsink pipeline use separate RTCP ports.
    public static func plainOffer(capabilities: LocalMediaCapabilities = plainCapabilities, local: PlainLocalTransport,
                                  streams: SendPreferences, offerAudio: Bool, offerVideo: Bool,
                                  sessionID: UInt64, sdes: SDESCrypto? = nil) -> SessionDescription {
        var session = SessionDescription(sessionID: sessionID, sessionVersion: 1, originAddress: local.address,
                                         sessionName: "Tessera", connectionAddress: local.address)
        var payloadTypes = PayloadTypeAllocator()
        let direction = streams.maximumDirection
        var kinds: [MediaKind] = []
        if offerAudio { kinds.append(.audio) }
        if offerVideo { kinds.append(.video) }
        for kind in kinds {
            guard let ports = local.ports(for: kind) else { continue }
            var section = MediaDescription(kind: kind, port: ports.rtp, proto: sdes == nil ? "RTP/AVPF" : "RTP/SAVPF", direction: direction)
            section.otherAttributes.append(Attribute(name: "rtcp", value: String(ports.rtcp)))
            if let sdes { section.otherAttributes.append(Attribute(name: "crypto", value: sdes.attributeValue)) }
            for capability in capabilities.codecs(for: kind) {
                let staticPT = Codec.staticPayloadType(name: capability.name, clockRate: capability.clockRate)
                guard let pt = staticPT ?? payloadTypes.next(for: kind) else { break }
                section.codecs.append(Codec(payloadType: pt, name: capability.name, clockRate: capability.clockRate,
                                            channels: capability.channels, fmtp: capability.fmtp,
                                            feedback: capability.feedback))
            }
            section.formats = section.codecs.map { String($0.payloadType) }
            // The header extensions we use (RFC 8285): the audio level (RFC 6464) lets a
            // receiving mixer skip decoding the silent (a cascaded room's links carry many).
            section.extmaps = offerExtensions(capabilities.headerExtensions, kind: kind)
            if direction.sends, let stream = streams.stream(for: kind) {
                section.ssrcs = [SSRCAttribute(ssrc: stream.ssrc, name: "cname", value: stream.cname)]
            }
            session.media.append(section)
        }
        return session
    }

    /// Processes the peer's answer to our plain offer: same m-lines and
    /// kinds, a codec we offered, a plain RTP profile; port 0 rejects a line.
    public static func processPlain(answer: SessionDescription, to offer: SessionDescription,
                                    capabilities: LocalMediaCapabilities = plainCapabilities, sdes: SDESCrypto? = nil)
        throws(SDPError) -> (media: [NegotiatedMedia], remote: [PlainRemoteTransport]) {
        guard answer.media.count == offer.media.count else {
            throw .offerAnswerMismatch("\(answer.media.count) m= lines in the answer, \(offer.media.count) offered")
        }
        var results: [NegotiatedMedia] = []
        var remotes: [PlainRemoteTransport] = []
        for (index, answered) in answer.media.enumerated() {
            let offered = offer.media[index]
            guard answered.kind == offered.kind else {
                throw .offerAnswerMismatch("m-line \(index) is \(answered.kind.rawValue), offered \(offered.kind.rawValue)")
            }
            guard answered.port != 0 else {
                results.append(.rejected(index: index, section: answered))
                continue
            }
            var theirCrypto: SDESCrypto?
            if let sdes {
                guard answered.isSDESProfile else {
                    throw .unsupported("profile '\(SDPError.quote(answered.proto))' in the answer's m-line \(index); offered RTP/SAVPF")
                }
                guard let match = answered.cryptos.first(where: { $0.suite == sdes.suite }) else {
                    throw .unsupported("no usable a=crypto line for \(sdes.suite) in the answer's m-line \(index)")
                }
                theirCrypto = match
            } else if !answered.isPlainRTP {
                throw .unsupported("profile '\(SDPError.quote(answered.proto))' in the answer's m-line \(index); offered RTP/AVPF")
            }
            let ours: (Codec) -> Bool = { codec in
                offered.codec(payloadType: codec.payloadType).map { $0.matches(name: codec.name) } ?? false
            }
            guard let selection = MediaSelection(remote: answered, capabilities: capabilities, allowed: ours) else {
                results.append(.rejected(index: index, section: answered))
                continue
            }
            var remote = try plainRemoteTransport(of: answer, mediaAt: index)
            remote.crypto = theirCrypto
            remotes.append(remote)
            let direction = answered.direction.reversed.intersection(offered.direction)
            results.append(selection.negotiated(index: index, remote: answered, direction: direction))
        }
        guard results.contains(where: \.accepted) else {
            throw .noUsableMedia("the answer accepts no m= line with a codec we offered")
        }
        return (results, remotes)
    }
}
