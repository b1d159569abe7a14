import RTP
import Testing

@Suite("RTP packet builder and in-place rewrite")
struct RTPBuilderTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let builder: RTPPacketBuilder
        let payload: [UInt8]
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(
            name: "bare", builder: RTPPacketBuilder(payloadType: 111, sequenceNumber: 1, timestamp: 960, ssrc: 7),
            payload: [1, 2, 3]),
        Case(
            name: "marker, CSRCs, padding",
            builder: RTPPacketBuilder(
                payloadType: 96, sequenceNumber: 65535, timestamp: .max, ssrc: 0xFFFF_FFFF, marker: true,
                csrcs: [1, 2, 3], paddingLength: 5),
            payload: [9]),
        Case(
            name: "one-byte extensions",
            builder: RTPPacketBuilder(
                payloadType: 100, sequenceNumber: 42, timestamp: 90000, ssrc: 0x1234_5678,
                extensions: [
                    RTPExtensionElement(id: 1, data: [0x55]), RTPExtensionElement(id: 3, data: [0x01, 0x02]),
                    RTPExtensionElement(id: 14, data: [UInt8](repeating: 0xAB, count: 16)),
                ]),
            payload: [UInt8](repeating: 0xEE, count: 100)),
        Case(
            name: "two-byte extensions chosen automatically (ID 20, empty element)",
            builder: RTPPacketBuilder(
                payloadType: 100, sequenceNumber: 43, timestamp: 90000, ssrc: 0x1234_5678,
                extensions: [RTPExtensionElement(id: 20, data: []), RTPExtensionElement(id: 2, data: [7, 7, 7])]),
            payload: [1]),
        Case(
            name: "two-byte extensions forced, with appbits",
            builder: RTPPacketBuilder(
                payloadType: 100, sequenceNumber: 44, timestamp: 1, ssrc: 2,
                extensions: [RTPExtensionElement(id: 1, data: [UInt8](repeating: 1, count: 40))],
                preferTwoByteExtensions: true, twoByteAppBits: 0x5),
            payload: []),
    ]

    @Test(arguments: cases)
    func roundTrip(_ testCase: Case) throws {
        let packet = try testCase.builder.build(payload: testCase.payload)
        let header = try RTPHeader.parse(packet)
        let b = testCase.builder
        #expect(header.marker == b.marker)
        #expect(header.payloadType == b.payloadType)
        #expect(header.sequenceNumber == b.sequenceNumber)
        #expect(header.timestamp == b.timestamp)
        #expect(header.ssrc == b.ssrc)
        #expect(header.csrcs(in: packet) == b.csrcs)
        #expect(header.paddingLength == Int(b.paddingLength))
        #expect(Array(packet[header.payloadRange]) == testCase.payload)
        #expect(header.headerLength == (try b.headerLength()))
        #expect(header.extensionLength % 4 == 0)
        for element in b.extensions {
            let location = try #require(header.extensionElement(id: element.id, in: packet))
            #expect(Array(packet[location.offset..<(location.offset + location.length)]) == element.data)
        }
        // Builder -> bytes -> builder -> bytes is stable.
        let reparsed = try RTPPacketBuilder(parsing: packet)
        #expect(try reparsed.build(payload: testCase.payload) == packet)
    }

    @Test func exactBytes() throws {
        let builder = RTPPacketBuilder(
            payloadType: 111, sequenceNumber: 0x0102, timestamp: 0x0304_0506, ssrc: 0x0708_090A, marker: true,
            extensions: [RTPExtensionElement(id: 1, data: [0x8F])])
        #expect(
            try builder.build(payload: [0xFC])
                == hex(
                    """
                    90 ef 0102 03040506 0708090a   # X=1, M=1 PT=111
                    bede 0001                      # one word of elements
                    10 8f 0000                     # ID=1 L=0 data 8f, two padding bytes
                    fc                             # payload
                    """))
    }

    @Test func builderRejectsBadFields() {
        #expect(throws: RTPError.invalidField) {
            try RTPPacketBuilder(payloadType: 128, sequenceNumber: 0, timestamp: 0, ssrc: 0).build(payload: [])
        }
        #expect(throws: RTPError.invalidField) {
            try RTPPacketBuilder(
                payloadType: 1, sequenceNumber: 0, timestamp: 0, ssrc: 0, csrcs: [UInt32](repeating: 0, count: 16)
            ).build(payload: [])
        }
        #expect(throws: RTPError.badExtension) {
            try RTPPacketBuilder(
                payloadType: 1, sequenceNumber: 0, timestamp: 0, ssrc: 0,
                extensions: [RTPExtensionElement(id: 0, data: [1])]
            ).build(payload: [])
        }
        #expect(throws: RTPError.badExtension) {
            try RTPPacketBuilder(
                payloadType: 1, sequenceNumber: 0, timestamp: 0, ssrc: 0,
                extensions: [RTPExtensionElement(id: 3, data: [UInt8](repeating: 0, count: 256))]
            ).build(payload: [])
        }
    }

    @Test func writeAppendsToExistingBuffer() throws {
        var buffer: [UInt8] = [0xAA]
        try RTPPacketBuilder(payloadType: 0, sequenceNumber: 0, timestamp: 0, ssrc: 0).write(payload: [1], into: &buffer)
        #expect(buffer.count == 14)
        #expect(buffer[0] == 0xAA)
        #expect(try RTPHeader.parse(Array(buffer.dropFirst())).payloadLength == 1)
    }

    @Test func rewriteArray() throws {
        var packet = try RTPPacketBuilder(
            payloadType: 96, sequenceNumber: 1, timestamp: 2, ssrc: 3, marker: true, csrcs: [9],
            extensions: [RTPExtensionElement(id: 5, data: [0, 1])]
        ).build(payload: [0xAB])
        try RTPRewrite.setSSRC(0xDEAD_BEEF, in: &packet)
        try RTPRewrite.setSequenceNumber(0xFFFE, in: &packet)
        try RTPRewrite.setTimestamp(0x8000_0000, in: &packet)
        try RTPRewrite.setPayloadType(100, in: &packet)
        var header = try RTPHeader.parse(packet)
        #expect(header.ssrc == 0xDEAD_BEEF)
        #expect(header.sequenceNumber == 0xFFFE)
        #expect(header.timestamp == 0x8000_0000)
        #expect(header.payloadType == 100)
        #expect(header.marker)  // kept by setPayloadType
        try RTPRewrite.setMarker(false, in: &packet)
        header = try RTPHeader.parse(packet)
        #expect(!header.marker && header.payloadType == 100)
        #expect(RTPRewrite.setExtensionValue(0x1234, id: 5, width: 2, header: header, in: &packet))
        #expect(header.extensionValue(id: 5, width: 2, in: packet) == 0x1234)
        #expect(!RTPRewrite.setExtensionValue(1, id: 6, width: 2, header: header, in: &packet))
        #expect(!RTPRewrite.setExtensionValue(1, id: 5, width: 3, header: header, in: &packet))
        try RTPRewrite.rewrite(&packet, ssrc: 1, sequenceNumber: 2, timestamp: 3, payloadType: 4)
        header = try RTPHeader.parse(packet)
        #expect([header.ssrc, UInt32(header.sequenceNumber), header.timestamp, UInt32(header.payloadType)] == [1, 2, 3, 4])
        #expect(header.csrcs(in: packet) == [9])
    }

    @Test func rewriteUnsafeBuffer() throws {
        var packet = try RTPPacketBuilder(payloadType: 96, sequenceNumber: 1, timestamp: 2, ssrc: 3).build(payload: [1])
        try packet.withUnsafeMutableBytes { buffer in
            try RTPRewrite.setSSRC(77, in: buffer)
            try RTPRewrite.setSequenceNumber(78, in: buffer)
            try RTPRewrite.setTimestamp(79, in: buffer)
            try RTPRewrite.setPayloadType(80, in: buffer)
            try RTPRewrite.setMarker(true, in: buffer)
        }
        let header = try RTPHeader.parse(packet)
        #expect(header.ssrc == 77 && header.sequenceNumber == 78 && header.timestamp == 79)
        #expect(header.payloadType == 80 && header.marker)
    }

    @Test func rewriteRejectsBadInput() {
        var short: [UInt8] = [0x80, 0x60, 0, 1]
        #expect(throws: RTPError.truncated) { try RTPRewrite.setSSRC(1, in: &short) }
        var wrongVersion = [UInt8](repeating: 0, count: 12)
        #expect(throws: RTPError.badVersion(0)) { try RTPRewrite.setTimestamp(1, in: &wrongVersion) }
        var packet = hex("80 60 0001 00000000 11111111")
        #expect(throws: RTPError.invalidField) { try RTPRewrite.setPayloadType(128, in: &packet) }
        #expect(packet == hex("80 60 0001 00000000 11111111"))
    }
}
