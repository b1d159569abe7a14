// Our own offer (RFC 8829 §5.2.1) and processing the peer's answer to it
// (RFC 8829 §5.3, RFC 3264 §7).

extension Negotiation {
    /// Our offer: an audio and/or a video m-line, BUNDLE, rtcp-mux,
    /// rtcp-rsize, setup:actpass (RFC 8842 §5.2), our payload types (opus
    /// 111, VP8 96 with rtx 97; further codecs get the next free numbers),
    /// and extmaps with ids in capability order.
    public static func offer(capabilities: LocalMediaCapabilities, transport: TransportParameters,
                             streams: SendPreferences, offerAudio: Bool, offerVideo: Bool,
                             sessionID: UInt64) -> SessionDescription {
        var session = SessionDescription(sessionID: sessionID, sessionVersion: 1, iceLite: transport.iceLite,
                                         otherAttributes: [Attribute(name: "msid-semantic", value: "WMS *")])
        var payloadTypes = PayloadTypeAllocator()
        let endpoint = TransportEndpoint(transport)
        let direction = streams.maximumDirection
        var kinds: [MediaKind] = []
        if offerAudio { kinds.append(.audio) }
        if offerVideo { kinds.append(.video) }
        for kind in kinds {
            let mid = String(session.media.count)
            var section = MediaDescription(kind: kind, mid: mid, direction: direction, rtcpMux: true, rtcpRsize: true)
            endpoint.apply(to: &section, setup: .actpass)
            var hasRTX = false
            for capability in capabilities.codecs(for: kind) {
                let staticPT = Codec.staticPayloadType(name: capability.name, clockRate: capability.clockRate)
                guard let pt = staticPT ?? payloadTypes.next(for: kind) else { break }
                section.codecs.append(Codec(payloadType: pt, name: capability.name, clockRate: capability.clockRate,
                                            channels: capability.channels, fmtp: capability.fmtp,
                                            feedback: capability.feedback))
                if capability.rtx, let rtxPT = payloadTypes.next(for: kind) {
                    section.codecs.append(Codec(payloadType: rtxPT, name: "rtx", clockRate: capability.clockRate,
                                                fmtp: "apt=\(pt)"))
                    hasRTX = true
                }
            }
            section.formats = section.codecs.map { String($0.payloadType) }
            // The rid extensions only serve simulcast we receive, which we never offer.
            let simulcastOnly = [HeaderExtensionURI.rtpStreamID, HeaderExtensionURI.repairedRtpStreamID]
            section.extmaps = offerExtensions(capabilities.headerExtensions.filter { !simulcastOnly.contains($0) }, kind: kind)
            if direction.sends, let stream = streams.stream(for: kind) {
                announce(stream, rtx: hasRTX, in: &section)
            }
            session.media.append(section)
        }
        if capabilities.dataChannels {
            // A data channel m-line (RFC 8841) in the same BUNDLE group.
            var section = MediaDescription(kind: .application, proto: "UDP/DTLS/SCTP", formats: ["webrtc-datachannel"],
                                           mid: String(session.media.count), direction: .sendrecv)
            endpoint.apply(to: &section, setup: .actpass)
            section.otherAttributes += dataChannelAttributes(legacy: false)
            session.media.append(section)
        }
        if !session.media.isEmpty { session.bundleGroups = [session.media.compactMap(\.mid)] }
        return session
    }

    /// Header extension ids: the position in the capability list + 1, so a
    /// URI has the same id on every m-line (required within a BUNDLE group,
    /// RFC 8843 §9.1.2), limited to the one-byte range 1-14 (RFC 8285 §4.2).
    static func offerExtensions(_ uris: [String], kind: MediaKind) -> [Extmap] {
        var result: [Extmap] = []
        for (position, uri) in uris.enumerated() where position < 14 {
            if uri == HeaderExtensionURI.audioLevel && kind != .audio { continue }
            if kind == .audio && isVideoOnlyExtension(uri) { continue }
            result.append(Extmap(id: UInt8(position + 1), uri: uri))
        }
        return result
    }

    static func isVideoOnlyExtension(_ uri: String) -> Bool {
        uri.hasPrefix("urn:3gpp:video-orientation") || uri.hasSuffix("rtp-hdrext:toffset")
            || uri.contains("playout-delay") || uri.contains("video-content-type") || uri.contains("video-timing")
            || uri.contains("color-space") || uri.contains("dependency-descriptor")
    }

    /// Processes the peer's answer to `offer`. Returns one record per m-line,
    /// like `answer(to:)`. Codecs, RTX and extension ids come from the answer
    /// (a compliant answer reuses our numbers, RFC 8829 §5.3.1), restricted
    /// to payload types we offered with the same encoding name.
    public static func process(answer: SessionDescription, to offer: SessionDescription,
                               capabilities: LocalMediaCapabilities) throws(SDPError) -> [NegotiatedMedia] {
        guard answer.media.count == offer.media.count else {
            throw .offerAnswerMismatch("\(answer.media.count) m= lines in the answer, \(offer.media.count) offered")
        }
        var results: [NegotiatedMedia] = []
        for (index, answered) in answer.media.enumerated() {
            let offered = offer.media[index]
            guard answered.kind == offered.kind else {
                throw .offerAnswerMismatch("m-line \(index) is \(answered.kind.rawValue), offered \(offered.kind.rawValue)")
            }
            if let mid = answered.mid, let ourMid = offered.mid, mid != ourMid {
                throw .offerAnswerMismatch("m-line \(index) has mid '\(SDPError.quote(mid))', offered '\(ourMid)'")
            }
            if offered.kind == .application {
                let usable = answer.isActive(mediaAt: index) && offer.isActive(mediaAt: index) && capabilities.dataChannels
                    && answered.proto.hasSuffix("DTLS/SCTP")
                results.append(usable ? negotiatedData(index: index, remote: answered) : .rejected(index: index, section: answered))
                continue
            }
            let ours: (Codec) -> Bool = { codec in
                offered.codec(payloadType: codec.payloadType).map { $0.matches(name: codec.name) } ?? false
            }
            guard answer.isActive(mediaAt: index), offer.isActive(mediaAt: index),
                  let selection = MediaSelection(remote: answered, capabilities: capabilities, allowed: ours) else {
                results.append(.rejected(index: index, section: answered))
                continue
            }
            try requireRTCPMux(answer, mediaAt: index)
            // The answer states the peer's direction; ours is its mirror,
            // never more than we offered (RFC 3264 §6.1).
            let direction = answered.direction.reversed.intersection(offered.direction)
            var record = selection.negotiated(index: index, remote: answered, direction: direction)
            if record.mid.isEmpty, let mid = offered.mid { record.mid = mid }
            results.append(record)
        }
        guard results.contains(where: \.accepted) else {
            throw .noUsableMedia("the answer accepts no m= line with a codec we offered")
        }
        return results
    }
}

/// Hands out dynamic payload types (RFC 3551 §6: 96-127), keeping audio and
/// video apart so a number means one codec across the BUNDLE group (RFC 8843
/// §9.1.1). 35-63 is the overflow range browsers also use; 64-95 is avoided
/// because it clashes with RTCP packet types under rtcp-mux (RFC 5761 §4).
struct PayloadTypeAllocator {
    private var used = Set<UInt8>()

    mutating func next(for kind: MediaKind) -> UInt8? {
        let preferred: [ClosedRange<UInt8>] = kind == .audio ? [111...127, 35...63] : [96...110, 35...63]
        for range in preferred {
            for pt in range where !used.contains(pt) {
                used.insert(pt)
                return pt
            }
        }
        return nil
    }
}
