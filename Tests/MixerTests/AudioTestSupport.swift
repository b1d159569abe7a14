import Foundation
import Mixer
import RTP

/// Helpers shared by the audio tests: tone frames, an RTP Opus sender, Goertzel.
enum AudioTestSupport {
    static let levelID: UInt8 = 1

    /// One 20 ms mono frame of a sine, continuous across frame indices.
    static func sineFrame(frequency: Double, amplitude: Double, frame: Int, phase: Double = 0) -> [Int16] {
        (0..<960).map { i in
            let t = Double(frame * 960 + i) / 48_000
            return Int16((amplitude * sin(2 * .pi * frequency * t + phase)).rounded())
        }
    }

    /// RFC 6464 level (-dBov) of a sine of this peak amplitude.
    static func level(ofSineAmplitude amplitude: Double) -> UInt8 {
        guard amplitude > 0 else { return 127 }
        let dBov = 20 * log10(amplitude / 2.0.squareRoot() / 32768)
        return UInt8(max(0, min(127, (-dBov).rounded())))
    }

    /// Power of `frequency` in `samples` (Goertzel), in dB (arbitrary reference).
    static func toneDB(_ samples: ArraySlice<Int16>, frequency: Double) -> Double {
        let w = 2 * Double.pi * frequency / 48_000
        let coefficient = 2 * cos(w)
        var s1 = 0.0, s2 = 0.0
        for sample in samples {
            let s0 = Double(sample) + coefficient * s1 - s2
            s2 = s1
            s1 = s0
        }
        let power = s1 * s1 + s2 * s2 - coefficient * s1 * s2
        return 10 * log10(max(power, 1e-9) / Double(samples.count * samples.count))
    }
}

/// Sends one Opus RTP stream: a tone (or silence) with an optional RFC 6464 header.
final class TestTalker {
    let encoder: OpusEncoder
    var ssrc: UInt32
    var sequence: UInt16
    var timestamp: UInt32 = 1_000
    var frame = 0
    var frequency: Double
    var amplitude: Double
    var withLevel: Bool
    /// Overrides the level written in the header (else derived from the amplitude).
    var headerLevel: UInt8?

    init(ssrc: UInt32, frequency: Double, amplitude: Double, withLevel: Bool = true, sequence: UInt16 = 100) throws {
        encoder = try OpusEncoder(channels: 1, bitrate: 48_000, complexity: 5, fec: true, packetLossPercent: 10)
        self.ssrc = ssrc
        self.frequency = frequency
        self.amplitude = amplitude
        self.withLevel = withLevel
        self.sequence = sequence
    }

    /// The next packet (advances sequence, timestamp and the tone).
    func next() throws -> [UInt8] {
        let pcm = AudioTestSupport.sineFrame(frequency: frequency, amplitude: amplitude, frame: frame)
        let payload = try encoder.encode(pcm)
        var builder = RTPPacketBuilder(payloadType: 111, sequenceNumber: sequence, timestamp: timestamp, ssrc: ssrc)
        if withLevel {
            let level = headerLevel ?? AudioTestSupport.level(ofSineAmplitude: amplitude)
            builder.extensions = [AudioLevel(voiceActivity: level < 127, level: level).element(id: AudioTestSupport.levelID)]
        }
        let packet = try builder.build(payload: payload)
        frame += 1
        sequence &+= 1
        timestamp &+= 960
        return packet
    }
}
