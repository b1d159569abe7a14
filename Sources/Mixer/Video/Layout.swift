// Tile layouts of the composite picture, as pure functions of the number of
// inputs and the canvas size. Every coordinate is even (I420 chroma is
// subsampled 2x2), and every tile lies inside the canvas.

public struct PixelSize: Sendable, Equatable, Hashable {
    public var width: Int
    public var height: Int

    public init(width: Int, height: Int) {
        self.width = width
        self.height = height
    }
}

/// A rectangle in canvas units: (0, 0) top left, (1, 1) bottom right.
public struct NormalizedRect: Sendable, Equatable, Hashable {
    public var x: Double
    public var y: Double
    public var width: Double
    public var height: Double

    public init(x: Double, y: Double, width: Double, height: Double) {
        self.x = x
        self.y = y
        self.width = width
        self.height = height
    }
}

public enum LayoutKind: Sendable, Equatable, Hashable {
    /// ceil(sqrt(n)) columns, ceil(n / columns) rows; a short last row is centred.
    case grid
    /// The first input (the dominant speaker) large on top, the others in a strip below.
    case speaker
    /// The first input over the whole canvas, the others small in the bottom-right corner.
    case pictureInPicture
    /// The first input (a shared screen) over the left four fifths at full
    /// height, the others stacked in a column along the right fifth.
    case presentation
    /// One rectangle per input, in input order; inputs past the end are not shown.
    case custom([NormalizedRect])
}

public enum Layout {
    /// The tile of each of `count` inputs, in input order. A hidden input
    /// (custom layouts with fewer rectangles) gets an empty rectangle.
    public static func rects(kind: LayoutKind, count: Int, canvas: PixelSize) -> [PixelRect] {
        guard count > 0, canvas.width >= 2, canvas.height >= 2 else { return [] }
        switch kind {
        case .grid:
            return grid(count: count, in: PixelRect(x: 0, y: 0, width: canvas.width, height: canvas.height))
        case .speaker:
            return speaker(count: count, canvas: canvas)
        case .pictureInPicture:
            return pictureInPicture(count: count, canvas: canvas)
        case .presentation:
            return presentation(count: count, canvas: canvas)
        case .custom(let normalized):
            return (0..<count).map { index in
                index < normalized.count ? scale(normalized[index], to: canvas) : .zero
            }
        }
    }

    /// Columns of the grid for `count` inputs: ceil(sqrt(count)).
    public static func gridColumns(count: Int) -> Int {
        guard count > 0 else { return 0 }
        var columns = 1
        while columns * columns < count { columns += 1 }
        return columns
    }

    /// Where a `source`-sized picture goes inside `tile`: as large as fits
    /// with its aspect ratio kept, centred (letterbox or pillarbox), even.
    public static func fit(_ source: PixelSize, into tile: PixelRect) -> PixelRect {
        guard source.width > 0, source.height > 0, !tile.isEmpty else { return PixelRect(x: tile.x, y: tile.y, width: 0, height: 0) }
        var width: Int, height: Int
        if source.width * tile.height >= tile.width * source.height {
            width = tile.width
            height = (tile.width * source.height + source.width / 2) / source.width
        } else {
            height = tile.height
            width = (tile.height * source.width + source.height / 2) / source.height
        }
        width = min(tile.width, width) & ~1
        height = min(tile.height, height) & ~1
        let x = tile.x + ((tile.width - width) / 2) & ~1
        let y = tile.y + ((tile.height - height) / 2) & ~1
        return PixelRect(x: x, y: y, width: width, height: height)
    }

    // MARK: Layouts

    private static func even(_ value: Int) -> Int { value & ~1 }

    /// A grid of `count` cells inside `area` (the last row centred).
    static func grid(count: Int, in area: PixelRect) -> [PixelRect] {
        let columns = gridColumns(count: count)
        let rows = (count + columns - 1) / columns
        let cellWidth = even(area.width / columns), cellHeight = even(area.height / rows)
        let x0 = area.x + even((area.width - columns * cellWidth) / 2)
        let y0 = area.y + even((area.height - rows * cellHeight) / 2)
        var rects: [PixelRect] = []
        rects.reserveCapacity(count)
        for index in 0..<count {
            let row = index / columns, column = index % columns
            let inRow = row == rows - 1 ? count - row * columns : columns
            let shift = even((columns - inRow) * cellWidth / 2)
            rects.append(
                PixelRect(x: x0 + shift + column * cellWidth, y: y0 + row * cellHeight, width: cellWidth, height: cellHeight))
        }
        return rects
    }

    /// The first input in the top 3/4 of the canvas, the others in one strip
    /// along the bottom quarter (a grid when they do not fit in one row).
    static func speaker(count: Int, canvas: PixelSize) -> [PixelRect] {
        let full = PixelRect(x: 0, y: 0, width: canvas.width, height: canvas.height)
        guard count > 1 else { return [full] }
        let stripHeight = even(canvas.height / 4)
        let main = PixelRect(x: 0, y: 0, width: canvas.width, height: canvas.height - stripHeight)
        let others = count - 1
        // Tiles in the strip keep roughly the canvas aspect; more rows when they would get too narrow.
        let rows = max(1, Int((Double(others) * Double(stripHeight) / Double(canvas.width)).squareRoot().rounded(.up)))
        let columns = (others + rows - 1) / rows
        let cellWidth = even(canvas.width / columns), cellHeight = even(stripHeight / rows)
        var rects = [main]
        rects.reserveCapacity(count)
        for index in 0..<others {
            let row = index / columns, column = index % columns
            let inRow = row == rows - 1 ? others - row * columns : columns
            let shift = even((canvas.width - inRow * cellWidth) / 2)
            rects.append(
                PixelRect(x: shift + column * cellWidth, y: main.maxY + row * cellHeight, width: cellWidth, height: cellHeight))
        }
        return rects
    }

    /// The first input over the left 4/5 of the canvas; the others in the
    /// right 1/5, one per row while their tiles keep the canvas aspect, more
    /// columns of the same strip (a grid) when they do not fit.
    static func presentation(count: Int, canvas: PixelSize) -> [PixelRect] {
        let full = PixelRect(x: 0, y: 0, width: even(canvas.width), height: even(canvas.height))
        guard count > 1 else { return [full] }
        let stripWidth = even(canvas.width / 5)
        let main = PixelRect(x: 0, y: 0, width: canvas.width - stripWidth, height: even(canvas.height))
        let strip = PixelRect(x: main.maxX, y: 0, width: stripWidth, height: even(canvas.height))
        let others = count - 1
        // Rows of canvas-aspect tiles that fit the strip's height; past that, a grid inside the strip.
        let tileHeight = even(stripWidth * canvas.height / max(canvas.width, 1))
        let fitRows = max(1, tileHeight > 0 ? strip.height / tileHeight : 1)
        guard others > fitRows else {
            let y0 = even((strip.height - others * tileHeight) / 2)
            return [main] + (0..<others).map { PixelRect(x: strip.x, y: y0 + $0 * tileHeight, width: stripWidth, height: tileHeight) }
        }
        return [main] + grid(count: others, in: strip)
    }

    /// The first input over the whole canvas, the others in a corner grid
    /// of k x k cells of canvas/k each (k >= 4), filled from the bottom
    /// right, right to left, then upwards.
    static func pictureInPicture(count: Int, canvas: PixelSize) -> [PixelRect] {
        var rects = [PixelRect(x: 0, y: 0, width: even(canvas.width), height: even(canvas.height))]
        let others = count - 1
        guard others > 0 else { return rects }
        let k = max(4, gridColumns(count: others))
        let margin = 2 * even(min(canvas.width, canvas.height) / 100)
        let cellWidth = even((canvas.width - margin) / k), cellHeight = even((canvas.height - margin) / k)
        let inset = 2
        for index in 0..<others {
            let row = index / k, column = index % k
            let x = canvas.width - margin / 2 - (column + 1) * cellWidth
            let y = canvas.height - margin / 2 - (row + 1) * cellHeight
            rects.append(
                PixelRect(
                    x: even(x + inset), y: even(y + inset), width: even(cellWidth - 2 * inset),
                    height: even(cellHeight - 2 * inset)))
        }
        return rects
    }

    static func scale(_ rect: NormalizedRect, to canvas: PixelSize) -> PixelRect {
        func clamp(_ v: Double) -> Double { min(1, max(0, v.isFinite ? v : 0)) }
        let x0 = even(Int((clamp(rect.x) * Double(canvas.width)).rounded()))
        let y0 = even(Int((clamp(rect.y) * Double(canvas.height)).rounded()))
        let x1 = even(Int((clamp(rect.x + rect.width) * Double(canvas.width)).rounded()))
        let y1 = even(Int((clamp(rect.y + rect.height) * Double(canvas.height)).rounded()))
        guard x1 > x0, y1 > y0 else { return PixelRect(x: x0, y: y0, width: 0, height: 0) }
        return PixelRect(x: x0, y: y0, width: x1 - x0, height: y1 - y0)
    }
}
