import MediaPlane
import JSONRPC
import Mixer
import Logging
import Transport

/// kmd `Hub`: owns ports and routes media between them. Not a MediaElement
/// (it cannot be connected itself); its ports are.
class Hub: MediaObject {
    let loop: MediaLoop
    let media: MediaContext
    /// The hub's node on `loop`, by id (see MediaElement.node).
    let hubNode: NodeRef

    init(context: CreationContext, media: MediaContext, loop: MediaLoop, make: @escaping @Sendable (NodeTable) -> HubNode) {
        self.loop = loop
        self.media = media
        self.hubNode = media.nodeRef(context.id, on: loop)
        super.init(id: context.id, className: context.className, parent: context.parent, creationTime: context.creationTime)
        hubNode.install(make)
    }

    override func didRelease() {
        hubNode.release()
    }

    /// Runs `work` on the loop with the hub's node, if it still exists.
    func onHub(_ work: @escaping @Sendable (HubNode) -> Void) {
        hubNode.post { work($0 as! HubNode) }  // a hub's node is always a HubNode
    }

    static func make(_ ctx: CreationContext, _ set: MediaSet, mode: HubNode.Mode) throws(KurentoError) -> Hub {
        guard let pipeline = ctx.parent as? MediaPipeline else { throw .wrongParam("mediaPipeline", "a MediaPipeline") }
        let media = try set.mediaContext()
        let loop = pipeline.assignLoop(media.loops)
        let id = ctx.id
        switch mode {
        case .dispatcher: return Dispatcher(context: ctx, media: media, loop: loop) { _ in HubNode(loop: loop, objectID: id, mode: mode) }
        case .oneToMany: return DispatcherOneToMany(context: ctx, media: media, loop: loop) { _ in HubNode(loop: loop, objectID: id, mode: mode) }
        case .composite: throw .wrongParam("mode", "a forwarding hub")  // Composite.make builds its own node
        }
    }

    /// The HubPort named by `name` in `args`, which must belong to this hub.
    func port(_ args: Arguments, _ name: String, _ set: MediaSet) throws(KurentoError) -> HubPort {
        guard let port = try set.object(args.string(name) ?? "") as? HubPort, port.parent === self else {
            throw KurentoError(.mediaObjectIllegalParamError, "'\(name)' must be a HubPort of this hub")
        }
        return port
    }

    static let hubBinding = ClassBinding(
        className: "Hub",
        methods: MediaPipeline.graphMethods
    )
}

/// kmd `Dispatcher`: routes one port's input to chosen ports' outputs.
final class Dispatcher: Hub {
    static let dispatcherBinding = ClassBinding(
        className: "Dispatcher",
        methods: [
            "connect": { obj, args, set throws(KurentoError) in
                let hub = obj as! Hub  // bound to Dispatcher only
                let source = try hub.port(args, "source", set).id, sink = try hub.port(args, "sink", set).id
                hub.onHub { $0.connect(source, to: sink) }
                return .void
            }
        ],
        factory: { ctx, _, set throws(KurentoError) in try Hub.make(ctx, set, mode: .dispatcher) }
    )
}

/// kmd `DispatcherOneToMany`: one source port broadcast to every other port.
final class DispatcherOneToMany: Hub {
    static let oneToManyBinding = ClassBinding(
        className: "DispatcherOneToMany",
        methods: [
            "setSource": { obj, args, set throws(KurentoError) in
                let hub = obj as! Hub  // bound to DispatcherOneToMany only
                let source = try hub.port(args, "source", set).id
                hub.onHub { $0.setBroadcastSource(source) }
                return .void
            },
            "removeSource": { obj, _, _ throws(KurentoError) in
                let hub = obj as! Hub  // bound to DispatcherOneToMany only
                hub.onHub { $0.setBroadcastSource(nil) }
                return .void
            },
        ],
        factory: { ctx, _, set throws(KurentoError) in try Hub.make(ctx, set, mode: .oneToMany) }
    )
}

/// kmd `Composite`: mixes the audio of its ports (each port hears everyone
/// but itself) and lays their video out in a grid that every port receives.
/// The codec work runs on a mixer worker thread (docs/mixer.md).
final class Composite: Hub {
    static let compositeBinding = ClassBinding(
        className: "Composite",
        factory: { ctx, args, set throws(KurentoError) in
            guard let pipeline = ctx.parent as? MediaPipeline else { throw .wrongParam("mediaPipeline", "a MediaPipeline") }
            let media = try set.mediaContext()
            let loop = pipeline.assignLoop(media.loops)
            // The kmd gives defaults (800x600 at 15 fps); only what the client really sent
            // overrides the server's `mixer.*` settings.
            func dimension(_ name: String, _ range: ClosedRange<Int64>) throws(KurentoError) -> Int? {
                guard ctx.rawParams[name] != nil, let v = args.int(name) else { return nil }
                guard range.contains(v) else { throw .wrongParam(name, "an integer in \(range.lowerBound)...\(range.upperBound)") }
                return Int(v)
            }
            let width = try dimension("width", 16...3840), height = try dimension("height", 16...2160)
            let fps = try dimension("framerate", 1...60)
            let engine: CompositeEngine
            do {
                engine = try CompositeEngine(
                    loop: media.mixerLoops.nextLoop(), mediaLoop: loop, audio: media.mixer.audioConfiguration(),
                    video: media.mixer.videoConfiguration(width: width, height: height, fps: fps), metrics: media.metrics)
            } catch {
                throw KurentoError(.notEnoughResources, "cannot start the mixer: \(error)")
            }
            let id = ctx.id, boundEngine = LoopBound(engine)
            let composite = Composite(context: ctx, media: media, loop: loop) { _ in
                CompositeHubNode(engine: boundEngine.value, loop: loop, context: media, objectID: id)
            }
            // The engine reaches its hub node by id too, from the mixer thread.
            let ref = composite.hubNode
            engine.loop.post { boundEngine.value.hub = ref }
            return composite
        }
    )

    /// Runs `work` on the loop with the composite's node, if it still exists.
    func onComposite(_ work: @escaping @Sendable (CompositeHubNode) -> Void) {
        hubNode.post { work($0 as! CompositeHubNode) }  // a Composite's node is always a CompositeHubNode
    }

    /// Tessera extension (TesseraExtensions): `layout`, `order` (HubPort ids), `rects` for custom layouts.
    static let setLayout: ClassBinding.Method = { obj, args, set throws(KurentoError) in
        let composite = obj as! Composite  // registered for Composite only
        let kind: LayoutKind
        switch args.string("layout") ?? "grid" {
        case "grid": kind = .grid
        case "speaker": kind = .speaker
        case "pip": kind = .pictureInPicture
        case "presentation": kind = .presentation
        case "custom":
            var rects: [NormalizedRect] = []
            for r in args["rects"]?.arrayValue ?? [] {
                let v = r.arrayValue?.compactMap(\.doubleValue) ?? []
                guard v.count == 4, v.allSatisfy({ (0...1).contains($0) }) else {
                    throw KurentoError(.mediaObjectIllegalParamError, "'rects' must hold [x, y, width, height] in 0...1")
                }
                rects.append(NormalizedRect(x: v[0], y: v[1], width: v[2], height: v[3]))
            }
            kind = .custom(rects)
        case let other:
            throw KurentoError(.mediaObjectIllegalParamError, "unknown layout '\(other)': grid, speaker, pip, presentation or custom")
        }
        var order: [String] = []
        for v in args["order"]?.arrayValue ?? [] {
            guard let id = v.stringValue, let port = set.objects[id] as? HubPort, port.parent === composite else {
                throw KurentoError(.mediaObjectIllegalParamError, "'order' must list HubPorts of this Composite")
            }
            order.append(id)
        }
        let tiles = order
        composite.onComposite { $0.setLayout(kind, order: tiles) }
        return .void
    }

    /// Tessera extension (TesseraExtensions): receiver-side mute inside the
    /// mix. The listener on HubPort `port` stops hearing the HubPorts in
    /// `exclude` (an empty list undoes it); everyone else is unaffected.
    static let setMixExclusions: ClassBinding.Method = { obj, args, set throws(KurentoError) in
        let composite = obj as! Composite  // registered for Composite only
        func ownPort(_ value: JSONValue?, _ name: String) throws(KurentoError) -> String {
            guard let id = value?.stringValue, let port = set.objects[id] as? HubPort, port.parent === composite else {
                throw KurentoError(.mediaObjectIllegalParamError, "'\(name)' must name HubPorts of this Composite")
            }
            return id
        }
        guard args["port"] != nil else { throw .missingParam("port") }
        let listener = try ownPort(args["port"], "port")
        guard let list = args["exclude"]?.arrayValue else {
            throw KurentoError(.mediaObjectIllegalParamError, "'exclude' must be a list of HubPort ids (empty to hear everyone)")
        }
        var excluded: [String] = []
        for v in list { excluded.append(try ownPort(v, "exclude")) }
        let muted = excluded
        composite.onComposite { $0.setExclusions(listener: listener, excluded: muted) }
        return .void
    }
}

/// kmd `HubPort`: a MediaElement attached to a hub.
final class HubPort: MediaElement {
    static let portBinding = ClassBinding(
        className: "HubPort",
        factory: { ctx, _, _ throws(KurentoError) in
            guard let hub = ctx.parent as? Hub else { throw .wrongParam("hub", "a Hub") }
            // Made on the loop and joined to the hub's node there.
            let id = ctx.id, hubID = hub.id, loop = hub.loop
            return HubPort(context: ctx, media: hub.media, loop: loop) { table in
                let hubNode = table[hubID] as! HubNode  // a hub outlives its ports (they are its children)
                let port = HubPortNode(loop: loop, objectID: id, hub: hubNode)
                hubNode.add(port)
                return port
            }
        }
    )
}

/// kmd `PassThrough`: forwards its input unchanged.
final class PassThrough: MediaElement {
    static let passThroughBinding = ClassBinding(
        className: "PassThrough",
        factory: { ctx, _, set throws(KurentoError) in
            guard let pipeline = ctx.parent as? MediaPipeline else { throw .wrongParam("mediaPipeline", "a MediaPipeline") }
            let media = try set.mediaContext()
            let loop = pipeline.assignLoop(media.loops)
            let id = ctx.id
            return PassThrough(context: ctx, media: media, loop: loop) { _ in PassThroughNode(loop: loop, objectID: id) }
        }
    )
}
