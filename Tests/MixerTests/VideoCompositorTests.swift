import Mixer
import RTP
import Testing

/// One simulated participant: a solid picture, encoded and packetized like a browser would.
private final class Sender {
    let encoder: VP8Encoder
    var packetizer: VP8Packetizer
    let frame: I420Frame

    init(width: Int, height: Int, color: YUVColor, ssrc: UInt32) throws {
        encoder = try VP8Encoder(configuration: VP8EncoderConfiguration(width: width, height: height, bitrate: 400_000))
        packetizer = VP8Packetizer(ssrc: ssrc, payloadType: 96, mtu: 1_000)
        frame = solidFrame(width: width, height: height, color: color)
    }

    func packets(nowMillis: Int64, keyframe: Bool = false) throws -> [[UInt8]] {
        let encoded = try #require(try encoder.encode(frame, forceKeyframe: keyframe))
        return packetizer.packetize(encoded.data, timestamp: UInt32(nowMillis * 90))
    }
}

/// The viewer side: reassembles and decodes the compositor's output.
private final class Viewer {
    var assembler = VP8FrameAssembler()
    let decoder: VP8Decoder
    let pool = FramePool()
    var last: I420Frame?
    var keyframes: [Bool] = []

    init() throws { decoder = try VP8Decoder() }

    func receive(_ packets: [[UInt8]]) {
        for packet in packets {
            _ = assembler.push(packet) { assembled in
                keyframes.append(assembled.isKeyframe)
                if case .frame(let frame) = decoder.decode(assembled.data, pool: pool) {
                    if let last { pool.release(last) }
                    last = frame
                }
            }
        }
    }
}

private let red = YUVColor(red: 220, green: 30, blue: 30)
private let green = YUVColor(red: 30, green: 200, blue: 40)
private let blue = YUVColor(red: 30, green: 40, blue: 220)
private let yellow = YUVColor(red: 230, green: 220, blue: 40)

private func config() -> VideoCompositorConfiguration {
    var c = VideoCompositorConfiguration()
    c.background = YUVColor(red: 0, green: 0, blue: 0)
    c.placeholder = YUVColor(red: 128, green: 128, blue: 128)
    c.border = YUVColor(red: 255, green: 255, blue: 255)
    c.highlight = YUVColor(red: 255, green: 0, blue: 255)
    c.borderWidth = 8  // wide enough to sample after lossy coding
    c.freezeMillis = 1_000
    c.ssrc = 0x1234_5678
    return c
}

private func center(_ r: PixelRect) -> (Int, Int) { (r.x + r.width / 2, r.y + r.height / 2) }

@Test func compositorKnownAnswer() throws {
    let c = config()
    let compositor = try VideoCompositor(configuration: c)
    // Ports 1-3 send solid pictures of different sizes, 4 never sends, 5 sends once then stops.
    let senders: [Int: Sender] = [
        1: try Sender(width: 320, height: 240, color: red, ssrc: 11),
        2: try Sender(width: 640, height: 360, color: green, ssrc: 12),
        3: try Sender(width: 176, height: 144, color: blue, ssrc: 13),
        5: try Sender(width: 160, height: 160, color: yellow, ssrc: 15),
    ]
    for id in 1...5 { compositor.addPort(id) }
    compositor.highlighted = 2
    let viewer = try Viewer()
    var now: Int64 = 0
    for frameIndex in 0..<12 {
        for id in [1, 2, 3, 5] where id != 5 || frameIndex == 0 {
            for packet in try senders[id]!.packets(nowMillis: now) {
                _ = compositor.push(port: id, packet: packet, nowMillis: now)
            }
        }
        let out = compositor.tick(nowMillis: now)
        #expect(!out.isEmpty)
        for packet in out {
            let header = try RTPHeader.parse(packet)
            #expect(header.ssrc == 0x1234_5678 && header.payloadType == 96 && header.payloadLength <= c.mtu)
        }
        viewer.receive(out)
        now += 33
    }
    #expect(viewer.keyframes.first == true)
    let picture = try #require(viewer.last)
    #expect(picture.width == 1280 && picture.height == 720)

    // 5 ports: 3 columns, 2 rows, the second row of two centred.
    let rects = Layout.rects(kind: .grid, count: 5, canvas: PixelSize(width: 1280, height: 720))
    #expect(compositor.tileRects[1] == rects[0])
    let expected: [Int: YUVColor] = [1: red, 2: green, 3: blue, 4: c.placeholder, 5: yellow]
    for (id, color) in expected {
        let (x, y) = center(rects[id - 1])
        #expect(close(picture.pixel(x: x, y: y), color, tolerance: 16), "port \(id): \(picture.pixel(x: x, y: y)) vs \(color)")
        // Border: 4 px inside the tile's left edge, mid height.
        let edge = picture.pixel(x: rects[id - 1].x + 4, y: y)
        let borderColor = id == 2 ? c.highlight : c.border
        #expect(close(edge, borderColor, tolerance: 24), "port \(id) border \(edge) vs \(borderColor)")
    }
    // Pillarbox bars: port 1 is 4:3 in a 426x360 tile -> bars top and bottom? 426/360 < 4/3, so letterbox (top/bottom).
    let tile1 = rects[0]
    let inner1 = tile1.insetBy(c.borderWidth)
    let fit1 = Layout.fit(PixelSize(width: 320, height: 240), into: inner1)
    #expect(fit1.y - inner1.y >= 16)
    let bar = picture.pixel(x: tile1.x + tile1.width / 2, y: inner1.y + (fit1.y - inner1.y) / 2)
    #expect(close(bar, c.background, tolerance: 16), "letterbox bar \(bar)")
    // Canvas background left of the centred second row.
    let outside = picture.pixel(x: rects[3].x / 2, y: rects[3].y + rects[3].height / 2)
    #expect(rects[3].x >= 100)
    #expect(close(outside, c.background, tolerance: 16), "background \(outside)")

    // Port 5 froze at t=0: past freezeMillis it shows the placeholder, the others stay live.
    while now <= 1_400 {
        for id in [1, 2, 3] {
            for packet in try senders[id]!.packets(nowMillis: now) {
                _ = compositor.push(port: id, packet: packet, nowMillis: now)
            }
        }
        viewer.receive(compositor.tick(nowMillis: now))
        now += 33
    }
    let later = try #require(viewer.last)
    let (x5, y5) = center(rects[4])
    #expect(close(later.pixel(x: x5, y: y5), c.placeholder, tolerance: 16), "frozen port: \(later.pixel(x: x5, y: y5))")
    let (x1, y1) = center(rects[0])
    #expect(close(later.pixel(x: x1, y: y1), red, tolerance: 16))
    // Exact on the canvas too (no codec in between).
    #expect(compositor.composedFrame.pixel(x: x5, y: y5) == c.placeholder)
    #expect(compositor.composedFrame.pixel(x: rects[1].x + 1, y: rects[1].y + 1) == c.highlight)
    #expect(compositor.composedFrame.pixel(x: rects[0].x + 1, y: rects[0].y + 1) == c.border)
}

@Test func keyframeOnRequestIsRateLimited() throws {
    let compositor = try VideoCompositor(configuration: config())
    compositor.addPort(1)
    let viewer = try Viewer()
    var now: Int64 = 0
    func tick() {
        viewer.receive(compositor.tick(nowMillis: now))
        now += 33
    }
    tick()
    #expect(viewer.keyframes == [true])
    for _ in 0..<20 { tick() }
    #expect(viewer.keyframes.filter { $0 }.count == 1)
    compositor.requestKeyframe()
    tick()
    #expect(viewer.keyframes.last == true)
    // A second request right away waits for the rate limit (500 ms), then is honoured.
    compositor.requestKeyframe()
    tick()
    #expect(viewer.keyframes.last == false)
    var waited = 0
    while viewer.keyframes.last != true && waited < 30 {
        tick()
        waited += 1
    }
    #expect(viewer.keyframes.last == true)
    #expect(waited >= 12 && waited <= 16)
}

@Test func pushReportsKeyframeNeeds() throws {
    let compositor = try VideoCompositor(configuration: config())
    compositor.addPort(1)
    let sender = try Sender(width: 320, height: 240, color: red, ssrc: 21)
    var now: Int64 = 0
    // The first frames are delta frames (the keyframe was "lost"): asks once, then rate-limited.
    _ = try sender.packets(nowMillis: now)
    now += 33
    var asks: [Bool] = []
    for _ in 0..<3 {
        for packet in try sender.packets(nowMillis: now) { asks.append(compositor.push(port: 1, packet: packet, nowMillis: now)) }
        now += 33
    }
    #expect(asks.first == true)
    #expect(asks.filter { $0 }.count == 1)
    // A keyframe arrives: no more asking.
    now += 600
    var after: [Bool] = []
    for packet in try sender.packets(nowMillis: now, keyframe: true) { after.append(compositor.push(port: 1, packet: packet, nowMillis: now)) }
    now += 33
    for _ in 0..<3 {
        for packet in try sender.packets(nowMillis: now) { after.append(compositor.push(port: 1, packet: packet, nowMillis: now)) }
        now += 33
    }
    #expect(!after.contains(true))
    // Loss: drop one packet of a frame, send on; push reports it.
    var lossy = try sender.packets(nowMillis: now)
    if lossy.count > 1 { lossy.remove(at: 0) } else { lossy.removeAll() }
    now += 33
    var lossAsks: [Bool] = []
    for packet in lossy { lossAsks.append(compositor.push(port: 1, packet: packet, nowMillis: now)) }
    for _ in 0..<6 {
        for packet in try sender.packets(nowMillis: now) { lossAsks.append(compositor.push(port: 1, packet: packet, nowMillis: now)) }
        now += 33
    }
    #expect(lossAsks.contains(true))
    // Unknown ports never ask.
    #expect(!compositor.push(port: 99, packet: try sender.packets(nowMillis: now)[0], nowMillis: now))
}

@Test func layoutChangesRecompose() throws {
    var c = config()
    c.width = 640
    c.height = 480
    let compositor = try VideoCompositor(configuration: c)
    let a = try Sender(width: 320, height: 240, color: red, ssrc: 31)
    let b = try Sender(width: 320, height: 240, color: blue, ssrc: 32)
    compositor.addPort(1)
    compositor.addPort(2)
    for packet in try a.packets(nowMillis: 0) { _ = compositor.push(port: 1, packet: packet, nowMillis: 0) }
    for packet in try b.packets(nowMillis: 0) { _ = compositor.push(port: 2, packet: packet, nowMillis: 0) }
    _ = compositor.tick(nowMillis: 0)
    compositor.layout = .pictureInPicture
    compositor.highlighted = 2
    _ = compositor.tick(nowMillis: 33)
    let canvas = compositor.composedFrame
    // Port 2 is the full-canvas picture, port 1 the small one in the corner.
    let rects = Layout.rects(kind: .pictureInPicture, count: 2, canvas: PixelSize(width: 640, height: 480))
    #expect(compositor.tileRects[2] == rects[0] && compositor.tileRects[1] == rects[1])
    #expect(close(canvas.pixel(x: 100, y: 240), blue, tolerance: 20))
    let (x, y) = center(rects[1])
    #expect(close(canvas.pixel(x: x, y: y), red, tolerance: 20))
    compositor.removePort(2)
    _ = compositor.tick(nowMillis: 66)
    #expect(close(compositor.composedFrame.pixel(x: 320, y: 240), red, tolerance: 20))
}

/// Several qualities (mixer.qualities): each extra one is the same canvas
/// scaled down, encoded with its own encoder into its own RTP stream, and
/// asks for keyframes on its own.
@Test func compositorEncodesEveryQualityFromOneCanvas() throws {
    var c = config()
    c.extraQualities = [VideoQuality(width: 640, height: 360, bitrate: 500_000), try #require(VideoQuality("320x180@150"))]
    #expect(VideoQuality("320x180") == nil && VideoQuality("axb@100") == nil && VideoQuality("320x180@1") == nil)
    let compositor = try VideoCompositor(configuration: c)
    #expect(Set(compositor.qualitySSRCs).count == 3 && compositor.qualitySSRCs[0] == c.ssrc)
    let sender = try Sender(width: 320, height: 240, color: red, ssrc: 11)
    compositor.addPort(1)
    let viewers = try (0..<3).map { _ in try Viewer() }
    var now: Int64 = 0
    for frameIndex in 0..<8 {
        for p in try sender.packets(nowMillis: now, keyframe: frameIndex == 0) { _ = compositor.push(port: 1, packet: p, nowMillis: now) }
        let all = compositor.tickAll(nowMillis: now)
        #expect(all.count == 3)
        for (q, packets) in all.enumerated() {
            let headers = try packets.map { try RTPHeader.parse($0) }
            #expect(Set(headers.map(\.ssrc)) == [compositor.qualitySSRCs[q]])
            if let first = headers.first, let main = try all[0].first.map({ try RTPHeader.parse($0) }) {
                #expect(first.timestamp == main.timestamp)  // one composed frame, one timestamp
            }
            viewers[q].receive(packets)
        }
        now += 33
    }
    let sizes = viewers.map { ($0.last?.width ?? 0, $0.last?.height ?? 0) }
    #expect(sizes[0] == (1280, 720) && sizes[1] == (640, 360) && sizes[2] == (320, 180), "\(sizes)")
    // The one tile (red) is at the centre of every quality.
    for v in viewers {
        let f = try #require(v.last)
        let y = f.y[(f.height / 2) * f.strideY + f.width / 2]
        #expect(abs(Int(y) - Int(red.y)) < 20, "luma \(y) at the centre of \(f.width)x\(f.height)")
    }
    // A keyframe asked for one quality comes in that one.
    let before = viewers.map(\.keyframes.count)
    compositor.requestKeyframe(quality: 2)
    now += 600
    let next = compositor.tickAll(nowMillis: now)
    for (q, packets) in next.enumerated() { viewers[q].receive(packets) }
    #expect(viewers[2].keyframes.last == true)
    #expect(viewers[1].keyframes.last == false && viewers[1].keyframes.count == before[1] + 1)
}

/// A new viewer's keyframe request is honoured 70 ms after the last forced
/// keyframe; a repair request (PLI) waits 500 ms.
@Test func newViewersGetTheirKeyframeSooner() throws {
    let compositor = try VideoCompositor(configuration: config())
    compositor.addPort(1)
    let viewer = try Viewer()
    viewer.receive(compositor.tick(nowMillis: 0))  // the first frame: a keyframe
    #expect(viewer.keyframes == [true])
    compositor.requestKeyframe()
    viewer.receive(compositor.tick(nowMillis: 200))
    #expect(viewer.keyframes.last == false)  // a repair request: not before 500 ms
    compositor.requestKeyframe(forNewViewer: true)
    viewer.receive(compositor.tick(nowMillis: 233))
    #expect(viewer.keyframes.last == true)  // a new viewer: 70 ms is enough
    compositor.requestKeyframe()
    viewer.receive(compositor.tick(nowMillis: 400))
    #expect(viewer.keyframes.last == false)
    viewer.receive(compositor.tick(nowMillis: 740))
    #expect(viewer.keyframes.last == true)  // kept, and honoured once 500 ms passed
}

/// The encoder's active map: macroblocks whose pixels did not change since the
/// last frame are not coded (still participants cost almost nothing), and
/// what the viewer decodes stays the picture composed.
@Test func onlyChangedMacroblocksAreCoded() throws {
    let compositor = try VideoCompositor(configuration: config())
    let senders = [try Sender(width: 320, height: 240, color: red, ssrc: 21), try Sender(width: 320, height: 240, color: green, ssrc: 22)]
    for id in 0..<2 { compositor.addPort(id) }
    let viewer = try Viewer()
    var now: Int64 = 0
    func step() throws {
        for (id, s) in senders.enumerated() {
            for packet in try s.packets(nowMillis: now) { _ = compositor.push(port: id, packet: packet, nowMillis: now) }
        }
        viewer.receive(compositor.tick(nowMillis: now))
        now += 33
    }
    for _ in 0..<15 { try step() }
    let settled = compositor.macroblocks
    for _ in 0..<15 { try step() }
    let still = (coded: compositor.macroblocks.coded - settled.coded, kept: compositor.macroblocks.kept - settled.kept)
    // Two still pictures: after the senders' encoders settle, nearly nothing is coded.
    #expect(still.kept > 15 * 3600 * 9 / 10, "coded \(still.coded), kept \(still.kept) macroblocks in 15 frames")
    // Port 0 turns blue: its tile is coded, port 1's is not, and the viewer sees both right.
    senders[0].frame.fill(blue)
    let before = compositor.macroblocks
    for _ in 0..<10 { try step() }
    let moved = compositor.macroblocks.coded - before.coded
    #expect(moved > 0 && moved < 10 * 3600 / 2, "coded \(moved) macroblocks in 10 frames")
    let rects = Layout.rects(kind: .grid, count: 2, canvas: PixelSize(width: 1280, height: 720))
    let picture = try #require(viewer.last)
    for (rect, color) in zip(rects, [blue, green]) {
        let (x, y) = center(rect)
        #expect(close(picture.pixel(x: x, y: y), color, tolerance: 16), "\(picture.pixel(x: x, y: y)) vs \(color)")
    }
}

/// A participant of whom only a small part moves (a face in a still room):
/// only the part of the tile it reaches is drawn and coded again, and the
/// viewer sees the change in its place and the rest of the tile unchanged.
@Test func onlyThePartOfATileThatMovedIsDrawnAgain() throws {
    let compositor = try VideoCompositor(configuration: config())
    let sender = try Sender(width: 320, height: 240, color: green, ssrc: 31)
    compositor.addPort(0)
    let viewer = try Viewer()
    var now: Int64 = 0
    func step() throws {
        for packet in try sender.packets(nowMillis: now) { _ = compositor.push(port: 0, packet: packet, nowMillis: now) }
        viewer.receive(compositor.tick(nowMillis: now))
        now += 33
    }
    for _ in 0..<20 { try step() }
    // A red square appears in the picture's top left quarter.
    sender.frame.fill(PixelRect(x: 32, y: 32, width: 64, height: 64), with: red)
    let before = compositor.macroblocks
    for _ in 0..<10 { try step() }
    let coded = compositor.macroblocks.coded - before.coded
    let tile = try #require(compositor.tileRects[0])
    let fit = Layout.fit(PixelSize(width: 320, height: 240), into: tile.insetBy(config().borderWidth))
    let tileBlocks = (fit.width / 16 + 1) * (fit.height / 16 + 1)
    #expect(coded > 0 && coded < 10 * tileBlocks / 4, "coded \(coded) macroblocks in 10 frames; the tile has \(tileBlocks)")
    let picture = try #require(viewer.last)
    let scale = Double(fit.width) / 320
    func at(_ x: Int, _ y: Int) -> YUVColor { picture.pixel(x: fit.x + Int(Double(x) * scale), y: fit.y + Int(Double(y) * scale)) }
    #expect(close(at(64, 64), red, tolerance: 20), "\(at(64, 64))")
    #expect(close(at(240, 180), green, tolerance: 16), "\(at(240, 180))")
    #expect(close(at(20, 200), green, tolerance: 16), "\(at(20, 200))")
}

/// A participant whose camera changes size mid-call (the last size no
/// multiple of 16): the port takes the new picture whole and redraws its
/// tile, and only changes are taken again after that.
@Test func aNewPictureSizeIsTakenWhole() throws {
    let compositor = try VideoCompositor(configuration: config())
    compositor.addPort(0)
    let viewer = try Viewer()
    var now: Int64 = 0
    func run(_ sender: Sender, frames: Int) throws {
        for index in 0..<frames {
            for packet in try sender.packets(nowMillis: now, keyframe: index == 0) { _ = compositor.push(port: 0, packet: packet, nowMillis: now) }
            viewer.receive(compositor.tick(nowMillis: now))
            now += 33
        }
    }
    func tileColour() throws -> YUVColor {
        let (x, y) = center(try #require(compositor.tileRects[0]))
        return try #require(viewer.last).pixel(x: x, y: y)
    }
    // One camera: each new sender carries on the last one's RTP stream (sequence numbers, picture ids).
    let first = try Sender(width: 320, height: 240, color: red, ssrc: 41)
    try run(first, frames: 10)
    var seen = try tileColour()
    #expect(close(seen, red, tolerance: 16), "\(seen)")
    let larger = try Sender(width: 640, height: 360, color: blue, ssrc: 41)
    larger.packetizer = first.packetizer
    try run(larger, frames: 10)
    seen = try tileColour()
    #expect(close(seen, blue, tolerance: 16), "\(seen)")
    let small = try Sender(width: 318, height: 178, color: yellow, ssrc: 41)
    small.packetizer = larger.packetizer
    try run(small, frames: 10)
    seen = try tileColour()
    #expect(close(seen, yellow, tolerance: 16), "\(seen)")
    small.frame.fill(green)
    try run(small, frames: 10)
    seen = try tileColour()
    #expect(close(seen, green, tolerance: 16), "\(seen)")
}

/// A participant the layout hides (a custom layout with fewer rectangles) is
/// not decoded; shown again, the compositor asks it for a keyframe and shows
/// its picture once that arrives.
@Test func aHiddenParticipantIsNotDecoded() throws {
    let compositor = try VideoCompositor(configuration: config())
    let senders = [red, green, blue].enumerated().map { try! Sender(width: 320, height: 240, color: $1, ssrc: UInt32(51 + $0)) }
    for id in 0..<3 { compositor.addPort(id) }
    compositor.layout = .custom([NormalizedRect(x: 0, y: 0, width: 0.5, height: 1), NormalizedRect(x: 0.5, y: 0, width: 0.5, height: 1)])
    let viewer = try Viewer()
    var now: Int64 = 0
    var asked: Set<Int> = []
    func step(keyframeFrom: Int? = nil) throws {
        for (id, s) in senders.enumerated() {
            for packet in try s.packets(nowMillis: now, keyframe: now == 0 || id == keyframeFrom)
            where compositor.push(port: id, packet: packet, nowMillis: now) {
                asked.insert(id)
            }
        }
        viewer.receive(compositor.tick(nowMillis: now))
        now += 33
    }
    try step()
    asked = []
    let before = compositor.framesDecoded
    for _ in 0..<20 { try step() }
    #expect(compositor.framesDecoded - before == 40, "two shown ports, 20 frames each")
    #expect(asked.isEmpty)
    // The grid shows everyone: port 2 asks for a keyframe, and shows blue once it came.
    compositor.layout = .grid
    try step()
    try step()
    #expect(asked == [2])
    try step(keyframeFrom: 2)
    for _ in 0..<5 { try step() }
    let tile = try #require(compositor.tileRects[2])
    let (x, y) = center(tile)
    let seen = try #require(viewer.last).pixel(x: x, y: y)
    #expect(close(seen, blue, tolerance: 16), "\(seen)")
}
