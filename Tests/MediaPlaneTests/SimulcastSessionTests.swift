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
}
