// tessera-composite-replay: the composite mixer fed from VP8 files, for a
// same-input comparison with GStreamer's composite pipeline
// (Benchmarks/mixer/composite_compare.py runs both on the same IVF files).
//
//   tessera-composite-replay [--width W] [--height H] [--bitrate BPS]
//                            [--frames N] [--no-active-map] [--decode-only] IN.ivf...
//
// Each output frame: every input's next frame is packetized as RTP (as it
// would arrive) and pushed into a VideoCompositor (reassembly, decode), then
// one tick composes, encodes and packetizes the grid. Runs as fast as it can;
// the caller measures the process's CPU. Prints one summary line.

import Foundation
import Mixer

/// The frames of one IVF file (VP8), in order.
func readIVF(_ path: String) -> [[UInt8]] {
    guard let data = FileManager.default.contents(atPath: path), data.count >= 32 else {
        FileHandle.standardError.write(Data("cannot read \(path)\n".utf8))
        exit(2)
    }
    let bytes = [UInt8](data)
    guard bytes[0] == 0x44, bytes[1] == 0x4B, bytes[2] == 0x49, bytes[3] == 0x46 else {
        FileHandle.standardError.write(Data("\(path) is not an IVF file\n".utf8))
        exit(2)
    }
    func le32(_ at: Int) -> Int { Int(bytes[at]) | Int(bytes[at + 1]) << 8 | Int(bytes[at + 2]) << 16 | Int(bytes[at + 3]) << 24 }
    var offset = Int(bytes[6]) | Int(bytes[7]) << 8
    var frames: [[UInt8]] = []
    while offset + 12 <= bytes.count {
        let size = le32(offset)
        offset += 12
        guard size > 0, offset + size <= bytes.count else { break }
        frames.append(Array(bytes[offset..<offset + size]))
        offset += size
    }
    return frames
}

var width = 1280, height = 720, bitrate = 1_500_000, frames = Int.max, activeMaps = true, decodeOnly = false
var paths: [String] = []
var arguments = CommandLine.arguments.dropFirst().makeIterator()
while let argument = arguments.next() {
    switch argument {
    case "--width": width = Int(arguments.next() ?? "") ?? width
    case "--height": height = Int(arguments.next() ?? "") ?? height
    case "--bitrate": bitrate = Int(arguments.next() ?? "") ?? bitrate
    case "--frames": frames = Int(arguments.next() ?? "") ?? frames
    case "--no-active-map": activeMaps = false
    case "--decode-only": decodeOnly = true
    default: paths.append(argument)
    }
}
guard !paths.isEmpty else {
    FileHandle.standardError.write(Data("usage: tessera-composite-replay [--width W] [--height H] [--bitrate BPS] [--frames N] [--no-active-map] [--decode-only] IN.ivf...\n".utf8))
    exit(2)
}

let inputs = paths.map(readIVF)
let count = min(frames, inputs.map(\.count).min() ?? 0)
var configuration = VideoCompositorConfiguration()
configuration.width = width
configuration.height = height
configuration.bitrate = bitrate
let compositor = try VideoCompositor(configuration: configuration)
compositor.encodeOnlyChanges = activeMaps
for port in inputs.indices { compositor.addPort(port) }
var packetizers = inputs.indices.map { VP8Packetizer(ssrc: UInt32(100 + $0), payloadType: 96, mtu: 1_200) }
var packets: [[UInt8]] = []
var outputBytes = 0, outputPackets = 0, unchangedFrames = 0
for index in 0..<count {
    let now = Int64(index) * 33
    for port in inputs.indices {
        packets.removeAll(keepingCapacity: true)
        packetizers[port].packetize(inputs[port][index], timestamp: UInt32(truncatingIfNeeded: now * 90), into: &packets)
        for packet in packets { _ = compositor.push(port: port, packet: packet, nowMillis: now) }
    }
    if decodeOnly { continue }
    let codedBefore = compositor.macroblocks.coded
    let output = compositor.tick(nowMillis: now)
    if compositor.macroblocks.coded == codedBefore { unchangedFrames += 1 }
    outputPackets += output.count
    for packet in output { outputBytes += packet.count }
}
let (coded, kept) = compositor.macroblocks
print("frames \(count) inputs \(inputs.count) output \(width)x\(height) bytes \(outputBytes) packets \(outputPackets) macroblocks_coded \(coded) macroblocks_kept \(kept) frames_with_nothing_coded \(unchangedFrames)")
