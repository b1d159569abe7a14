import RTP
import Testing

@Suite("RTCP feedback: NACK, PLI, FIR, REMB (RFC 4585, RFC 5104, draft-alvestrand-rmcat-remb)")
struct RTCPFeedbackTests {
    static let cases: [RTCPCase] = [
        RTCPCase(
            name: "NACK, one item with BLP bits 0 and 2",
            bytes: hex(
                """
                81          # V=2 P=0 FMT=1 (Generic NACK)
                cd          # PT=205 RTPFB
                0003        # length 3 (16 bytes)
                902f9e2e    # sender SSRC
                902f9e2f    # media SSRC
                0064 0005   # PID=100, BLP=0b101: 101 and 103 lost too
                """),
            expected: .success(
                .nack(GenericNACK(senderSSRC: 0x902F_9E2E, mediaSSRC: 0x902F_9E2F, lostSequenceNumbers: [100, 101, 103])))),
        RTCPCase(
            name: "NACK, two items, BLP crossing the wrap",
            bytes: hex(
                """
                81 cd 0004 | 00000001 | 00000002
                0064 0000   # PID=100 alone
                fffe 8001   # PID=65534, bit 0 -> 65535, bit 15 -> 65550 = 14
                """),
            expected: .success(.nack(GenericNACK(senderSSRC: 1, mediaSSRC: 2, lostSequenceNumbers: [100, 65534, 65535, 14])))),
        RTCPCase(
            name: "NACK without FCI", bytes: hex("81 cd 0002 | 00000001 | 00000002"), expected: .failure(.malformed)),
        RTCPCase(
            name: "PLI",
            bytes: hex(
                """
                81          # FMT=1 (PLI)
                ce          # PT=206 PSFB
                0002        # length 2 (12 bytes)
                11111111    # sender SSRC
                22222222    # media SSRC
                """),
            expected: .success(.pli(PictureLossIndication(senderSSRC: 0x1111_1111, mediaSSRC: 0x2222_2222)))),
        RTCPCase(name: "PLI without media SSRC", bytes: hex("81 ce 0001 | 11111111"), expected: .failure(.malformed)),
        RTCPCase(
            name: "FIR with one entry",
            bytes: hex(
                """
                84 ce 0004  # FMT=4 (FIR), length 4 (20 bytes)
                11111111    # sender SSRC
                00000000    # media SSRC: unused, 0
                22222222    # target SSRC
                05 000000   # command sequence number 5, reserved
                """),
            expected: .success(
                .fir(FullIntraRequest(senderSSRC: 0x1111_1111, entries: [.init(ssrc: 0x2222_2222, sequenceNumber: 5)])))),
        RTCPCase(
            name: "FIR with half an entry", bytes: hex("84 ce 0003 | 11111111 | 00000000 | 22222222"),
            expected: .failure(.malformed)),
        RTCPCase(
            name: "REMB 1 Mbit/s for one SSRC",
            bytes: hex(
                """
                8f          # FMT=15 (application layer feedback)
                ce 0005     # PT=206, length 5 (24 bytes)
                11111111    # sender SSRC
                00000000    # media SSRC: 0
                52454d42    # "REMB"
                01          # one SSRC
                0bd090      # exp=2, mantissa=250000: 250000 << 2 = 1000000
                22222222    # SSRC the estimate applies to
                """),
            expected: .success(.remb(REMB(senderSSRC: 0x1111_1111, bitrate: 1_000_000, ssrcs: [0x2222_2222])))),
        RTCPCase(
            name: "REMB announcing 2 SSRCs but carrying 1",
            bytes: hex("8f ce 0005 | 11111111 | 00000000 | 52454d42 | 02 0bd090 | 22222222"),
            expected: .failure(.malformed)),
        RTCPCase(
            name: "AFB that is not REMB",
            bytes: hex("8f ce 0004 | 11111111 | 00000000 | 41424344 | 00000000"),
            expected: .success(.unknown(type: 206, count: 15)), canonical: false),
        RTCPCase(
            name: "APP packet", bytes: hex("80 cc 0003 | 11111111 | 6e616d65 | 01020304"),
            expected: .success(.unknown(type: 204, count: 0)), canonical: false),
        RTCPCase(
            name: "RTPFB with an unknown FMT (TMMBR=3)", bytes: hex("83 cd 0004 | 00000001 | 00000000 | 00000002 | 00000000"),
            expected: .success(.unknown(type: 205, count: 3)), canonical: false),
    ]

    @Test(arguments: cases)
    func vector(_ testCase: RTCPCase) { testCase.check() }

    @Test func nackPacking() {
        #expect(GenericNACK.items(for: [100, 101, 103, 116, 117, 200]).map { [$0.pid, $0.blp] }
            == [[100, 0b1000_0000_0000_0101], [117, 0], [200, 0]])
        #expect(GenericNACK.items(for: [65535, 0, 1]).map { [$0.pid, $0.blp] } == [[65535, 0b11]])
        #expect(GenericNACK.items(for: [5, 5]).map { [$0.pid, $0.blp] } == [[5, 0]])
        // Any order survives a round trip as a set.
        let scrambled: [UInt16] = [300, 10, 11, 299, 40_000]
        let nack = GenericNACK(senderSSRC: 1, mediaSSRC: 2, lostSequenceNumbers: scrambled)
        let parsed = try? GenericNACK.parse(nack.serialized())
        #expect(Set(parsed?.lostSequenceNumbers ?? []) == Set(scrambled))
    }

    @Test(arguments: [
        (0 as UInt64, 0 as UInt8, 0 as UInt32),
        (262_143, 0, 262_143),  // largest value with exponent 0
        (262_144, 1, 131_072),
        (1_000_000, 2, 250_000),
        (1_000_001, 2, 250_000),  // low bits dropped: never more than asked
        (UInt64.max, 46, 262_143),
    ])
    func rembEncoding(bitrate: UInt64, exponent: UInt8, mantissa: UInt32) {
        let encoded = REMB.encode(bitrate: bitrate)
        #expect(encoded.exponent == exponent)
        #expect(encoded.mantissa == mantissa)
        #expect(REMB.decode(exponent: exponent, mantissa: mantissa) <= bitrate)
    }

    @Test func rembDecodeSaturates() {
        #expect(REMB.decode(exponent: 63, mantissa: 0x3_FFFF) == .max)
        #expect(REMB.decode(exponent: 46, mantissa: 0x3_FFFF) == 0x3_FFFF << 46)
        #expect(REMB.decode(exponent: 63, mantissa: 0) == 0)
        #expect(REMB.decode(exponent: 63, mantissa: 1) == 1 << 63)
    }

    @Test func rembRoundTrip() throws {
        for bitrate: UInt64 in [30_000, 300_000, 2_500_000, 123_456_789, 10_000_000_000] {
            let remb = REMB(senderSSRC: 9, bitrate: bitrate, ssrcs: [1, 2, 3])
            let parsed = try REMB.parse(remb.serialized())
            #expect(parsed.ssrcs == [1, 2, 3])
            #expect(parsed.bitrate <= bitrate)
            // 18 significant bits: relative error below 2^-17.
            #expect(Double(bitrate - parsed.bitrate) / Double(bitrate) < 1.0 / 131_072)
        }
    }

    @Test func rembParseRequiresIdentifier() {
        #expect(throws: RTCPError.malformed) {
            try REMB.parse(hex("8f ce 0004 | 11111111 | 00000000 | 41424344 | 00000000"))
        }
    }

    @Test func compoundOfEveryKind() throws {
        let packets: [RTCPPacket] = [
            .receiverReport(ReceiverReport(ssrc: 1, reportBlocks: [reportBlock])),
            .sdes(SourceDescription(source: 1, cname: "tessera")),
            .remb(REMB(senderSSRC: 1, bitrate: 500_000, ssrcs: [2])),
            .nack(GenericNACK(senderSSRC: 1, mediaSSRC: 2, lostSequenceNumbers: [7, 9])),
            .pli(PictureLossIndication(senderSSRC: 1, mediaSSRC: 2)),
            .fir(FullIntraRequest(senderSSRC: 1, entries: [.init(ssrc: 2, sequenceNumber: 1)])),
            .transportCC(
                try TransportCCFeedback.build(
                    senderSSRC: 1, mediaSSRC: 2, feedbackPacketCount: 3, baseSequenceNumber: 10,
                    arrivalTimes: [1_000_000, nil, 1_020_000])),
            .bye(Goodbye(sources: [1], reason: "done")),
        ]
        let bytes = RTCPCompound.serialize(packets)
        #expect(try RTCPCompound.parse(bytes) == packets)
        let ranges = try RTCPCompound.packetRanges(bytes)
        #expect(ranges.map(\.header.packetType) == [201, 202, 206, 205, 206, 206, 205, 203])
        #expect(ranges.last?.range.upperBound == bytes.count)
        let viaPointer = try bytes.withUnsafeBytes { buffer in try RTCPCompound.parse(buffer) }
        #expect(viaPointer == packets)
    }

    @Test func compoundWithTrailingGarbage() {
        let bytes = PictureLossIndication(senderSSRC: 1, mediaSSRC: 2).serialized() + [0x80, 0xC9]
        #expect(throws: RTCPError.truncated) { try RTCPCompound.parse(bytes) }
        #expect(throws: RTCPError.truncated) { try RTCPCompound.parse([UInt8]()) }
    }
}
