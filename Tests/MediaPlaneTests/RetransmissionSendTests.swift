@testable import Elements
import RTP
import SDP
import Testing
import Transport

/// Answering a subscriber's NACKs: RTX packets (RFC 4588 §4) when RTX was
/// negotiated, the original packet otherwise; and the RTX SSRC in our SDP.
@Suite(.serialized) struct RetransmissionSendTests {
    /// An RtpSession that keeps what it sends instead of using a transport.
    final class Capture: RtpSession {
        var sent: [[UInt8]] = []
        var rtx = true
        override var sendsRTX: Bool { rtx }
        override func sendDatagram(_ bytes: UnsafeRawBufferPointer, kind: MediaKindKey) { sent.append(Array(bytes)) }
        override func sendRTCPDatagram(_ bytes: UnsafeRawBufferPointer, kind: MediaKindKey?) {}
    }

    static let context = try! MediaContext(loopCount: 1)

    func session(rtxPayloadType: UInt8?) -> Capture {
        let s = Capture(loop: Self.context.loops.nextLoop(), objectID: "test", context: Self.context, allowSend: true, allowReceive: true)
        s.rtx = rtxPayloadType != nil
        s.apply([NegotiatedMedia(
            mid: "0", kind: .video, index: 0, accepted: true, direction: .sendrecv,
            codec: Codec(payloadType: 96, name: "VP8", clockRate: 90000), rtxPayloadType: rtxPayloadType, nack: true)])
        s.protection = NoProtection()
        return s
    }

    /// Forwards five packets from a source with sequence numbers 1000...1004.
    func forwardFive(_ s: Capture) throws {
        for i in 0..<5 {
            var p = try RTPPacketBuilder(payloadType: 100, sequenceNumber: 1000 + UInt16(i), timestamp: 3000 * UInt32(i),
                                         ssrc: 0x1234, marker: true).build(payload: [UInt8](repeating: UInt8(i), count: 40))
            let header = try RTPHeader.parse(p)
            p.withUnsafeMutableBytes { s.sendAsConsumer($0, header: header, kind: .video, ext: ExtensionMap()) }
        }
    }

    func nack(_ s: Capture, _ seqs: [UInt16]) {
        s.handleRTCP([.nack(GenericNACK(senderSSRC: 7, mediaSSRC: s.outStream(.video).ssrc, lostSequenceNumbers: seqs))])
    }

    @Test func nackIsAnsweredWithRTXWhenNegotiated() throws {
        let s = session(rtxPayloadType: 97)
        try forwardFive(s)
        let originals = s.sent
        let lost = [try RTPHeader.parse(originals[2]).sequenceNumber, try RTPHeader.parse(originals[4]).sequenceNumber]
        s.sent.removeAll()
        nack(s, lost)
        #expect(s.sent.count == 2)
        var rtxSeqs: [UInt16] = []
        for (packet, original) in zip(s.sent, [originals[2], originals[4]]) {
            let h = try RTPHeader.parse(packet)
            let o = try RTPHeader.parse(original)
            #expect(h.payloadType == 97)
            #expect(h.ssrc == s.videoRTXSSRC && h.ssrc != o.ssrc)
            #expect(h.timestamp == o.timestamp)
            #expect(UInt16(packet[h.payloadOffset]) << 8 | UInt16(packet[h.payloadOffset + 1]) == o.sequenceNumber)
            #expect(Array(packet[(h.payloadOffset + 2)...]) == Array(original[o.payloadOffset...]))
            var back: [UInt8] = []
            try RTXPacketizer.unwrap(packet, originalPayloadType: 96, originalSSRC: o.ssrc, into: &back)
            #expect(back == original)
            rtxSeqs.append(h.sequenceNumber)
        }
        #expect(rtxSeqs[1] == rtxSeqs[0] &+ 1)  // the RTX stream's own sequence
        #expect(s.rtcp.retransmitted == 2 && s.rtcp.rtxSent == 2)
        // The SDP names the RTX SSRC with the media one.
        #expect(s.sendPreferences.video?.rtxSSRC == s.videoRTXSSRC)
    }

    @Test func withoutRTXTheOriginalIsResent() throws {
        let s = session(rtxPayloadType: nil)
        try forwardFive(s)
        let original = s.sent[1]
        s.sent.removeAll()
        nack(s, [try RTPHeader.parse(original).sequenceNumber, 0x7777])  // the second was never sent
        #expect(s.sent == [original])
        #expect(s.rtcp.retransmitted == 1 && s.rtcp.rtxSent == 0)
        #expect(s.sendPreferences.video?.rtxSSRC == nil)
    }

    @Test func answerAnnouncesTheRTXSSRCInAnFIDGroup() throws {
        let s = session(rtxPayloadType: 97)
        var video = MediaDescription(kind: .video, mid: "0", direction: .recvonly, rtcpMux: true)
        video.codecs = [Codec(payloadType: 96, name: "VP8", clockRate: 90000, feedback: ["nack"]),
                        Codec(payloadType: 97, name: "rtx", clockRate: 90000, fmtp: "apt=96")]
        video.formats = ["96", "97"]
        video.iceUfrag = "abcd"; video.icePwd = "0123456789012345678901"
        video.fingerprints = [Fingerprint(algorithm: "sha-256", value: "AA:BB")]
        video.setup = .actpass
        var offer = SessionDescription(sessionID: 1, sessionVersion: 1)
        offer.media = [video]
        offer.bundleGroups = [["0"]]
        let transport = TransportParameters(iceUfrag: "x", icePwd: "y", fingerprint: Fingerprint(algorithm: "sha-256", value: "CC"))
        let answer = try Negotiation.answer(to: offer, capabilities: WebRtcSession.capabilities, transport: transport,
                                            streams: s.sendPreferences, sessionID: 2).answer.serialize()
        #expect(answer.contains("a=ssrc-group:FID \(s.outStream(.video).ssrc) \(s.videoRTXSSRC)\r\n"))
    }
}
