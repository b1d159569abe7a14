import Mixer
import RTP
import Testing

/// A fake VP8 frame: the first byte carries the keyframe bit (P=0 for key)
/// like a real frame tag, the rest is a recognisable pattern.
private func fakeFrame(size: Int, key: Bool, seed: UInt8) -> [UInt8] {
    var bytes = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ Int(seed)) }
    bytes[0] = key ? 0x10 : 0x11
    return bytes
}

private struct Collected {
    var frames: [[UInt8]] = []
    var keys: [Bool] = []
    var lost = 0
}

private func feed(_ assembler: inout VP8FrameAssembler, _ packets: [[UInt8]], into c: inout Collected) {
    for packet in packets {
        let result = assembler.push(packet) { frame in
            c.frames.append(Array(frame.data))
            c.keys.append(frame.isKeyframe)
        }
        if result.lost { c.lost += 1 }
    }
}

@Test func packetizerDescriptorAndHeaders() throws {
    var p = VP8Packetizer(ssrc: 0xDEAD_BEEF, payloadType: 96, mtu: 100, sequenceNumber: 10, pictureID: 0x7FFF)
    let frame = fakeFrame(size: 250, key: true, seed: 1)
    let packets = p.packetize(frame, timestamp: 9000)
    #expect(packets.count == 3)  // 96 bytes of data per packet
    var total = 0
    for (i, packet) in packets.enumerated() {
        let h = try RTPHeader.parse(packet)
        #expect(h.ssrc == 0xDEAD_BEEF && h.payloadType == 96 && h.timestamp == 9000)
        #expect(h.sequenceNumber == UInt16(10 + i))
        #expect(h.marker == (i == 2))
        #expect(h.payloadLength <= 100)
        let d = try VP8PayloadDescriptor.parse(packet: packet, header: h)
        #expect(d.startOfPartition == (i == 0) && d.partitionIndex == 0)
        #expect(d.pictureID == 0x7FFF && d.pictureIDIs15Bit)
        total += h.payloadLength - d.descriptorLength
    }
    #expect(total == 250)
    // PictureID wraps within 15 bits and increases per frame.
    let next = p.packetize(fakeFrame(size: 10, key: false, seed: 2), timestamp: 12000)
    let d = try VP8PayloadDescriptor.parse(packet: next[0], header: try RTPHeader.parse(next[0]))
    #expect(d.pictureID == 0 && next.count == 1)
    #expect(p.sequenceNumber == 14 && p.pictureID == 1)
}

@Test func roundTripLargeFramesAndSequenceWrap() {
    var p = VP8Packetizer(ssrc: 1, payloadType: 96, mtu: 1200, sequenceNumber: 65_530)
    var a = VP8FrameAssembler()
    var c = Collected()
    var sent: [[UInt8]] = []
    for i in 0..<20 {
        let frame = fakeFrame(size: i == 0 ? 9_000 : 500 + 300 * i, key: i == 0, seed: UInt8(i))
        sent.append(frame)
        feed(&a, p.packetize(frame, timestamp: UInt32(i * 3000)), into: &c)
    }
    #expect(c.frames == sent)
    #expect(c.keys == [true] + Array(repeating: false, count: 19))
    #expect(c.lost == 0 && !a.needsKeyframe)
}

@Test func reorderWithinWindowIsAbsorbed() {
    var p = VP8Packetizer(ssrc: 1, payloadType: 96, mtu: 200)
    var a = VP8FrameAssembler()
    var c = Collected()
    var sent: [[UInt8]] = []
    for i in 0..<6 {
        let frame = fakeFrame(size: 500, key: i == 0, seed: UInt8(i))  // 3 packets each
        sent.append(frame)
        var packets = p.packetize(frame, timestamp: UInt32(i * 3000))
        if i % 2 == 1 { packets.swapAt(0, 2) } else { packets.swapAt(1, 2) }
        feed(&a, packets, into: &c)
    }
    #expect(c.frames == sent)
    #expect(c.lost == 0)
    // Across frames: the first packet of the next frame before the last of this one.
    var all: [[UInt8]] = []
    for i in 6..<8 { all += p.packetize(fakeFrame(size: 500, key: false, seed: UInt8(i)), timestamp: UInt32(i * 3000)) }
    all.swapAt(2, 3)
    feed(&a, all, into: &c)
    #expect(c.frames.count == 8 && c.lost == 0)
}

@Test func lossDropsFrameUntilKeyframe() {
    var p = VP8Packetizer(ssrc: 1, payloadType: 96, mtu: 200)
    var a = VP8FrameAssembler()
    var c = Collected()
    feed(&a, p.packetize(fakeFrame(size: 500, key: true, seed: 0), timestamp: 0), into: &c)
    #expect(c.frames.count == 1)
    // Frame 1 loses its middle packet.
    var lossy = p.packetize(fakeFrame(size: 500, key: false, seed: 1), timestamp: 3000)
    lossy.remove(at: 1)
    feed(&a, lossy, into: &c)
    // Delta frames after it: the loss is declared within the reorder window
    // and none of them is delivered.
    for i in 2..<6 { feed(&a, p.packetize(fakeFrame(size: 500, key: false, seed: UInt8(i)), timestamp: UInt32(i * 3000)), into: &c) }
    #expect(c.lost == 1)
    #expect(c.frames.count == 1)
    #expect(a.needsKeyframe)
    // The keyframe resynchronises.
    let key = fakeFrame(size: 700, key: true, seed: 9)
    feed(&a, p.packetize(key, timestamp: 30000), into: &c)
    #expect(c.frames.count == 2 && c.frames.last == key && c.keys.last == true)
    #expect(!a.needsKeyframe)
    feed(&a, p.packetize(fakeFrame(size: 300, key: false, seed: 10), timestamp: 33000), into: &c)
    #expect(c.frames.count == 3)
}

@Test func firstPacketsWithoutKeyframeNeedKeyframe() {
    var p = VP8Packetizer(ssrc: 1, payloadType: 96, mtu: 200)
    var a = VP8FrameAssembler()
    var c = Collected()
    #expect(a.needsKeyframe)
    feed(&a, p.packetize(fakeFrame(size: 300, key: false, seed: 1), timestamp: 0), into: &c)
    #expect(c.frames.isEmpty && a.needsKeyframe)
    // The first packet of a keyframe arrives: no longer asking.
    let key = p.packetize(fakeFrame(size: 500, key: true, seed: 2), timestamp: 3000)
    feed(&a, [key[0]], into: &c)
    #expect(!a.needsKeyframe)
    feed(&a, Array(key.dropFirst()), into: &c)
    #expect(c.frames.count == 1 && c.keys == [true])
}

@Test func duplicatesAndMalformedAreIgnored() {
    var p = VP8Packetizer(ssrc: 1, payloadType: 96, mtu: 200)
    var a = VP8FrameAssembler()
    var c = Collected()
    let packets = p.packetize(fakeFrame(size: 500, key: true, seed: 0), timestamp: 0)
    feed(&a, packets + packets, into: &c)
    #expect(c.frames.count == 1 && c.lost == 0)
    let bad = a.push([0x80, 0x60, 0x00]) { _ in }
    #expect(bad.malformed)
}

@Test func oneStraySequenceNumberDoesNotStopTheFrames() {
    var p = VP8Packetizer(ssrc: 1, payloadType: 96, mtu: 400, sequenceNumber: 1_000)
    var a = VP8FrameAssembler()
    var c = Collected()
    for i in 0..<5 { feed(&a, p.packetize(fakeFrame(size: 900, key: i == 0, seed: UInt8(i)), timestamp: UInt32(i * 3000)), into: &c) }
    #expect(c.frames.count == 5)
    // A packet 5,000 ahead, alone: dropped; the stream goes on untouched.
    var other = VP8Packetizer(ssrc: 1, payloadType: 96, mtu: 400, sequenceNumber: 6_000)
    feed(&a, [other.packetize(fakeFrame(size: 100, key: true, seed: 9), timestamp: 99_000)[0]], into: &c)
    for i in 5..<10 { feed(&a, p.packetize(fakeFrame(size: 900, key: false, seed: UInt8(i)), timestamp: UInt32(i * 3000)), into: &c) }
    #expect(c.frames.count == 10 && c.lost == 0)
    // A real restart of the numbering: the first packet is held, the second confirms, nothing of the new stream is lost.
    var q = VP8Packetizer(ssrc: 1, payloadType: 96, mtu: 400, sequenceNumber: 40_000)
    let restartKey = fakeFrame(size: 900, key: true, seed: 20)
    feed(&a, q.packetize(restartKey, timestamp: 60_000), into: &c)
    #expect(c.frames.count == 11 && c.frames.last == restartKey && c.keys.last == true)
    feed(&a, q.packetize(fakeFrame(size: 900, key: false, seed: 21), timestamp: 63_000), into: &c)
    #expect(c.frames.count == 12)
}
