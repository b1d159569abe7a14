import RTP
import STUN
import Testing

// Real packets, captured on loopback between two aiortc 1.16.0 peers
// (aioice 0.13.0, av 18.1.0; VideoStreamTrack + AudioStreamTrack), by
// wrapping RTCDtlsTransport._send_rtp to log each datagram before SRTP
// protection. The offer negotiated: VP8 PT 97 (rtx 98), Opus PT 96,
// extmap 1 = sdes:mid, 2 = ssrc-audio-level (audio), 3 = abs-send-time (video).

@Suite("Captured aiortc packets")
struct CapturedPacketTests {
    /// First video packet of the call: a whole VP8 key frame (599 bytes).
    static let vp8KeyFrame = hex(
        """
        90 e1 4098 27d4e778 48c9e777   # X=1, M=1 PT=97, seq 16536, ts, SSRC 1221191543
        bede 0002                      # one-byte extensions, 2 words
        10 30                          # ID=1 (mid) "0"
        32 223724                      # ID=3 (abs-send-time), 3 bytes
        0000                           # padding
        90 80 d66e                     # VP8: X=1 S=1 PID=0 | I=1 | M=1 PictureID 0x566e
        # VP8 payload: d0 (P=0: key frame), 43 00, start code 9d 01 2a, ...
        d043009d012a8002e001393f00161c221616226612207a0809d6a80fe0081a1a15a1d2192b2e490bcbd2ee90c9597248
        5e5e9774864acb9242f2f4bba432565c921797a5dd2192b2e490bcbd2ee90c95972485e5e9774864acb9242f2f4bba43
        2565c921797a5dd2192b2e490bcbd2ee90c95972485e5e9774864acb9242f2f4bba432565c921797a5dd2192b2e490bc
        bd2ee90c95972485e5e9774864acb9242f2f4bba432565c921797a5dd2192b2e490bcbd2ee90c95972485e5e9774864a
        cb9242f2f4bba432565c921797a5dd2192b2e490bcbd2ee90c95972485e5e9774864acb9242f2f4bba432565c921797a
        5dd2192b2e490bcbd2ee90c95972485e5e9774864acb9242f2f4bba432565c921797a5dd2192b2e490bcbd2ee90c9597
        2485e5e9774864acb9242f2f4bba432565c921797a5dd2192b2e490bcbd2ee90c95972485e5e9774864acb9242f2f4bb
        a432565c921797a5dd2192b2e490bcbd2ee90c95972485e5e9774864acb9242f2f4bba432565c921797a5dd2192b2e49
        0bcbd2ee90c95972485e5e9774864acb9242f2f4bba432565c921797a5dd2192b2e490bcbd2ee90c95972485e5e97748
        64acb9242f2f4bba432565c921797a5dd2192b2e490bcbd2ee90c95972485e5e9774864acb9242f2f4bba432565c9217
        97a5dd2192b2e490bcbd2ee90c95972485e5e9774864acb9242f2f4bba432565c921797a5dd2192b2e490bcbd2ee90c9
        5972485e5e9774864acb9242f2f4bba432565c9217973000fef2eb7ffcfcceedc5fd56ffe7e6776e2fe730
        """)

    /// An Opus packet (comfort silence) with MID and audio level.
    static let opus = hex(
        """
        90 e0 6644 0d2c040e 3974decb   # X=1, M=1 PT=96, seq 26180, ts, SSRC 963960523
        bede 0001                      # one-byte extensions, 1 word
        10 31                          # ID=1 (mid) "1"
        20 7f                          # ID=2 (audio level): V=0, 127 -dBov
        fc fffe                        # Opus TOC fc: config 31 (CELT FB 20 ms), stereo, 1 frame
        """)

    static let senderReportAndSDES = hex(
        """
        80 c8 0006 48c9e777            # SR, RC=0, SSRC 1221191543
        eeb18349 b37ad4b2              # NTP timestamp
        27d681a0                       # RTP timestamp
        00000024 00000fb6              # 36 packets, 4022 octets
        81 ca 000b 48c9e777            # SDES, SC=1
        01 24 31313235663036302d663233302d343137662d396532382d633734363433626636373133  # CNAME, 36 bytes
        0000                           # terminator + padding
        """)

    static let receiverReport = hex(
        """
        81 c9 0007 2da1885d            # RR, RC=1, from SSRC 765560925
        48c9e777                       # about the video SSRC
        00 000000                      # nothing lost
        000040b8                       # highest sequence 16568
        00000061                       # jitter 97
        00000000 00000000              # no SR received yet
        """)

    static let remb = hex(
        """
        8f ce 0005 2da1885d 00000000   # PSFB FMT=15
        52454d42                       # "REMB"
        01 005ef8                      # 1 SSRC, exp 0, mantissa 24312
        48c9e777
        """)

    static let bye = hex("81 cb 0001 48c9e777")

    @Test func vp8KeyFrame() throws {
        let packet = Self.vp8KeyFrame
        #expect(packet.count == 599)
        #expect(Demux.classify(packet) == .rtp)
        let header = try RTPHeader.parse(packet)
        #expect(header.marker && header.payloadType == 97)
        #expect(header.sequenceNumber == 16536 && header.ssrc == 1_221_191_543)
        #expect(header.headerLength == 24 && header.payloadLength == 575)
        #expect(header.extensionValue(id: 3, width: 3, in: packet) == 0x22_3724)
        let descriptor = try VP8PayloadDescriptor.parse(packet: packet, header: header)
        #expect(descriptor.pictureID == 0x566E && descriptor.pictureIDIs15Bit)
        #expect(descriptor.isKeyframeStart)
        #expect(descriptor.payloadHeaderOffset == 28)
        // The key frame start code of RFC 6386 §9.1 follows the 3-byte frame tag.
        #expect(Array(packet[31..<34]) == [0x9D, 0x01, 0x2A])
        #expect(try RTPPacketBuilder(parsing: packet).build(payload: packet[header.payloadRange]) == packet)
    }

    @Test func opusWithAudioLevel() throws {
        let packet = Self.opus
        let header = try RTPHeader.parse(packet)
        #expect(header.payloadType == 96 && header.payloadLength == 3)
        #expect(AudioLevel.read(id: 2, header: header, in: packet) == AudioLevel(voiceActivity: false, level: 127))
        let toc = OpusTOC(packet[header.payloadOffset])
        #expect(toc.mode == .celt && toc.bandwidth == .fullband && toc.isStereo)
        #expect(toc.packetDurationSamples(in: Array(packet[header.payloadRange])) == 960)
    }

    @Test func rtcp() throws {
        let compound = try RTCPCompound.parse(Self.senderReportAndSDES)
        #expect(compound.count == 2)
        guard case .senderReport(let sr) = compound[0], case .sdes(let sdes) = compound[1] else {
            Issue.record("unexpected \(compound)")
            return
        }
        #expect(sr.packetCount == 36 && sr.octetCount == 4022 && sr.rtpTimestamp == 0x27D6_81A0)
        #expect(sdes.cname(of: sr.ssrc) == "1125f060-f230-417f-9e28-c74643bf6713")
        #expect(RTCPCompound.serialize(compound) == Self.senderReportAndSDES)

        let rr = try ReceiverReport.parse(Self.receiverReport)
        #expect(rr.reportBlocks == [ReportBlock(ssrc: 1_221_191_543, highestSequence: 16568, jitter: 97)])
        #expect(rr.serialized() == Self.receiverReport)

        let remb = try REMB.parse(Self.remb)
        #expect(remb.bitrate == 24312 && remb.ssrcs == [1_221_191_543])
        #expect(remb.serialized() == Self.remb)

        #expect(try RTCPCompound.parse(Self.bye) == [.bye(Goodbye(sources: [1_221_191_543]))])
        for datagram in [Self.senderReportAndSDES, Self.receiverReport, Self.remb, Self.bye] {
            #expect(Demux.classify(datagram) == .rtcp)
        }
    }
}
