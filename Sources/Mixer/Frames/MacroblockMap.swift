import CYUV
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
    /// Compares `reference` with this frame (same size) in the macroblocks
    /// `rect` touches; each one that differs (more than `unchangedMeanSquare`)
    /// is marked in `map` and copied into `reference`, which so follows what
    /// the encoder was given.
    public func markChanges(in rect: PixelRect, against reference: I420Frame, into map: inout MacroblockMap) {
        guard reference.width == width, reference.height == height, !rect.isEmpty else { return }
        let c0 = max(0, rect.x / 16), c1 = min(map.cols - 1, (rect.maxX - 1) / 16)
        let r0 = max(0, rect.y / 16), r1 = min(map.rows - 1, (rect.maxY - 1) / 16)
        guard c0 <= c1, r0 <= r1 else { return }
        for row in r0...r1 {
            for col in c0...c1 where !map[col, row] {
                if !sameMacroblock(col: col, row: row, as: reference) {
                    map[col, row] = true
                    copyMacroblock(col: col, row: row, into: reference)
                }
            }
        }
    }

    private func lumaSpan(col: Int, row: Int) -> (x: Int, y0: Int, y1: Int, w: Int) {
        let x = col * 16, y0 = row * 16
        return (x, y0, min(height, y0 + 16), min(16, width - x))
    }

    /// Mean squared difference per sample below which a macroblock counts as
    /// unchanged: about 2 levels RMS, far below what the eye sees, and what a
    /// still camera's decoded picture varies by from frame to frame (its
    /// sender's encoder refining the same picture). Since the reference keeps
    /// the pixels last given to the encoder, the difference a kept macroblock
    /// may show never grows past this: it is coded again once it does.
    public static let unchangedMeanSquare: UInt64 = 4

    private func sameMacroblock(col: Int, row: Int, as other: I420Frame) -> Bool {
        let l = lumaSpan(col: col, row: row)
        let rows = l.y1 - l.y0
        let luma = ComputeSumSquareErrorPlane(
            self.y + l.y0 * strideY + l.x, Int32(strideY), other.y + l.y0 * other.strideY + l.x, Int32(other.strideY), Int32(l.w), Int32(rows))
        guard luma <= Self.unchangedMeanSquare * UInt64(l.w * rows) else { return false }
        let cx = l.x / 2, cw = (l.w + 1) / 2, cy = l.y0 / 2, ch = (rows + 1) / 2
        let limit = Self.unchangedMeanSquare * UInt64(cw * ch)
        let cu = ComputeSumSquareErrorPlane(u + cy * strideUV + cx, Int32(strideUV), other.u + cy * other.strideUV + cx, Int32(other.strideUV), Int32(cw), Int32(ch))
        guard cu <= limit else { return false }
        let cv = ComputeSumSquareErrorPlane(v + cy * strideUV + cx, Int32(strideUV), other.v + cy * other.strideUV + cx, Int32(other.strideUV), Int32(cw), Int32(ch))
        return cv <= limit
    }

    private func copyMacroblock(col: Int, row: Int, into other: I420Frame) {
        let l = lumaSpan(col: col, row: row)
        for y in l.y0..<l.y1 { memcpy(other.y + y * other.strideY + l.x, self.y + y * strideY + l.x, l.w) }
        let cx = l.x / 2, cw = (l.w + 1) / 2
        for y in (l.y0 / 2)..<((l.y1 + 1) / 2) {
            memcpy(other.u + y * other.strideUV + cx, u + y * strideUV + cx, cw)
            memcpy(other.v + y * other.strideUV + cx, v + y * strideUV + cx, cw)
        }
    }

    /// Copies the whole picture into `other` (same size).
    public func copy(into other: I420Frame) {
        guard other.width == width, other.height == height, other.byteCount == byteCount else { return }
        memcpy(other.base, base, byteCount)
    }
}
