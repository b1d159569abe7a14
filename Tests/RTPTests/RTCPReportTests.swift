import RTP
import Testing

/// One annotated RTCP vector: parsed through `RTCPCompound.parse`, it must
/// give exactly `expected`; when `canonical`, serializing the result must
/// give the same bytes back.
struct RTCPCase: Sendable, CustomTestStringConvertible {
    let name: String
    let bytes: [UInt8]
    let expected: Result<RTCPPacket, RTCPError>
    var canonical = true
    var testDescription: String { name }

    func check() {
        let result = Result { () throws(RTCPError) -> RTCPPacket in
            let packets = try RTCPCompound.parse(bytes)
            #expect(packets.count == 1)
            return packets[0]
        }
        #expect(result == expected)
        if canonical, case .success(let packet) = expected {
            var out: [UInt8] = []
            packet.serialize(into: &out)
            #expect(hexString(out) == hexString(bytes))
        }
    }
}

/// The report block shared by the SR and RR vectors below.
let reportBlockBytes = hex(
    """
    bc5e9a40    # SSRC of the reported source
    10          # fraction lost 16/256
    fffffe      # cumulative lost: -2 (24-bit two's complement)
    00010007    # extended highest sequence: 1 cycle, seq 7
    00000111    # jitter 273
    aabbccdd    # LSR
    00010000    # DLSR: 1 s in 1/65536 units
    """)

let reportBlock = ReportBlock(
    ssrc: 0xBC5E_9A40, fractionLost: 16, cumulativeLost: -2, highestSequence: 0x0001_0007, jitter: 273,
    lastSR: 0xAABB_CCDD, delaySinceLastSR: 0x0001_0000)

@Suite("RTCP SR, RR, SDES, BYE (RFC 3550 §6.4-6.6)")
struct RTCPReportTests {
    static let cases: [RTCPCase] = [
        RTCPCase(
            name: "SR with one report block",
            bytes: hex(
                """
                81          # V=2 P=0 RC=1
                c8          # PT=200 SR
                000c        # length: 12+1 words = 52 bytes
                902f9e2e    # sender SSRC
                da8bd1fc dddddddd   # NTP timestamp
                00bc614e    # RTP timestamp
                00000005    # packet count
                000003e8    # octet count
                """) + reportBlockBytes,
            expected: .success(
                .senderReport(
                    SenderReport(
                        ssrc: 0x902F_9E2E, ntpTimestamp: 0xDA8B_D1FC_DDDD_DDDD, rtpTimestamp: 12_345_678,
                        packetCount: 5, octetCount: 1000, reportBlocks: [reportBlock])))),
        RTCPCase(
            name: "SR without blocks, with profile extension",
            bytes: hex("80 c8 0007 | 00000001 | 0000000100000002 | 00000003 00000004 00000005 | cafebabe"),
            expected: .success(
                .senderReport(
                    SenderReport(
                        ssrc: 1, ntpTimestamp: 0x1_0000_0002, rtpTimestamp: 3, packetCount: 4, octetCount: 5,
                        profileExtensions: [0xCA, 0xFE, 0xBA, 0xBE])))),
        RTCPCase(
            name: "SR with RC=1 but no room for the block",
            bytes: hex("81 c8 0006 | 00000001 | 0000000100000002 | 00000003 00000004 00000005"),
            expected: .failure(.malformed)),
        RTCPCase(
            name: "RR with one report block",
            bytes: hex("81 c9 0007 | 902f9e2e") + reportBlockBytes,
            expected: .success(.receiverReport(ReceiverReport(ssrc: 0x902F_9E2E, reportBlocks: [reportBlock])))),
        RTCPCase(
            name: "empty RR",
            bytes: hex("80 c9 0001 | 902f9e2e"),
            expected: .success(.receiverReport(ReceiverReport(ssrc: 0x902F_9E2E)))),
        RTCPCase(
            name: "RR with 4 bytes of padding (P=1)",
            bytes: hex(
                """
                a0 c9 0002  # P=1, length 2 (12 bytes)
                902f9e2e
                00000004    # padding, last byte counts 4
                """),
            expected: .success(.receiverReport(ReceiverReport(ssrc: 0x902F_9E2E))), canonical: false),
        RTCPCase(
            name: "RR padding count 0", bytes: hex("a0 c9 0002 | 902f9e2e | 00000000"), expected: .failure(.badPadding)),
        RTCPCase(
            name: "RR padding count beyond the packet", bytes: hex("a0 c9 0001 | 902f9e2e"),
            expected: .failure(.badPadding)),
        RTCPCase(
            name: "RR length field past the buffer", bytes: hex("80 c9 0002 | 902f9e2e"), expected: .failure(.truncated)),
        RTCPCase(name: "header only, 3 bytes", bytes: hex("80 c9 00"), expected: .failure(.truncated)),
        RTCPCase(name: "version 1", bytes: hex("40 c9 0001 | 902f9e2e"), expected: .failure(.badVersion(1))),
        RTCPCase(
            name: "RR with length 0: no room for the SSRC", bytes: hex("80 c9 0000"), expected: .failure(.malformed)),
        RTCPCase(
            name: "SDES with one CNAME",
            bytes: hex(
                """
                81 ca 0004  # SC=1, length 4 (20 bytes)
                902f9e2e    # SSRC
                01 09 7573657240686f7374  # CNAME, 9 bytes: "user@host"
                00          # end of items (and word boundary)
                """),
            expected: .success(.sdes(SourceDescription(source: 0x902F_9E2E, cname: "user@host")))),
        RTCPCase(
            name: "SDES with two chunks",
            bytes: hex(
                """
                82 ca 0006
                11111111 | 01 02 6162 | 00000000    # CNAME "ab", then a full word of zeros
                22222222 | 01 01 78 | 06 02 6f6b | 00  # CNAME "x", TOOL "ok"
                """),
            expected: .success(
                .sdes(
                    SourceDescription(chunks: [
                        .init(source: 0x1111_1111, items: [.init(type: 1, string: "ab")]),
                        .init(
                            source: 0x2222_2222,
                            items: [.init(type: 1, string: "x"), .init(type: SourceDescription.Item.tool, string: "ok")]),
                    ])))),
        RTCPCase(name: "empty SDES", bytes: hex("80 ca 0000"), expected: .success(.sdes(SourceDescription(chunks: [])))),
        RTCPCase(
            name: "SDES item without terminator", bytes: hex("81 ca 0002 | 11111111 | 01 02 6162"),
            expected: .failure(.malformed)),
        RTCPCase(
            name: "SDES item longer than the packet", bytes: hex("81 ca 0002 | 11111111 | 01 09 6162"),
            expected: .failure(.malformed)),
        RTCPCase(
            name: "SDES SC=2 with one chunk", bytes: hex("82 ca 0002 | 11111111 | 00000000"),
            expected: .failure(.malformed)),
        RTCPCase(
            name: "BYE of two sources",
            bytes: hex("82 cb 0002 | 11111111 | 22222222"),
            expected: .success(.bye(Goodbye(sources: [0x1111_1111, 0x2222_2222])))),
        RTCPCase(
            name: "BYE with a reason",
            bytes: hex(
                """
                81 cb 0003 | 11111111
                04 62796521 # reason, 4 bytes: "bye!"
                000000      # zero padding to the word
                """),
            expected: .success(.bye(Goodbye(sources: [0x1111_1111], reason: "bye!")))),
        RTCPCase(name: "BYE of nobody", bytes: hex("80 cb 0000"), expected: .success(.bye(Goodbye(sources: [])))),
        RTCPCase(
            name: "BYE reason longer than the packet", bytes: hex("81 cb 0002 | 11111111 | 08 616263"),
            expected: .failure(.malformed)),
        RTCPCase(
            name: "BYE SC=2 with one source", bytes: hex("82 cb 0001 | 11111111"), expected: .failure(.malformed)),
    ]

    @Test(arguments: cases)
    func vector(_ testCase: RTCPCase) { testCase.check() }

    @Test func reportBlockClampsCumulativeLoss() throws {
        var block = reportBlock
        block.cumulativeLost = 10_000_000
        let rr = ReceiverReport(ssrc: 1, reportBlocks: [block])
        let parsed = try ReceiverReport.parse(rr.serialized())
        #expect(parsed.reportBlocks[0].cumulativeLost == 0x7F_FFFF)
        block.cumulativeLost = -10_000_000
        #expect(try ReceiverReport.parse(ReceiverReport(ssrc: 1, reportBlocks: [block]).serialized())
            .reportBlocks[0].cumulativeLost == -0x80_0000)
    }

    @Test func reportCountIsCappedAt31() throws {
        let blocks = (0..<40).map { ReportBlock(ssrc: UInt32($0)) }
        let parsed = try SenderReport.parse(
            SenderReport(ssrc: 1, ntpTimestamp: 2, rtpTimestamp: 3, packetCount: 4, octetCount: 5, reportBlocks: blocks)
                .serialized())
        #expect(parsed.reportBlocks.count == 31)
    }

    @Test func messageParseRejectsOtherTypes() {
        #expect(throws: RTCPError.wrongType(packetType: 201, format: 0)) {
            try SenderReport.parse(hex("80 c9 0001 | 902f9e2e"))
        }
        #expect(throws: RTCPError.wrongType(packetType: 206, format: 1)) {
            try GenericNACK.parse(hex("81 ce 0002 | 11111111 | 22222222"))
        }
    }

    @Test func sdesHelpers() throws {
        let sdes = SourceDescription(source: 5, cname: "{8a1c}")
        #expect(sdes.cname(of: 5) == "{8a1c}")
        #expect(sdes.cname(of: 6) == nil)
        // 4 header + 4 SSRC + 2 + 6 text + terminator, padded to 20.
        #expect(sdes.serialized().count == 20)
        #expect(try SourceDescription.parse(sdes.serialized()) == sdes)
    }

    @Test func ntpHelpers() {
        #expect(NTPTime.middle32(0x1122_3344_5566_7788) == 0x3344_5566)
        #expect(NTPTime.compactUnits(.milliseconds(1500)) == 0x0001_8000)
        #expect(NTPTime.compactUnits(.seconds(-1)) == 0)
        #expect(NTPTime.compactUnits(.seconds(70000)) == .max)
    }
}
