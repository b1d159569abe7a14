import Foundation
import Mixer

/// One second of VP8, encoded once at start and sent in a loop: frame 0 is a
/// keyframe (sent again whenever a PLI or FIR asks, and at every loop, so the
/// stream is decodable from any loop start), the other frames are deltas: of
/// a bar moving over the publisher's own colour (30 fps, the default), or of
/// the colour alone (`movingBar: false`, e.g. the small, slow clips of
/// `kurento --video-colours`). Each frame is kept as the payload slices of its
/// RTP packets, without the 4-byte VP8 payload descriptor the sender writes
/// with the current picture id.
struct VideoClip: Sendable {
    let frames: [[[UInt8]]]
    let width: Int
    let height: Int
    let red: UInt8, green: UInt8, blue: UInt8
    /// Frames per second of this clip: a divisor of the loops' video clock (`clockRate`).
    let fps: Int

    /// The loops' video clock: every clip's frame rate divides it.
    static let clockRate = 30
    /// Room for the RTP header (12), one extension block (8) and the descriptor (4) below a 1,200-byte MTU.
    static let maxSlice = 1_200 - 24

    var colour: RGB { RGB(red: red, green: green, blue: blue) }

    static func make(
        red: UInt8, green: UInt8, blue: UInt8, width: Int = 640, height: Int = 360, fps: Int = clockRate,
        bitrate: Int = 600_000, movingBar: Bool = true
    ) throws -> VideoClip {
        precondition(fps > 0 && clockRate % fps == 0, "the clip's frame rate must divide \(clockRate)")
        let encoder = try VP8Encoder(configuration: VP8EncoderConfiguration(
            width: width, height: height, fps: fps, bitrate: bitrate, cpuUsed: -8, threads: 1, keyframeMaxDistance: 3_000))
        let frame = I420Frame(width: width, height: height)
        var frames: [[[UInt8]]] = []
        for i in 0..<fps {
            frame.fill(PixelRect(x: 0, y: 0, width: width, height: height), with: YUVColor(red: red, green: green, blue: blue))
            if movingBar {
                let bar = width / 8
                frame.fill(PixelRect(x: (i * (width - bar)) / max(fps - 1, 1), y: 0, width: bar, height: height),
                           with: YUVColor(red: 240, green: 240, blue: 240))
            }
            guard let encoded = try encoder.encode(frame, forceKeyframe: i == 0) else { continue }
            var slices: [[UInt8]] = []
            let count = max(1, (encoded.data.count + maxSlice - 1) / maxSlice)
            let base = encoded.data.count / count, extra = encoded.data.count % count
            var offset = 0
            for s in 0..<count {
                let length = base + (s < extra ? 1 : 0)
                slices.append(Array(encoded.data[offset..<(offset + length)]))
                offset += length
            }
            frames.append(slices)
        }
        return VideoClip(frames: frames, width: width, height: height, red: red, green: green, blue: blue, fps: fps)
    }

    /// What `count` publishers send: a tone and a clip of its own colour each.
    static func publishers(_ count: Int, bitrate: Int) throws -> (audio: [AudioClip], video: [VideoClip]) {
        var audio: [AudioClip] = []
        var video: [VideoClip] = []
        for i in 0..<count {
            audio.append(try AudioClip.make(hz: AudioClip.talkerFrequency(i)))
            let (r, g, b) = colour(i)
            video.append(try make(red: r, green: g, blue: b, bitrate: bitrate))
        }
        return (audio, video)
    }

    /// A distinct, saturated colour per publisher.
    static func colour(_ index: Int) -> (UInt8, UInt8, UInt8) {
        let palette: [(UInt8, UInt8, UInt8)] = [(200, 30, 40), (30, 160, 60), (40, 60, 220), (220, 200, 40), (160, 40, 200), (40, 200, 200)]
        return palette[index % palette.count]
    }
}
