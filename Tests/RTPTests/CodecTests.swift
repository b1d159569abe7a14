import RTP
import Testing

@Suite("VP8 payload descriptor (RFC 7741 §4.2)")
struct VP8DescriptorTests {
    /// Expected fields, compared as a whole so each case is one line.
    struct Fields: Equatable, Sendable {
        var nonReference = false
        var start = false
        var partition: UInt8 = 0
        var pictureID: UInt16?
        var longPictureID = false
        var tl0: UInt8?
        var tid: UInt8?
        var sync = false
        var keyIndex: UInt8?
        var headerOffset = 1
        var keyframeStart = false
    }

    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let payload: [UInt8]
        let expected: Result<Fields, RTPError>
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(
            name: "minimal key frame start",
            payload: hex("10 | d0"),  // S=1 PID=0 | VP8 header byte with P=0 (bit 0) = key frame
            expected: .success(Fields(start: true, keyframeStart: true))),
        Case(
            name: "7-bit PictureID, inter frame",
            payload: hex("90 | 80 | 05 | 01"),  // X S | I | M=0 PictureID 5 | P=1
            expected: .success(Fields(start: true, pictureID: 5, headerOffset: 3))),
        Case(
            name: "15-bit PictureID, TL0PICIDX, TID and KEYIDX",
            payload: hex(
                """
                90          # X=1 S=1 PID=0
                f0          # I L T K
                80 ff       # M=1, PictureID 0x00ff
                2a          # TL0PICIDX 42
                9f          # TID=2 Y=0 KEYIDX=31
                00          # VP8 header, P=0
                """),
            expected: .success(
                Fields(
                    start: true, pictureID: 0xFF, longPictureID: true, tl0: 42, tid: 2, keyIndex: 31,
                    headerOffset: 6, keyframeStart: true))),
        Case(
            name: "continuation packet",
            payload: hex("00 | aa"), expected: .success(Fields())),
        Case(
            name: "start of partition 1 is not a frame start",
            payload: hex("11 | 00"), expected: .success(Fields(start: true, partition: 1))),
        Case(
            name: "non-reference frame",
            payload: hex("30 | 00"), expected: .success(Fields(nonReference: true, start: true, keyframeStart: true))),
        Case(
            name: "temporal layer only",
            payload: hex("80 | 20 | 40 | 00"),  // X | T | TID=1 Y=0
            expected: .success(Fields(tid: 1, headerOffset: 3))),
        Case(
            name: "layer sync bit",
            payload: hex("80 | 20 | e0 | 00"),  // TID=3 Y=1
            expected: .success(Fields(tid: 3, sync: true, headerOffset: 3))),
        Case(name: "empty", payload: [], expected: .failure(.truncated)),
        Case(name: "X without its byte", payload: hex("80"), expected: .failure(.truncated)),
        Case(name: "I without PictureID", payload: hex("80 80"), expected: .failure(.truncated)),
        Case(name: "15-bit PictureID cut in half", payload: hex("80 80 80"), expected: .failure(.truncated)),
        Case(name: "L without TL0PICIDX", payload: hex("80 40"), expected: .failure(.truncated)),
        Case(name: "K without its byte", payload: hex("80 10"), expected: .failure(.truncated)),
        Case(name: "descriptor without VP8 data", payload: hex("10"), expected: .failure(.payloadTooShort)),
        Case(name: "extended descriptor without VP8 data", payload: hex("90 80 05"), expected: .failure(.payloadTooShort)),
    ]

    @Test(arguments: cases)
    func parse(_ testCase: Case) {
        let result = Result { () throws(RTPError) -> Fields in
            let d = try VP8PayloadDescriptor.parse(testCase.payload)
            return Fields(
                nonReference: d.nonReference, start: d.startOfPartition, partition: d.partitionIndex,
                pictureID: d.pictureID, longPictureID: d.pictureIDIs15Bit, tl0: d.tl0PicIdx, tid: d.temporalLayer,
                sync: d.layerSync, keyIndex: d.keyIndex, headerOffset: d.payloadHeaderOffset,
                keyframeStart: d.isKeyframeStart)
        }
        #expect(result == testCase.expected)
    }

    @Test func rewriteInsideAnRTPPacket() throws {
        let payload = hex("90 | c0 | 80 ff | 2a | 00 1122")  // 15-bit PictureID, TL0PICIDX
        var packet = try RTPPacketBuilder(payloadType: 97, sequenceNumber: 1, timestamp: 2, ssrc: 3).build(payload: payload)
        let header = try RTPHeader.parse(packet)
        let descriptor = try VP8PayloadDescriptor.parse(packet: packet, header: header)
        #expect(descriptor.pictureIDOffset == 14 && descriptor.tl0PicIdxOffset == 16)
        #expect(descriptor.setPictureID(0x1234, in: &packet))
        #expect(descriptor.setTL0PicIdx(7, in: &packet))
        let reparsed = try VP8PayloadDescriptor.parse(packet: packet, header: try RTPHeader.parse(packet))
        #expect(reparsed.pictureID == 0x1234 && reparsed.tl0PicIdx == 7)
        // Values wider than the field keep their low 15 bits.
        packet.withUnsafeMutableBytes { _ = descriptor.setPictureID(0xFFFF, in: $0) }
        #expect(try VP8PayloadDescriptor.parse(packet: packet, header: header).pictureID == 0x7FFF)
        #expect(try RTPHeader.parse(packet) == header)
    }

    @Test func rewriteShortPictureIDAndMissingFields() throws {
        var payload = hex("90 | 80 | 05 | 01")
        let descriptor = try VP8PayloadDescriptor.parse(payload)
        #expect(descriptor.setPictureID(200, in: &payload))
        #expect(try VP8PayloadDescriptor.parse(payload).pictureID == 200 & 0x7F)
        #expect(!descriptor.setTL0PicIdx(1, in: &payload))
        var bare = hex("10 | d0")
        #expect(!(try VP8PayloadDescriptor.parse(bare)).setPictureID(1, in: &bare))
    }
}

@Suite("Opus TOC (RFC 6716 §3.1) and audio level (RFC 6464)")
struct AudioPayloadTests {
    @Test(arguments: [
        // (payload, mode, stereo, frame µs, packet µs or nil)
        ([0x78] as [UInt8], OpusTOC.Mode.hybrid, false, 20_000, 20_000 as Int?),  // config 15, c=0: 1 frame
        ([0xFC], .celt, true, 20_000, 20_000),  // config 31, stereo
        ([0x01], .silk, false, 10_000, 20_000),  // config 0, c=1: two frames
        ([0x6A], .hybrid, false, 20_000, 40_000),  // config 13, c=2: two frames of different sizes
        ([0x4B, 0x03], .silk, false, 20_000, 60_000),  // config 9, c=3, M=3
        ([0x4B, 0x07], .silk, false, 20_000, nil),  // 7 x 20 ms > 120 ms
        ([0x4B], .silk, false, 20_000, nil),  // c=3 without the count byte
        ([0x4B, 0x00], .silk, false, 20_000, nil),  // zero frames
        ([0x80], .celt, false, 2_500, 2_500),  // config 16: CELT NB 2.5 ms
    ])
    func toc(payload: [UInt8], mode: OpusTOC.Mode, stereo: Bool, frame: Int, packet: Int?) throws {
        let toc = try #require(OpusTOC(payload: payload))
        #expect(toc.mode == mode)
        #expect(toc.isStereo == stereo)
        #expect(toc.frameDurationMicroseconds == frame)
        #expect(toc.packetDurationMicroseconds(in: payload) == packet)
        #expect(toc.packetDurationSamples(in: payload) == packet.map { $0 * 48 / 1000 })
    }

    @Test func bandwidths() {
        #expect(OpusTOC(0 << 3).bandwidth == .narrowband)
        #expect(OpusTOC(5 << 3).bandwidth == .mediumband)
        #expect(OpusTOC(21 << 3).bandwidth == .wideband)
        #expect(OpusTOC(12 << 3).bandwidth == .superWideband)
        #expect(OpusTOC(15 << 3).bandwidth == .fullband)
        #expect(OpusTOC(payload: []) == nil)
    }

    @Test func payloadHelpers() {
        #expect(OpusPayload.isStereo([0xFC, 0xFF, 0xFE]) == true)
        #expect(OpusPayload.frameDurationMicroseconds([0x01]) == 10_000)
        #expect(OpusPayload.packetDurationMicroseconds([0x4B, 0x03]) == 60_000)
        #expect(OpusPayload.packetDurationSamples([0xFC]) == 960)
        #expect(OpusPayload.isStereo([]) == nil)
    }

    @Test func audioLevelByte() {
        #expect(AudioLevel(byte: 0x85) == AudioLevel(voiceActivity: true, level: 5))
        #expect(AudioLevel(voiceActivity: true, level: 5).byte == 0x85)
        #expect(AudioLevel(byte: 0x7F).dBov == -127)
        #expect(AudioLevel(voiceActivity: false, level: 200).level == 127)
    }

    @Test(arguments: [false, true])
    func audioLevelFromPacket(twoByte: Bool) throws {
        let packet = try RTPPacketBuilder(
            payloadType: 111, sequenceNumber: 1, timestamp: 960, ssrc: 9,
            extensions: [RTPExtensionElement(id: 4, data: [0x01, 0x02]), AudioLevel(voiceActivity: true, level: 30).element(id: 1)],
            preferTwoByteExtensions: twoByte
        ).build(payload: [0xFC])
        let header = try RTPHeader.parse(packet)
        #expect(AudioLevel.read(id: 1, header: header, in: packet) == AudioLevel(voiceActivity: true, level: 30))
        #expect(AudioLevel.read(id: 2, header: header, in: packet) == nil)
        let viaPointer = packet.withUnsafeBytes { AudioLevel.read(id: 1, header: header, in: $0) }
        #expect(viaPointer?.level == 30)
    }
}
