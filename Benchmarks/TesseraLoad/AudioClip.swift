import Foundation
import Mixer

/// Opus frames encoded once at start and sent in a loop, so the generator's
/// own cost per packet is a copy, an SRTP protect and a send: one second of a
/// sine tone (an integer frequency, so the loop is seamless) or of silence.
struct AudioClip: Sendable {
    /// One Opus packet per 20 ms frame.
    let frames: [[UInt8]]
    /// RFC 6464 level to announce: -dBov (0 loudest, 127 silence) and voice activity.
    let level: UInt8
    let voice: Bool
    let hz: Int

    static let frameSamples = 960

    /// A tone at `hz` (amplitude 0.25 of full scale) or, for hz 0, digital silence.
    static func make(hz: Int) throws -> AudioClip {
        let encoder = try OpusEncoder(channels: 1, application: .voip, bitrate: 32_000)
        var frames: [[UInt8]] = []
        for f in 0..<50 {
            var pcm = [Int16](repeating: 0, count: frameSamples)
            if hz > 0 {
                for i in 0..<frameSamples {
                    let t = Double(f * frameSamples + i) / 48_000
                    pcm[i] = Int16(sin(2 * .pi * Double(hz) * t) * 0.25 * 32_767)
                }
            }
            frames.append(try encoder.encode(pcm))
        }
        // A tone at a quarter of full scale is about -12 dBov (RFC 6464 §3).
        return AudioClip(frames: frames, level: hz > 0 ? 12 : 127, voice: hz > 0, hz: hz)
    }

    /// The tone of talker `index`: 300, 340, 380 ... Hz, far enough apart for
    /// an FFT over one second to tell them apart in a mix.
    static func talkerFrequency(_ index: Int) -> Int { 300 + 40 * (index % 40) }

    /// Loopback peers each get a tone of their own, none repeated up to 200
    /// peers (200, 237, ... 7563 Hz): a datagram delivered to the wrong peer
    /// is heard as a neighbour's tone.
    static let loopbackSpacing = 37
    static func loopbackFrequency(_ index: Int) -> Int { 200 + loopbackSpacing * (index % 200) }
}
