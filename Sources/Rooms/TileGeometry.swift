import Mixer

/// Tile rectangles of a layout, normalised to the canvas (x, y, w, h in
/// 0...1), computed by the same pure functions the compositor draws with.
enum TileGeometry {
    static func kind(_ layout: String, custom: [[Double]]) -> LayoutKind {
        switch layout {
        case "speaker": return .speaker
        case "pip": return .pictureInPicture
        case "presentation": return .presentation
        case "custom": return .custom(custom.map { NormalizedRect(x: $0[0], y: $0[1], width: $0[2], height: $0[3]) })
        default: return .grid
        }
    }

    static func tiles(layout: String, count: Int, custom: [[Double]], width: Int, height: Int) -> [[Double]] {
        let w = Double(width), h = Double(height)
        return Layout.rects(kind: kind(layout, custom: custom), count: count, canvas: PixelSize(width: width, height: height)).map { r in
            [Double(r.x) / w, Double(r.y) / h, Double(r.width) / w, Double(r.height) / h]
        }
    }
}
