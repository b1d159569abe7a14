import RTP
import Testing

/// The header fields a test case pins down.
struct HeaderFields: Equatable, Sendable, CustomStringConvertible {
    var marker = false
    var payloadType: UInt8 = 0
    var sequenceNumber: UInt16 = 0
    var timestamp: UInt32 = 0
    var ssrc: UInt32 = 0
    var csrcCount = 0
    var headerLength = 12
    var payloadLength = 0
    var paddingLength = 0
    var extensionProfile: UInt16 = 0
    var extensionOffset = 0
    var extensionLength = 0

    init(
        marker: Bool = false, payloadType: UInt8, sequenceNumber: UInt16, timestamp: UInt32, ssrc: UInt32,
        csrcCount: Int = 0, headerLength: Int = 12, payloadLength: Int, paddingLength: Int = 0,
        extensionProfile: UInt16 = 0, extensionOffset: Int = 0, extensionLength: Int = 0
    ) {
        self.marker = marker
        self.payloadType = payloadType
        self.sequenceNumber = sequenceNumber
        self.timestamp = timestamp
        self.ssrc = ssrc
        self.csrcCount = csrcCount
        self.headerLength = headerLength
        self.payloadLength = payloadLength
        self.paddingLength = paddingLength
        self.extensionProfile = extensionProfile
        self.extensionOffset = extensionOffset
        self.extensionLength = extensionLength
    }

    init(_ h: RTPHeader) {
        self.init(
            marker: h.marker, payloadType: h.payloadType, sequenceNumber: h.sequenceNumber, timestamp: h.timestamp,
            ssrc: h.ssrc, csrcCount: h.csrcCount, headerLength: h.headerLength, payloadLength: h.payloadLength,
            paddingLength: h.paddingLength, extensionProfile: h.extensionProfile,
            extensionOffset: h.extensionOffset, extensionLength: h.extensionLength)
    }

    var description: String {
        "M=\(marker) PT=\(payloadType) seq=\(sequenceNumber) ts=\(timestamp) ssrc=\(ssrc) cc=\(csrcCount) "
            + "hdr=\(headerLength) pay=\(payloadLength) pad=\(paddingLength) ext=\(extensionProfile)@\(extensionOffset)+\(extensionLength)"
    }
}

@Suite("RTP header parsing (RFC 3550 §5.1, RFC 8285)")
struct RTPHeaderParseTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let bytes: [UInt8]
        let expected: Result<HeaderFields, RTPError>
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(
            name: "minimal header, 3-byte payload",
            bytes: hex(
                """
                80          # V=2 P=0 X=0 CC=0
                60          # M=0 PT=96
                1234        # sequence number
                deadbeef    # timestamp
                cafebabe    # SSRC
                010203      # payload
                """),
            expected: .success(
                HeaderFields(
                    payloadType: 96, sequenceNumber: 0x1234, timestamp: 0xDEAD_BEEF, ssrc: 0xCAFE_BABE,
                    payloadLength: 3))),
        Case(
            name: "marker and two CSRCs",
            bytes: hex(
                """
                82          # V=2 P=0 X=0 CC=2
                e0          # M=1 PT=96
                0001 00000064 11111111
                22222222    # CSRC 1
                33333333    # CSRC 2
                aabb        # payload
                """),
            expected: .success(
                HeaderFields(
                    marker: true, payloadType: 96, sequenceNumber: 1, timestamp: 100, ssrc: 0x1111_1111,
                    csrcCount: 2, headerLength: 20, payloadLength: 2))),
        Case(
            name: "one-byte extension block",
            bytes: hex(
                """
                90          # V=2 P=0 X=1 CC=0
                6f          # PT=111
                0002 00000960 11111111
                bede 0002   # profile 0xBEDE, 2 words of elements
                10 ff       # ID=1 L=0: one byte ff
                00          # padding byte
                22 aabbcc   # ID=2 L=2: three bytes
                00          # padding to the word
                dead        # payload
                """),
            expected: .success(
                HeaderFields(
                    payloadType: 111, sequenceNumber: 2, timestamp: 2400, ssrc: 0x1111_1111, headerLength: 24,
                    payloadLength: 2, extensionProfile: 0xBEDE, extensionOffset: 16, extensionLength: 8))),
        Case(
            name: "two-byte extension block",
            bytes: hex(
                """
                90 60 0003 00000000 11111111
                1000 0002   # profile 0x1000 (appbits 0), 2 words
                01 00       # ID=1 length 0
                02 03 a1a2a3  # ID=2 length 3
                00          # padding
                ff          # payload
                """),
            expected: .success(
                HeaderFields(
                    payloadType: 96, sequenceNumber: 3, timestamp: 0, ssrc: 0x1111_1111, headerLength: 24,
                    payloadLength: 1, extensionProfile: 0x1000, extensionOffset: 16, extensionLength: 8))),
        Case(
            name: "padding of 3 bytes",
            bytes: hex(
                """
                a0          # V=2 P=1 X=0 CC=0
                60 0004 00000000 11111111
                0102        # payload
                0000 03     # padding, last byte counts 3
                """),
            expected: .success(
                HeaderFields(
                    payloadType: 96, sequenceNumber: 4, timestamp: 0, ssrc: 0x1111_1111, payloadLength: 2,
                    paddingLength: 3))),
        Case(
            name: "padding-only packet (bandwidth probe)",
            bytes: hex("a0 60 0005 00000000 11111111 | 000000 04"),
            expected: .success(
                HeaderFields(
                    payloadType: 96, sequenceNumber: 5, timestamp: 0, ssrc: 0x1111_1111, payloadLength: 0,
                    paddingLength: 4))),
        Case(
            name: "header without payload",
            bytes: hex("80 00 0000 00000000 00000000"),
            expected: .success(HeaderFields(payloadType: 0, sequenceNumber: 0, timestamp: 0, ssrc: 0, payloadLength: 0))),
        Case(
            name: "extension with zero-length block",
            bytes: hex("90 60 0006 00000000 11111111 | bede 0000 | 99"),
            expected: .success(
                HeaderFields(
                    payloadType: 96, sequenceNumber: 6, timestamp: 0, ssrc: 0x1111_1111, headerLength: 16,
                    payloadLength: 1, extensionProfile: 0xBEDE, extensionOffset: 16, extensionLength: 0))),
        Case(name: "11 bytes", bytes: hex("80 60 0001 00000000 111111"), expected: .failure(.truncated)),
        Case(name: "empty", bytes: [], expected: .failure(.truncated)),
        Case(name: "version 1", bytes: hex("40 60 0001 00000000 11111111"), expected: .failure(.badVersion(1))),
        Case(name: "version 0 (a STUN message)", bytes: hex("00 01 0000 2112a442 00000000"), expected: .failure(.badVersion(0))),
        Case(name: "CC=15 but no CSRCs", bytes: hex("8f 60 0001 00000000 11111111 | 22222222"), expected: .failure(.truncated)),
        Case(name: "X=1 but no extension header", bytes: hex("90 60 0001 00000000 11111111 | bede"), expected: .failure(.truncated)),
        Case(
            name: "extension length runs past the end",
            bytes: hex("90 60 0001 00000000 11111111 | bede 0004 | 10ff0000"),
            expected: .failure(.truncated)),
        Case(
            name: "padding count 0",
            bytes: hex("a0 60 0001 00000000 11111111 | 0102 00"), expected: .failure(.badPadding)),
        Case(
            name: "padding count larger than payload",
            bytes: hex("a0 60 0001 00000000 11111111 | 0102 c8"), expected: .failure(.badPadding)),
        Case(
            name: "padding bit on a bare header (count would eat the header)",
            bytes: hex("a0 60 0001 00000000 11111104"), expected: .failure(.badPadding)),
    ]

    @Test(arguments: cases)
    func parse(_ testCase: Case) {
        let result: Result<HeaderFields, RTPError> = Result { () throws(RTPError) in
            HeaderFields(try RTPHeader.parse(testCase.bytes))
        }
        #expect(result == testCase.expected)
        // The unsafe-buffer entry point agrees with the array one.
        let viaPointer: Result<HeaderFields, RTPError> = testCase.bytes.withUnsafeBytes { buffer in
            Result { () throws(RTPError) in HeaderFields(try RTPHeader.parse(buffer)) }
        }
        #expect(viaPointer == testCase.expected)
    }

    @Test func csrcAccess() throws {
        let packet = hex("82 e0 0001 00000064 11111111 | 22222222 33333333 | aabb")
        let header = try RTPHeader.parse(packet)
        #expect(header.csrcs(in: packet) == [0x2222_2222, 0x3333_3333])
        #expect(header.csrc(2, in: packet.span) == nil)
        #expect(header.payloadRange == 20..<22)
        #expect(header.packetLength == packet.count)
    }

    @Test func oneByteElements() throws {
        let packet = RTPHeaderParseTests.cases[2].bytes
        let header = try RTPHeader.parse(packet)
        #expect(header.extensionForm == .oneByte)
        #expect(header.extensionElement(id: 1, in: packet)! == (17, 1))
        #expect(header.extensionElement(id: 2, in: packet)! == (20, 3))
        #expect(header.extensionElement(id: 3, in: packet) == nil)
        #expect(header.extensionElement(id: 0, in: packet) == nil)
        #expect(header.extensionValue(id: 2, width: 3, in: packet) == 0xAABBCC)
        #expect(header.extensionValue(id: 1, width: 2, in: packet) == nil)
        #expect(header.extensionElements(in: packet).map(\.id) == [1, 2])
        let viaPointer = packet.withUnsafeBytes { header.extensionElement(id: 2, in: $0) }
        #expect(viaPointer! == (20, 3))
    }

    @Test func twoByteElements() throws {
        let packet = RTPHeaderParseTests.cases[3].bytes
        let header = try RTPHeader.parse(packet)
        #expect(header.extensionForm == .twoByte)
        #expect(header.extensionElement(id: 1, in: packet)! == (18, 0))
        #expect(header.extensionElement(id: 2, in: packet)! == (20, 3))
    }

    @Test func reservedID15StopsParsing() throws {
        let packet = hex(
            """
            90 60 0001 00000000 11111111
            bede 0002
            10 aa       # ID=1, one byte
            f0          # ID=15: reserved, stop here
            20 bb       # ID=2 is never reached
            000000
            """)
        let header = try RTPHeader.parse(packet)
        #expect(header.extensionElement(id: 1, in: packet) != nil)
        #expect(header.extensionElement(id: 2, in: packet) == nil)
    }

    @Test func elementOverrunningTheBlockIsIgnored() throws {
        let packet = hex(
            """
            90 60 0001 00000000 11111111
            bede 0001
            10 aa       # ID=1, one byte
            2f 00       # ID=2 claims 16 bytes, only 1 left in the block
            ff          # payload
            """)
        let header = try RTPHeader.parse(packet)
        #expect(header.extensionElement(id: 1, in: packet)! == (17, 1))
        #expect(header.extensionElement(id: 2, in: packet) == nil)
    }

    @Test func nonRFC8285ProfileHasNoElements() throws {
        let packet = hex("90 60 0001 00000000 11111111 | abcd 0001 | 10aa0000")
        let header = try RTPHeader.parse(packet)
        #expect(header.extensionForm == nil)
        #expect(header.extensionElement(id: 1, in: packet) == nil)
        #expect(header.extensionLength == 4)
    }
}
