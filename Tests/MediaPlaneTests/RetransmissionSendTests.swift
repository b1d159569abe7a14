@testable import MediaPlane
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

    /// A Capture made in its loop's node table, as the server keeps sessions:
    /// it is made, used and freed on the loop (MediaNode's deinit checks).
    func session(rtxPayloadType: UInt8?) -> NodeRef {
        let context = Self.context, loop = context.loops.loops[0]
        let ref = context.nodeRef("test-\(UInt32.random(in: 0...UInt32.max))", on: loop)
        let id = ref.id
        ref.install { _ in
            let s = Capture(loop: loop, objectID: id, context: context, allowSend: true, allowReceive: true)
            s.rtx = rtxPayloadType != nil
            s.apply([NegotiatedMedia(
                mid: "0", kind: .video, index: 0, accepted: true, direction: .sendrecv,
                codec: Codec(payloadType: 96, name: "VP8", clockRate: 90000), rtxPayloadType: rtxPayloadType, nack: true)])
            s.protection = NoProtection()
            return s
        }
        return ref
    }

    /// Runs `body` on the loop with the session and hands back what it returns.
    func on<T: Sendable>(_ ref: NodeRef, _ body: @escaping @Sendable (Capture) throws -> T) throws -> T {
        try ref.sync { node in Result { try body(node as! Capture) } }.get()  // session() makes a Capture
    }

    /// Forwards five packets from a source with sequence numbers 1000...1004.
    static func forwardFive(_ s: Capture) throws {
        for i in 0..<5 {
            var p = try RTPPacketBuilder(payloadType: 100, sequenceNumber: 1000 + UInt16(i), timestamp: 3000 * UInt32(i),
                                         ssrc: 0x1234, marker: true).build(payload: [UInt8](repeating: UInt8(i), count: 40))
            let header = try RTPHeader.parse(p)
            p.withUnsafeMutableBytes { s.sendAsConsumer($0, header: header, kind: .video, ext: ExtensionMap()) }
        }
    }

    static func nack(_ s: Capture, _ seqs: [UInt16]) {
        s.handleRTCP([.nack(GenericNACK(senderSSRC: 7, mediaSSRC: s.outStream(.video).ssrc, lostSequenceNumbers: seqs))])
    }

    /// What one NACK round left behind: the packets first sent, those sent in
    /// answer to the NACK, and the session's counters.
    struct Round: Sendable {
        var originals: [[UInt8]]
        var answers: [[UInt8]]
        var retransmitted: Int
        var rtxSent: Int
        var rtxSSRC: UInt32
        var announcedRTXSSRC: UInt32?
    }

    /// Forwards five packets, then NACKs those at `lostIndexes` (plus `extra` sequence numbers never sent).
    func round(_ s: NodeRef, lostIndexes: [Int], extra: [UInt16] = []) throws -> Round {
        try on(s) { c in
            try Self.forwardFive(c)
            let originals = c.sent
            c.sent.removeAll()
            Self.nack(c, try lostIndexes.map { try RTPHeader.parse(originals[$0]).sequenceNumber } + extra)
            return Round(originals: originals, answers: c.sent, retransmitted: Int(c.rtcp.retransmitted), rtxSent: Int(c.rtcp.rtxSent),
                         rtxSSRC: c.videoRTXSSRC, announcedRTXSSRC: c.sendPreferences.video?.rtxSSRC)
        }
    }

    @Test func nackIsAnsweredWithRTXWhenNegotiated() throws {
        let s = session(rtxPayloadType: 97)
        defer { s.release() }
        let r = try round(s, lostIndexes: [2, 4])
        #expect(r.answers.count == 2)
        var rtxSeqs: [UInt16] = []
        for (packet, original) in zip(r.answers, [r.originals[2], r.originals[4]]) {
            let h = try RTPHeader.parse(packet)
            let o = try RTPHeader.parse(original)
            #expect(h.payloadType == 97)
            #expect(h.ssrc == r.rtxSSRC && h.ssrc != o.ssrc)
            #expect(h.timestamp == o.timestamp)
            #expect(UInt16(packet[h.payloadOffset]) << 8 | UInt16(packet[h.payloadOffset + 1]) == o.sequenceNumber)
            #expect(Array(packet[(h.payloadOffset + 2)...]) == Array(original[o.payloadOffset...]))
            var back: [UInt8] = []
            try RTXPacketizer.unwrap(packet, originalPayloadType: 96, originalSSRC: o.ssrc, into: &back)
            #expect(back == original)
            rtxSeqs.append(h.sequenceNumber)
        }
        #expect(rtxSeqs.count == 2 && rtxSeqs[1] == rtxSeqs[0] &+ 1)  // the RTX stream's own sequence
        #expect(r.retransmitted == 2 && r.rtxSent == 2)
        // The SDP names the RTX SSRC with the media one.
        #expect(r.announcedRTXSSRC == r.rtxSSRC)
    }

    @Test func withoutRTXTheOriginalIsResent() throws {
        let s = session(rtxPayloadType: nil)
        defer { s.release() }
        let r = try round(s, lostIndexes: [1], extra: [0x7777])  // the second was never sent
        #expect(r.answers == [r.originals[1]])
        #expect(r.retransmitted == 1 && r.rtxSent == 0)
        #expect(r.announcedRTXSSRC == nil)
    }

    @Test func answerAnnouncesTheRTXSSRCInAnFIDGroup() throws {
        let ref = session(rtxPayloadType: 97)
        defer { ref.release() }
        let (streams, mediaSSRC, rtxSSRC) = try on(ref) { c in (c.sendPreferences, c.outStream(.video).ssrc, c.videoRTXSSRC) }
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
                                            streams: streams, sessionID: 2).answer.serialize()
        #expect(answer.contains("a=ssrc-group:FID \(mediaSSRC) \(rtxSSRC)\r\n"))
    }
}
