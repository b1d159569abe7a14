import Mixer
import Testing

private let canvases = [PixelSize(width: 1280, height: 720), PixelSize(width: 640, height: 480)]
private let customRects = [
    NormalizedRect(x: 0, y: 0, width: 0.5, height: 0.5),
    NormalizedRect(x: 0.5, y: 0, width: 0.5, height: 0.5),
    NormalizedRect(x: 0.25, y: 0.5, width: 0.5, height: 0.5),
]
private let kinds: [LayoutKind] = [.grid, .speaker, .pictureInPicture, .custom(customRects)]

private func isEven(_ r: PixelRect) -> Bool {
    r.x % 2 == 0 && r.y % 2 == 0 && r.width % 2 == 0 && r.height % 2 == 0
}

@Test(arguments: kinds)
func layoutBasicInvariants(kind: LayoutKind) {
    for canvas in canvases {
        for count in 1...25 {
            let rects = Layout.rects(kind: kind, count: count, canvas: canvas)
            #expect(rects.count == count, "\(kind) n=\(count)")
            for rect in rects {
                #expect(isEven(rect), "\(kind) n=\(count) \(rect)")
                #expect(rect.x >= 0 && rect.y >= 0 && rect.maxX <= canvas.width && rect.maxY <= canvas.height,
                        "\(kind) n=\(count) \(rect) outside \(canvas)")
            }
            if case .custom(let list) = kind {
                #expect(rects.filter { !$0.isEmpty }.count == min(count, list.count))
            } else {
                #expect(rects.allSatisfy { !$0.isEmpty }, "\(kind) n=\(count) has an empty tile")
            }
        }
    }
}

@Test func gridColumnsRowsAndNoOverlap() {
    for canvas in canvases {
        for count in 1...25 {
            let rects = Layout.rects(kind: .grid, count: count, canvas: canvas)
            var columns = 1
            while columns * columns < count { columns += 1 }
            #expect(Layout.gridColumns(count: count) == columns)
            let rows = (count + columns - 1) / columns
            #expect(Set(rects.map(\.y)).count == rows, "n=\(count)")
            // The first row is full.
            #expect(rects.filter { $0.y == rects[0].y }.count == min(count, columns), "n=\(count)")
            for i in rects.indices {
                for j in rects.indices where j > i {
                    #expect(!rects[i].intersects(rects[j]), "n=\(count): \(rects[i]) overlaps \(rects[j])")
                }
            }
            // All cells the same size.
            #expect(Set(rects.map { PixelSize(width: $0.width, height: $0.height) }).count == 1)
        }
    }
}

@Test func gridKnownAnswers() {
    let canvas = PixelSize(width: 1280, height: 720)
    #expect(Layout.rects(kind: .grid, count: 1, canvas: canvas) == [PixelRect(x: 0, y: 0, width: 1280, height: 720)])
    #expect(
        Layout.rects(kind: .grid, count: 4, canvas: canvas) == [
            PixelRect(x: 0, y: 0, width: 640, height: 360), PixelRect(x: 640, y: 0, width: 640, height: 360),
            PixelRect(x: 0, y: 360, width: 640, height: 360), PixelRect(x: 640, y: 360, width: 640, height: 360),
        ])
    // 3 inputs: 2 columns, the last row's single tile centred.
    let three = Layout.rects(kind: .grid, count: 3, canvas: canvas)
    #expect(three[2] == PixelRect(x: 320, y: 360, width: 640, height: 360))
    // 9 inputs: 3x3 of 426x240 (even).
    let nine = Layout.rects(kind: .grid, count: 9, canvas: canvas)
    #expect(nine[0].width == 426 && nine[0].height == 240)
}

@Test func speakerAndPictureInPictureShape() {
    let canvas = PixelSize(width: 1280, height: 720)
    for count in 2...25 {
        let speaker = Layout.rects(kind: .speaker, count: count, canvas: canvas)
        let big = speaker[0]
        for small in speaker.dropFirst() {
            #expect(small.width * small.height < big.width * big.height)
            #expect(!small.intersects(big))
        }
        for i in 1..<speaker.count {
            for j in (i + 1)..<max(i + 1, speaker.count) { #expect(!speaker[i].intersects(speaker[j])) }
        }
        let pip = Layout.rects(kind: .pictureInPicture, count: count, canvas: canvas)
        #expect(pip[0] == PixelRect(x: 0, y: 0, width: 1280, height: 720))
        for i in 1..<pip.count {
            #expect(pip[i].width <= 320 && pip[i].height <= 180)
            for j in (i + 1)..<max(i + 1, pip.count) { #expect(!pip[i].intersects(pip[j])) }
        }
        // The first small tile sits in the bottom-right corner.
        #expect(pip[1].maxX > 1200 && pip[1].maxY > 650)
    }
}

@Test func customScalesToCanvas() {
    let rects = Layout.rects(kind: .custom(customRects), count: 4, canvas: PixelSize(width: 1280, height: 720))
    #expect(rects[0] == PixelRect(x: 0, y: 0, width: 640, height: 360))
    #expect(rects[2] == PixelRect(x: 320, y: 360, width: 640, height: 360))
    #expect(rects[3].isEmpty)
}

@Test func letterboxFit() {
    let tile = PixelRect(x: 640, y: 360, width: 640, height: 360)
    // 4:3 into 16:9: pillarbox, full height, centred.
    let a = Layout.fit(PixelSize(width: 640, height: 480), into: tile)
    #expect(a == PixelRect(x: 640 + 80, y: 360, width: 480, height: 360))
    // 16:9 into 16:9: exact.
    #expect(Layout.fit(PixelSize(width: 1920, height: 1080), into: tile) == tile)
    // Very wide: letterbox, full width.
    let b = Layout.fit(PixelSize(width: 400, height: 100), into: tile)
    #expect(b.width == 640 && b.height == 160 && b.x == 640 && b.y == 360 + 100)
    // Odd inputs still give even rectangles inside the tile.
    for (w, h) in [(175, 143), (33, 99), (1001, 3), (2, 2)] {
        let r = Layout.fit(PixelSize(width: w, height: h), into: PixelRect(x: 2, y: 4, width: 426, height: 240))
        #expect(isEven(r) && r.x >= 2 && r.y >= 4 && r.maxX <= 428 && r.maxY <= 244, "\(w)x\(h) -> \(r)")
        // Aspect kept within rounding.
        let aspect = Double(w) / Double(h)
        if r.width > 16 && r.height > 16 {
            #expect(abs(Double(r.width) / Double(r.height) - aspect) / aspect < 0.1, "\(w)x\(h) -> \(r)")
        }
    }
}
