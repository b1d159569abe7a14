// The compositor's tile scaler and change detection: a tile drawn in pieces
// (only where its input changed) is the very tile drawn whole, and only the
// macroblocks that really changed are found.

import FuzzSupport
import Mixer
import Testing

/// A picture with detail everywhere (gradients and pseudo-random noise), so a
/// wrong tap or a seam between pieces shows in the bytes.
private func texturedFrame(width: Int, height: Int, seed: UInt32) -> I420Frame {
    let frame = I420Frame(width: width, height: height)
    var state = seed | 1
    func next() -> UInt8 {
        state ^= state << 13
        state ^= state >> 17
        state ^= state << 5
        return UInt8(truncatingIfNeeded: state)
    }
    for y in 0..<height { for x in 0..<width { frame.y[y * frame.strideY + x] = UInt8(truncatingIfNeeded: x + 2 * y) &+ next() % 32 } }
    for y in 0..<frame.chromaHeight {
        for x in 0..<frame.chromaWidth {
            frame.u[y * frame.strideUV + x] = next()
            frame.v[y * frame.strideUV + x] = UInt8(truncatingIfNeeded: 3 * x + y)
        }
    }
    return frame
}

private func bytes(_ frame: I420Frame) -> [UInt8] { Array(UnsafeBufferPointer(start: frame.base, count: frame.byteCount)) }

/// Overwrites macroblock (`col`, `row`) of `frame` with noise (clipped at the edges).
private func scribble(_ frame: I420Frame, col: Int, row: Int, seed: UInt32) {
    let patch = texturedFrame(width: 16, height: 16, seed: seed)
    for y in (row * 16)..<min(frame.height, row * 16 + 16) {
        for x in (col * 16)..<min(frame.width, col * 16 + 16) {
            frame.y[y * frame.strideY + x] = patch.y[(y - row * 16) * 16 + (x - col * 16)] &+ 90
        }
    }
    for y in (row * 8)..<min(frame.chromaHeight, row * 8 + 8) {
        for x in (col * 8)..<min(frame.chromaWidth, col * 8 + 8) { frame.u[y * frame.strideUV + x] &+= 70 }
    }
}

@Test(arguments: [
    (640, 480, PixelRect(x: 84, y: 2, width: 474, height: 356)),  // 2x2 at 720p: down
    (640, 480, PixelRect(x: 54, y: 2, width: 314, height: 236)),  // 3x3 at 720p: down by 2
    (320, 240, PixelRect(x: 100, y: 40, width: 474, height: 356)),  // up
    (200, 120, PixelRect(x: 10, y: 6, width: 330, height: 198)),  // sizes that are no multiple of 16
    (640, 360, PixelRect(x: 0, y: 0, width: 640, height: 360)),  // same size
])
func aTileDrawnInPiecesIsTheTileDrawnWhole(width: Int, height: Int, fit: PixelRect) {
    let old = texturedFrame(width: width, height: height, seed: 7)
    let new = texturedFrame(width: width, height: height, seed: 7)
    let cols = (width + 15) / 16, rows = (height + 15) / 16
    var changed = MacroblockMap(width: width, height: height)
    for (index, (col, row)) in [(0, 0), (cols - 1, rows - 1), (cols / 2, rows / 2), (cols / 2 + 1, rows / 2), (1, rows - 1), (cols - 1, 2)].enumerated() {
        scribble(new, col: col, row: row, seed: UInt32(100 + index))
        changed[col, row] = true
    }
    let scratch = ScaleScratch(capacity: 64)  // grows on demand
    let whole = texturedFrame(width: 800, height: 400, seed: 3)
    whole.draw(new, into: fit, only: fit, scratch: scratch)
    let pieces = texturedFrame(width: 800, height: 400, seed: 3)
    pieces.draw(old, into: fit, only: fit, scratch: scratch)
    #expect(bytes(pieces) != bytes(whole))
    let parts = changed.rects(width: width, height: height)
    for part in parts {
        let region = I420Frame.reach(of: part, sourceWidth: width, sourceHeight: height, drawnInto: fit)
        #expect(region.x >= fit.x && region.y >= fit.y && region.maxX <= fit.maxX && region.maxY <= fit.maxY)
        pieces.draw(new, into: fit, only: region, scratch: scratch)
    }
    #expect(bytes(pieces) == bytes(whole), "\(parts.count) pieces")
}

@Test func scalingKeepsAFlatColourAndPutsDetailInPlace() {
    let source = solidFrame(width: 320, height: 240, color: .gray)
    source.fill(PixelRect(x: 160, y: 0, width: 160, height: 240), with: .white)
    let canvas = solidFrame(width: 640, height: 480, color: .black)
    canvas.draw(source, into: PixelRect(x: 0, y: 0, width: 640, height: 480), only: canvas.bounds, scratch: ScaleScratch())
    #expect(canvas.pixel(x: 100, y: 200) == YUVColor.gray)
    #expect(canvas.pixel(x: 500, y: 300) == YUVColor.white)
    // The edge stays where it was, within the filter's reach.
    #expect(canvas.pixel(x: 316, y: 10) == YUVColor.gray)
    #expect(canvas.pixel(x: 322, y: 10) == YUVColor.white)
}

@Test func changedMacroblocksBecomeRectangles() {
    var map = MacroblockMap(width: 100, height: 70)  // 7 x 5 macroblocks, clipped ones at the edges
    for row in 1...3 { map[2, row] = true; map[3, row] = true }  // one 2x3 block
    map[6, 4] = true  // the clipped corner
    map[0, 0] = true
    map[5, 1] = true
    let rects = Set(map.rects(width: 100, height: 70).map { "\($0.x),\($0.y),\($0.width),\($0.height)" })
    #expect(rects == ["32,16,32,48", "96,64,4,6", "0,0,16,16", "80,16,16,16"])
    map.clear()
    #expect(map.isEmpty && map.rects(width: 100, height: 70).isEmpty)
}

@Test func onlyMacroblocksThatReallyChangedAreMarked() {
    let frame = texturedFrame(width: 200, height: 120, seed: 11)  // clipped macroblocks on the right and bottom
    let reference = texturedFrame(width: 200, height: 120, seed: 11)
    scribble(frame, col: 3, row: 2, seed: 5)  // a real change
    scribble(frame, col: 12, row: 7, seed: 6)  // in the clipped corner (8 x 8 pixels)
    frame.y[40 * frame.strideY + 100] &+= 3  // one sample off by 3: below the threshold
    var map = MacroblockMap(width: 200, height: 120)
    frame.markChanges(in: frame.bounds, against: reference, into: &map)
    #expect(map.count == 2 && map[3, 2] && map[12, 7])
    // The reference took the changed macroblocks and nothing else.
    #expect(reference.y[2 * 16 * reference.strideY + 3 * 16] == frame.y[2 * 16 * frame.strideY + 3 * 16])
    #expect(reference.y[40 * reference.strideY + 100] != frame.y[40 * frame.strideY + 100])
    var again = MacroblockMap(width: 200, height: 120)
    frame.markChanges(in: frame.bounds, against: reference, into: &again)
    #expect(again.isEmpty)
    // A sample off by a lot in a macroblock otherwise equal: marked.
    frame.v[10 * frame.strideUV + 10] &+= 200
    frame.markChanges(in: PixelRect(x: 0, y: 0, width: 64, height: 64), against: reference, into: &again)
    #expect(again.count == 1 && again[1, 1])
}

/// The same over random geometries (sizes, tile rectangles, up and down,
/// changed macroblocks anywhere), with a fixed seed.
@Test func randomTilesDrawnInPiecesAreTheTilesDrawnWhole() {
    var generator = SeededRandom(seed: 2026)
    for round in 0..<24 {
        let width = 2 * Int.random(in: 8...400, using: &generator), height = 2 * Int.random(in: 8...300, using: &generator)
        let fitWidth = 2 * Int.random(in: 2...400, using: &generator), fitHeight = 2 * Int.random(in: 2...250, using: &generator)
        let fit = PixelRect(
            x: 2 * Int.random(in: 0...(400 - fitWidth / 2), using: &generator), y: 2 * Int.random(in: 0...(250 - fitHeight / 2), using: &generator),
            width: fitWidth, height: fitHeight)
        let old = texturedFrame(width: width, height: height, seed: UInt32(round + 1))
        let new = texturedFrame(width: width, height: height, seed: UInt32(round + 1))
        var changed = MacroblockMap(width: width, height: height)
        for index in 0..<Int.random(in: 1...6, using: &generator) {
            let col = Int.random(in: 0..<changed.cols, using: &generator), row = Int.random(in: 0..<changed.rows, using: &generator)
            scribble(new, col: col, row: row, seed: UInt32(1_000 + round * 10 + index))
            changed[col, row] = true
        }
        let scratch = ScaleScratch(capacity: 16)
        let whole = texturedFrame(width: 800, height: 500, seed: 9)
        whole.draw(new, into: fit, only: fit, scratch: scratch)
        let pieces = texturedFrame(width: 800, height: 500, seed: 9)
        pieces.draw(old, into: fit, only: fit, scratch: scratch)
        for part in changed.rects(width: width, height: height) {
            pieces.draw(new, into: fit, only: I420Frame.reach(of: part, sourceWidth: width, sourceHeight: height, drawnInto: fit), scratch: scratch)
        }
        #expect(bytes(pieces) == bytes(whole), "\(width)x\(height) into \(fit)")
    }
}
