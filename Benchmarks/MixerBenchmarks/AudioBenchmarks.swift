import Benchmark
import COpus
import Foundation
import Mixer

// Per-tick cost of AudioMixer (the push of that tick's packets plus `tick`)
// for N inputs of which a fraction talks (RFC 6464 level header on every
// packet; silent inputs marked 127), next to the floor: the raw libopus calls
// the same tick needs (one decode per talker, K+1 encodes) in a plain loop.

private let audioSizes = [4, 16, 64, 256, 1_000]
private let audioTalkingPercents = [1, 10, 100]
private let levelID: UInt8 = 1

/// Talkers among `inputs` at `percent` % (at least one).
private func talkers(_ inputs: Int, _ percent: Int) -> Int { max(1, inputs * percent / 100) }

/// 50 frames (1 s) of a voice-like test signal: harmonics of a wandering f0
/// under a syllable envelope, peak about -6 dBFS.
private func voiceFrames() -> [[Int16]] {
    (0..<50).map { frame in
        (0..<960).map { i in
            let t = Double(frame * 960 + i) / 48_000
            let f0 = 140 + 40 * sin(2 * Double.pi * 0.7 * t)
            let envelope = 0.55 + 0.45 * sin(2 * Double.pi * 3.5 * t)
            var x = 0.0
            for h in 1...8 { x += sin(2 * Double.pi * f0 * Double(h) * t) / Double(h) }
            return Int16(6_000 * envelope * x)
        }
    }
}

/// RTP packet bytes with a one-byte RFC 8285 block holding the audio level.
private func packet(payload: [UInt8], level: UInt8) -> [UInt8] {
    var bytes: [UInt8] = [0x90, 111, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]
    bytes += [0xBE, 0xDE, 0x00, 0x01, levelID << 4, level, 0, 0]
    return bytes + payload
}

/// Everything one benchmark needs, built in its setup.
final class AudioBenchState: @unchecked Sendable {
    let mixer: AudioMixer
    let inputs: Int
    let talking: Int
    /// Talking packets (a 1 s loop) and one silent packet; the header fields
    /// (seq, ts, level) are patched in place before each push.
    var talk: [[UInt8]]
    var silent: [UInt8]
    var tickIndex = 0
    var now: Int64 = 0

    init(inputs: Int, talkingPercent: Int) throws {
        self.inputs = inputs
        talking = talkers(inputs, talkingPercent)
        mixer = try AudioMixer(configuration: .init())
        for port in 0..<inputs { mixer.addPort(port) }
        let encoder = try OpusEncoder(channels: 1, bitrate: 32_000, complexity: 5)
        talk = try voiceFrames().map { packet(payload: try encoder.encode($0), level: 30) }
        let quiet = try OpusEncoder(channels: 1, bitrate: 32_000, complexity: 5)
        silent = packet(payload: try quiet.encode([Int16](repeating: 0, count: 960)), level: 127)
        // Reach the steady state: buffers primed, speakers chosen, storage grown.
        for _ in 0..<100 { _ = step() }
    }

    /// One tick: every input's packet, then the mix.
    @inline(__always)
    func step() -> Int {
        let frame = tickIndex % talk.count
        let sequence = UInt16(truncatingIfNeeded: tickIndex)
        let timestamp = UInt32(truncatingIfNeeded: tickIndex &* 960)
        func stamp(_ bytes: inout [UInt8]) {
            bytes[2] = UInt8(sequence >> 8)
            bytes[3] = UInt8(truncatingIfNeeded: sequence)
            bytes[4] = UInt8(timestamp >> 24)
            bytes[5] = UInt8(truncatingIfNeeded: timestamp >> 16)
            bytes[6] = UInt8(truncatingIfNeeded: timestamp >> 8)
            bytes[7] = UInt8(truncatingIfNeeded: timestamp)
        }
        stamp(&talk[frame])
        stamp(&silent)
        for port in 0..<inputs {
            if port < talking {
                // Distinct levels so the top K is well defined (-20 ... -39 dBov).
                talk[frame][17] = UInt8(20 + port % 20)
                talk[frame].withUnsafeBytes {
                    mixer.push(port: port, packet: $0, audioLevelID: levelID, nowMillis: now)
                }
            } else {
                silent.withUnsafeBytes { mixer.push(port: port, packet: $0, audioLevelID: levelID, nowMillis: now) }
            }
        }
        let tick = mixer.tick(nowMillis: now)
        tickIndex += 1
        now += 20
        return tick.packets.count
    }
}

/// The floor: the same libopus work without the mixer around it.
final class AudioFloorState: @unchecked Sendable {
    let decoders: [OpaquePointer]
    let encoders: [OpaquePointer]
    let payloads: [[UInt8]]
    var pcm = [Int16](repeating: 0, count: 960)
    var mixPCM: [[Int16]]
    var out = [UInt8](repeating: 0, count: 1_500)
    var frame = 0

    init(inputs: Int, talkingPercent: Int) throws {
        let talking = talkers(inputs, talkingPercent)
        let defaults = AudioMixerConfiguration()
        var error: Int32 = 0
        decoders = (0..<talking).map { _ in opus_decoder_create(48_000, 1, &error)! }
        encoders = (0..<(min(talking, defaults.maxSpeakers) + 1)).map { _ in
            let encoder = opus_encoder_create(48_000, 1, OPUS_APPLICATION_VOIP, &error)!
            _ = tessera_opus_set_bitrate(encoder, Int32(defaults.bitrate))
            _ = tessera_opus_set_complexity(encoder, Int32(defaults.complexity))
            _ = tessera_opus_set_inband_fec(encoder, defaults.fec ? 1 : 0)
            _ = tessera_opus_set_packet_loss_perc(encoder, Int32(defaults.packetLossPercent))
            _ = tessera_opus_set_dtx(encoder, defaults.dtx ? 1 : 0)
            return encoder
        }
        let encoder = try OpusEncoder(channels: 1, bitrate: 32_000, complexity: 5)
        let frames = voiceFrames()
        payloads = try frames.map { try encoder.encode($0) }
        mixPCM = frames
        for _ in 0..<50 { step() }
    }

    deinit {
        decoders.forEach { opus_decoder_destroy($0) }
        encoders.forEach { opus_encoder_destroy($0) }
    }

    @inline(__always)
    func step() {
        let index = frame % payloads.count
        frame += 1
        pcm.withUnsafeMutableBufferPointer { pcm in
            payloads[index].withUnsafeBufferPointer { payload in
                for decoder in decoders {
                    _ = opus_decode(decoder, payload.baseAddress, Int32(payload.count), pcm.baseAddress!, 960, 0)
                }
            }
        }
        out.withUnsafeMutableBufferPointer { out in
            mixPCM[index].withUnsafeBufferPointer { mix in
                for encoder in encoders {
                    _ = opus_encode(encoder, mix.baseAddress!, 960, out.baseAddress!, 1_500)
                }
            }
        }
    }
}

func audioBenchmarks() {
    let configuration = Benchmark.Configuration(
        metrics: [.wallClock, .cpuTotal, .mallocCountTotal],
        timeUnits: .microseconds,
        warmupIterations: 5,
        maxDuration: .seconds(2),
        maxIterations: 2_000)
    for inputs in audioSizes {
        for percent in audioTalkingPercents {
            let label = "N=\(inputs) talking=\(percent)%"
            Benchmark("Audio tick \(label)", configuration: configuration) { benchmark, state in
                for _ in benchmark.scaledIterations { blackHole(state.step()) }
            } setup: {
                try AudioBenchState(inputs: inputs, talkingPercent: percent)
            }
            Benchmark("Audio floor \(label)", configuration: configuration) { benchmark, state in
                for _ in benchmark.scaledIterations { state.step() }
            } setup: {
                try AudioFloorState(inputs: inputs, talkingPercent: percent)
            }
        }
    }
}
