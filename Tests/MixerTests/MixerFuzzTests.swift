import Mixer
import RTP
import Testing
import FuzzSupport

/// The mixer decodes what publishers send, so its inputs are network input:
/// real Opus and VP8 RTP streams, mutated (bit flips, random bytes, cuts,
/// growth, header fields, keyframe sizes), are pushed into an AudioMixer and a
/// VideoCompositor between ticks. Nothing may crash or stall, and a clean
/// stream afterwards is mixed and composed again. Deterministic seeds.
@Suite struct MixerFuzzTests {
    typealias Rng = SeededRandom

    /// One mutation of `packet`; the RTP header is left alone half the time so
    /// the payload parsers and decoders see the damage.
    static func mutate(_ packet: [UInt8], _ rng: inout Rng) -> [UInt8] {
        var p = packet
        let headerEnd = min(p.count, 12)
        let start = rng.below(2) == 0 && p.count > headerEnd ? headerEnd : 0
        switch rng.below(7) {
        case 0:  // flip bits
            for _ in 0...rng.below(8) where p.count > start {
                p[start + rng.below(p.count - start)] ^= UInt8(1 << rng.below(8))
            }
        case 1:  // random bytes
            for _ in 0...rng.below(16) where p.count > start {
                p[start + rng.below(p.count - start)] = UInt8(truncatingIfNeeded: rng.next())
            }
        case 2:  // cut
            p = Array(p.prefix(rng.below(p.count + 1)))
        case 3:  // grow with junk
            p += (0..<rng.below(64)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        case 4:  // sequence number / timestamp jumps
            if p.count >= 8 {
                p[2] = UInt8(truncatingIfNeeded: rng.next())
                p[5] = UInt8(truncatingIfNeeded: rng.next())
            }
        case 5:  // extension and CSRC bits, padding flag
            if !p.isEmpty { p[0] ^= [0x10, 0x20, 0x0F, 0x30][rng.below(4)] }
        default:  // the same packet twice, or reordered later by the caller
            break
        }
        return p
    }

    @Test(arguments: 0..<3)
    func audioMixerSurvivesMutatedOpus(seed: Int) throws {
        var configuration = AudioMixerConfiguration()
        configuration.ssrcSeed = 7
        let mixer = try AudioMixer(configuration: configuration)
        var talkers: [TestTalker] = []
        for i in 0..<3 {
            let frequency = 300.0 + 200.0 * Double(i)
            talkers.append(try TestTalker(ssrc: UInt32(10 + i), frequency: frequency, amplitude: 8_000))
        }
        for id in 0..<3 { mixer.addPort(id) }
        var rng = Rng(seed: UInt64(seed) &* 0x1234_5678 &+ 1)
        var now: Int64 = 0
        for _ in 0..<400 {
            for (id, talker) in talkers.enumerated() {
                let packet = try talker.next()
                let damaged = rng.below(3) == 0 ? Self.mutate(packet, &rng) : packet
                mixer.push(port: id, packet: damaged, audioLevelID: AudioTestSupport.levelID, nowMillis: now)
                if rng.below(10) == 0 {
                    let noise = (0..<rng.below(200)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
                    mixer.push(port: rng.below(3), packet: noise, audioLevelID: UInt8(rng.below(15)), nowMillis: now)
                }
            }
            let tick = mixer.tick(nowMillis: now)
            #expect(!tick.packets.isEmpty)
            now += 20
        }
        // Clean streams again, straight on (no pause to reset the buffers): every port hears the others.
        var last = AudioTick()
        for _ in 0..<40 {
            for (id, talker) in talkers.enumerated() {
                mixer.push(port: id, packet: try talker.next(), audioLevelID: AudioTestSupport.levelID, nowMillis: now)
            }
            last = mixer.tick(nowMillis: now)
            now += 20
        }
        for id in 0..<3 {
            let pcm = try #require(mixer.lastOutputPCM(for: id))
            let others = (0..<3).filter { $0 != id }.map { 300.0 + 200 * Double($0) }
            for hz in others {
                #expect(AudioTestSupport.toneDB(pcm[...], frequency: hz) > -40, "port \(id) lost \(hz) Hz after fuzzing")
            }
        }
        #expect(last.route.count == 3)
        let malformed = (0..<3).map { mixer.stats(of: $0)!.dropsMalformed }.reduce(0, +)
        #expect(malformed > 0)
    }

    @Test(arguments: 0..<3)
    func videoCompositorSurvivesMutatedVP8(seed: Int) throws {
        var c = VideoCompositorConfiguration()
        c.width = 320
        c.height = 240
        c.ssrc = 99
        let compositor = try VideoCompositor(configuration: c)
        let colours = [YUVColor(red: 220, green: 30, blue: 30), YUVColor(red: 30, green: 200, blue: 40)]
        let encoders = try colours.map { _ in try VP8Encoder(configuration: VP8EncoderConfiguration(width: 160, height: 120, bitrate: 200_000)) }
        var packetizers = (0..<2).map { VP8Packetizer(ssrc: UInt32(20 + $0), payloadType: 96, mtu: 300) }
        let frames = colours.map { solidFrame(width: 160, height: 120, color: $0) }
        for id in 0..<2 { compositor.addPort(id) }
        var rng = Rng(seed: UInt64(seed) &* 0x9876_5431 &+ 3)
        var now: Int64 = 0
        var oversized = 0
        for n in 0..<150 {
            for id in 0..<2 {
                let encoded = try #require(try encoders[id].encode(frames[id], forceKeyframe: n % 15 == 0))
                var data = encoded.data
                // Now and then a keyframe claims a huge picture (VP8 allows 16383x16383).
                if encoded.isKeyframe, rng.below(4) == 0, data.count >= 10 {
                    data[6] = 0xFF; data[7] = 0x3F; data[8] = 0xFF; data[9] = 0x3F
                    oversized += 1
                }
                var packets = packetizers[id].packetize(data, timestamp: UInt32(now * 90))
                if rng.below(4) == 0 { packets.shuffle(using: &rng) }
                for packet in packets {
                    let damaged = rng.below(4) == 0 ? Self.mutate(packet, &rng) : packet
                    _ = compositor.push(port: id, packet: damaged, nowMillis: now)
                }
            }
            _ = compositor.tick(nowMillis: now)
            now += 33
        }
        #expect(oversized > 0)
        // Clean keyframes again: both tiles show their colours.
        for _ in 0..<20 {
            for id in 0..<2 {
                let encoded = try #require(try encoders[id].encode(frames[id], forceKeyframe: true))
                for packet in packetizers[id].packetize(encoded.data, timestamp: UInt32(now * 90)) {
                    _ = compositor.push(port: id, packet: packet, nowMillis: now)
                }
            }
            _ = compositor.tick(nowMillis: now)
            now += 33
        }
        for id in 0..<2 {
            let rect = try #require(compositor.tileRects[id])
            let pixel = compositor.composedFrame.pixel(x: rect.x + rect.width / 2, y: rect.y + rect.height / 2)
            #expect(close(pixel, colours[id], tolerance: 20), "port \(id) shows \(pixel) after fuzzing")
        }
    }

    @Test func decoderRefusesKeyframesAnnouncingHugePictures() throws {
        let encoder = try VP8Encoder(configuration: VP8EncoderConfiguration(width: 64, height: 48, bitrate: 100_000))
        let frame = solidFrame(width: 64, height: 48, color: YUVColor(red: 10, green: 200, blue: 10))
        let key = try #require(try encoder.encode(frame, forceKeyframe: true))
        let decoder = try VP8Decoder()
        let pool = FramePool()
        let announced = key.data.withUnsafeBytes { VP8Header.keyframeSize($0) }
        #expect(announced?.width == 64 && announced?.height == 48)
        var huge = key.data
        huge[6] = 0xFF; huge[7] = 0x3F; huge[8] = 0xFF; huge[9] = 0x3F
        guard case .corrupt = decoder.decode(huge, pool: pool) else {
            Issue.record("a 16383x16383 keyframe reached libvpx")
            return
        }
        guard case .frame(let picture) = decoder.decode(key.data, pool: pool) else {
            Issue.record("the real keyframe did not decode after the refused one")
            return
        }
        #expect(picture.width == 64 && picture.height == 48)
    }
}

