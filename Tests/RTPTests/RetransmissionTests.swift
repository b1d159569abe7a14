import RTP
import Testing

@Suite("Retransmission buffer and RTX (RFC 4588)")
struct RetransmissionTests {
    func packet(seq: UInt16, payload: [UInt8] = [1, 2, 3], padding: UInt8 = 0) throws -> [UInt8] {
        try RTPPacketBuilder(
            payloadType: 96, sequenceNumber: seq, timestamp: 9000, ssrc: 0xAAAA, marker: true, csrcs: [5],
            extensions: [RTPExtensionElement(id: 3, data: [0x10, 0x20, 0x30])], paddingLength: padding
        ).build(payload: payload)
    }

    @Test func storeAndGet() throws {
        var buffer = RetransmissionBuffer(capacity: 8)
        let first = try packet(seq: 100)
        #expect(buffer.store(first) == true)
        #expect(buffer.get(100) == first)
        #expect(buffer.get(101) == nil)
        #expect(buffer.contains(100))
        #expect(buffer.count == 1)
        let viaSpan = buffer.withPacket(100) { Array(repeating: 0, count: $0.count) }
        #expect(viaSpan?.count == first.count)
    }

    @Test func overwriteKeepsOnlyTheLastCapacityPackets() throws {
        var buffer = RetransmissionBuffer(capacity: 4)
        for seq in UInt16(10)...UInt16(15) { #expect(try buffer.store(packet(seq: seq, payload: [UInt8(seq)])) == true) }
        // 10 and 11 were overwritten by 14 and 15 (same slots).
        #expect(buffer.get(10) == nil)
        #expect(buffer.get(11) == nil)
        for seq in UInt16(12)...UInt16(15) {
            #expect(try buffer.get(seq) == packet(seq: seq, payload: [UInt8(seq)]))
        }
        #expect(buffer.count == 4)
        buffer.removeAll()
        #expect(buffer.get(15) == nil && buffer.count == 0)
    }

    @Test func overwriteAcrossTheSequenceWrap() throws {
        var buffer = RetransmissionBuffer(capacity: 3)  // 65536 is not a multiple of 3
        for i in 0..<6 {
            #expect(try buffer.store(packet(seq: UInt16(truncatingIfNeeded: 65533 + i))) == true)
        }
        #expect(buffer.get(65535) == nil)
        for seq: UInt16 in [0, 1, 2] { #expect(buffer.contains(seq)) }
    }

    @Test func rejectsOversizedAndNonRTP() throws {
        var buffer = RetransmissionBuffer(capacity: 4, slotSize: 40)
        #expect(try buffer.store(packet(seq: 1, payload: [UInt8](repeating: 0, count: 100))) == false)
        #expect(buffer.store([0x00, 0x01, 0x00, 0x00] + [UInt8](repeating: 0, count: 16)) == false)
        #expect(buffer.store([0x80, 0x60]) == false)
        #expect(buffer.count == 0)
        // A smaller packet replacing a larger one in the same slot keeps its own length.
        var big = RetransmissionBuffer(capacity: 1)
        big.store(try packet(seq: 1, payload: [UInt8](repeating: 9, count: 50)))
        let small = try packet(seq: 2, payload: [7])
        big.store(small)
        #expect(big.get(2) == small)
        let unsafeStored = small.withUnsafeBytes { big.store($0) }
        #expect(unsafeStored)
    }

    @Test func rtxWrapExactBytes() throws {
        let original = hex(
            """
            80 e0 1234 00002328 0000aaaa   # M=1 PT=96 seq 0x1234
            c0ffee                         # payload
            """)
        var rtx: [UInt8] = []
        try RTXPacketizer.wrap(original, payloadType: 97, ssrc: 0xBBBB, sequenceNumber: 7, into: &rtx)
        #expect(
            rtx
                == hex(
                    """
                    80 e1 0007 00002328 0000bbbb   # M=1 PT=97, RTX seq 7, same timestamp, RTX SSRC
                    1234                           # OSN
                    c0ffee                         # original payload
                    """))
    }

    @Test(arguments: [UInt8(0), 4])
    func rtxRoundTrip(padding: UInt8) throws {
        let original = try packet(seq: 0xFFFF, payload: [9, 8, 7, 6], padding: padding)
        var rtx = RTXPacketizer(payloadType: 97, ssrc: 0xBBBB, initialSequenceNumber: 65535)
        var wrapped: [UInt8] = []
        try rtx.wrap(original, into: &wrapped)
        #expect(rtx.nextSequenceNumber == 0)
        let header = try RTPHeader.parse(wrapped)
        #expect(header.payloadType == 97 && header.ssrc == 0xBBBB && header.sequenceNumber == 65535)
        #expect(header.marker && header.timestamp == 9000 && !header.hasPadding)
        #expect(header.extensionValue(id: 3, width: 3, in: wrapped) == 0x102030)
        #expect(try RTXPacketizer.originalSequenceNumber(of: wrapped.span) == 0xFFFF)

        var restored: [UInt8] = []
        try RTXPacketizer.unwrap(wrapped, originalPayloadType: 96, originalSSRC: 0xAAAA, into: &restored)
        // Padding is not carried over, so compare with the unpadded original.
        #expect(restored == (try packet(seq: 0xFFFF, payload: [9, 8, 7, 6])))
    }

    @Test func rtxErrors() throws {
        var out: [UInt8] = []
        // Padding-only RTX probe: no OSN to read.
        let probe = hex("a0 61 0001 00000000 0000bbbb | 00000004")
        #expect(throws: RTPError.payloadTooShort) {
            try RTXPacketizer.unwrap(probe, originalPayloadType: 96, originalSSRC: 1, into: &out)
        }
        #expect(throws: RTPError.truncated) {
            try RTXPacketizer.wrap([0x80, 0x60], payloadType: 97, ssrc: 1, sequenceNumber: 1, into: &out)
        }
        #expect(throws: RTPError.invalidField) {
            try RTXPacketizer.wrap(try packet(seq: 1), payloadType: 200, ssrc: 1, sequenceNumber: 1, into: &out)
        }
        #expect(out.isEmpty)
    }
}
