import Foundation
import Mixer

/// A full-range 8-bit RGB colour.
struct RGB: Sendable, Equatable {
    var red: UInt8, green: UInt8, blue: UInt8

    /// Euclidean distance in RGB.
    func distance(to other: RGB) -> Double {
        let r = Double(red) - Double(other.red), g = Double(green) - Double(other.green), b = Double(blue) - Double(other.blue)
        return (r * r + g * g + b * b).squareRoot()
    }

    /// Back from limited-range BT.601 YUV (the inverse of `YUVColor(red:green:blue:)`).
    init(y: Double, u: Double, v: Double) {
        let c = 1.164 * (y - 16), d = u - 128, e = v - 128
        red = UInt8(clamping: Int((c + 1.596 * e).rounded()))
        green = UInt8(clamping: Int((c - 0.392 * d - 0.813 * e).rounded()))
        blue = UInt8(clamping: Int((c + 2.017 * d).rounded()))
    }

    init(red: UInt8, green: UInt8, blue: UInt8) {
        self.red = red
        self.green = green
        self.blue = blue
    }
}

/// The colours of `kurento --mode loopback --video-colours`: peer i sends a
/// solid picture of colour i, a point of a 6x6x6 grid in RGB (levels 16, 60
/// ... 236), so any two peers' colours are at least 44 apart and 216 peers
/// get one each (peer 216 repeats peer 0's). A picture whose centre is
/// within `tolerance` of a colour is nearer to it than to any other.
enum ColourGrid {
    static let levels: [UInt8] = [16, 60, 104, 148, 192, 236]
    static var count: Int { levels.count * levels.count * levels.count }
    /// Less than half the grid's step.
    static let tolerance = 20.0

    static func colour(_ index: Int) -> RGB {
        let n = levels.count, i = index % count
        // The blue level changes fastest, then red, then green: neighbours differ in one channel.
        return RGB(red: levels[(i / n) % n], green: levels[i / (n * n)], blue: levels[i % n])
    }

    /// The index (among the first `peers`) whose colour is nearest to `seen`.
    static func nearest(_ seen: RGB, peers: Int) -> Int {
        var best = 0, bestDistance = Double.infinity
        for i in 0..<min(peers, count) {
            let d = colour(i).distance(to: seen)
            if d < bestDistance { best = i; bestDistance = d }
        }
        return best
    }
}

/// What a peer saw of the video it received back, copied off its loop.
struct ColourStats: Sendable {
    /// The colour it sends, which it expects back.
    var own: RGB
    /// The centre of the last picture decoded.
    var seen: RGB?
    var framesDecoded: UInt64 = 0
    /// Pictures whose centre was not within `ColourGrid.tolerance` of `own`.
    var framesOffColour: UInt64 = 0
    var keyframeRequestsSent: UInt64 = 0
}

/// The receiving half of `--video-colours`: reassembles the VP8 a peer gets
/// back (Mixer's `VP8FrameAssembler`), decodes it with libvpx (Mixer's
/// `VP8Decoder`) and measures the mean colour of the centre of every picture.
/// Not Sendable: made, used and dropped on its peer's loop.
final class ColourProbe {
    private(set) var stats: ColourStats
    private var assembler = VP8FrameAssembler(reorderWindow: 4, capacity: 64)
    private let decoder: VP8Decoder
    private let pool = FramePool(maxFreePerSize: 1)

    init(own: RGB) throws {
        stats = ColourStats(own: own)
        // The clips are small: refuse anything larger than 720p outright.
        decoder = try VP8Decoder(threads: 1, maxPixels: 1280 * 720)
    }

    /// Takes one RTP packet of the received video (SRTP removed); true when
    /// the stream is waiting for a keyframe (a frame was lost, did not decode,
    /// or none has arrived yet), so the peer should ask for one.
    func push(_ packet: UnsafeRawBufferPointer) -> Bool {
        var corrupt = false
        let result = assembler.push(packet) { frame in
            switch decoder.decode(frame.data, pool: pool) {
            case .frame(let picture):
                let seen = Self.centre(of: picture)
                pool.release(picture)
                stats.framesDecoded &+= 1
                stats.seen = seen
                if seen.distance(to: stats.own) > ColourGrid.tolerance { stats.framesOffColour &+= 1 }
            case .noFrame:
                break
            case .corrupt:
                corrupt = true
            }
        }
        if corrupt { assembler.requireKeyframe() }
        return corrupt || result.lost || assembler.needsKeyframe
    }

    func keyframeRequested() { stats.keyframeRequestsSent &+= 1 }

    /// The mean colour of the middle half of the picture (both ways).
    static func centre(of frame: I420Frame) -> RGB {
        let x0 = frame.width / 4, x1 = max(x0 + 2, 3 * frame.width / 4)
        let y0 = frame.height / 4, y1 = max(y0 + 2, 3 * frame.height / 4)
        var y = 0, u = 0, v = 0
        for row in y0..<y1 {
            let line = frame.y + row * frame.strideY
            for x in x0..<x1 { y += Int(line[x]) }
        }
        for row in (y0 / 2)..<(y1 / 2) {
            let lineU = frame.u + row * frame.strideUV, lineV = frame.v + row * frame.strideUV
            for x in (x0 / 2)..<(x1 / 2) {
                u += Int(lineU[x])
                v += Int(lineV[x])
            }
        }
        let luma = Double((x1 - x0) * (y1 - y0)), chroma = Double((x1 / 2 - x0 / 2) * (y1 / 2 - y0 / 2))
        return RGB(y: Double(y) / luma, u: Double(u) / chroma, v: Double(v) / chroma)
    }
}
