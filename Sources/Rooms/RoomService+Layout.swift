import Foundation
import Elements
import JSONRPC

// The composite's tile layout (§10.4).
extension RoomService {
    // MARK: §10.4 layout

    static let layouts = ["grid", "speaker", "pip", "presentation", "custom"]

    /// One tile of the composite: a participant's first stream or one of its extra streams.
    struct Tile {
        let owner: Participant
        let stream: String
        let source: String
        let port: String
        /// What a custom layout names it by: the user (first stream) or `user_stream`.
        let id: String
    }

    func setLayout(_ params: [String: JSONValue], session: Session) async throws(RoomError) -> JSONValue {
        let layout = try string(params, "layout")
        let (room, p) = try member(session)
        guard p.role == .moderator else { throw RoomError(.unauthorized, "Only a moderator may change the layout") }
        let tiles = try Self.layoutTiles(layout, params)
        if let owner = room.owner, let link = room.links[owner] {
            // A hosting node of a cascaded room: the owner chooses, and every node draws it.
            link.transport.send(["op": "setLayout", "layout": .string(layout), "tiles": params["tiles"] ?? .null])
            return ["layout": .string(layout), "revision": .null, "node": .string(owner)]
        }
        await chooseLayout(room, layout, tiles)
        return ["layout": .string(layout), "revision": .int(Int64(room.layoutRevision))]
    }

    /// A chosen layout, drawn from now on (and told to a cascaded room's other nodes).
    func chooseLayout(_ room: Room, _ layout: String, _ tiles: [(id: String, rect: [Double], z: Int)]) async {
        room.layout = layout
        room.layoutChosen = true
        room.customTiles = tiles
        room.appliedLayout = ""
        cascadeLayout(room)
        await applyLayout(room, force: true)
    }

    /// `setLayout`'s layout name checked, and for `custom` its `tiles` as
    /// normalised rectangles and z orders.
    static func layoutTiles(_ layout: String, _ params: [String: JSONValue]) throws(RoomError) -> [(id: String, rect: [Double], z: Int)] {
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
        return tiles
    }

    /// Tells the composite the tiles (who, where, in which order) and the
    /// clients that asked for `layout` the geometry, when anything changed.
    func applyLayout(_ room: Room, force: Bool = false) async {
        // A hosting node of a cascaded room shows the owner's picture (`drawn`).
        guard let composite = room.composite, room.mixerMode == .mcu, room.owner == nil else { return }
        var shown: [Tile] = []
        for p in room.members {
            if p.publishing, p.videoActive, let port = p.hubPort {
                shown.append(Tile(owner: p, stream: p.primaryStream, source: p.primarySource, port: port, id: p.name))
            }
            for extra in p.extras {
                if let port = extra.hubPort { shown.append(Tile(owner: p, stream: extra.id, source: extra.source, port: port, id: p.key(of: extra))) }
            }
        }
        // What is drawn: `presentation` (chosen, or by itself over the default grid
        // while someone shares a screen) puts the screens first, the first one large;
        // without a screen it is a grid.
        var layout = room.layout
        let sharing = shown.contains { $0.source == "screen" }
        if layout == "presentation" || (layout == "grid" && !room.layoutChosen && sharing) {
            layout = sharing ? "presentation" : "grid"
            shown = shown.filter { $0.source == "screen" } + shown.filter { $0.source != "screen" }
        }
        if layout == "speaker" || layout == "pip", let d = room.speakers.dominant, let i = shown.firstIndex(where: { $0.owner.name == d }) {
            shown.insert(shown.remove(at: i), at: 0)
        }
        var rects: [[Double]] = []
        var z: [Int] = []
        if layout == "custom" {
            let byID = Dictionary(shown.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
            shown = room.customTiles.compactMap { byID[$0.id] }
            rects = room.customTiles.filter { byID[$0.id] != nil }.map(\.rect)
            z = room.customTiles.filter { byID[$0.id] != nil }.map(\.z)
        }
        let order = shown.map(\.port)
        let signature = "\(layout)|\(order)|\(rects)"
        guard force || signature != room.appliedLayout else { return }
        room.appliedLayout = signature
        try? await media.setLayout(composite: composite, layout: layout, order: order, rects: rects)
        room.layoutRevision += 1
        let geometry = TileGeometry.tiles(
            layout: layout, count: shown.count, custom: rects, width: options.canvasWidth, height: options.canvasHeight)
        var tiles: [JSONValue] = []
        for (i, t) in shown.enumerated() where i < geometry.count {
            let g = geometry[i]
            var tile: [String: JSONValue] = [
                "id": .string(t.owner.name), "streamId": .string(t.stream), "x": .double(g[0]), "y": .double(g[1]), "w": .double(g[2]), "h": .double(g[3]),
                "z": .int(Int64(i < z.count ? z[i] : (layout == "pip" && i > 0 ? 1 : 0))), "label": .string(t.owner.name),
                // The id a custom layout names this tile by (`user`, or `user_stream` for an extra stream).
                "key": .string(t.id),
            ]
            if t.source != "camera" { tile["source"] = .string(t.source) }
            if room.speakers.speaking.contains(t.owner.name), t.source != "screen" { tile["speaking"] = true }
            tiles.append(.object(tile))
        }
        let description: JSONValue = [
            "layout": .string(layout), "revision": .int(Int64(room.layoutRevision)),
            "canvas": ["width": .int(Int64(options.canvasWidth)), "height": .int(Int64(options.canvasHeight)), "frameRate": .int(Int64(options.canvasFPS))],
            "tiles": .array(tiles),
        ]
        room.lastLayout = description
        broadcast("layoutChanged", description, in: room, feature: "layout")
        cascadeSend(["op": "drawn", "layout": description], in: room, except: nil)
    }
}
