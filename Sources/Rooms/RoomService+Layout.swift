import Foundation
import Elements
import JSONRPC

// The composite's tile layout (§10.4).
extension RoomService {
    // MARK: §10.4 layout

    static let layouts = ["grid", "speaker", "pip", "custom"]

    func setLayout(_ params: [String: JSONValue], session: Session) async throws(RoomError) -> JSONValue {
        let layout = try string(params, "layout")
        let (room, p) = try member(session)
        guard p.role == .moderator else { throw RoomError(.unauthorized, "Only a moderator may change the layout") }
        guard Self.layouts.contains(layout) else {
            throw RoomError(.mediaLayout, "Unknown layout '\(layout)'; layouts: \(Self.layouts.joined(separator: ", "))")
        }
        var tiles: [(id: String, rect: [Double], z: Int)] = []
        if layout == "custom" {
            guard let list = params["tiles"]?.arrayValue, !list.isEmpty else {
                throw RoomError(.mediaLayout, "A custom layout needs 'tiles': [{id, x, y, w, h, z}]")
            }
            for t in list {
                guard let id = t["id"]?.stringValue else { throw RoomError(.mediaLayout, "Every tile needs an 'id'") }
                var rect: [Double] = []
                for key in ["x", "y", "w", "h"] {
                    guard let v = t[key]?.doubleValue, v >= 0, v <= 1 else {
                        throw RoomError(.mediaLayout, "Tile '\(id)': '\(key)' must be a number from 0 to 1")
                    }
                    rect.append(v)
                }
                guard rect[0] + rect[2] <= 1.0001, rect[1] + rect[3] <= 1.0001, rect[2] > 0, rect[3] > 0 else {
                    throw RoomError(.mediaLayout, "Tile '\(id)' does not fit in the canvas")
                }
                tiles.append((id, rect, Int(t["z"]?.intValue ?? 0)))
            }
        }
        room.layout = layout
        room.customTiles = tiles
        room.appliedLayout = ""
        await applyLayout(room, force: true)
        return ["layout": .string(layout), "revision": .int(Int64(room.layoutRevision))]
    }

    /// Tells the composite the tiles (who, where, in which order) and the
    /// clients that asked for `layout` the geometry, when anything changed.
    func applyLayout(_ room: Room, force: Bool = false) async {
        guard let composite = room.composite, room.mixerMode == .mcu else { return }
        var shown = room.members.filter { $0.publishing && $0.hubPort != nil && $0.videoActive }
        if room.layout == "speaker" || room.layout == "pip", let d = room.speakers.dominant, let i = shown.firstIndex(where: { $0.name == d }) {
            shown.insert(shown.remove(at: i), at: 0)
        }
        var rects: [[Double]] = []
        var z: [Int] = []
        if room.layout == "custom" {
            let byName = Dictionary(uniqueKeysWithValues: shown.map { ($0.name, $0) })
            shown = room.customTiles.compactMap { byName[$0.id] }
            rects = room.customTiles.filter { byName[$0.id] != nil }.map(\.rect)
            z = room.customTiles.filter { byName[$0.id] != nil }.map(\.z)
        }
        let order = shown.compactMap(\.hubPort)
        let signature = "\(room.layout)|\(order)|\(rects)"
        guard force || signature != room.appliedLayout else { return }
        room.appliedLayout = signature
        try? await media.setLayout(composite: composite, layout: room.layout, order: order, rects: rects)
        room.layoutRevision += 1
        let geometry = TileGeometry.tiles(
            layout: room.layout, count: shown.count, custom: rects, width: options.canvasWidth, height: options.canvasHeight)
        var tiles: [JSONValue] = []
        for (i, p) in shown.enumerated() where i < geometry.count {
            let g = geometry[i]
            var tile: [String: JSONValue] = [
                "id": .string(p.name), "streamId": "webcam", "x": .double(g[0]), "y": .double(g[1]), "w": .double(g[2]), "h": .double(g[3]),
                "z": .int(Int64(i < z.count ? z[i] : (room.layout == "pip" && i > 0 ? 1 : 0))), "label": .string(p.name),
            ]
            if room.speakers.speaking.contains(p.name) { tile["speaking"] = true }
            tiles.append(.object(tile))
        }
        broadcast("layoutChanged", [
            "layout": .string(room.layout), "revision": .int(Int64(room.layoutRevision)),
            "canvas": ["width": .int(Int64(options.canvasWidth)), "height": .int(Int64(options.canvasHeight)), "frameRate": .int(Int64(options.canvasFPS))],
            "tiles": .array(tiles),
        ], in: room, feature: "layout")
    }
}
