// libFuzzer target: sequences of RTP packets into the receive side of the
// mixer: the VP8 frame assembler (reordering window, partitions, keyframe
// detection, loss) and the audio mixer's per-port path (jitter buffer,
// audio level, Opus decoding and concealment, the mix-minus tick). The
// input is cut into packets by 2-byte big-endian lengths; a packet's first
// byte after the length picks the port (of three) and whether 20 ms pass
// before it. No input may trap.
import FuzzDriver
import Mixer

// The encoder at its cheapest: libopus took 91 % of the time at the default complexity, and what
// is under test is ours (the jitter buffer, levels, the mix), not libopus's encoder.
nonisolated(unsafe) let mixer = try! AudioMixer(configuration: {
    var settings = AudioMixerConfiguration()
    settings.complexity = 0
    return settings
}())  // a harness without libopus cannot run
nonisolated(unsafe) var inputs = 0
for id in 0..<3 { mixer.addPort(id) }

func fuzzOne(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    guard let data else { return 0 }
    var rest = UnsafeBufferPointer(start: data, count: count)[...]
    var assembler = VP8FrameAssembler()
    var now: Int64 = Int64(inputs) * 10_000
    inputs += 1
    while rest.count >= 3 {
        let n = Int(rest[rest.startIndex]) << 8 | Int(rest[rest.startIndex + 1])
        let control = rest[rest.startIndex + 2]
        rest = rest.dropFirst(3)
        let packet = Array(rest.prefix(n))
        rest = rest.dropFirst(packet.count)
        _ = assembler.push(packet) { frame in precondition(!frame.data.isEmpty, "an assembled frame is never empty") }
        mixer.push(port: Int(control % 3), packet: packet, audioLevelID: control & 0x80 != 0 ? 1 : nil, nowMillis: now)
        if control & 0x04 != 0 {
            now += 20
            _ = mixer.tick(nowMillis: now)
        }
    }
    return 0
}

runLibFuzzer { data, count in fuzzOne(data, count) }
