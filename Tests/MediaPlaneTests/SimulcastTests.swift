import MediaPlane
import RTP
import Testing

/// The pure parts of simulcast forwarding: switching only at keyframes,
/// choosing a layer from quality and bandwidth, and the viewer's estimate.
@Suite struct SimulcastSelectionTests {
    @Test func aConsumerSwitchesOnlyAtTheTargetsKeyframe() {
        var s = LayerSelection()
        do { let r = s.retarget(2); #expect(r) }
        do { let r = s.admit(layer: 2, keyframeStart: false); #expect(!r) }  // nothing until a keyframe
        do { let r = s.admit(layer: 0, keyframeStart: true); #expect(!r) }   // not the target
        do { let r = s.admit(layer: 2, keyframeStart: true); #expect(r) }
        do { let r = s.admit(layer: 2, keyframeStart: false); #expect(r) }
        do { let r = s.retarget(0); #expect(r) }
        do { let r = s.admit(layer: 2, keyframeStart: false); #expect(r) }   // the old layer until the new one's keyframe
        do { let r = s.admit(layer: 0, keyframeStart: false); #expect(!r) }
        do { let r = s.admit(layer: 0, keyframeStart: true); #expect(r) }
        do { let r = s.admit(layer: 2, keyframeStart: false); #expect(!r) }
        #expect(s.switches == 1)
        do { let r = s.retarget(0); #expect(!r) }  // no change, no keyframe needed
    }

    /// Three active layers q (320 wide, 150 kbit/s), h (640, `h` bit/s, 500 k
    /// unless given), f (1280, 1500), listed in the offer as f, q, h so that
    /// ranking must come from the pictures.
    func ingress(at t: Duration, h: Int = 500_000) -> SimulcastIngress {
        var i = SimulcastIngress(rids: ["f", "q", "h"], ridExtension: nil, repairedRidExtension: nil)
        let layers: [(Int, Int, Int)] = [(0, 1280, 1_500_000), (1, 320, 150_000), (2, 640, h)]
        i.measure(at: t - .milliseconds(500))  // opens a half-second window
        for (index, width, bitrate) in layers {
            i.received(layer: index, bytes: bitrate / 16, keyframe: (width, width * 9 / 16), at: t - .milliseconds(10))
        }
        i.measure(at: t, window: .milliseconds(500))
        return i
    }

    @Test func layersRankByPictureSizeAndFitTheEstimate() {
        let t = Duration.seconds(1)
        let i = ingress(at: t)
        #expect(i.ranked == [1, 2, 0])
        #expect(i.choose(preferred: .auto, estimate: nil, current: nil, at: t) == 0)
        #expect(i.choose(preferred: .low, estimate: nil, current: nil, at: t) == 1)
        #expect(i.choose(preferred: .medium, estimate: nil, current: nil, at: t) == 2)
        #expect(i.choose(preferred: .auto, estimate: 700_000, current: nil, at: t) == 2)
        #expect(i.choose(preferred: .auto, estimate: 300_000, current: nil, at: t) == 1)
        #expect(i.choose(preferred: .auto, estimate: 10_000, current: nil, at: t) == 1)  // the lowest layer is always allowed
        #expect(i.choose(preferred: .high, estimate: 300_000, current: nil, at: t) == 1)  // bandwidth caps a preference
        // A layer that stops sending is not chosen.
        #expect(i.choose(preferred: .auto, estimate: nil, current: nil, at: t + .seconds(2)) == nil)
    }

    @Test func aViewerPushedDownWaitsBeforeTryingHigher() {
        let t = Duration.seconds(1)
        let i = ingress(at: t)
        var s = LayerSelection()
        _ = s.retarget(0)
        _ = s.admit(layer: 0, keyframeStart: true)
        // The estimate falls: straight down, and the current layer is dropped at once.
        do { let r = i.choose(for: &s, estimate: 200_000, at: t); #expect(r == 1) }
        #expect(s.current == nil && s.upBlockedUntil > t)
        _ = s.retarget(1)
        _ = s.admit(layer: 1, keyframeStart: true)
        // Plenty of bandwidth again, but the back-off holds it...
        do { let r = i.choose(for: &s, estimate: 5_000_000, at: t + .milliseconds(300)); #expect(r == 1) }
        // ...for 8 s; then one layer up.
        let t2 = t + .milliseconds(8_100)
        do { let r = ingress(at: t2).choose(for: &s, estimate: 5_000_000, at: t2); #expect(r == 2) }
        _ = s.retarget(2)
        _ = s.admit(layer: 2, keyframeStart: true)
        // That try fails 2 s later: the next waits twice as long.
        let t3 = t2 + .seconds(2)
        do { let r = ingress(at: t3).choose(for: &s, estimate: 200_000, at: t3); #expect(r == 1) }
        #expect(s.upBlockedUntil == t3 + .seconds(16))
        _ = s.retarget(1)
        _ = s.admit(layer: 1, keyframeStart: true)
        let t4 = t3 + .milliseconds(16_100)
        do { let r = ingress(at: t4).choose(for: &s, estimate: 5_000_000, at: t4); #expect(r == 2) }
        _ = s.retarget(2)
        _ = s.admit(layer: 2, keyframeStart: true)
        // A fall long after the move up is the link changing, not a failed try: 8 s again.
        let t5 = t4 + .seconds(30)
        do { let r = ingress(at: t5).choose(for: &s, estimate: 200_000, at: t5); #expect(r == 1) }
        #expect(s.upBlockedUntil == t5 + .seconds(8))
    }

    @Test func aLayerGrowingDearerIsLeftWithoutBackOff() {
        let t = Duration.seconds(1)
        var s = LayerSelection()
        _ = s.retarget(1)
        _ = s.admit(layer: 1, keyframeStart: true)
        // 700 kbit/s fits h (500) with headroom: up one layer.
        do { let r = ingress(at: t).choose(for: &s, estimate: 700_000, at: t); #expect(r == 2) }
        _ = s.retarget(2)
        _ = s.admit(layer: 2, keyframeStart: true)
        // The estimate holds but h now costs 800 kbit/s (a browser raising it): back to q,
        // still forwarding h until q's keyframe, and free to move up once the estimate allows.
        let t2 = t + .seconds(1)
        do { let r = ingress(at: t2, h: 800_000).choose(for: &s, estimate: 700_000, at: t2); #expect(r == 1) }
        #expect(s.current == 2)
        #expect(s.upBlockedUntil <= t2)
    }

    @Test func belowTheLowestLayerTemporalLayersAreCapped() {
        let t = Duration.seconds(1)
        var i = SimulcastIngress(rids: ["q", "h"], ridExtension: nil, repairedRidExtension: nil)
        i.measure(at: t - .milliseconds(500))
        // q: 150 kbit/s as TL0 60 + TL1 40 + TL2 50; h: 500 kbit/s, no TIDs.
        for (tid, bitrate) in [(UInt8(0), 60_000), (1, 40_000), (2, 50_000)] {
            i.received(layer: 0, bytes: bitrate / 16, keyframe: tid == 0 ? (320, 180) : nil, temporal: tid, at: t - .milliseconds(10))
        }
        i.received(layer: 1, bytes: 500_000 / 16, keyframe: (640, 360), at: t - .milliseconds(10))
        i.measure(at: t, window: .milliseconds(500))
        #expect(i.layers[0].temporalLayers == 3 && i.layers[1].temporalLayers == 0)
        #expect(i.layers[0].bitrate(upToTemporal: 1) == 100_000)
        let all = LayerSelection.allTemporal
        #expect(i.temporalCap(layer: 0, estimate: 200_000, current: all, at: t) == all)
        #expect(i.temporalCap(layer: 0, estimate: 100_000, current: all, at: t) == 1)
        #expect(i.temporalCap(layer: 0, estimate: 70_000, current: all, at: t) == 0)
        #expect(i.temporalCap(layer: 0, estimate: 10_000, current: all, at: t) == 0)  // the base layer is always kept
        // Raising needs headroom: at 1, 160 kbit/s is not enough for all three (150 / 0.85).
        #expect(i.temporalCap(layer: 0, estimate: 160_000, current: 1, at: t) == 1)
        #expect(i.temporalCap(layer: 0, estimate: 180_000, current: 1, at: t) == all)
        // No cap on a higher layer, nor without an estimate.
        #expect(i.temporalCap(layer: 1, estimate: 10_000, current: all, at: t) == all)
        #expect(i.temporalCap(layer: 0, estimate: nil, current: all, at: t) == all)
    }

    @Test func aLayerNotMeasuredYetIsNotTakenOnTrust() {
        let t = Duration.seconds(1)
        var i = SimulcastIngress(rids: ["q", "h"], ridExtension: nil, repairedRidExtension: nil)
        i.received(layer: 0, bytes: 1_000, keyframe: (320, 180), at: t - .milliseconds(10))
        i.received(layer: 1, bytes: 1_000, keyframe: (640, 360), at: t - .milliseconds(10))
        // No bitrate window closed yet: both layers flow, neither has a measured bitrate.
        #expect(i.choose(preferred: .auto, estimate: 300_000, current: nil, at: t) == 0)
        #expect(i.choose(preferred: .auto, estimate: nil, current: nil, at: t) == 1)  // no estimate, no limit
    }

    @Test func viewerEstimateFollowsLossAndNACKs() {
        var v = ViewerBandwidth()
        #expect(v.estimate == ViewerBandwidth.initial)
        // Clean reports: slow start, +50 % a second, whatever the number of reports.
        v.report(fractionLost: 0, bytesSent: 0, at: .seconds(1))
        v.report(fractionLost: 0, bytesSent: 125_000, at: .seconds(2))  // 1 Mbit/s sent
        #expect(v.sendRate == 1_000_000)
        #expect(v.estimate == 451_000)
        for i in 1...4 { v.report(fractionLost: 0, bytesSent: 125_000 + UInt64(i) * 31_250, at: .seconds(2) + .milliseconds(250 * i)) }
        #expect(v.estimate! > 700_000 && v.estimate! < 740_000)  // about one more +50 % (compounded), not four
        // Heavy loss: what got through; never raised by a loss report.
        let before = v.estimate!
        v.report(fractionLost: 0.5, bytesSent: 250_000 + 125_000, at: .seconds(4))
        #expect(v.estimate == min(before, 500_000))
        // After a loss, +8 % a second.
        let after = v.estimate!
        v.report(fractionLost: 0, bytesSent: 500_000, at: .seconds(5))
        #expect(v.estimate == UInt64(Double(after) * 1.08) + 1000)
        // Five seconds after the last loss, the slow start's growth again.
        let held = v.estimate!
        v.report(fractionLost: 0, bytesSent: 625_000, at: .seconds(14))
        #expect(v.estimate == UInt64(Double(held) * 1.5) + 1000)
        // Near-total loss does not drive it to nothing.
        v.report(fractionLost: 0.99, bytesSent: 625_100, at: .seconds(15))
        #expect(v.estimate == ViewerBandwidth.floor)
        var w = ViewerBandwidth()
        w.tick(packetsSent: 0, bytesSent: 0, at: .zero)
        w.nacked(60)
        w.tick(packetsSent: 100, bytesSent: 62_500, at: .milliseconds(500))  // 1 Mbit/s, 60 % NACKed
        #expect(w.estimate == 300_000)
        // NACKs alone stand for at most half lost (a packet NACKed often counts each time).
        var z = ViewerBandwidth()
        z.tick(packetsSent: 0, bytesSent: 0, at: .zero)
        z.report(fractionLost: 0, bytesSent: 0, at: .zero)
        for i in 1...3 { z.report(fractionLost: 0, bytesSent: UInt64(i) * 250_000, at: .seconds(i)) }  // 2 Mbit/s, estimate up
        z.nacked(500)
        z.tick(packetsSent: 100, bytesSent: 62_500, at: .milliseconds(500))
        #expect(z.estimate == 500_000)
        // Modest loss uses GCC's decrease.
        var x = ViewerBandwidth()
        x.report(fractionLost: 0, bytesSent: 0, at: .seconds(1))
        x.report(fractionLost: 0.2, bytesSent: 250_000, at: .seconds(2))  // 2 Mbit/s sent
        #expect(x.estimate == 300_000)  // min(initial, 2 M x 0.9)
        // A consumer that never sends feedback has no estimate once it has been sent to for a while.
        var y = ViewerBandwidth()
        y.tick(packetsSent: 10, bytesSent: 10_000, at: .seconds(1))
        y.tick(packetsSent: 100, bytesSent: 100_000, at: .seconds(3))
        #expect(y.estimate == ViewerBandwidth.initial)
        y.tick(packetsSent: 200, bytesSent: 200_000, at: .seconds(4))
        #expect(y.estimate == nil)
        y.report(fractionLost: 0, bytesSent: 200_000, at: .seconds(5))
        #expect(y.estimate == ViewerBandwidth.initial)
    }

    @Test func keyframeSizeIsReadFromTheVP8Header() {
        // Frame tag (keyframe, bit 0 clear), start code, 640 x 360.
        let bytes: [UInt8] = [0x50, 0x42, 0x00, 0x9D, 0x01, 0x2A, 0x80, 0x02, 0x68, 0x01]
        bytes.withUnsafeBytes { #expect(vp8KeyframeSize($0)! == (640, 360)) }
        let inter: [UInt8] = [0x51, 0x42, 0x00, 0x9D, 0x01, 0x2A, 0x80, 0x02, 0x68, 0x01]
        inter.withUnsafeBytes { #expect(vp8KeyframeSize($0) == nil) }
    }
}
