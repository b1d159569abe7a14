@testable import MediaPlane
import RTP
import SDP
import Testing
import Transport

/// Simulcast on real sessions (transport replaced by a counter): a viewer
/// waiting to switch layers keeps asking for the keyframe it needs.
@Suite(.serialized) struct SimulcastSessionTests {
    static let context = try! MediaContext(loopCount: 1)
    /// SSRC-group simulcast (`a=ssrc-group:SIM`), lowest layer first: 320, 640 and 1280 wide.
    static let layers: [(ssrc: UInt32, width: Int)] = [(11, 320), (12, 640), (13, 1280)]

    func session(simulcast: Bool) -> NodeRef {
        let context = Self.context, loop = context.loops.loops[0]
        let ref = context.nodeRef("test-\(UInt32.random(in: 0...UInt32.max))", on: loop)
        let id = ref.id
        ref.install { _ in
            let s = CountingSession(loop: loop, objectID: id, context: context, allowSend: true, allowReceive: true)
            var m = NegotiatedMedia(mid: "0", kind: .video, index: 0, accepted: true, direction: .sendrecv,
                                    codec: Codec(payloadType: 96, name: "VP8", clockRate: 90000), nack: true)
            if simulcast { m.simulcastSSRCs = Self.layers.map(\.ssrc) }
            s.apply([m])
            s.protection = NoProtection()
            return s
        }
        return ref
    }

    func on<T: Sendable>(_ ref: NodeRef, _ body: @escaping @Sendable (CountingSession) throws -> T) throws -> T {
        try ref.sync { node in Result { try body(node as! CountingSession) } }.get()  // session() makes one
    }

    /// One VP8 packet of layer `layer`: a keyframe start (with its picture size) or a delta frame.
    static func packet(layer: Int, sequence: UInt16, keyframe: Bool) throws -> [UInt8] {
        let (ssrc, width) = layers[layer]
        var payload: [UInt8] = [0x90, 0x80, 0x80 | UInt8(sequence >> 8 & 0x7F), UInt8(sequence & 0xFF)]
        if keyframe {
            let height = width * 9 / 16
            payload += [0x50, 0x42, 0x00, 0x9D, 0x01, 0x2A, UInt8(width & 0xFF), UInt8(width >> 8), UInt8(height & 0xFF), UInt8(height >> 8)]
        } else {
            payload += [0x51]
        }
        payload += [UInt8](repeating: 0xAB, count: 200 * (layer + 1))  // upper layers cost more
        return try RTPPacketBuilder(payloadType: 96, sequenceNumber: sequence, timestamp: UInt32(sequence) * 3000, ssrc: ssrc, marker: true)
            .build(payload: payload)
    }

    static func receive(_ p: CountingSession, _ packets: [[UInt8]]) {
        for packet in packets {
            var copy = packet
            copy.withUnsafeMutableBytes { p.receivePacket($0) }
        }
    }

    @Test func aPendingLayerSwitchAsksForItsKeyframeAgain() throws {
        let publisher = session(simulcast: true), viewer = session(simulcast: false)
        _ = try on(viewer) { $0.setReceiveQuality(.medium) }
        publisher.post(with: viewer) { p, v in p.addConsumer(v, kind: .video) }
        // Every layer flows; only q and h have sent a keyframe. The viewer settles on h.
        try on(publisher) { p in
            // One closed bitrate window (a layer not measured yet is not taken):
            // a few kbit/s each, all within the viewer's estimate.
            p.simulcast!.measure(at: p.now)
            Self.receive(p, try (0..<3).map { try Self.packet(layer: $0, sequence: 1, keyframe: $0 == 0) })
            p.simulcast!.measure(at: p.now + .milliseconds(500))
            p.chooseLayers(at: p.now)
            Self.receive(p, try [Self.packet(layer: 1, sequence: 2, keyframe: true)])
        }
        #expect(try on(viewer) { $0.layerSelection.current } == 1)
        // It asks for the top layer, which has no keyframe yet: one PLI now, none again at once.
        let first = try on(publisher) { $0.rtcp.plisSent }
        _ = try on(viewer) { $0.setReceiveQuality(.high) }
        let (target, asked) = try on(publisher) { p in
            p.chooseLayers(at: p.now)
            p.chooseLayers(at: p.now + .milliseconds(400))
            return (p.consumersOf(.video).first?.layerSelection.target, p.rtcp.plisSent)
        }
        #expect(target == 2)
        #expect(asked == first + 1)
        // The keyframe does not come (lost, or the request was): it asks again
        // `keyframeRetry` later, and keeps forwarding h meanwhile.
        try on(publisher) { p in
            Self.receive(p, try (3...4).flatMap { s in try (0..<3).map { try Self.packet(layer: $0, sequence: UInt16(s), keyframe: false) } })
            p.chooseLayers(at: p.now + SimulcastSessionTests.retry)
        }
        #expect(try on(publisher) { $0.rtcp.plisSent } == first + 2)
        #expect(try on(viewer) { $0.layerSelection.current } == 1)
        // The keyframe comes: the viewer switches, and no more requests.
        try on(publisher) { p in
            Self.receive(p, try [Self.packet(layer: 2, sequence: 5, keyframe: true)])
            p.chooseLayers(at: p.now + SimulcastSessionTests.retry)
        }
        #expect(try on(viewer) { $0.layerSelection.current } == 2)
        #expect(try on(publisher) { $0.rtcp.plisSent } == first + 2)
        publisher.post(with: viewer) { p, v in p.removeConsumer(v, kind: .video) }
    }

    static let retry = RtpSession.keyframeRetry + .milliseconds(10)

    /// Without simulcast too: a viewer that was forwarded no keyframe since its
    /// source was connected asks again every `keyframeRetry` until one passes
    /// (a lost request, or a still screen share that sends no other keyframe).
    @Test func aViewerWithoutAKeyframeKeepsAsking() async throws {
        let publisher = session(simulcast: false), viewer = capture()
        publisher.post(with: viewer) { p, v in p.addConsumer(v, kind: .video) }
        @Sendable func delta(_ s: UInt16) throws -> [UInt8] { try Self.packet(layer: 0, sequence: s, keyframe: false) }
        try on(publisher) { p in Self.receive(p, [try delta(1)]) }
        let first = try on(publisher) { $0.rtcp.plisSent }
        try on(publisher) { p in Self.receive(p, [try delta(2)]) }
        #expect(try on(publisher) { $0.rtcp.plisSent } == first)  // not at once
        try await Task.sleep(for: Self.retry)
        try on(publisher) { p in Self.receive(p, [try delta(3)]) }
        #expect(try on(publisher) { $0.rtcp.plisSent } == first + 1)
        // A keyframe reaches the viewer: no more requests.
        try on(publisher) { p in Self.receive(p, [try Self.packet(layer: 0, sequence: 4, keyframe: true)]) }
        try await Task.sleep(for: Self.retry)
        try on(publisher) { p in Self.receive(p, [try delta(5)]) }
        #expect(try on(publisher) { $0.rtcp.plisSent } == first + 1)
        #expect(try onCapture(viewer) { $0.sent.count } == 5)
        publisher.post(with: viewer) { p, v in p.removeConsumer(v, kind: .video) }
    }

    /// A publisher's RTX copy of a packet it already delivered (browsers probe
    /// bandwidth so) is not passed on; a repair is. A viewer connected
    /// mid-stream is never sent a packet older than its first: it would read
    /// the packets in between as lost, and nobody could resend them.
    @Test func secondCopiesAndPacketsFromBeforeAViewerStartedAreNotForwarded() throws {
        let publisher = session(simulcast: false), viewer = capture()
        try on(publisher) { p in p.rtxPayloadType = 97 }
        @Sendable func delta(_ s: UInt16) throws -> [UInt8] { try Self.packet(layer: 0, sequence: s, keyframe: false) }
        @Sendable func rtx(_ s: UInt16) throws -> [UInt8] {
            var out: [UInt8] = []
            try RTXPacketizer.wrap(try delta(s), payloadType: 97, ssrc: 99, sequenceNumber: 500 &+ s, into: &out)
            return out
        }
        try on(publisher) { p in Self.receive(p, try [1, 2, 3, 5].map(delta)) }  // 4 lost
        publisher.post(with: viewer) { p, v in p.addConsumer(v, kind: .video) }
        try on(publisher) { p in
            Self.receive(p, [try rtx(3)])  // a probe: a copy of 3
            Self.receive(p, [try delta(6)])  // the viewer's first
            Self.receive(p, [try rtx(4)])  // a repair, but of a packet before the viewer's first
            Self.receive(p, [try delta(9)])  // 7 and 8 lost
            Self.receive(p, [try rtx(8), try rtx(8)])  // repaired, then a copy
            Self.receive(p, [try delta(7)])  // late
        }
        let seqs = try onCapture(viewer) { v in v.sent.map { UInt16($0[2]) << 8 | UInt16($0[3]) } }
        #expect(seqs.count == 4)
        if let first = seqs.first { #expect(seqs.map { $0 &- first } == [0, 3, 2, 1]) }
        #expect(try on(publisher) { $0.rtcp.packetsDuplicated } == 2)
        publisher.post(with: viewer) { p, v in p.removeConsumer(v, kind: .video) }
    }

    /// A viewer that keeps what it sends.
    final class Capture: RtpSession {
        var sent: [[UInt8]] = []
        override func sendDatagram(_ bytes: UnsafeRawBufferPointer, kind: MediaKindKey) { sent.append(Array(bytes)) }
        override func sendRTCPDatagram(_ bytes: UnsafeRawBufferPointer, kind: MediaKindKey?) {}
    }

    func onCapture<T: Sendable>(_ ref: NodeRef, _ body: @escaping @Sendable (Capture) throws -> T) throws -> T {
        try ref.sync { node in Result { try body(node as! Capture) } }.get()  // capture() makes one
    }

    func capture() -> NodeRef {
        let context = Self.context, loop = context.loops.loops[0]
        let ref = context.nodeRef("capture-\(UInt32.random(in: 0...UInt32.max))", on: loop)
        let id = ref.id
        ref.install { _ in
            let s = Capture(loop: loop, objectID: id, context: context, allowSend: true, allowReceive: true)
            s.apply([NegotiatedMedia(mid: "0", kind: .video, index: 0, accepted: true, direction: .sendrecv,
                                     codec: Codec(payloadType: 96, name: "VP8", clockRate: 90000), nack: true)])
            s.protection = NoProtection()
            return s
        }
        return ref
    }

    /// A VP8 packet of layer 0 (one packet per frame) with a full descriptor:
    /// 15-bit PictureID, TL0PICIDX, TID and the layer sync bit.
    static func temporalPacket(sequence: UInt16, picture: UInt16, tl0: UInt8, tid: UInt8, sync: Bool, keyframe: Bool) throws -> [UInt8] {
        var payload: [UInt8] = [0x90, 0xE0, 0x80 | UInt8(picture >> 8 & 0x7F), UInt8(picture & 0xFF), tl0, tid << 6 | (sync ? 0x20 : 0)]
        payload += keyframe ? [0x50, 0x42, 0x00, 0x9D, 0x01, 0x2A, 0x40, 0x01, 0xB4, 0x00] : [0x51]
        payload += [UInt8](repeating: 0xAB, count: 100)
        return try RTPPacketBuilder(payloadType: 96, sequenceNumber: sequence, timestamp: UInt32(sequence) * 3000, ssrc: layers[0].ssrc, marker: true)
            .build(payload: payload)
    }

    /// What a viewer got: (sequence number, PictureID, TID) per packet.
    static func decoded(_ packets: [[UInt8]]) throws -> [(UInt16, UInt16, UInt8)] {
        try packets.map { p in
            let h = try RTPHeader.parse(p)
            let d = try VP8PayloadDescriptor.parse(packet: p, header: h)
            return (h.sequenceNumber, d.pictureID ?? 0, d.temporalLayer ?? 9)
        }
    }

    @Test func aTemporalCapDropsUpperLayersWithoutGaps() throws {
        let publisher = session(simulcast: true), viewer = capture()
        publisher.post(with: viewer) { p, v in p.addConsumer(v, kind: .video) }
        // L1T3 as libwebrtc sends it: TIDs 0 2 1 2 0 2 1 2 ..., TL0PICIDX counting the TID 0 frames.
        let pattern: [UInt8] = [0, 2, 1, 2]
        @Sendable func frames(_ range: Range<Int>, keyframes: Set<Int> = [], syncAt: Set<Int> = []) throws -> [[UInt8]] {
            try range.map { i in
                try Self.temporalPacket(sequence: UInt16(100 + i), picture: UInt16(500 + i), tl0: UInt8(i / 4), tid: pattern[i % 4],
                                        sync: syncAt.contains(i), keyframe: keyframes.contains(i))
            }
        }
        func sent() throws -> [(UInt16, UInt16, UInt8)] { try Self.decoded(try onCapture(viewer) { $0.sent }) }
        try on(publisher) { p in
            p.simulcast!.measure(at: p.now)
            Self.receive(p, try frames(0..<4, keyframes: [0]))
            p.simulcast!.measure(at: p.now + .milliseconds(500))
            p.chooseLayers(at: p.now)  // the only layer flowing, every temporal layer
            Self.receive(p, try frames(4..<12, keyframes: [4]))
        }
        #expect(try sent().map(\.2) == [0, 2, 1, 2, 0, 2, 1, 2])
        // Cap at the base layer: only TID 0 goes out.
        publisher.post(with: viewer) { _, v in v.layerSelection.temporalTarget = 0 }
        try on(publisher) { p in Self.receive(p, try frames(12..<20)) }
        #expect(try sent().dropFirst(8).map(\.2) == [0, 0])
        // Raising the cap waits for layer sync frames: 21 (TID 2, no sync) stays out,
        // 22 (TID 1, sync) raises it to 1, 23 (TID 2, sync) to 2.
        publisher.post(with: viewer) { _, v in v.layerSelection.temporalTarget = LayerSelection.allTemporal }
        try on(publisher) { p in Self.receive(p, try frames(20..<28, syncAt: [22, 23])) }
        let all = try sent()
        #expect(all.dropFirst(10).map(\.2) == [0, 1, 2, 0, 2, 1, 2])
        // Sequence numbers and PictureIDs run on without a gap through every drop.
        for (a, b) in zip(all, all.dropFirst()) {
            #expect(b.0 == a.0 &+ 1 && b.1 == (a.1 &+ 1) & 0x7FFF, "\(all)")
        }
        // The viewer's stats say what happened.
        let dropped = try onCapture(viewer) { $0.outStream(.video).temporalDropped }
        #expect(dropped == 7)
        publisher.post(with: viewer) { p, v in p.removeConsumer(v, kind: .video) }
    }
}
