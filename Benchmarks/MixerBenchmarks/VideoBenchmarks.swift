// Video compositor benchmarks, each next to its floor: the same libyuv
// scale and libvpx encode/decode calls made directly, with no compositor.
//
// Inputs are 640x480 VP8 streams encoded once (moving gradient, moving
// block and noise, so that every frame changes), replayed as RTP with fresh
// sequence numbers. One `tick` benchmark iteration = every input receives a
// fresh frame (pushed outside the measurement), then one measured tick:
// compose the changed tiles, encode once, packetize.

import Benchmark
import CVPX
import CYUV
import Glibc
import Mixer

/// CPU time of this thread: unlike wall clock, not inflated when the shared
/// machine preempts us, and finer than the harness's cpuTotal (10 ms ticks).
private func threadCPUNanos() -> Int {
    var ts = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return ts.tv_sec * 1_000_000_000 + ts.tv_nsec
}

private func threadCPUMetric() -> BenchmarkMetric { .custom("thread CPU (ns)", polarity: .prefersSmaller, useScalingFactor: true) }

/// Runs `work`, reporting its thread CPU time to `benchmark` (if any).
private func measured(_ benchmark: Benchmark?, _ work: () -> Void) {
    let start = threadCPUNanos()
    work()
    benchmark?.measurement(threadCPUMetric(), threadCPUNanos() - start)
}

private let ringLength = 60
private let inputWidth = 640, inputHeight = 480

/// A moving picture: diagonal luma ramp scrolling 4 px/frame, a bright
/// block moving across, chroma gradients, and a little noise.
private func makeContent(width: Int, height: Int, index: Int, seed: Int) -> I420Frame {
    let frame = I420Frame(width: width, height: height)
    var noise = UInt32(truncatingIfNeeded: 2_463_534_242 &+ index &* 7919 &+ seed &* 104_729)
    let block = (index * 6 + seed * 50) % max(1, width - 64)
    for y in 0..<height {
        for x in 0..<width {
            noise ^= noise << 13
            noise ^= noise >> 17
            noise ^= noise << 5
            var value = 40 + ((x + y + 4 * index + seed * 30) & 127) + Int(noise & 3)
            if x >= block && x < block + 64 && y >= height / 3 && y < height / 3 + 64 { value = 220 }
            frame.y[y * frame.strideY + x] = UInt8(clamping: value)
        }
    }
    for y in 0..<frame.chromaHeight {
        for x in 0..<frame.chromaWidth {
            frame.u[y * frame.strideUV + x] = UInt8(truncatingIfNeeded: 96 + (x + 2 * index + seed * 20) % 64)
            frame.v[y * frame.strideUV + x] = UInt8(truncatingIfNeeded: 96 + (y + index) % 64)
        }
    }
    return frame
}

/// Pre-encoded 640x480 streams (frame 0 of each ring is a keyframe).
private final class InputRing {
    let frames: [[UInt8]]
    let decoded: [I420Frame]

    /// `still`: the same picture in every frame (a participant who does not move; after
    /// the keyframe the sender's encoder codes little but skips).
    init(seed: Int, still: Bool = false) {
        let encoder = try! VP8Encoder(
            configuration: VP8EncoderConfiguration(width: inputWidth, height: inputHeight, bitrate: 500_000, cpuUsed: -6))
        var frames: [[UInt8]] = []
        var decoded: [I420Frame] = []
        for index in 0..<ringLength {
            let picture = makeContent(width: inputWidth, height: inputHeight, index: still ? 0 : index, seed: seed)
            frames.append(try! encoder.encode(picture, forceKeyframe: index == 0)!.data)
            decoded.append(picture)
        }
        self.frames = frames
        self.decoded = decoded
    }
}

nonisolated(unsafe) private var rings: [InputRing] = []
private func inputRings(_ count: Int) -> [InputRing] {
    while rings.count < count { rings.append(InputRing(seed: rings.count)) }
    return Array(rings.prefix(count))
}

/// Feeds each port of a compositor from its ring, one frame per call:
/// `prepare` packetizes (not measured), `deliver` pushes the packets.
private final class Feeder {
    var packetizers: [VP8Packetizer]
    let rings: [InputRing]
    var index = 0
    var packets: [[[UInt8]]]

    /// `moving`: how many of the inputs move (the others are still), all when nil.
    init(count: Int, moving: Int? = nil) {
        let moving = moving ?? count
        rings = inputRings(moving) + (moving..<count).map { InputRing(seed: $0, still: true) }
        packetizers = (0..<count).map { VP8Packetizer(ssrc: UInt32(100 + $0), payloadType: 96, mtu: 1_200) }
        packets = Array(repeating: [], count: count)
    }

    func prepare(nowMillis: Int64) {
        let frame = index % ringLength
        index += 1
        for port in rings.indices {
            packets[port].removeAll(keepingCapacity: true)
            packetizers[port].packetize(
                rings[port].frames[frame], timestamp: UInt32(truncatingIfNeeded: nowMillis * 90), into: &packets[port])
        }
    }

    func deliver(into compositor: VideoCompositor, nowMillis: Int64) {
        for port in packets.indices {
            for packet in packets[port] { _ = compositor.push(port: port, packet: packet, nowMillis: nowMillis) }
        }
    }

    func push(into compositor: VideoCompositor, nowMillis: Int64) {
        prepare(nowMillis: nowMillis)
        deliver(into: compositor, nowMillis: nowMillis)
    }
}

private final class TickState {
    let compositor: VideoCompositor
    let feeder: Feeder
    var now: Int64 = 0

    let fresh: Bool
    let severalQualities: Bool

    /// `qualities`: also 640x360@500 and 320x180@150 (mixer.qualities), encoded by `tickAll`.
    /// `moving`: inputs that move (the others send a still picture); `activeMaps`
    /// false: every macroblock encoded every frame, as before the active maps.
    init(grid: Int, width: Int, height: Int, fresh: Bool = true, qualities: Bool = false, moving: Int? = nil, activeMaps: Bool = true) {
        self.fresh = fresh
        severalQualities = qualities
        var configuration = VideoCompositorConfiguration()
        configuration.width = width
        configuration.height = height
        configuration.bitrate = width >= 1280 ? 1_500_000 : 800_000
        if qualities {
            configuration.extraQualities = [VideoQuality(width: 640, height: 360, bitrate: 500_000), VideoQuality(width: 320, height: 180, bitrate: 150_000)]
        }
        compositor = try! VideoCompositor(configuration: configuration)
        compositor.encodeOnlyChanges = activeMaps
        for port in 0..<(grid * grid) { compositor.addPort(port) }
        feeder = Feeder(count: grid * grid, moving: moving)
        // Warm up: rate control settles, pools fill (always with fresh frames).
        for _ in 0..<90 {
            feeder.push(into: compositor, nowMillis: now)
            _ = compositor.tickAll(nowMillis: now)
            now += 33
        }
    }

    func step(measure benchmark: Benchmark?) {
        if fresh { feeder.push(into: compositor, nowMillis: now) }
        benchmark?.startMeasurement()
        measured(benchmark) { blackHole(severalQualities ? compositor.tickAll(nowMillis: now) : [compositor.tick(nowMillis: now)]) }
        benchmark?.stopMeasurement()
        now += 33
    }
}

/// The floor: libyuv scales of the decoded inputs into the same tile
/// rectangles the compositor uses, and one libvpx encode with the
/// compositor's encoder settings, called directly.
private final class FloorState {
    var context = vpx_codec_ctx_t()
    var image = vpx_image_t()
    let canvas: I420Frame
    let tiles: [PixelRect]
    let rings: [InputRing]
    var pts: vpx_codec_pts_t = 0
    var index = 0

    init(grid: Int, width: Int, height: Int) {
        canvas = I420Frame(width: width, height: height)
        canvas.fill(.black)
        rings = inputRings(grid * grid)
        // The compositor's own geometry (grid cell, 2 px border, aspect kept), so
        // the floor makes exactly the scales the compositor makes.
        let cells = Layout.rects(kind: .grid, count: grid * grid, canvas: PixelSize(width: width, height: height))
        let border = VideoCompositorConfiguration().borderWidth
        tiles = cells.map { Layout.fit(PixelSize(width: inputWidth, height: inputHeight), into: $0.insetBy(border)) }
        // The same libvpx settings as the compositor's encoder, applied through the raw API.
        let settings = VP8EncoderConfiguration(
            width: width, height: height, fps: 30, bitrate: width >= 1280 ? 1_500_000 : 800_000, cpuUsed: -8, threads: 1,
            keyframeMaxDistance: 3000)
        var config = try! settings.libvpxConfig()
        _ = tessera_vpx_enc_init(&context, &config, 0)
        for (id, value) in settings.libvpxControls { _ = tessera_vpx_control_int(&context, Int32(id.rawValue), value) }
        vpx_img_wrap(&image, VPX_IMG_FMT_I420, UInt32(width), UInt32(height), 1, canvas.base)
        for _ in 0..<90 { step(measure: nil) }
    }

    deinit { vpx_codec_destroy(&context) }

    func step(measure benchmark: Benchmark?) {
        measured(benchmark) { work() }
    }

    private func work() {
        let frame = index % ringLength
        index += 1
        for (tile, ring) in zip(tiles, rings) {
            let source = ring.decoded[frame]
            _ = I420Scale(
                source.y, Int32(source.strideY), source.u, Int32(source.strideUV), source.v, Int32(source.strideUV),
                Int32(source.width), Int32(source.height),
                canvas.y + tile.y * canvas.strideY + tile.x, Int32(canvas.strideY),
                canvas.u + (tile.y / 2) * canvas.strideUV + tile.x / 2, Int32(canvas.strideUV),
                canvas.v + (tile.y / 2) * canvas.strideUV + tile.x / 2, Int32(canvas.strideUV),
                Int32(tile.width), Int32(tile.height), kFilterBilinear)
        }
        _ = vpx_codec_encode(&context, &image, pts, 1, 0, UInt(VPX_DL_REALTIME))
        pts += 1
        var iterator: vpx_codec_iter_t? = nil
        var bytes = 0
        while let packet = vpx_codec_get_cx_data(&context, &iterator) {
            if packet.pointee.kind == VPX_CODEC_CX_FRAME_PKT { bytes += packet.pointee.data.frame.sz }
        }
        blackHole(bytes)
    }
}

/// Decoding through the compositor: packets of one 640x480 input pushed
/// (reassembly, decode, copy of the picture to a pooled frame).
private final class PushState {
    let compositor: VideoCompositor
    let feeder: Feeder
    var now: Int64 = 0

    init() {
        var configuration = VideoCompositorConfiguration()
        configuration.width = 640
        configuration.height = 480
        compositor = try! VideoCompositor(configuration: configuration)
        compositor.addPort(0)
        feeder = Feeder(count: 1)
        for _ in 0..<ringLength { step(measure: nil) }
    }

    func step(measure benchmark: Benchmark?) {
        feeder.prepare(nowMillis: now)
        benchmark?.startMeasurement()
        measured(benchmark) { feeder.deliver(into: compositor, nowMillis: now) }
        benchmark?.stopMeasurement()
        now += 33
    }
}

/// The decode floor: vpx_codec_decode of the same frames, no copy.
private final class DecodeFloorState {
    var context = vpx_codec_ctx_t()
    let ring = inputRings(1)[0]
    var index = 0

    init() {
        var config = vpx_codec_dec_cfg_t(threads: 1, w: 0, h: 0)
        _ = tessera_vpx_dec_init(&context, &config, 0)
        for _ in 0..<ringLength { step(measure: nil) }
    }

    deinit { vpx_codec_destroy(&context) }

    func step(measure benchmark: Benchmark?) {
        measured(benchmark) { work() }
    }

    private func work() {
        let frame = ring.frames[index % ringLength]
        index += 1
        frame.withUnsafeBufferPointer {
            _ = vpx_codec_decode(&context, $0.baseAddress, UInt32($0.count), nil, 0)
        }
        var iterator: vpx_codec_iter_t? = nil
        blackHole(vpx_codec_get_frame(&context, &iterator))
    }
}

private func videoConfiguration() -> Benchmark.Configuration { Benchmark.Configuration(
    metrics: [.wallClock, .cpuTotal, .mallocCountTotal, threadCPUMetric()],
    warmupIterations: 10,
    maxDuration: .seconds(4),
    maxIterations: 1_000
) }

func videoBenchmarks() {
    let sizes = [(1280, 720, "720p"), (640, 480, "480p")]
    for grid in [2, 3] {
        for (width, height, label) in sizes {
            nonisolated(unsafe) var tick: TickState?
            Benchmark(
                "Video.tick.\(grid)x\(grid).\(label)", configuration: videoConfiguration(),
                closure: { benchmark in
                    for _ in benchmark.scaledIterations { tick!.step(measure: benchmark) }
                },
                setup: { tick = TickState(grid: grid, width: width, height: height) },
                teardown: { tick = nil })

            nonisolated(unsafe) var floor: FloorState?
            Benchmark(
                "Video.floor.scale+encode.\(grid)x\(grid).\(label)", configuration: videoConfiguration(),
                closure: { benchmark in
                    for _ in benchmark.scaledIterations { floor!.step(measure: benchmark) }
                },
                setup: { floor = FloorState(grid: grid, width: width, height: height) },
                teardown: { floor = nil })
        }
    }

    // The same 2x2 and 3x3 720p grids also encoded at 640x360 and 320x180
    // (mixer.qualities): next to Video.tick.NxN.720p, what the extra qualities cost.
    for grid in [2, 3] {
        nonisolated(unsafe) var several: TickState?
        Benchmark(
            "Video.tickAll.3qualities.\(grid)x\(grid).720p", configuration: videoConfiguration(),
            closure: { benchmark in
                for _ in benchmark.scaledIterations { several!.step(measure: benchmark) }
            },
            setup: { several = TickState(grid: grid, width: 1280, height: 720, qualities: true) },
            teardown: { several = nil })
    }

    // A 2x2 720p meeting where one person moves and three sit still (their
    // cameras still send frames), with and without the encoder's active map;
    // next to Video.tick.2x2.720p, where all four move.
    for activeMaps in [true, false] {
        nonisolated(unsafe) var one: TickState?
        Benchmark(
            "Video.tick.oneMoving.2x2.720p\(activeMaps ? "" : ".noActiveMap")", configuration: videoConfiguration(),
            closure: { benchmark in
                for _ in benchmark.scaledIterations { one!.step(measure: benchmark) }
            },
            setup: { one = TickState(grid: 2, width: 1280, height: 720, moving: 1, activeMaps: activeMaps) },
            teardown: { print("oneMoving\(activeMaps ? "" : ".noActiveMap") macroblocks (coded, kept):", one!.compositor.macroblocks); one = nil })
    }

    // No input changed: the compositor skips every tile and only encodes.
    nonisolated(unsafe) var still: TickState?
    Benchmark(
        "Video.tick.unchanged.3x3.720p", configuration: videoConfiguration(),
        closure: { benchmark in
            for _ in benchmark.scaledIterations { still!.step(measure: benchmark) }
        },
        setup: { still = TickState(grid: 3, width: 1280, height: 720, fresh: false) },
        teardown: { still = nil })

    nonisolated(unsafe) var push: PushState?
    Benchmark(
        "Video.push+decode.640x480", configuration: videoConfiguration(),
        closure: { benchmark in
            for _ in benchmark.scaledIterations { push!.step(measure: benchmark) }
        },
        setup: { push = PushState() },
        teardown: { push = nil })

    nonisolated(unsafe) var decode: DecodeFloorState?
    Benchmark(
        "Video.floor.decode.640x480", configuration: videoConfiguration(),
        closure: { benchmark in
            for _ in benchmark.scaledIterations { decode!.step(measure: benchmark) }
        },
        setup: { decode = DecodeFloorState() },
        teardown: { decode = nil })
}
