import Foundation
import Mixer
package import RTP
import Transport

/// RTCP of an SDP endpoint (WebRtcEndpoint, RtpEndpoint): sender and receiver reports with real loss and
/// jitter (RFC 3550 §6.4), SDES CNAME, NACK generation for what we miss and
/// retransmission for what our peer misses (RFC 4585 §6.2.1), and the media
/// state Kurento reports (CONNECTED while RTCP arrives).
extension RtpSession {
    /// Report interval; NACKs are polled more often.
    package static let reportInterval: Duration = .seconds(1)
    package static let tickInterval: Duration = .milliseconds(40)
    /// Transport-wide feedback every ~100 ms (libwebrtc's receiver uses 50-250 ms).
    package static let transportFeedbackInterval: Duration = .milliseconds(100)

    package var now: Duration { loop.clock.now - rtcp.origin }

    package func startRTCP() {
        guard !rtcp.ticking else { return }
        rtcp.ticking = true
        context.clock(for: loop)?.add(self)
    }

    /// From the loop's SessionClock every `tickInterval`.
    package func clockTick() {
        guard !isClosed else { return }
        tick()
        // A session whose protection is gone (consent expired) has nothing left to report.
        if protection == nil { stopRTCP() }
    }

    package func stopRTCP() {
        guard rtcp.ticking else { return }
        rtcp.ticking = false
        context.clock(for: loop)?.remove(self)
    }

    private func tick() {
        let t = now
        // NACKs for video we miss; a hopeless gap asks for a keyframe instead.
        if rtcp.nackEnabled, let mediaSSRC = remoteVideoSSRC {
            sendNACK(rtcp.nack.poll(now: t), mediaSSRC: mediaSSRC)
            if rtcp.nack.takeKeyframeRequest() { sendPLI() }
        }
        if simulcast != nil { simulcastTick(at: t) }
        if layerSelection.target != nil {
            let video = outStream(.video)
            viewerBandwidth.tick(packetsSent: video.packets, bytesSent: video.bytes, at: t)
        }
        if sendSide != nil, canSend(.video) {
            pacer.update(estimate: viewerBandwidth.estimate, videoBytesSent: outStream(.video).bytes, at: t)
        }
        if rtcp.transportCCEnabled, t - rtcp.lastTransportFeedback >= Self.transportFeedbackInterval {
            rtcp.lastTransportFeedback = t
            sendTransportFeedback()
        }
        if speech.tick(nowMillis: Int64(t / .milliseconds(1))) {
            reportSpeech(at: t)
        } else if speech.speaking, t - speechReported >= .seconds(1) {
            reportSpeech(at: t)
        }
        if t - rtcp.lastReport >= Self.reportInterval {
            rtcp.lastReport = t
            sendReports(at: t)
            sendREMB()
            updateMediaState(at: t)
            flushMetrics()
            reportTick(at: t)
        }
    }

    /// Called for every RTP packet received.
    /// False for a second copy of a packet (see `noteArrival`).
    @discardableResult
    package func recordReceived(_ header: RTPHeader, kind: MediaKindKey) -> Bool {
        // Read the clock before mutating `rtcp`: `now` reads it too (exclusive access).
        let t = now
        return rtcp.noteArrival(header, kind: kind, at: t)
    }

    /// One packet into a stream's receive statistics (new ones when its SSRC
    /// changed) and, when `trackLoss`, its NACK list. Returns false when the
    /// NACK list knows the packet for a second copy (neither new nor missing).
    @discardableResult
    package static func noteArrival(
        _ header: RTPHeader, clockRate: Int, stats: inout ReceiveStatistics?, nack: inout NACKGenerator, trackLoss: Bool, at t: Duration
    ) -> Bool {
        if stats?.ssrc != header.ssrc { stats = ReceiveStatistics(ssrc: header.ssrc) }
        stats?.received(sequenceNumber: header.sequenceNumber, rtpTimestamp: header.timestamp, arrival: t, clockRate: clockRate)
        return trackLoss ? nack.received(header.sequenceNumber, now: t) : true
    }

    /// A NACK (RFC 4585 §6.2.1) for what is missing of `mediaSSRC`, when anything is.
    package func sendNACK(_ lost: [UInt16], mediaSSRC: UInt32) {
        guard !lost.isEmpty else { return }
        sendRTCP([.nack(GenericNACK(senderSSRC: outStream(.video).ssrc, mediaSSRC: mediaSSRC, lostSequenceNumbers: lost))], kind: .video)
        rtcp.nacksSent &+= UInt64(lost.count)
    }

    /// A PLI (RFC 4585 §6.3.1) for `mediaSSRC`, unless one went out less than
    /// `minInterval` before (`last`, updated), however many viewers ask.
    package func sendPLI(mediaSSRC: UInt32, last: inout Duration?, at t: Duration, minInterval: Duration = RtpSession.pliInterval(start: false)) {
        if let last, t - last < minInterval { return }
        last = t
        rtcp.plisSent &+= 1
        sendRTCP([.pli(PictureLossIndication(senderSSRC: outStream(.video).ssrc, mediaSSRC: mediaSSRC))], kind: .video)
    }

    /// Notes the arrival of a packet with a transport-wide sequence number.
    package func recordTransportSequence(_ sequenceNumber: UInt16) {
        let c = now.components
        let micros = c.seconds * 1_000_000 + c.attoseconds / 1_000_000_000_000
        rtcp.transportCC.received(sequenceNumber: sequenceNumber, arrivalMicroseconds: micros)
    }

    /// Transport-wide congestion control feedback (draft-holmer-rmcat-transport-wide-cc-extensions-01
    /// §3.1) for what arrived since the last one; the peer's send-side estimator reads it.
    private func sendTransportFeedback() {
        let sender = outStream(.video).ssrc
        let media = remoteVideoSSRC ?? remoteAudioSSRC ?? 0
        guard let feedback = rtcp.transportCC.makeFeedback(senderSSRC: sender, mediaSSRC: media) else { return }
        sendRTCP([.transportCC(feedback)], kind: .video)
        rtcp.transportFeedbackSent &+= 1
    }

    /// Called for every RTP packet sent, before protection.
    package func recordSent(_ packet: UnsafeRawBufferPointer, kind: MediaKindKey) {
        let t = now
        if kind == .video { rtcp.retransmission.store(packet) }
        rtcp.lastSent[kind.rawValue] = t
    }

    package func handleRTCP(_ packets: [RTCPPacket]) {
        let t = now
        rtcp.lastReceived = t
        if !rtcp.mediaConnected { setMediaState(connected: true) }
        for p in packets {
            switch p {
            case .pli:
                rtcp.plisReceived &+= 1
                // The peer wants a keyframe of what we send it: ask our video source.
                source(of: .video)?.requestKeyframe()
            case .fir:
                rtcp.firsReceived &+= 1
                source(of: .video)?.requestKeyframe()
            case .nack(let nack) where nack.mediaSSRC == outStream(.video).ssrc:
                rtcp.nacksReceived &+= UInt64(nack.lostSequenceNumbers.count)
                viewerBandwidth.nacked(nack.lostSequenceNumbers.count)
                retransmit(nack.lostSequenceNumbers)
            case .receiverReport(let rr):
                noteReportBlocks(rr.reportBlocks, at: t)
            case .senderReport(let sr):
                noteReportBlocks(sr.reportBlocks, at: t)
                for i in 0..<2 where rtcp.stats[i]?.ssrc == sr.ssrc {
                    rtcp.stats[i]?.receivedSenderReport(ntpTimestamp: sr.ntpTimestamp, at: t)
                }
            case .remb(let remb):
                rtcp.remoteREMB = remb.bitrate
                viewerBandwidth.remb(remb.bitrate)
            case .transportCC(let feedback) where sendSide != nil:
                // The peer's arrival times of what we sent: the delay-based detector's input.
                if let reading = sendSide?.feedback(feedback, atMicros: nowMicros) {
                    viewerBandwidth.transportFeedback(reading, at: t)
                }
            default:
                break
            }
        }
    }

    /// What the peer says about our streams: loss and round-trip time (RFC 3550 §6.4.1).
    private func noteReportBlocks(_ blocks: [ReportBlock], at t: Duration) {
        for b in blocks {
            for kind in MediaKindKey.allCases where outStream(kind).ssrc == b.ssrc {
                rtcp.remoteLost[kind.rawValue] = Int64(b.cumulativeLost)
                rtcp.remoteFraction[kind.rawValue] = Double(b.fractionLost) / 256
                if kind == .video { viewerBandwidth.report(fractionLost: Double(b.fractionLost) / 256, bytesSent: outStream(.video).bytes, at: t) }
                if b.lastSR != 0 {
                    let nowMiddle = UInt32(truncatingIfNeeded: ntpNow() >> 16)
                    let rtt = nowMiddle &- b.lastSR &- b.delaySinceLastSR
                    if rtt < 0x8000_0000 { rtcp.roundTripTime = Double(rtt) / 65536 }
                }
            }
        }
    }

    /// The RTP streams of this endpoint, for `kind` or both when nil.
    package func streamStats(kind only: MediaKindKey?, into stats: inout NodeStats) {
        for kind in MediaKindKey.allCases where only == nil || only == kind {
            let i = kind.rawValue
            let video = kind == .video
            let clock = kind == .audio ? 48000.0 : 90000.0
            if video, simulcast != nil { simulcastStreamStats(into: &stats) }
            if let st = rtcp.stats[i] {
                stats.inbound.append(InboundStreamStats(
                    kind: kind, ssrc: st.ssrc, packetsReceived: UInt64(st.packetsReceived), bytesReceived: counters.inBytes[i],
                    packetsLost: Int64(st.cumulativeLost), fractionLost: Double(st.fractionLostSinceLastReport) / 256,
                    jitter: Double(st.jitter) / clock,
                    plisSent: video ? rtcp.plisSent : 0, nacksSent: video ? rtcp.nacksSent : 0,
                    rembSent: video ? rtcp.rembSent : 0, transportFeedbackSent: video ? rtcp.transportFeedbackSent : 0,
                    packetsDuplicated: video ? rtcp.packetsDuplicated : 0))
            }
            let s = outStream(kind)
            if s.packets > 0 {
                stats.outbound.append(OutboundStreamStats(
                    kind: kind, ssrc: s.ssrc, packetsSent: s.packets, bytesSent: s.bytes,
                    firsReceived: video ? rtcp.firsReceived : 0, plisReceived: video ? rtcp.plisReceived : 0,
                    nacksReceived: video ? rtcp.nacksReceived : 0, remb: rtcp.remoteREMB ?? 0,
                    packetsLost: rtcp.remoteLost[i], fractionLost: rtcp.remoteFraction[i], roundTripTime: rtcp.roundTripTime,
                    retransmitted: video ? rtcp.retransmitted : 0, rtxSent: video ? rtcp.rtxSent : 0,
                    targetBitrate: video ? viewerBitrateEstimate ?? 0 : 0, layerSwitches: video ? layerSelection.switches : 0,
                    temporalLayerCap: video ? Int(layerSelection.temporalCurrent) : 3, temporalDropped: video ? s.temporalDropped : 0,
                    transportFeedbackReceived: video ? sendSide?.feedbackReceived ?? 0 : 0,
                    delayOveruses: video ? sendSide?.overuses ?? 0 : 0, delayDecreases: video ? viewerBandwidth.delayDecreases : 0,
                    pacedPackets: video ? pacer.packetsDelayed : 0, pacerLongestWait: video ? pacer.longestWait / .seconds(1) : 0))
            }
        }
    }

    /// REMB to our publisher (draft-alvestrand-rmcat-remb): what the slowest of
    /// the WebRTC endpoints we feed says it can take, each viewer's estimate
    /// first bounded by that viewer's min/maxVideoSendBandwidth, the result by
    /// our min/maxVideoRecvBandwidth. A viewer that negotiated REMB but has
    /// not sent one yet counts as our rembOnConnect. With no viewer estimate
    /// at all: our ceiling (docs/decisions.md, "Bandwidth limits").
    private func sendREMB() {
        guard rtcp.rembEnabled, let media = remoteVideoSSRC else { return }
        let estimate = bandwidth.publisherREMB(aggregatedViewerEstimate())
        let ssrcs = simulcast.map(\.ssrcs) ?? [media]
        sendRTCP([.remb(REMB(senderSSRC: outStream(.video).ssrc, bitrate: estimate, ssrcs: ssrcs.isEmpty ? [media] : ssrcs))], kind: .video)
        rtcp.rembSent = estimate
    }

    package func aggregatedViewerEstimate() -> UInt64 {
        // Simulcast: each viewer takes the layer its own link allows, so the
        // publisher is asked for what all its layers need (the ceiling), not
        // held down by any viewer. Its own send-side estimate (from our
        // transport-wide feedback, else its loss-based one) still bounds what
        // its uplink carries. Not the best viewer's estimate: a new viewer's
        // starts low, and the publisher would turn its top layers off while
        // that viewer's estimate climbs.
        if simulcast != nil { return Self.maxForwardBitrate }
        var estimates: [UInt64] = []
        let onConnect = UInt64(max(rembParams.rembOnConnect, 0))
        for case let consumer as RtpSession in consumersOf(.video) {
            if let r = consumer.rtcp.remoteREMB, r > 0 {
                estimates.append(consumer.bandwidth.viewerEstimate(r))
            } else if consumer.rtcp.rembEnabled, onConnect > 0 {
                estimates.append(consumer.bandwidth.viewerEstimate(onConnect))
            }
        }
        return VideoBandwidthLimits.aggregate(estimates, ceiling: Self.maxForwardBitrate)
    }

    /// The most we ask a publisher to send when nobody downstream says otherwise.
    package static let maxForwardBitrate: UInt64 = 2_500_000

    /// Resends packets the peer lost, from what we sent: as RTX packets (our
    /// RTX SSRC and payload type, own sequence numbers, the original sequence
    /// number first in the payload; RFC 4588 §4) when the peer negotiated RTX
    /// and we announced the RTX SSRC, else the original packet again.
    private func retransmit(_ sequenceNumbers: [UInt16]) {
        guard let protection else { return }
        let rtxPT = sendsRTX ? rtxPayloadType : nil
        var wrapped: [UInt8] = []
        let start = outStream(.video).sourceStartSeq
        for seq in sequenceNumbers {
            // Before the current source began (a layer switch): not worth the bandwidth.
            if let start, seq &- start >= 0x8000 { continue }
            guard let stored = rtcp.retransmission.get(seq) else { continue }
            var packet = stored
            if let rtxPT {
                wrapped.removeAll(keepingCapacity: true)
                guard (try? RTXPacketizer.wrap(stored, payloadType: rtxPT, ssrc: videoRTXSSRC, sequenceNumber: rtxSequence, into: &wrapped)) != nil
                else { continue }
                packet = wrapped
            }
            guard packet.count + SRTPSession.maxTrailer <= scratchCapacity else { continue }
            withScratch { buf in
                UnsafeMutableRawBufferPointer(rebasing: buf[0..<packet.count]).copyBytes(from: packet)
                restampTransportSequence(buf, length: packet.count)
                if let n = protection.protectRTP(buf, length: packet.count) {
                    sendDatagram(UnsafeRawBufferPointer(rebasing: buf[0..<n]), kind: .video)
                    rtcp.retransmitted &+= 1
                    if rtxPT != nil {
                        rtxSequence &+= 1
                        rtcp.rtxSent &+= 1
                    }
                }
            }
        }
    }

    /// One compound report for the session (WebRTC: one transport), or one
    /// per m-line when each has its own RTCP port (plain RTP: each m-line is
    /// its own RTP session, RFC 3550 §5.2).
    private func sendReports(at t: Duration) {
        if reportsPerKind {
            for kind in MediaKindKey.allCases where canSend(kind) || rtcp.stats[kind.rawValue] != nil {
                sendReport(kinds: [kind], at: t)
            }
        } else {
            sendReport(kinds: MediaKindKey.allCases, at: t)
        }
    }

    private func sendReport(kinds: [MediaKindKey], at t: Duration) {
        var blocks: [ReportBlock] = []
        for kind in kinds where rtcp.stats[kind.rawValue] != nil {
            blocks.append(rtcp.stats[kind.rawValue]!.makeReportBlock(now: t))  // checked non-nil
        }
        if kinds.contains(.video) { blocks += simulcastReportBlocks(now: t) }
        var packets: [RTCPPacket] = []
        let ntp = ntpNow()
        for kind in kinds {
            let s = outStream(kind)
            guard s.packets > 0, let sentAt = rtcp.lastSent[kind.rawValue] else { continue }
            // The RTP time of "now" on this stream's clock (RFC 3550 §6.4.1).
            let elapsed = (t - sentAt) / .seconds(1)
            let rtpNow = s.lastTimestamp &+ UInt32(truncatingIfNeeded: Int64(elapsed * Double(s.clockRate)))
            packets.append(.senderReport(SenderReport(
                ssrc: s.ssrc, ntpTimestamp: ntp, rtpTimestamp: rtpNow, packetCount: UInt32(truncatingIfNeeded: s.packets),
                octetCount: UInt32(truncatingIfNeeded: s.bytes), reportBlocks: packets.isEmpty ? blocks : [])))
        }
        let reporter = outStream(kinds.count == 1 ? kinds[0] : .audio).ssrc
        if packets.isEmpty { packets.append(.receiverReport(ReceiverReport(ssrc: reporter, reportBlocks: blocks))) }
        packets.append(.sdes(SourceDescription(source: reporter, cname: cnameForReports)))
        sendRTCP(packets, kind: kinds.count == 1 ? kinds[0] : nil)
    }

    /// RFC 3550 §4: 64-bit NTP time, seconds since 1900.
    package func ntpNow() -> UInt64 {
        let t = loop.clock.wallSeconds + 2_208_988_800
        let seconds = UInt64(t)
        let fraction = UInt64((t - Double(seconds)) * 4_294_967_296.0)
        return seconds << 32 | fraction
    }

    /// Sends one compound packet; `kind` picks the RTCP port of that m-line
    /// where the transport has one per m-line (nil: the session's reports).
    package func sendRTCP(_ packets: [RTCPPacket], kind: MediaKindKey? = nil) {
        guard let protection else { return }
        var bytes: [UInt8] = []
        for p in packets { p.serialize(into: &bytes) }
        let length = bytes.count
        bytes += [UInt8](repeating: 0, count: SRTPSession.maxTrailer + 8)
        bytes.withUnsafeMutableBytes { buf in
            if let n = protection.protectRTCP(buf, length: length) { sendRTCPDatagram(UnsafeRawBufferPointer(rebasing: buf[0..<n]), kind: kind) }
        }
    }

    /// Kurento's MediaState: CONNECTED while the peer's RTCP keeps arriving.
    private func updateMediaState(at t: Duration) {
        if rtcp.mediaConnected, let last = rtcp.lastReceived, t - last > .seconds(5) {
            setMediaState(connected: false)
        }
    }

    private func setMediaState(connected: Bool) {
        context.raise(.mediaState(connected: connected), on: objectID)
        rtcp.mediaConnected = connected
    }
}

extension RTCPState {
    /// One packet of `kind` into its statistics and (video) NACK list. A
    /// mutating method, so both fields are reached through one access to the session's `rtcp`.
    @discardableResult
    mutating func noteArrival(_ header: RTPHeader, kind: MediaKindKey, at t: Duration) -> Bool {
        RtpSession.noteArrival(header, clockRate: kind == .audio ? 48000 : 90000, stats: &stats[kind.rawValue], nack: &nack,
                               trackLoss: kind == .video && nackEnabled, at: t)
    }
}

/// RTCP state of one session (stored in RtpSession, used by the extension above).
package struct RTCPState {
    /// The loop clock's time when the session was made (`now` counts from it).
    package var origin: Duration = .zero
    /// Registered with the loop's SessionClock.
    package var ticking = false
    package var lastReport: Duration = .zero
    package var stats: [ReceiveStatistics?] = [nil, nil]
    package var nack = NACKGenerator()
    package var nackEnabled = false
    /// What a viewer may NACK: 512 packets, 2 s of 2.5 Mbit/s video (about 4 at
    /// the usual 600 kbit/s), 768 KB once the first video packet is stored
    /// (audio-only sessions never allocate it).
    package var retransmission = RetransmissionBuffer(capacity: 512)
    package var lastSent: [Duration?] = [nil, nil]
    package var lastReceived: Duration?
    package var mediaConnected = false
    package var remoteREMB: UInt64?
    package var rembEnabled = false
    package var transportCC = TransportCCRecorder()
    package var transportCCEnabled = false
    package var lastTransportFeedback: Duration = .zero
    package var transportFeedbackSent: UInt64 = 0
    package var rembSent: UInt64 = 0
    package var nacksSent: UInt64 = 0
    package var nacksReceived: UInt64 = 0
    package var plisSent: UInt64 = 0
    package var plisReceived: UInt64 = 0
    package var firsReceived: UInt64 = 0
    /// Packets resent (either form), and how many of them as RTX.
    package var retransmitted: UInt64 = 0
    package var rtxSent: UInt64 = 0
    /// Retransmissions of packets already received, not forwarded.
    package var packetsDuplicated: UInt64 = 0
    package var remoteLost: [Int64] = [0, 0]
    package var remoteFraction: [Double] = [0, 0]
    package var roundTripTime: Double = 0
}
