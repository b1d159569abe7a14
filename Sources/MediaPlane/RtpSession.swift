import Foundation
package import Logging
package import Mixer
package import RTP
package import SDP
package import Transport

/// The RTP/RTCP half every SDP endpoint shares, on its pipeline's media loop:
/// negotiated payload types, forwarding to consumers, rewriting into our own
/// streams as a consumer, NACK/retransmission, PLI/FIR, REMB, sender and
/// receiver reports, media flow and media state events, and getStats.
///
/// Subclasses plug in the two things that differ: the datagram transport
/// (`sendDatagram`/`sendRTCPDatagram`, and calling `receivePacket` for what
/// arrives) and the packet protection (`protection`: SRTP for WebRTC once
/// DTLS gave keys, `NoProtection` for plain RTP). While `protection` is nil
/// nothing is sent or taken.
package class RtpSession: MediaNode {
    /// A failed processAnswer as the kmd reports it: our own errors as they are,
    /// SDP problems and anything else as SDP_END_POINT_PROCESS_ANSWER_ERROR.
    package static func answerError(_ error: any Error) -> NegotiationError {
        if let e = error as? NegotiationError { return e }
        if let e = error as? SDPError {
            return NegotiationError(.processAnswer, "Error processing answer: \(e.description)")
        }
        return NegotiationError(.processAnswer, "Error processing answer: \(error)")
    }

    /// Our outgoing stream of one kind, rewritten from whichever source feeds it.
    package struct OutStream {
        var ssrc: UInt32
        var payloadType: UInt8 = 0
        var clockRate: UInt32
        var negotiated = false
        var lastSeq: UInt16 = UInt16.random(in: 0...0x7FFF)
        var lastTimestamp: UInt32 = UInt32.random(in: 0...0x7FFF_FFFF)
        var seqDelta: UInt16 = 0
        var timestampDelta: UInt32 = 0
        /// The source SSRC the deltas were computed for; nil forces a recompute.
        var sourceSSRC: UInt32?
        var packets: UInt64 = 0
        var bytes: UInt64 = 0
        /// VP8 PictureID and TL0PICIDX continuity across sources (RFC 7741 §4.2):
        /// what we last sent, and what to add to the current source's values.
        var lastPictureID: UInt16 = UInt16.random(in: 0...0x7FFF)
        var pictureIDDelta: UInt16 = 0
        var lastTL0: UInt8 = UInt8.random(in: 0...0xFF)
        var tl0Delta: UInt8 = 0
        var pictureSynced = false
        /// Our sequence number of the first packet from the current source:
        /// packets before it are not resent (the viewer starts over at that
        /// keyframe; resending the old source would only fill its link).
        var sourceStartSeq: UInt16?
        /// The newest sequence number seen from the current source (forwarded
        /// or dropped by the temporal cap), and packets dropped by that cap.
        var highestSourceSeq: UInt16?
        var temporalDropped: UInt64 = 0
        /// VP8: whether a keyframe of the current source has reached this viewer,
        /// and when we last asked the source for one while it had not.
        var keyframeSent = false
        var lastKeyframeAsk: Duration?

        /// Notes a sequence number of the current source; true when it is the newest yet.
        mutating func noteSourceSequence(_ seq: UInt16) -> Bool {
            guard let highest = highestSourceSeq, Int16(bitPattern: seq &- highest) > 0 else { return false }
            highestSourceSeq = seq
            return true
        }
    }

    package let context: MediaContext
    package let logger: Logger
    /// What this endpoint may do (recvonly / sendonly constructor params).
    package let allowSend: Bool
    package let allowReceive: Bool
    package var localSDP: String?
    package var remoteSDP: String?
    /// Our offer (generateOffer), until the answer comes.
    private(set) var offerSent: SessionDescription?
    /// Set once keys (or the absence of any) are known.
    package var protection: (any PacketProtection)?
    package var media: [NegotiatedMedia] = []
    private var kindByPayloadType: [UInt8: MediaKindKey] = [:]
    /// The peer's RTX payload type for video, when negotiated (RFC 4588).
    package var rtxPayloadType: UInt8?
    /// The simulcast layers the peer sends us, when it sends simulcast video.
    package var simulcast: SimulcastIngress?
    /// Our video is VP8 (its payload descriptor is rewritten on source switches).
    package var videoIsVP8 = false
    /// What this peer can take as a viewer, from its reports (Simulcast.swift).
    package var viewerBandwidth = ViewerBandwidth()
    /// Transport-wide numbering of what we send and the delay-based detector
    /// reading the peer's feedback about it; nil unless transport-cc was negotiated.
    package var sendSide: SendSideEstimator?
    /// Video waiting to leave at the pacing rate (viewers with a send-side estimate).
    package var pacer = Pacer()
    var pacerTimer: LoopTimer?
    var pacerArmed = false
    /// Extension ids in the packets this peer sends us, and in those we send it.
    package let incomingExtensions = ExtensionMap()
    package let outgoingExtensions = ExtensionMap()
    private var remoteSSRC: [UInt32?] = [nil, nil]
    private var out: [OutStream]
    private var flowingIn = [false, false]
    private var flowingOut = [false, false]
    package var lastKeyframeRequest: Duration?
    package var rtcp = RTCPState()
    package var cnameForReports: String { cname }
    package var droppedDatagrams: UInt64 = 0
    /// When the last packet that passed `protection` arrived (on the `now`
    /// scale): the peer's proof of life for consent (WebRtcSession).
    package var lastAuthenticatedReceive: Duration = .zero
    private var inPackets: [UInt64] = [0, 0]
    private var inBytes: [UInt64] = [0, 0]
    /// What `flushMetrics` already added to the context's counters, per kind.
    private var reported: (inPackets: [UInt64], inBytes: [UInt64], outPackets: [UInt64], outBytes: [UInt64]) = ([0, 0], [0, 0], [0, 0], [0, 0])
    /// Feedback counters as last added to /metrics: NACK, PLI sent; NACK, PLI, FIR received; resent plain, RTX.
    private var reportedFeedback: [UInt64] = [0, 0, 0, 0, 0, 0, 0]
    private(set) var connected = false
    package var sessionStarted = false
    /// BaseRtpEndpoint / SdpEndpoint settings (set from the signalling plane).
    package var bandwidth = VideoBandwidthLimits()
    package var maxAudioRecvKbps = 0
    package var rembParams = REMBParameters()
    /// Largest RTP packet we would produce ourselves; forwarded packets keep
    /// the size their sender chose (we never repacketize them).
    package var mtu = 1200
    package let cname = String(UUID().uuidString.prefix(16)).lowercased()
    /// Our RTX stream for video (RFC 4588 §4): its SSRC and next sequence number.
    package let videoRTXSSRC = UInt32.random(in: 1...UInt32.max)
    package var rtxSequence = UInt16.random(in: 0...0x7FFF)
    package let streamID = UUID().uuidString.lowercased()
    /// Speech activity of the audio this peer sends, from its RFC 6464 levels
    /// (Tessera's `SpeakingChanged` event; rooms use it in SFU mode).
    package var speech = SpeakingDetector()
    package var speechReported: Duration = .zero
    /// One buffer for protecting outgoing packets; the loop is single threaded.
    private var scratch = [UInt8](repeating: 0, count: 1500 + SRTPSession.maxTrailer + 16)

    package init(loop: MediaLoop, objectID: String, context: MediaContext, allowSend: Bool, allowReceive: Bool) {
        self.context = context
        self.allowSend = allowSend
        self.allowReceive = allowReceive
        var l = context.logger
        l[metadataKey: "element"] = "\(objectID.suffix(60))"
        self.logger = l
        out = [
            OutStream(ssrc: UInt32.random(in: 1...UInt32.max), clockRate: 48000),
            OutStream(ssrc: UInt32.random(in: 1...UInt32.max), clockRate: 90000),
        ]
        super.init(loop: loop, objectID: objectID)
        rtcp.origin = loop.clock.now
    }

    package var isNegotiated: Bool { remoteSDP != nil }

    // MARK: Negotiation: each transport implements these (SdpEndpoint methods).

    package func processOffer(_ text: String) throws(NegotiationError) -> String {
        throw NegotiationError(.notImplemented, "processOffer is not implemented by this endpoint")
    }

    package func generateOffer(audio: Bool, video: Bool) throws(NegotiationError) -> String {
        throw NegotiationError(.notImplemented, "generateOffer is not implemented by this endpoint")
    }

    package func processAnswer(_ text: String) throws(NegotiationError) -> String {
        throw NegotiationError(.notImplemented, "processAnswer is not implemented by this endpoint")
    }

    /// Whether this transport answers NACKs with RTX (RFC 4588) when the peer
    /// negotiated it: our SDP then announces `videoRTXSSRC` (ssrc-group:FID).
    package var sendsRTX: Bool { false }

    package var sendPreferences: SendPreferences {
        SendPreferences(
            audio: LocalStream(ssrc: out[0].ssrc, cname: cname, streamID: streamID, trackID: "\(streamID)-audio"),
            video: LocalStream(ssrc: out[1].ssrc, rtxSSRC: sendsRTX ? videoRTXSSRC : nil, cname: cname, streamID: streamID,
                               trackID: "\(streamID)-video"),
            allowSend: allowSend, allowReceive: allowReceive)
    }

    /// `description` with b=AS (RFC 8866 §5.8) on each m-line we receive on,
    /// when a maximum receive bandwidth is set for its kind (Kurento's
    /// maxVideoRecvBandwidth / maxAudioRecvBandwidth).
    /// Throws unless neither an offer was processed nor one generated yet.
    package func ensureNotNegotiated() throws(NegotiationError) {
        guard !isNegotiated, offerSent == nil else { throw NegotiationError(.alreadyNegotiated, "Endpoint already negotiated") }
    }

    /// The offer an answer may now be processed against.
    package func offerAwaitingAnswer() throws(NegotiationError) -> SessionDescription {
        guard let offer = offerSent else { throw NegotiationError(.noOfferGenerated, "No offer was generated") }
        guard !isNegotiated else { throw NegotiationError(.answerAlreadyProcessed, "Answer already processed") }
        return offer
    }

    /// Keeps our answer (`isOffer` false) or offer as the local description,
    /// with the bandwidth lines added, and returns its text.
    package func keepLocal(_ description: SessionDescription, isOffer: Bool) -> String {
        let described = withBandwidth(description)
        if isOffer { offerSent = described }
        let text = described.serialize()
        localSDP = text
        return text
    }

    package func withBandwidth(_ description: SessionDescription) -> SessionDescription {
        var d = description
        for i in d.media.indices where d.media[i].port != 0 && d.media[i].direction.receives {
            let kbps = switch d.media[i].kind {
            case .video: bandwidth.maxRecvKbps
            case .audio: maxAudioRecvKbps
            default: 0
            }
            if kbps > 0 { d.media[i].bandwidthAS = UInt32(kbps) }
        }
        return d
    }

    package func apply(_ negotiated: [NegotiatedMedia]) {
        media = negotiated
        for m in negotiated where m.accepted {
            // One id per URI across the bundle; we send what we receive with the same ids.
            if let id = m.extensions[HeaderExtensionURI.absSendTime] {
                incomingExtensions.absSendTime = id
                outgoingExtensions.absSendTime = id
            }
            if let id = m.extensions[HeaderExtensionURI.audioLevel] {
                incomingExtensions.audioLevel = id
                outgoingExtensions.audioLevel = id
            }
            if m.transportCC, let id = m.extensions[HeaderExtensionURI.transportWideCC] {
                incomingExtensions.transportSequence = id
                rtcp.transportCCEnabled = true
                // Send side too: what we send carries the numbers the peer's feedback is about.
                if allowSend {
                    outgoingExtensions.transportSequence = id
                    if sendSide == nil { sendSide = SendSideEstimator() }
                }
            }
            guard let kind: MediaKindKey = m.kind == .audio ? .audio : (m.kind == .video ? .video : nil), let codec = m.codec else { continue }
            kindByPayloadType[codec.payloadType] = kind
            out[kind.rawValue].payloadType = codec.payloadType
            out[kind.rawValue].clockRate = codec.clockRate
            out[kind.rawValue].negotiated = m.direction == .sendrecv || m.direction == .sendonly
            remoteSSRC[kind.rawValue] = m.remoteSSRCs.first
            if kind == .video {
                videoIsVP8 = codec.name.lowercased() == "vp8"
                if !m.simulcastRIDs.isEmpty {
                    simulcast = SimulcastIngress(
                        rids: m.simulcastRIDs, ridExtension: m.extensions[HeaderExtensionURI.rtpStreamID],
                        repairedRidExtension: m.extensions[HeaderExtensionURI.repairedRtpStreamID])
                } else if !m.simulcastSSRCs.isEmpty {
                    simulcast = SimulcastIngress(ssrcs: m.simulcastSSRCs, rtxPairs: m.remoteRTXPairs)
                }
                rtcp.nackEnabled = m.nack
                rtcp.rembEnabled = m.remb
                if let rtx = m.rtxPayloadType { rtxPayloadType = rtx }
            }
        }
    }
    package func setConnectionState(connected: Bool) {
        guard connected != self.connected else { return }
        context.raise(.connection(connected: connected), on: objectID)
        self.connected = connected
    }
    // MARK: State used by the packet path (RtpSession+Packets.swift, RtpSession+RTCP.swift)

    package var remoteVideoSSRC: UInt32? { remoteSSRC[MediaKindKey.video.rawValue] }
    package var remoteAudioSSRC: UInt32? { remoteSSRC[MediaKindKey.audio.rawValue] }
    package var scratchCapacity: Int { scratch.count }

    package func kind(ofPayloadType pt: UInt8) -> MediaKindKey? { kindByPayloadType[pt] }
    package func noteRemoteSSRC(_ ssrc: UInt32, kind: MediaKindKey) {
        if remoteSSRC[kind.rawValue] != ssrc { remoteSSRC[kind.rawValue] = ssrc }
    }
    package func flowing(in kind: MediaKindKey) -> Bool { flowingIn[kind.rawValue] }
    package func setFlowing(in kind: MediaKindKey) { flowingIn[kind.rawValue] = true }
    package func flowing(out kind: MediaKindKey) -> Bool { flowingOut[kind.rawValue] }
    package func setFlowing(out kind: MediaKindKey) { flowingOut[kind.rawValue] = true }
    package func countIn(_ kind: MediaKindKey, bytes: Int) {
        inPackets[kind.rawValue] &+= 1
        inBytes[kind.rawValue] &+= UInt64(bytes)
    }
    package func canSend(_ kind: MediaKindKey) -> Bool { out[kind.rawValue].negotiated }
    package func outStream(_ kind: MediaKindKey) -> OutStream { out[kind.rawValue] }
    package func setOutStream(_ s: OutStream, _ kind: MediaKindKey) { out[kind.rawValue] = s }
    package func withScratch<T>(_ body: (UnsafeMutableRawBufferPointer) -> T) -> T { scratch.withUnsafeMutableBytes(body) }
    /// Sends one protected RTP datagram of `kind` to the peer (the subclass's transport).
    package func sendDatagram(_ bytes: UnsafeRawBufferPointer, kind: MediaKindKey) {}
    /// Sends one protected RTCP datagram; the same path unless the transport
    /// has RTCP ports of its own. `kind` nil: a report about the whole session.
    package func sendRTCPDatagram(_ bytes: UnsafeRawBufferPointer, kind: MediaKindKey?) { sendDatagram(bytes, kind: kind ?? .audio) }
    /// Called once per report interval while RTCP runs; transports add their own checks.
    package func reportTick(at t: Duration) {}
    /// Whether RTCP reports go out per m-line (see `sendReports`).
    package var reportsPerKind: Bool { false }

    /// Adds what was counted since the last call to /metrics' packet counters.
    package func flushMetrics() {
        for k in 0..<2 {
            context.metrics.add(inbound: true, kind: k, packets: inPackets[k] &- reported.inPackets[k], bytes: inBytes[k] &- reported.inBytes[k])
            context.metrics.add(inbound: false, kind: k, packets: out[k].packets &- reported.outPackets[k], bytes: out[k].bytes &- reported.outBytes[k])
            reported.inPackets[k] = inPackets[k]
            reported.inBytes[k] = inBytes[k]
            reported.outPackets[k] = out[k].packets
            reported.outBytes[k] = out[k].bytes
        }
        let now: [UInt64] = [rtcp.nacksSent, rtcp.plisSent, rtcp.nacksReceived, rtcp.plisReceived, rtcp.firsReceived,
                             rtcp.retransmitted &- rtcp.rtxSent, rtcp.rtxSent]
        let d = zip(now, reportedFeedback).map { $0 &- $1 }
        reportedFeedback = now
        let m = context.metrics
        m.feedback("nack", inbound: false, count: d[0])
        m.feedback("pli", inbound: false, count: d[1])
        m.feedback("nack", inbound: true, count: d[2])
        m.feedback("pli", inbound: true, count: d[3])
        m.feedback("fir", inbound: true, count: d[4])
        m.retransmitted(plain: d[5], rtx: d[6])
        // Quality, once a second, of the streams that carried something since the last look.
        for k in 0..<2 {
            if let st = rtcp.stats[k], st.packetsReceived > 0 {
                m.observe(jitter: Double(st.jitter) / (k == 0 ? 48000 : 90000), kind: k)
                m.observe(fractionLost: Double(st.fractionLostSinceLastReport) / 256, inbound: true)
            }
            if out[k].packets > 0 { m.observe(fractionLost: rtcp.remoteFraction[k], inbound: false) }
        }
        if rtcp.roundTripTime > 0 { m.observe(roundTrip: rtcp.roundTripTime) }
    }

    /// Counters for getStats and the tests.
    package var counters: (inPackets: [UInt64], inBytes: [UInt64], outPackets: [UInt64], outBytes: [UInt64]) {
        (inPackets, inBytes, out.map(\.packets), out.map(\.bytes))
    }

    package override func droppedTemporal(_ header: RTPHeader, frameStart: Bool) {
        closeTemporalGap(header, frameStart: frameStart)
    }

    package override func consume(
        _ packet: UnsafeMutableRawBufferPointer, header: RTPHeader, kind: MediaKindKey, ext: ExtensionMap, from source: MediaNode
    ) {
        sendAsConsumer(packet, header: header, kind: kind, ext: ext)
    }

    package override func requestKeyframe() { sendPLI() }
    package override func requestStartKeyframe() { sendPLI(start: true) }

    package override func stats(kind: MediaKindKey?) -> NodeStats {
        var stats = NodeStats()
        stats.isEndpoint = true
        streamStats(kind: kind, into: &stats)
        return stats
    }

    package override func sourceDidChange(kind: MediaKindKey) { resetOutStream(kind) }

    package override func close() {
        guard !isClosed else { return }
        super.close()
        flushMetrics()
        stopRTCP()
        pacerTimer?.cancel()
        pacerTimer = nil
        pacer.clear()
        protection = nil
    }
}

