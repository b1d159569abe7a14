import FuzzSupport
import RTP
import STUN
import Testing

/// Mutation fuzzing: valid packets of every kind, damaged at random by a
/// seeded PRNG, go through every parser. Nothing may trap; whatever parses
/// must be usable (offsets inside the buffer, re-serialization parses).
/// 8 shards x 2500 inputs = 20,000 inputs per run, identical every run.
@Suite("Mutation fuzzing of every parser")
struct FuzzTests {
    static func corpus() throws -> [[UInt8]] {
        var seeds: [[UInt8]] = [
            CapturedPacketTests.vp8KeyFrame, CapturedPacketTests.opus, CapturedPacketTests.senderReportAndSDES,
            CapturedPacketTests.receiverReport, CapturedPacketTests.remb, CapturedPacketTests.bye,
        ]
        seeds += RTPHeaderParseTests.cases.map(\.bytes)
        seeds += RTCPReportTests.cases.map(\.bytes)
        seeds += RTCPFeedbackTests.cases.map(\.bytes)
        seeds += TransportCCTests.cases.map(\.bytes)
        seeds += VP8DescriptorTests.cases.map(\.payload)
        seeds.append(
            try RTPPacketBuilder(
                payloadType: 100, sequenceNumber: 1, timestamp: 2, ssrc: 3, csrcs: [4, 5],
                extensions: [RTPExtensionElement(id: 30, data: [1, 2, 3]), RTPExtensionElement(id: 1, data: [])],
                paddingLength: 7
            ).build(payload: hex("90 f0 80ff 2a 9f 00 1122")))
        return seeds
    }

    static func mutate(_ input: [UInt8], _ rng: inout SplitMix64, corpus: [[UInt8]]) -> [UInt8] {
        var bytes = input
        for _ in 0..<Int.random(in: 1...4, using: &rng) {
            switch UInt8.random(in: 0...7, using: &rng) {
            case 0 where !bytes.isEmpty:  // flip one bit
                let index = Int.random(in: 0..<bytes.count, using: &rng)
                bytes[index] ^= 1 << UInt8.random(in: 0...7, using: &rng)
            case 1 where !bytes.isEmpty:  // random byte
                bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            case 2 where !bytes.isEmpty:  // interesting byte values
                let values: [UInt8] = [0x00, 0xFF, 0x7F, 0x80, 0x01, 0x1F, 0x20, 0xBE, 0xDE, 0x10]
                bytes[Int.random(in: 0..<bytes.count, using: &rng)] = values.randomElement(using: &rng)!
            case 3:  // truncate
                bytes.removeLast(Int.random(in: 0...bytes.count, using: &rng))
            case 4:  // append random bytes
                for _ in 0..<Int.random(in: 1...16, using: &rng) { bytes.append(UInt8.random(in: 0...255, using: &rng)) }
            case 5 where bytes.count > 1:  // delete a range
                let start = Int.random(in: 0..<bytes.count, using: &rng)
                bytes.removeSubrange(start..<min(bytes.count, start + Int.random(in: 1...8, using: &rng)))
            case 6:  // splice another seed
                let other = corpus.randomElement(using: &rng)!
                let cut = Int.random(in: 0...bytes.count, using: &rng)
                bytes = Array(bytes[..<cut]) + other.prefix(Int.random(in: 0...other.count, using: &rng))
            default:  // large length-like values in the first words
                if bytes.count >= 4 {
                    bytes[Int.random(in: 2...3, using: &rng)] = 0xFF
                }
            }
        }
        return bytes
    }

    /// Runs every parser on `bytes`, checking invariants of what parses.
    /// Returns which of the two main parsers accepted it, so the shards can
    /// check that mutation still reaches the deep paths.
    @discardableResult
    static func exercise(_ bytes: [UInt8], _ rng: inout SplitMix64) -> (rtp: Bool, rtcp: Bool) {
        var accepted = (rtp: false, rtcp: false)
        _ = Demux.classify(bytes)
        _ = bytes.withUnsafeBytes { Demux.classify($0) }
        _ = Demux.hasSTUNMagicCookie(bytes)

        if let header = try? RTPHeader.parse(bytes) {
            accepted.rtp = true
            #expect(header.packetLength == bytes.count)
            #expect(header.payloadRange.upperBound <= bytes.count)
            for element in header.extensionElements(in: bytes) {
                #expect(element.offset >= header.extensionOffset)
                #expect(element.offset + element.length <= header.extensionOffset + header.extensionLength)
            }
            _ = header.extensionElement(id: UInt8.random(in: 0...255, using: &rng), in: bytes)
            _ = header.extensionValue(id: 1, width: 3, in: bytes)
            _ = AudioLevel.read(id: UInt8.random(in: 1...14, using: &rng), header: header, in: bytes)
            if let vp8 = try? VP8PayloadDescriptor.parse(packet: bytes, header: header) {
                #expect(vp8.payloadHeaderOffset < header.payloadRange.upperBound)
                var copy = bytes
                vp8.setPictureID(UInt16.random(in: 0...0xFFFF, using: &rng), in: &copy)
                vp8.setTL0PicIdx(1, in: &copy)
            }
            _ = OpusTOC(payload: Array(bytes[header.payloadRange])).map { $0.packetDurationMicroseconds(in: [$0.byte]) }
            var out: [UInt8] = []
            try? RTXPacketizer.unwrap(bytes, originalPayloadType: 96, originalSSRC: 1, into: &out)
            try? RTXPacketizer.wrap(bytes, payloadType: 97, ssrc: 2, sequenceNumber: 3, into: &out)
            if let rebuilt = try? RTPPacketBuilder(parsing: bytes) {
                _ = try? rebuilt.build(payload: bytes[header.payloadRange])
            }
            var copy = bytes
            try? RTPRewrite.rewrite(&copy, ssrc: 1, sequenceNumber: 2, timestamp: 3, payloadType: 4)
            #expect((try? RTPHeader.parse(copy))?.payloadRange == header.payloadRange)
            _ = RTPRewrite.setExtensionValue(7, id: 3, width: 3, header: header, in: &copy)
        }
        var rewritten = bytes
        try? RTPRewrite.setMarker(true, in: &rewritten)
        _ = try? VP8PayloadDescriptor.parse(bytes)

        if let packets = try? RTCPCompound.parse(bytes) {
            accepted.rtcp = true
            let again = RTCPCompound.serialize(packets)
            if !again.isEmpty {
                let reparsed = Result { () throws(RTCPError) in try RTCPCompound.parse(again) }
                #expect(throws: Never.self) { try reparsed.get() }
            }
        }
        _ = try? RTCPCompound.packetRanges(bytes)
        _ = try? SenderReport.parse(bytes)
        _ = try? ReceiverReport.parse(bytes)
        _ = try? SourceDescription.parse(bytes)
        _ = try? Goodbye.parse(bytes)
        _ = try? GenericNACK.parse(bytes)
        _ = try? PictureLossIndication.parse(bytes)
        _ = try? FullIntraRequest.parse(bytes)
        _ = try? REMB.parse(bytes)
        _ = try? TransportCCFeedback.parse(bytes)
        _ = bytes.withUnsafeBytes { try? RTCPCompound.parse($0) }
        _ = bytes.withUnsafeBytes { try? RTPHeader.parse($0) }
        return accepted
    }

    @Test(arguments: 0..<8)
    func mutatedInputs(shard: Int) throws {
        let corpus = try Self.corpus()
        var rng = SplitMix64(seed: 0xF022 &+ UInt64(shard))
        var buffer = RetransmissionBuffer(capacity: 16, slotSize: 256)
        var statistics = ReceiveStatistics(ssrc: 1)
        var nack = NACKGenerator(configuration: .init(maxListSize: 100))
        var acceptedRTP = 0
        var acceptedRTCP = 0
        for iteration in 0..<2500 {
            let seed = corpus.randomElement(using: &rng)!
            let input = Self.mutate(seed, &rng, corpus: corpus)
            let accepted = Self.exercise(input, &rng)
            if accepted.rtp { acceptedRTP += 1 }
            if accepted.rtcp { acceptedRTCP += 1 }
            buffer.store(input)
            if input.count >= 4 {
                let seq = UInt16(input[2]) << 8 | UInt16(input[3])
                _ = buffer.get(seq)
                statistics.received(sequenceNumber: seq, rtpTimestamp: UInt32(input.count), arrival: UInt32(iteration))
                nack.received(seq, now: .milliseconds(iteration))
                _ = nack.poll(now: .milliseconds(iteration))
            }
        }
        _ = statistics.makeReportBlock(now: .seconds(1))
        // Mutations must not be so destructive that nothing parses.
        #expect(acceptedRTP > 100, "only \(acceptedRTP) mutated inputs parsed as RTP")
        #expect(acceptedRTCP > 100, "only \(acceptedRTCP) mutated inputs parsed as RTCP")
    }

    @Test func randomNoise() {
        var rng = SplitMix64(seed: 0x5EED)
        for _ in 0..<2000 {
            var bytes = (0..<Int.random(in: 0...64, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            // Half of them get a plausible first byte so they reach the deeper paths.
            if !bytes.isEmpty && Bool.random(using: &rng) { bytes[0] = 0x80 | (bytes[0] & 0x3F) }
            Self.exercise(bytes, &rng)
        }
    }
}
