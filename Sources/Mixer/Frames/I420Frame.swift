// I420 (YUV 4:2:0, 8 bit) frames, a pool of reusable frame buffers, and the
// pixel operations of the compositor (scale, fill, border), done by libyuv,
// except the tiles' own scaler (CMixKernels), which can draw part of a tile.

import CMixKernels
import CYUV

/// A colour in limited-range BT.601 YUV (the colour space of VP8 video).
public struct YUVColor: Sendable, Equatable, Hashable {
    public var y: UInt8
    public var u: UInt8
    public var v: UInt8

    public init(y: UInt8, u: UInt8, v: UInt8) {
        self.y = y
        self.u = u
        self.v = v
    }

    /// Converts full-range 8-bit RGB with the BT.601 limited-range matrix.
    public init(red: UInt8, green: UInt8, blue: UInt8) {
        let r = Int(red), g = Int(green), b = Int(blue)
        let y = ((66 * r + 129 * g + 25 * b + 128) >> 8) + 16
        let u = ((-38 * r - 74 * g + 112 * b + 128) >> 8) + 128
        let v = ((112 * r - 94 * g - 18 * b + 128) >> 8) + 128
        self.init(y: UInt8(clamping: y), u: UInt8(clamping: u), v: UInt8(clamping: v))
    }

    public static let black = YUVColor(y: 16, u: 128, v: 128)
    public static let white = YUVColor(y: 235, u: 128, v: 128)
    public static let darkGray = YUVColor(red: 40, green: 40, blue: 40)
    public static let gray = YUVColor(red: 96, green: 96, blue: 96)
}

/// A rectangle in pixels. The compositor keeps every coordinate even, so
/// that each luma rectangle maps to whole chroma samples.
public struct PixelRect: Sendable, Equatable, Hashable {
    public var x: Int
    public var y: Int
    public var width: Int
    public var height: Int

    public init(x: Int, y: Int, width: Int, height: Int) {
        self.x = x
        self.y = y
        self.width = width
        self.height = height
    }

    public static let zero = PixelRect(x: 0, y: 0, width: 0, height: 0)
    public var isEmpty: Bool { width <= 0 || height <= 0 }
    public var maxX: Int { x + width }
    public var maxY: Int { y + height }

    public func intersects(_ other: PixelRect) -> Bool {
        !isEmpty && !other.isEmpty && x < other.maxX && other.x < maxX && y < other.maxY && other.y < maxY
    }

    /// The rectangle shrunk by `inset` on every side (empty when nothing is left).
    public func insetBy(_ inset: Int) -> PixelRect {
        let r = PixelRect(x: x + inset, y: y + inset, width: width - 2 * inset, height: height - 2 * inset)
        return r.isEmpty ? PixelRect(x: x, y: y, width: 0, height: 0) : r
    }
}

/// An 8-bit I420 frame: three planes in one buffer, Y then U then V.
/// Width and height are even; strides equal the plane widths. A reference
/// type so that a `FramePool` can hand the same buffer out again.
public final class I420Frame {
    public let width: Int
    public let height: Int
    public let strideY: Int
    public let strideUV: Int
    /// The Y plane; U follows at `strideY * height`, V after U.
    public let base: UnsafeMutablePointer<UInt8>
    public let byteCount: Int

    /// Allocates a frame (contents undefined). Odd sizes are rounded up.
    public init(width: Int, height: Int) {
        precondition(width > 0 && height > 0, "empty frame")
        self.width = (width + 1) & ~1
        self.height = (height + 1) & ~1
        strideY = self.width
        strideUV = self.width / 2
        byteCount = strideY * self.height + 2 * strideUV * (self.height / 2)
        base = UnsafeMutablePointer<UInt8>.allocate(capacity: byteCount)
    }

    deinit { base.deallocate() }

    public var chromaWidth: Int { width / 2 }
    public var chromaHeight: Int { height / 2 }
    public var y: UnsafeMutablePointer<UInt8> { base }
    public var u: UnsafeMutablePointer<UInt8> { base + strideY * height }
    public var v: UnsafeMutablePointer<UInt8> { base + strideY * height + strideUV * chromaHeight }
    public var bounds: PixelRect { PixelRect(x: 0, y: 0, width: width, height: height) }

    /// The colour at a pixel (chroma from its 2x2 block).
    public func pixel(x: Int, y py: Int) -> YUVColor {
        precondition(x >= 0 && x < width && py >= 0 && py < height)
        return YUVColor(
            y: y[py * strideY + x], u: u[(py / 2) * strideUV + x / 2], v: v[(py / 2) * strideUV + x / 2])
    }

    /// Fills `rect` (clipped to the frame; coordinates rounded down to even).
    public func fill(_ rect: PixelRect, with color: YUVColor) {
        let x0 = max(0, rect.x) & ~1, y0 = max(0, rect.y) & ~1
        let x1 = min(width, rect.maxX) & ~1, y1 = min(height, rect.maxY) & ~1
        guard x1 > x0, y1 > y0 else { return }
        _ = I420Rect(
            y, Int32(strideY), u, Int32(strideUV), v, Int32(strideUV), Int32(x0), Int32(y0),
            Int32(x1 - x0), Int32(y1 - y0), Int32(color.y), Int32(color.u), Int32(color.v))
    }

    /// Fills the whole frame.
    public func fill(_ color: YUVColor) { fill(bounds, with: color) }

    /// Draws the outline of `rect`, `thickness` pixels wide, inside `rect`.
    public func strokeBorder(_ rect: PixelRect, thickness: Int, color: YUVColor) {
        guard thickness > 0, !rect.isEmpty else { return }
        let t = min(thickness, rect.width / 2, rect.height / 2)
        fill(PixelRect(x: rect.x, y: rect.y, width: rect.width, height: t), with: color)
        fill(PixelRect(x: rect.x, y: rect.maxY - t, width: rect.width, height: t), with: color)
        fill(PixelRect(x: rect.x, y: rect.y + t, width: t, height: rect.height - 2 * t), with: color)
        fill(PixelRect(x: rect.maxX - t, y: rect.y + t, width: t, height: rect.height - 2 * t), with: color)
    }

    /// Scales all of `source` into `rect` of this frame (bilinear; a plain
    /// copy when the sizes match). `rect` must be even and inside the frame.
    public func draw(_ source: I420Frame, into rect: PixelRect) {
        I420Frame.scale(
            y: source.y, u: source.u, v: source.v, strideY: source.strideY, strideUV: source.strideUV,
            width: source.width, height: source.height, into: self, rect: rect)
    }

    /// Scales raw I420 planes into `rect` of `destination` (bilinear).
    public static func scale(
        y: UnsafePointer<UInt8>, u: UnsafePointer<UInt8>, v: UnsafePointer<UInt8>,
        strideY: Int, strideUV: Int, width: Int, height: Int,
        into destination: I420Frame, rect: PixelRect
    ) {
        precondition(
            rect.x >= 0 && rect.y >= 0 && rect.maxX <= destination.width && rect.maxY <= destination.height
                && rect.x & 1 == 0 && rect.y & 1 == 0, "rect outside the frame or odd")
        guard !rect.isEmpty else { return }
        let dy = destination.y + rect.y * destination.strideY + rect.x
        let du = destination.u + (rect.y / 2) * destination.strideUV + rect.x / 2
        let dv = destination.v + (rect.y / 2) * destination.strideUV + rect.x / 2
        if width == rect.width && height == rect.height {
            _ = I420Copy(
                y, Int32(strideY), u, Int32(strideUV), v, Int32(strideUV),
                dy, Int32(destination.strideY), du, Int32(destination.strideUV), dv, Int32(destination.strideUV),
                Int32(width), Int32(height))
        } else {
            _ = I420Scale(
                y, Int32(strideY), u, Int32(strideUV), v, Int32(strideUV), Int32(width), Int32(height),
                dy, Int32(destination.strideY), du, Int32(destination.strideUV), dv, Int32(destination.strideUV),
                Int32(rect.width), Int32(rect.height), kFilterBilinear)
        }
    }
}

/// Scratch memory of the tile scaler, kept between draws (nothing allocated
/// per frame once it has grown to the largest picture).
public final class ScaleScratch {
    private(set) var row: UnsafeMutablePointer<UInt8>
    private(set) var positions: UnsafeMutablePointer<Int32>
    private var capacity: Int

    public init(capacity: Int = 2_048) {
        self.capacity = capacity
        row = .allocate(capacity: capacity + 4)
        positions = .allocate(capacity: capacity)
    }

    deinit {
        row.deallocate()
        positions.deallocate()
    }

    /// Room for pictures up to `width` wide.
    func reserve(_ width: Int) {
        guard width > capacity else { return }
        row.deallocate()
        positions.deallocate()
        capacity = width
        row = .allocate(capacity: width + 4)
        positions = .allocate(capacity: width)
    }
}

extension I420Frame {
    /// Draws `source` scaled into `rect` (bilinear, sample centres aligned),
    /// but only the pixels inside `region`: each pixel depends on its position
    /// alone, so a tile drawn in pieces is the same as the tile drawn whole.
    /// `rect` must be even and inside the frame; `region` is clipped to it
    /// (and widened to even edges).
    public func draw(_ source: I420Frame, into rect: PixelRect, only region: PixelRect, scratch: ScaleScratch) {
        precondition(
            rect.x >= 0 && rect.y >= 0 && rect.maxX <= width && rect.maxY <= height && rect.x & 1 == 0 && rect.y & 1 == 0,
            "rect outside the frame or odd")
        let x0 = max(region.x, rect.x) & ~1, y0 = max(region.y, rect.y) & ~1
        let x1 = min((region.maxX + 1) & ~1, rect.maxX), y1 = min((region.maxY + 1) & ~1, rect.maxY)
        guard x1 > x0, y1 > y0, rect.width > 1, rect.height > 1 else { return }
        scratch.reserve(max(source.width, rect.width))
        let (rx0, ry0, rx1, ry1) = (x0 - rect.x, y0 - rect.y, x1 - rect.x, y1 - rect.y)
        tessera_scale_plane_region(
            source.y, Int32(source.strideY), Int32(source.width), Int32(source.height),
            y + rect.y * strideY + rect.x, Int32(strideY), Int32(rect.width), Int32(rect.height),
            Int32(rx0), Int32(ry0), Int32(rx1), Int32(ry1), scratch.row, scratch.positions)
        func chroma(_ from: UnsafeMutablePointer<UInt8>, _ to: UnsafeMutablePointer<UInt8>) {
            tessera_scale_plane_region(
                from, Int32(source.strideUV), Int32(source.chromaWidth), Int32(source.chromaHeight),
                to + (rect.y / 2) * strideUV + rect.x / 2, Int32(strideUV), Int32(rect.width / 2), Int32(rect.height / 2),
                Int32(rx0 / 2), Int32(ry0 / 2), Int32(rx1 / 2), Int32(ry1 / 2), scratch.row, scratch.positions)
        }
        chroma(source.u, u)
        chroma(source.v, v)
    }

    /// The part of `rect` that a change of `source` (a rectangle of a
    /// `sourceWidth` x `sourceHeight` picture drawn scaled into `rect`) can
    /// reach: every pixel whose bilinear taps read it, with a margin.
    public static func reach(of source: PixelRect, sourceWidth: Int, sourceHeight: Int, drawnInto rect: PixelRect) -> PixelRect {
        guard sourceWidth > 0, sourceHeight > 0, !rect.isEmpty else { return .zero }
        let margin = 4
        let x0 = max(0, (source.x - 1) * rect.width / sourceWidth - margin)
        let y0 = max(0, (source.y - 1) * rect.height / sourceHeight - margin)
        let x1 = min(rect.width, (source.maxX + 1) * rect.width / sourceWidth + 1 + margin)
        let y1 = min(rect.height, (source.maxY + 1) * rect.height / sourceHeight + 1 + margin)
        guard x1 > x0, y1 > y0 else { return .zero }
        let left = (rect.x + x0) & ~1, top = (rect.y + y0) & ~1
        let right = min(rect.maxX, (rect.x + x1 + 1) & ~1), bottom = min(rect.maxY, (rect.y + y1 + 1) & ~1)
        return PixelRect(x: left, y: top, width: right - left, height: bottom - top)
    }
}

/// Reusable frame buffers by size: `acquire` takes a free frame of that size
/// (or allocates one), `release` gives it back. In steady state (the same
/// sizes coming and going) nothing is allocated.
public final class FramePool {
    private struct Size: Hashable {
        var width: Int
        var height: Int
    }
    private var free: [Size: [I420Frame]] = [:]
    /// Frames kept per size at most; extra released frames are freed.
    public let maxFreePerSize: Int
    public private(set) var allocations = 0

    public init(maxFreePerSize: Int = 8) {
        self.maxFreePerSize = maxFreePerSize
    }

    public func acquire(width: Int, height: Int) -> I420Frame {
        let size = Size(width: (width + 1) & ~1, height: (height + 1) & ~1)
        if let frame = free[size]?.popLast() { return frame }
        allocations += 1
        return I420Frame(width: size.width, height: size.height)
    }

    public func release(_ frame: I420Frame) {
        let size = Size(width: frame.width, height: frame.height)
        var list = free.removeValue(forKey: size) ?? []
        if list.count < maxFreePerSize {
            if list.capacity == 0 { list.reserveCapacity(maxFreePerSize) }
            list.append(frame)
        }
        free[size] = list
    }
}
