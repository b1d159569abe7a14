import Mixer
import Testing

func solidFrame(width: Int, height: Int, color: YUVColor) -> I420Frame {
    let frame = I420Frame(width: width, height: height)
    frame.fill(color)
    return frame
}

func close(_ a: YUVColor, _ b: YUVColor, tolerance: Int = 12) -> Bool {
    abs(Int(a.y) - Int(b.y)) <= tolerance && abs(Int(a.u) - Int(b.u)) <= tolerance
        && abs(Int(a.v) - Int(b.v)) <= tolerance
}

@Test func colorFromRGB() {
    #expect(YUVColor(red: 0, green: 0, blue: 0) == YUVColor(y: 16, u: 128, v: 128))
    #expect(YUVColor(red: 255, green: 255, blue: 255) == YUVColor(y: 235, u: 128, v: 128))
    let red = YUVColor(red: 255, green: 0, blue: 0)
    #expect(red.y == 82 && red.u == 90 && red.v == 240)
}

@Test func frameFillBorderAndScale() {
    let canvas = solidFrame(width: 64, height: 48, color: .black)
    canvas.fill(PixelRect(x: 10, y: 10, width: 20, height: 10), with: .white)
    #expect(canvas.pixel(x: 10, y: 10) == .white && canvas.pixel(x: 29, y: 19) == .white)
    #expect(canvas.pixel(x: 30, y: 10) == .black && canvas.pixel(x: 10, y: 20) == .black)
    let red = YUVColor(red: 255, green: 0, blue: 0)
    canvas.strokeBorder(PixelRect(x: 0, y: 0, width: 64, height: 48), thickness: 2, color: red)
    #expect(canvas.pixel(x: 0, y: 0) == red && canvas.pixel(x: 63, y: 47) == red && canvas.pixel(x: 1, y: 24) == red)
    #expect(canvas.pixel(x: 2, y: 24) == .black)
    let green = solidFrame(width: 30, height: 30, color: YUVColor(red: 0, green: 255, blue: 0))
    canvas.draw(green, into: PixelRect(x: 40, y: 20, width: 16, height: 16))
    #expect(close(canvas.pixel(x: 48, y: 28), YUVColor(red: 0, green: 255, blue: 0), tolerance: 1))
    #expect(canvas.pixel(x: 38, y: 28) == .black)
}

@Test func framePoolReusesBuffers() {
    let pool = FramePool()
    let a = pool.acquire(width: 320, height: 240)
    pool.release(a)
    let b = pool.acquire(width: 320, height: 240)
    #expect(a === b)
    let c = pool.acquire(width: 320, height: 240)
    #expect(c !== b && pool.allocations == 2)
    pool.release(b)
    pool.release(c)
    for _ in 0..<100 {
        let f = pool.acquire(width: 320, height: 240)
        pool.release(f)
    }
    #expect(pool.allocations == 2)
}

@Test func encodeDecodeRoundTrip() throws {
    let color = YUVColor(red: 200, green: 60, blue: 30)
    let encoder = try VP8Encoder(configuration: VP8EncoderConfiguration(width: 320, height: 240, bitrate: 300_000))
    let decoder = try VP8Decoder()
    let pool = FramePool()
    let input = solidFrame(width: 320, height: 240, color: color)
    var keyframes: [Bool] = []
    var last: I420Frame?
    for i in 0..<10 {
        let encoded = try #require(try encoder.encode(input, forceKeyframe: i == 5))
        keyframes.append(encoded.isKeyframe)
        guard case .frame(let frame) = decoder.decode(encoded.data, pool: pool) else {
            Issue.record("frame \(i) did not decode")
            return
        }
        if let last { pool.release(last) }
        last = frame
    }
    #expect(keyframes == [true, false, false, false, false, true, false, false, false, false])
    let frame = try #require(last)
    #expect(frame.width == 320 && frame.height == 240)
    #expect(close(frame.pixel(x: 160, y: 120), color))
    try encoder.setBitrate(100_000)
    #expect(encoder.bitrate == 100_000)
    #expect(try encoder.encode(input) != nil)
    // Garbage is reported as corrupt.
    let garbage: [UInt8] = [0x00, 0x01, 0x02, 0x9d, 0x01, 0x2a, 0xff, 0xff]
    if case .frame = decoder.decode(garbage, pool: pool) { Issue.record("garbage decoded") }
    // Wrong size is rejected.
    #expect(throws: VP8Error.wrongFrameSize) { try encoder.encode(solidFrame(width: 64, height: 64, color: color)) }
}
