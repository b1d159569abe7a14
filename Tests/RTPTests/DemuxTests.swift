import STUN
import Testing

@Suite("RFC 7983 demultiplexing")
struct DemuxTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let bytes: [UInt8]
        let expected: PacketClass
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "empty", bytes: [], expected: .unknown),
        Case(
            name: "STUN binding request",
            bytes: hex("0001 0000 2112a442") + [UInt8](repeating: 7, count: 12), expected: .stun),
        Case(name: "STUN range but only 8 bytes", bytes: hex("0101 0000 2112a442"), expected: .unknown),
        Case(name: "ZRTP first byte 16", bytes: [16] + [UInt8](repeating: 0, count: 11), expected: .zrtp),
        Case(
            name: "DTLS handshake record (content type 22)",
            bytes: hex("16 fefd 0000 000000000000 0010"), expected: .dtls),
        Case(name: "DTLS application data (23) too short", bytes: hex("17 fefd 00"), expected: .unknown),
        Case(name: "TURN ChannelData 0x4000", bytes: hex("4000 0004 deadbeef"), expected: .turnChannel),
        Case(
            name: "RTP, PT 111 no marker",
            bytes: hex("80 6f 0001 00000000 11223344"), expected: .rtp),
        Case(
            name: "RTP, marker + PT 96 (second byte 0xe0 = 224, outside RTCP range)",
            bytes: hex("80 e0 0001 00000000 11223344"), expected: .rtp),
        Case(name: "RTCP RR (201)", bytes: hex("80 c9 0001 11223344"), expected: .rtcp),
        Case(name: "RTCP SR with padding bit (0xa0, 200)", bytes: hex("a0 c8 0001 11223344"), expected: .rtcp),
        Case(name: "RTCP type 192 lower bound", bytes: hex("80 c0 0001 11223344"), expected: .rtcp),
        Case(name: "RTCP type 223 upper bound", bytes: hex("80 df 0001 11223344"), expected: .rtcp),
        Case(name: "RTP too short (11 bytes)", bytes: hex("80 6f 0001 00000000 112233"), expected: .unknown),
        Case(name: "RTCP too short (4 bytes)", bytes: hex("80 c9 0001"), expected: .unknown),
        Case(name: "first byte 100: unassigned", bytes: [100] + [UInt8](repeating: 0, count: 30), expected: .unknown),
        Case(name: "first byte 200: unassigned", bytes: [200] + [UInt8](repeating: 0, count: 30), expected: .unknown),
    ]

    @Test(arguments: cases)
    func classify(_ testCase: Case) {
        #expect(Demux.classify(testCase.bytes) == testCase.expected)
        let viaPointer = testCase.bytes.withUnsafeBytes { Demux.classify($0) }
        #expect(viaPointer == testCase.expected)
        #expect(Demux.classify(testCase.bytes.span) == testCase.expected)
    }

    @Test func magicCookie() {
        let request = hex("0001 0000 2112a442") + [UInt8](repeating: 0, count: 12)
        #expect(Demux.hasSTUNMagicCookie(request))
        #expect(!Demux.hasSTUNMagicCookie(hex("0001 0000 2112a443") + [UInt8](repeating: 0, count: 12)))
        #expect(!Demux.hasSTUNMagicCookie(Array(request.prefix(10))))
    }
}
