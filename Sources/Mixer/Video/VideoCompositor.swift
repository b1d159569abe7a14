// The video half of the MCU: decode each input's VP8 RTP as it arrives,
// keep its latest picture, and on each tick compose every input's latest
// picture into one canvas, encode it once and packetize it for everyone.
// Pure: no IO, no threads, no clock (time comes in as `nowMillis`).

import RTP

public struct VideoCompositorConfiguration: Sendable {
    public var width = 1280, height = 720, fps = 30
    public var bitrate = 1_500_000
    /// Negative: fixed libvpx speed (see PERF-FLOOR.md: -8 is 3.2 ms per 720p frame).
    public var cpuUsed = -8, threads = 1
    public var background = YUVColor(red: 24, green: 24, blue: 24)
    public var placeholder = YUVColor(red: 64, green: 64, blue: 72)
    public var border = YUVColor(red: 0, green: 0, blue: 0)
    public var highlight = YUVColor(red: 255, green: 200, blue: 0)
    public var borderWidth = 2
    public var freezeMillis: Int64 = 3_000          // last frame shown this long, then the placeholder
    public var payloadType: UInt8 = 96
    public var mtu = 1_200                   // largest RTP payload produced
    /// SSRC of the output stream.
    public var ssrc: UInt32 = UInt32.random(in: 1...UInt32.max)
    /// Forced keyframes (output) and keyframe requests (inputs) at most this often.
    public var keyframeIntervalMillis: Int64 = 500
    /// The same for a keyframe a new viewer waits on (it shows nothing until then).
    public var newViewerKeyframeIntervalMillis: Int64 = 70
    public var keyframeMaxDistance = 3_000
    /// Lower qualities encoded beside the main one, each from the same composed
    /// canvas scaled down (a composite "simulcast", media quality issue):
    /// viewers get the one their bandwidth allows. Empty: one quality.
    public var extraQualities: [VideoQuality] = []

    public init() {}
}

/// One extra output quality of the composite.
public struct VideoQuality: Sendable, Equatable {
    public var width: Int
    public var height: Int
    public var bitrate: Int

    public init(width: Int, height: Int, bitrate: Int) {
        self.width = width & ~1
        self.height = height & ~1
        self.bitrate = bitrate
    }

    /// `WxH@kbps`, e.g. `640x360@500` (the `mixer.qualities` config form).
    public init?(_ text: String) {
        let parts = text.split(separator: "@")
        guard parts.count == 2, let kbps = Int(parts[1]), (50...20_000).contains(kbps) else { return nil }
        let size = parts[0].split(separator: "x")
        guard size.count == 2, let w = Int(size[0]), let h = Int(size[1]), (16...3840).contains(w), (16...2160).contains(h) else { return nil }
        self.init(width: w, height: h, bitrate: kbps * 1000)
    }
}

public final class VideoCompositor {
    public let configuration: VideoCompositorConfiguration

    private final class Port {
        var assembler = VP8FrameAssembler()
        let decoder: VP8Decoder
        /// The input's picture as taken: each decoded picture is compared with
        /// it macroblock by macroblock, and only the macroblocks that changed
        /// (by more than the encoder's change threshold, measured against what
        /// was taken, so it cannot drift) are copied into it and drawn again.
        /// A still participant costs one comparison; one who talks, the face.
        var frame: I420Frame?
        var frameMillis: Int64 = 0
        /// Bumped on every picture that changed something.
        var version = 0
        /// Macroblocks of `frame` taken since it was last drawn.
        var changes = MacroblockMap(width: 0, height: 0)
        /// The whole of `frame` is new (the first picture, a new size, or changes not
        /// tracked): it is drawn whole.
        var wholeChanged = true
        /// What the canvas shows for this port.
        var drawnVersion = -1
        var drawnPlaceholder = false
        var drawnFit = PixelRect.zero
        var lastKeyframeRequest: Int64?
        var decodeErrors = 0
        /// Not shown by the layout (a custom one with fewer rectangles): its
        /// frames are reassembled but not decoded.
        var hidden = false
        /// Frames went undecoded while hidden: the decoder needs a keyframe.
        var skippedFrames = false

        init() throws(VP8Error) { decoder = try VP8Decoder() }

        /// A decoded picture: takes what changed (all of it when changes are not
        /// tracked or its size is new). Returns whether anything did.
        func take(_ image: VP8Image, pool: FramePool, trackChanges: Bool) -> Bool {
            let (width, height) = (image.width, image.height)
            if trackChanges, width & 1 == 0, height & 1 == 0, let frame, frame.width == width, frame.height == height {
                if changes.cols != (width + 15) / 16 || changes.rows != (height + 15) / 16 {
                    changes = MacroblockMap(width: width, height: height)
                }
                return I420Frame.markChanges(of: image.planes, in: frame.bounds, against: frame, into: &changes) > 0
            }
            if let old = frame, old.width != (width + 1) & ~1 || old.height != (height + 1) & ~1 {
                pool.release(old)
                frame = nil
            }
            let target = frame ?? pool.acquire(width: width, height: height)
            image.draw(into: target)
            frame = target
            wholeChanged = true
            return true
        }

        /// The canvas now shows all of `frame`.
        func drawn() {
            drawnVersion = version
            wholeChanged = false
            changes.clear()
        }
    }

    private let encoder: VP8Encoder
    private var packetizer: VP8Packetizer

    /// An extra quality's own canvas (scaled from the main one), encoder and RTP stream.
    private final class Output {
        let frame: I420Frame
        let encoder: VP8Encoder
        var packetizer: VP8Packetizer
        let ssrc: UInt32
        var keyframes = KeyframePacing()
        /// Macroblocks changed since this quality's last encode (nil: all of them).
        var changed: MacroblockMap? = nil
        init(_ q: VideoQuality, base: VideoCompositorConfiguration, ssrc: UInt32) throws {
            frame = I420Frame(width: q.width, height: q.height)
            encoder = try VP8Encoder(configuration: VP8EncoderConfiguration(
                width: q.width, height: q.height, fps: base.fps, bitrate: q.bitrate, cpuUsed: base.cpuUsed,
                threads: 1, keyframeMaxDistance: base.keyframeMaxDistance))
            packetizer = VP8Packetizer(ssrc: ssrc, payloadType: base.payloadType, mtu: base.mtu,
                                       sequenceNumber: UInt16(truncatingIfNeeded: ssrc >> 7), pictureID: UInt16(truncatingIfNeeded: ssrc >> 3))
            self.ssrc = ssrc
        }
    }
    private var outputs: [Output] = []
    /// SSRC of each quality, the main one first.
    public var qualitySSRCs: [UInt32] { [configuration.ssrc] + outputs.map(\.ssrc) }
    private let pool = FramePool()
    private let scratch = ScaleScratch()
    private let canvas: I420Frame
    private var ports: [Int: Port] = [:]
    private var order: [Int] = []
    private var rects: [PixelRect] = []
    private var layoutDirty = true
    /// When the main quality's next keyframe may be forced.
    private var keyframes = KeyframePacing()
    /// Macroblocks whose pixels changed since the main quality's last encode
    /// (nil: all of them): the encoder's active map, so a tile whose picture
    /// did not change (a still participant, a placeholder, a slide) costs
    /// almost nothing to encode, and one that moves costs its own area.
    private var changed: MacroblockMap? = nil
    /// The last compose redrew the whole canvas, or else these regions of it
    /// (storage kept between ticks).
    private var composedWhole = false
    private var composedRects: [PixelRect] = []
    /// The macroblocks the last compose really changed (nil: all).
    private var composedMap: MacroblockMap? = nil
    /// The canvas as last given to the main encoder, to tell which redrawn macroblocks changed.
    private let reference: I420Frame
    /// Turns the active maps off (every macroblock encoded every frame), for comparison.
    public var encodeOnlyChanges = true

    /// Macroblocks the main encoder coded and kept (skipped by the active map), so far.
    public var macroblocks: (coded: Int, kept: Int) { (encoder.macroblocksActive, encoder.macroblocksKept) }
    private let timestampOffset: UInt32

    public var layout: LayoutKind = .grid {
        didSet { if layout != oldValue { layoutDirty = true } }
    }
    /// Active speaker: drawn with the highlight border (and first in the speaker and PiP layouts).
    public var highlighted: Int? {
        didSet { if highlighted != oldValue { layoutDirty = true } }
    }

    public init(configuration: VideoCompositorConfiguration = .init()) throws {
        var c = configuration
        c.width &= ~1
        c.height &= ~1
        self.configuration = c
        encoder = try VP8Encoder(
            configuration: VP8EncoderConfiguration(
                width: c.width, height: c.height, fps: c.fps, bitrate: c.bitrate, cpuUsed: c.cpuUsed,
                threads: c.threads, keyframeMaxDistance: c.keyframeMaxDistance))
        packetizer = VP8Packetizer(
            ssrc: c.ssrc, payloadType: c.payloadType, mtu: c.mtu,
            sequenceNumber: UInt16(truncatingIfNeeded: c.ssrc >> 7), pictureID: UInt16(truncatingIfNeeded: c.ssrc >> 3))
        timestampOffset = c.ssrc &* 2_654_435_761
        canvas = I420Frame(width: c.width, height: c.height)
        canvas.fill(c.background)
        reference = I420Frame(width: c.width, height: c.height)
        canvas.copy(into: reference)
        for (i, q) in c.extraQualities.enumerated() {
            outputs.append(try Output(q, base: c, ssrc: c.ssrc &+ UInt32(i + 1) &* 0x9E37_79B9))
        }
    }

    public func addPort(_ id: Int) {
        guard ports[id] == nil, let port = try? Port() else { return }
        ports[id] = port
        order.append(id)
        layoutDirty = true
    }

    public func removePort(_ id: Int) {
        guard let port = ports.removeValue(forKey: id) else { return }
        if let frame = port.frame { pool.release(frame) }
        order.removeAll { $0 == id }
        layoutDirty = true
    }

    public var portIDs: [Int] { order }

    /// Puts the tiles in this order; ports not named follow in their current order
    /// (and are hidden by a custom layout with fewer rectangles).
    public func setOrder(_ ids: [Int]) {
        var named: [Int] = []
        for id in ids where ports[id] != nil && !named.contains(id) { named.append(id) }
        let reordered = named + order.filter { !named.contains($0) }
        if reordered != order {
            order = reordered
            layoutDirty = true
        }
    }

    /// Changes the output bitrate on the fly.
    public func setBitrate(_ bitrate: Int) throws {
        try encoder.setBitrate(bitrate)
    }

    /// One received VP8 RTP packet; decodes when a frame completes.
    /// Returns true when this input needs a keyframe (loss, undecodable frame,
    /// first frame), at most once per `keyframeIntervalMillis`.
    public func push(port id: Int, packet: UnsafeRawBufferPointer, nowMillis: Int64) -> Bool {
        guard let port = ports[id] else { return false }
        var decodeFailed = false
        let result = port.assembler.push(packet) { assembled in
            if port.hidden {
                port.skippedFrames = true
                return
            }
            framesDecoded += 1
            switch port.decoder.decodeImage(assembled.data) {
            case .image(let image):
                port.frameMillis = nowMillis
                if port.take(image, pool: pool, trackChanges: encodeOnlyChanges) { port.version &+= 1 }
            case .noFrame:
                break
            case .corrupt:
                decodeFailed = true
            }
        }
        if decodeFailed {
            port.decodeErrors += 1
            port.assembler.requireKeyframe()
        }
        guard !port.hidden, result.lost || decodeFailed || port.assembler.needsKeyframe else { return false }
        if let last = port.lastKeyframeRequest, nowMillis - last < configuration.keyframeIntervalMillis {
            return false
        }
        port.lastKeyframeRequest = nowMillis
        return true
    }

    /// Frames decoded so far, over every port (a hidden port's are not).
    public private(set) var framesDecoded = 0

    public func push(port id: Int, packet: [UInt8], nowMillis: Int64) -> Bool {
        packet.withUnsafeBytes { push(port: id, packet: $0, nowMillis: nowMillis) }
    }

    /// Any output asked for a keyframe (PLI/FIR, a new viewer): every quality.
    /// A new viewer's request may come `newViewerKeyframeIntervalMillis` after
    /// the last forced keyframe; a repair request `keyframeIntervalMillis`.
    public func requestKeyframe(forNewViewer: Bool = false) {
        keyframes.request(forNewViewer: forNewViewer)
        for o in outputs { o.keyframes.request(forNewViewer: forNewViewer) }
    }

    /// A keyframe of one quality (0: the main one).
    /// A viewer switching to that quality waits on it: the new-viewer interval applies.
    public func requestKeyframe(quality: Int) {
        if quality == 0 {
            keyframes.request(forNewViewer: true)
        } else if quality - 1 < outputs.count {
            outputs[quality - 1].keyframes.request(forNewViewer: true)
        }
    }

    /// How long the last tick's extra qualities took to scale and encode.
    public private(set) var lastExtraEncodeTime: Duration = .zero

    /// One output frame in every quality: the main one's packets first, then
    /// each extra quality's, all with the same RTP timestamp.
    public func tickAll(nowMillis: Int64) -> [[[UInt8]]] {
        let main = tick(nowMillis: nowMillis)
        guard !outputs.isEmpty else { return [main] }
        let start = ContinuousClock.now
        var all = [main]
        let timestamp = UInt32(truncatingIfNeeded: nowMillis &* 90) &+ timestampOffset
        for o in outputs {
            // The canvas's changes on this quality's grid (a little wider, for the
            // scaling filter's reach); nothing changed, nothing to scale.
            let scaled = composedMap.map { $0.scaled(from: canvas.width, canvas.height, to: o.frame.width, o.frame.height) }
            if scaled.map({ !$0.isEmpty }) ?? true {
                o.frame.draw(canvas, into: PixelRect(x: 0, y: 0, width: o.frame.width, height: o.frame.height))
            }
            o.changed = Self.merge(o.changed, scaled)
            let force = o.keyframes.forcesKeyframe(at: nowMillis, configuration)
            guard let encoded = try? o.encoder.encode(o.frame, forceKeyframe: force, active: encodeOnlyChanges ? o.changed : nil) else {
                all.append([])
                continue
            }
            o.changed = MacroblockMap(width: o.frame.width, height: o.frame.height)
            o.keyframes.framesSent += 1
            var packets: [[UInt8]] = []
            o.packetizer.packetize(encoded.data, timestamp: timestamp, into: &packets)
            all.append(packets)
        }
        lastExtraEncodeTime = ContinuousClock.now - start
        return all
    }

    /// How long the last frame's VP8 encode took.
    public private(set) var lastEncodeTime: Duration = .zero

    /// One output frame: compose, encode, packetize (RFC 7741). Empty if nothing to send.
    public func tick(nowMillis: Int64) -> [[UInt8]] {
        compose(nowMillis: nowMillis)
        // Of what was redrawn, the macroblocks whose pixels really differ (a still
        // camera's decoded picture is the same, byte for byte, where its encoder skipped).
        if !composedWhole {
            var map = MacroblockMap(width: canvas.width, height: canvas.height)
            for r in composedRects { canvas.markChanges(in: r, against: reference, into: &map) }
            composedMap = map
        } else {
            canvas.copy(into: reference)
            composedMap = nil
        }
        changed = Self.merge(changed, composedMap)
        let force = keyframes.forcesKeyframe(at: nowMillis, configuration)
        let encodeStart = ContinuousClock.now
        let frame = try? encoder.encode(canvas, forceKeyframe: force, active: encodeOnlyChanges ? changed : nil)
        lastEncodeTime = ContinuousClock.now - encodeStart
        guard let encoded = frame else { return [] }
        changed = MacroblockMap(width: canvas.width, height: canvas.height)
        keyframes.framesSent += 1
        if encoded.isKeyframe && !force { keyframes.lastForced = keyframes.lastForced ?? nowMillis }
        var packets: [[UInt8]] = []
        packets.reserveCapacity(packetizer.packetCount(frameSize: encoded.data.count))
        let timestamp = UInt32(truncatingIfNeeded: nowMillis &* 90) &+ timestampOffset
        packetizer.packetize(encoded.data, timestamp: timestamp, into: &packets)
        return packets
    }

    /// The canvas as composed by the last tick (for tests and diagnostics).
    public var composedFrame: I420Frame { canvas }

    /// The tile rectangle of each port, in `portIDs` layout order, as last composed.
    public var tileRects: [Int: PixelRect] {
        var result: [Int: PixelRect] = [:]
        for (index, id) in layoutOrder().enumerated() where index < rects.count { result[id] = rects[index] }
        return result
    }

    // MARK: Composition

    /// Ports in layout order: the highlighted one first for speaker and PiP.
    private func layoutOrder() -> [Int] {
        switch layout {
        case .speaker, .pictureInPicture:
            guard let h = highlighted, ports[h] != nil else { return order }
            return [h] + order.filter { $0 != h }
        default:
            return order
        }
    }

    /// Changes so far plus new ones; nil (everything) absorbs the rest.
    private static func merge(_ a: MacroblockMap?, _ b: MacroblockMap?) -> MacroblockMap? {
        guard var a, let b else { return nil }
        a.formUnion(b)
        return a
    }

    private func compose(nowMillis: Int64) {
        let c = configuration
        let fullRedraw = layoutDirty
        composedWhole = fullRedraw
        composedRects.removeAll(keepingCapacity: true)
        if layoutDirty {
            layoutDirty = false
            rects = Layout.rects(kind: layout, count: order.count, canvas: PixelSize(width: c.width, height: c.height))
            canvas.fill(c.background)
            orderCache = layoutOrder()
        }
        for (index, id) in orderCache.enumerated() {
            guard let port = ports[id] else { continue }
            let tile = index < rects.count ? rects[index] : .zero
            // A port the layout hides is not decoded; shown again, it waits for a
            // keyframe (its next push asks for one), with its last picture or the placeholder.
            port.hidden = tile.isEmpty
            if tile.isEmpty { continue }
            if port.skippedFrames {
                port.skippedFrames = false
                port.assembler.requireKeyframe()
            }
            let inner = tile.insetBy(c.borderWidth)
            let live = port.frame != nil && nowMillis - port.frameMillis <= c.freezeMillis
            if fullRedraw {
                canvas.strokeBorder(tile, thickness: c.borderWidth, color: id == highlighted ? c.highlight : c.border)
            }
            if let frame = port.frame, live {
                if !fullRedraw && !port.drawnPlaceholder && port.drawnVersion == port.version { continue }
                let fit = Layout.fit(PixelSize(width: frame.width, height: frame.height), into: inner)
                // Only what changed since the tile was drawn: the part of the tile its
                // changed macroblocks reach is scaled again, the rest stays.
                if !port.wholeChanged, !fullRedraw, !port.drawnPlaceholder, fit == port.drawnFit {
                    port.changes.rects(width: frame.width, height: frame.height, into: &changedRects)
                    for changed in changedRects {
                        let region = I420Frame.reach(of: changed, sourceWidth: frame.width, sourceHeight: frame.height, drawnInto: fit)
                        canvas.draw(frame, into: fit, only: region, scratch: scratch)
                        redrawn(region)
                    }
                    port.drawn()
                    continue
                }
                if fullRedraw || port.drawnPlaceholder || fit != port.drawnFit {
                    canvas.fill(inner, with: c.background)
                    redrawn(inner)
                } else {
                    redrawn(fit)
                }
                canvas.draw(frame, into: fit, only: fit, scratch: scratch)
                port.drawn()
                port.drawnFit = fit
                port.drawnPlaceholder = false
            } else {
                if !fullRedraw && port.drawnPlaceholder { continue }
                canvas.fill(inner, with: c.placeholder)
                redrawn(inner)
                port.drawnPlaceholder = true
                port.drawnFit = .zero
                port.drawnVersion = -1
            }
        }
    }

    /// Notes a region the compose drew again (all of them count when it drew the whole canvas).
    private func redrawn(_ region: PixelRect) {
        if !composedWhole { composedRects.append(region) }
    }

    private var orderCache: [Int] = []
    /// An input's changed rectangles (storage kept between ticks).
    private var changedRects: [PixelRect] = []
}

/// When one output stream's next keyframe may be forced: requests are kept
/// until `keyframeIntervalMillis` after the last forced keyframe, or
/// `newViewerKeyframeIntervalMillis` when a new viewer waits on it; the first
/// frame is always one.
private struct KeyframePacing {
    var pending = true
    var newViewerWaiting = false
    var lastForced: Int64?
    var framesSent = 0

    mutating func request(forNewViewer: Bool) {
        pending = true
        if forNewViewer { newViewerWaiting = true }
    }

    /// Whether the frame encoded at `now` is to be a forced keyframe (taking the request).
    mutating func forcesKeyframe(at now: Int64, _ c: VideoCompositorConfiguration) -> Bool {
        guard pending else { return false }
        let interval = newViewerWaiting ? c.newViewerKeyframeIntervalMillis : c.keyframeIntervalMillis
        guard framesSent == 0 || lastForced.map({ now - $0 >= interval }) ?? true else { return false }
        pending = false
        newViewerWaiting = false
        lastForced = now
        return true
    }
}
