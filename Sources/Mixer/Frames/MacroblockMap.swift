public import CMixKernels
import Foundation

/// One flag per 16x16 macroblock of a picture: whether the encoder must code
/// it (libvpx's active map), or may keep the previous frame's pixels there.
public struct MacroblockMap: Sendable, Equatable {
    public let cols: Int
    public let rows: Int
    public private(set) var flags: [UInt8]

    public init(width: Int, height: Int) {
        cols = (width + 15) / 16
        rows = (height + 15) / 16
        flags = [UInt8](repeating: 0, count: cols * rows)
    }

    public var count: Int { flags.reduce(0) { $0 + Int($1) } }
    public var isEmpty: Bool { !flags.contains(1) }

    public subscript(col: Int, row: Int) -> Bool {
        get { flags[row * cols + col] != 0 }
        set { flags[row * cols + col] = newValue ? 1 : 0 }
    }

    /// Marks every macroblock `rect` touches.
    public mutating func mark(_ rect: PixelRect) {
        guard !rect.isEmpty else { return }
        let c0 = max(0, rect.x / 16), c1 = min(cols - 1, (rect.maxX - 1) / 16)
        let r0 = max(0, rect.y / 16), r1 = min(rows - 1, (rect.maxY - 1) / 16)
        guard c0 <= c1, r0 <= r1 else { return }
        for row in r0...r1 { for col in c0...c1 { flags[row * cols + col] = 1 } }
    }

    /// Unmarks everything (the storage is kept).
    public mutating func clear() {
        flags.withUnsafeMutableBufferPointer { _ = memset($0.baseAddress!, 0, $0.count) }
    }

    /// The marked macroblocks as rectangles of a `width` x `height` picture
    /// (clipped to it): each row's runs, a run joined with the one below it
    /// when they span the same columns.
    public func rects(width: Int, height: Int) -> [PixelRect] {
        var out: [PixelRect] = []
        rects(width: width, height: height, into: &out)
        return out
    }

    /// The same into `out` (emptied first, its storage kept): nothing is
    /// allocated once `out` has grown.
    public func rects(width: Int, height: Int, into out: inout [PixelRect]) {
        out.removeAll(keepingCapacity: true)
        guard cols > 0 else { return }
        // The indices in `out` of the runs that reached the row above, and of this row's.
        withUnsafeTemporaryAllocation(of: Int.self, capacity: 2 * cols) { reached in
            var above = 0, here = cols, aboveCount = 0
            for row in 0..<rows {
                var hereCount = 0
                var col = 0
                while col < cols {
                    guard flags[row * cols + col] != 0 else {
                        col += 1
                        continue
                    }
                    let start = col
                    while col < cols && flags[row * cols + col] != 0 { col += 1 }
                    let x = start * 16, y = row * 16
                    let runWidth = min(width, col * 16) - x, bottom = min(height, y + 16)
                    var index = -1
                    for k in 0..<aboveCount where out[reached[above + k]].x == x && out[reached[above + k]].width == runWidth {
                        index = reached[above + k]
                        break
                    }
                    if index >= 0 {
                        out[index].height = bottom - out[index].y
                    } else {
                        index = out.count
                        out.append(PixelRect(x: x, y: y, width: runWidth, height: bottom - y))
                    }
                    reached[here + hereCount] = index
                    hereCount += 1
                }
                swap(&above, &here)
                aboveCount = hereCount
            }
        }
    }

    /// Runs `body` with the flags' storage (for libvpx).
    public mutating func withFlags<T>(_ body: (UnsafeMutablePointer<UInt8>?) -> T) -> T {
        flags.withUnsafeMutableBufferPointer { body($0.baseAddress) }
    }

    /// Adds `other`'s marks (same grid).
    public mutating func formUnion(_ other: MacroblockMap) {
        for i in flags.indices where other.flags[i] != 0 { flags[i] = 1 }
    }

    /// This map on the grid of a `width` x `height` picture scaled from ours
    /// (`sourceWidth` x `sourceHeight`): a macroblock there is marked when any
    /// marked one here overlaps it, or touches it (a scaling filter reaches
    /// a little past each source pixel).
    public func scaled(from sourceWidth: Int, _ sourceHeight: Int, to width: Int, _ height: Int) -> MacroblockMap {
        var out = MacroblockMap(width: width, height: height)
        let sx = Double(width) / Double(sourceWidth), sy = Double(height) / Double(sourceHeight)
        for row in 0..<rows {
            for col in 0..<cols where flags[row * cols + col] != 0 {
                let x0 = Int(Double(col * 16) * sx) - 2, y0 = Int(Double(row * 16) * sy) - 2
                let x1 = Int((Double(col * 16 + 16) * sx).rounded(.up)) + 2, y1 = Int((Double(row * 16 + 16) * sy).rounded(.up)) + 2
                out.mark(PixelRect(x: max(0, x0), y: max(0, y0), width: x1 - max(0, x0), height: y1 - max(0, y0)))
            }
        }
        return out
    }
}

extension I420Frame {
    /// Mean squared difference per sample below which a macroblock counts as
    /// unchanged: about 2 levels RMS, far below what the eye sees, and what a
    /// still camera's decoded picture varies by from frame to frame (its
    /// sender's encoder refining the same picture). Since the reference keeps
    /// the pixels last given to the encoder, the difference a kept macroblock
    /// may show never grows past this: it is coded again once it does.
    public static let unchangedMeanSquare = 4

    /// Compares `reference` with this frame (same size) in the macroblocks
    /// `rect` touches; each one that differs (more than `unchangedMeanSquare`)
    /// is marked in `map` and copied into `reference`, which so follows what
    /// the encoder was given. Macroblocks already marked count as changed.
    public func markChanges(in rect: PixelRect, against reference: I420Frame, into map: inout MacroblockMap) {
        Self.markChanges(of: planes, in: rect, against: reference, into: &map)
    }

    /// The same for a picture given as planes (a decoder's own buffers).
    /// Returns how many macroblocks it newly marked.
    @discardableResult
    public static func markChanges(
        of source: tessera_i420, in rect: PixelRect, against reference: I420Frame, into map: inout MacroblockMap
    ) -> Int {
        guard reference.width == Int(source.width), reference.height == Int(source.height), !rect.isEmpty else { return 0 }
        let c0 = max(0, rect.x / 16), c1 = min(map.cols - 1, (rect.maxX - 1) / 16)
        let r0 = max(0, rect.y / 16), r1 = min(map.rows - 1, (rect.maxY - 1) / 16)
        guard c0 <= c1, r0 <= r1 else { return 0 }
        var a = source, b = reference.planes
        let cols = map.cols
        let marked = map.withFlags {
            tessera_mark_changed_blocks(&a, &b, Int32(c0), Int32(c1), Int32(r0), Int32(r1), Int32(unchangedMeanSquare), $0, Int32(cols))
        }
        // Copy each run of changed macroblocks in one piece per line (a moving
        // tile changes whole rows: one copy each).
        for row in r0...r1 {
            var runStart: Int?
            for col in c0...(c1 + 1) {
                let changed = col <= c1 && map[col, row]
                if changed, runStart == nil { runStart = col }
                if !changed, let start = runStart {
                    copy(cols: start..<col, row: row, of: source, into: reference)
                    runStart = nil
                }
            }
        }
        return marked
    }

    /// This frame as the C kernels take it.
    var planes: tessera_i420 {
        tessera_i420(
            y: y, u: u, v: v, stride_y: Int32(strideY), stride_uv: Int32(strideUV), width: Int32(width), height: Int32(height))
    }

    /// Copies macroblocks `cols` of `row` of `source` into `other` (same size), a line at a time.
    private static func copy(cols: Range<Int>, row: Int, of source: tessera_i420, into other: I420Frame) {
        let width = Int(source.width), height = Int(source.height)
        let strideY = Int(source.stride_y), strideUV = Int(source.stride_uv)
        let x = cols.lowerBound * 16, y0 = row * 16, y1 = min(height, y0 + 16), w = min(cols.count * 16, width - x)
        for y in y0..<y1 { memcpy(other.y + y * other.strideY + x, source.y + y * strideY + x, w) }
        let cx = x / 2, cw = (w + 1) / 2
        for y in (y0 / 2)..<((y1 + 1) / 2) {
            memcpy(other.u + y * other.strideUV + cx, source.u + y * strideUV + cx, cw)
            memcpy(other.v + y * other.strideUV + cx, source.v + y * strideUV + cx, cw)
        }
    }

    /// Copies the whole picture into `other` (same size).
    public func copy(into other: I420Frame) {
        guard other.width == width, other.height == height, other.byteCount == byteCount else { return }
        memcpy(other.base, base, byteCount)
    }
}
