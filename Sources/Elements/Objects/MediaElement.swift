import MediaPlane
import JSONRPC
import Logging
import Transport

/// kmd `MediaElement`: an object that can be connected to others by media type.
///
/// This is the signalling half, owned by the MediaSet. Its media-plane half
/// (`node`) lives on the pipeline's media loop; every change to it is posted
/// there, in order, so control messages never race each other.
public class MediaElement: MediaObject {
    struct Connection: Equatable {
        var sourceID: String
        var sinkID: String
        var mediaType: String
        var sourceDescription: String
        var sinkDescription: String

        var json: JSONValue {
            [
                "__module__": "kurento", "__type__": "ElementConnectionData", "source": .string(sourceID),
                "sink": .string(sinkID), "type": .string(mediaType), "sourceDescription": .string(sourceDescription),
                "sinkDescription": .string(sinkDescription),
            ]
        }
    }

    let loop: MediaLoop
    /// The media-plane half, addressed by id on `loop`: this object never
    /// holds a reference to it, so it is made, used and freed on the loop.
    let node: NodeRef
    /// Connections where this element is the source / the sink.
    var sinkConnections: [Connection] = []
    var sourceConnections: [Connection] = []
    /// Flow state mirrored from the media plane's events, by media type.
    var flowingIn: Set<String> = []
    var flowingOut: Set<String> = []
    var connectionState = "DISCONNECTED"
    var mediaState = "DISCONNECTED"
    /// WebRTC transport state mirrored from events (IceComponentStateChanged,
    /// DtlsConnectionStateChange, NewCandidatePairSelected).
    var iceState: String?
    var dtlsState: String?
    var selectedPair: JSONValue?

    /// Creates the element and, on `loop`, its node (`make` runs there).
    init(context: CreationContext, media: MediaContext, loop: MediaLoop, make: @escaping @Sendable (NodeTable) -> MediaNode) {
        self.loop = loop
        self.node = media.nodeRef(context.id, on: loop)
        super.init(id: context.id, className: context.className, parent: context.parent, creationTime: context.creationTime)
        node.install(make)
    }

    override public func didRelease() {
        node.release()
    }

    /// Posts work to the loop now (keeping request order) and answers when it is done.
    func loopCall(_ work: @escaping @Sendable (MediaNode) -> Result<JSONValue, KurentoError>) -> Reply {
        let (stream, continuation) = AsyncStream.makeStream(of: Result<JSONValue, KurentoError>.self)
        node.lookup { node in
            continuation.yield(node.map(work) ?? .failure(KurentoError(.mediaObjectNotFound, "the element was released")))
            continuation.finish()
        }
        return .deferred {
            for await r in stream { return r }
            return .failure(KurentoError(.unexpectedError, "media loop stopped"))
        }
    }
}

/// Element graph operations, on the MediaSet (they touch two elements and raise events).
extension MediaSet {
    static let mediaTypes = ["AUDIO", "VIDEO", "DATA"]

    func connect(_ source: MediaElement, to sink: MediaElement, mediaType: String?, sourceDescription: String, sinkDescription: String) throws(KurentoError) {
        guard source.mediaPipeline === sink.mediaPipeline else {
            throw KurentoError(.connectError, "Media elements do not share pipeline")
        }
        for type in mediaType.map({ [$0] }) ?? Self.mediaTypes {
            let connection = MediaElement.Connection(
                sourceID: source.id, sinkID: sink.id, mediaType: type, sourceDescription: sourceDescription,
                sinkDescription: sinkDescription)
            if sink.sourceConnections.contains(connection) { continue }
            // A sink has one source per media type and description: replace it.
            for old in sink.sourceConnections where old.mediaType == type && old.sinkDescription == sinkDescription {
                if let oldSource = objects[old.sourceID] as? MediaElement { removeConnection(old, source: oldSource, sink: sink) }
            }
            source.sinkConnections.append(connection)
            sink.sourceConnections.append(connection)
            if let kind = MediaKindKey(kurento: type) {
                source.node.post(with: sink.node) { source, sink in source.addConsumer(sink, kind: kind) }
            } else if type == "DATA" {
                source.node.post(with: sink.node) { source, sink in source.addDataConsumer(sink) }
            }
            raise("ElementConnected", from: source, data: [
                "sink": .string(sink.id), "mediaType": .string(type),
                "sourceMediaDescription": .string(sourceDescription), "sinkMediaDescription": .string(sinkDescription),
            ])
        }
    }

    func disconnect(_ source: MediaElement, from sink: MediaElement, mediaType: String?, sourceDescription: String, sinkDescription: String) {
        let types = mediaType.map { [$0] } ?? Self.mediaTypes
        for c in source.sinkConnections where c.sinkID == sink.id && types.contains(c.mediaType)
            && c.sourceDescription == sourceDescription && c.sinkDescription == sinkDescription
        {
            removeConnection(c, source: source, sink: sink)
        }
    }

    func removeConnection(_ c: MediaElement.Connection, source: MediaElement, sink: MediaElement) {
        source.sinkConnections.removeAll { $0 == c }
        sink.sourceConnections.removeAll { $0 == c }
        if let kind = MediaKindKey(kurento: c.mediaType) {
            source.node.post(with: sink.node) { source, sink in source.removeConsumer(sink, kind: kind) }
        } else if c.mediaType == "DATA" {
            source.node.post(with: sink.node) { source, sink in source.removeDataConsumer(sink) }
        }
        raise("ElementDisconnected", from: source, data: [
            "sink": .string(sink.id), "mediaType": .string(c.mediaType),
            "sourceMediaDescription": .string(c.sourceDescription), "sinkMediaDescription": .string(c.sinkDescription),
        ])
    }

    /// Before an element goes: drop every connection it takes part in.
    func disconnectAll(_ element: MediaElement) {
        for c in element.sinkConnections {
            if let sink = objects[c.sinkID] as? MediaElement { removeConnection(c, source: element, sink: sink) }
        }
        for c in element.sourceConnections {
            if let source = objects[c.sourceID] as? MediaElement { removeConnection(c, source: source, sink: element) }
        }
    }
}

extension MediaElement {
    private static func element(_ obj: MediaObject) -> MediaElement { obj as! MediaElement }  // bound to MediaElement and subclasses only

    /// The connections matching the optional `mediaType` and `description` arguments.
    private static func connections(
        _ list: [Connection], _ args: Arguments, description: KeyPath<Connection, String>
    ) -> JSONValue {
        let type = args.string("mediaType"), wanted = args.string("description")
        return .array(list.filter { c in
            (type == nil || c.mediaType == type) && (wanted == nil || c[keyPath: description] == wanted)
        }.map(\.json))
    }

    private static func checkedType(_ args: Arguments, _ name: String = "mediaType") throws(KurentoError) -> String {
        let t = args.string(name) ?? ""
        guard t == "AUDIO" || t == "VIDEO" else {
            throw KurentoError(.mediaObjectIllegalParamError, "Media type \(t) is not supported here; use AUDIO or VIDEO")
        }
        return t
    }

    static let elementBinding = ClassBinding(
        className: "MediaElement",
        methods: ([
            "connect": { obj, args, set throws(KurentoError) in
                guard let sink = try set.object(args.string("sink") ?? "") as? MediaElement else {
                    throw .wrongParam("sink", "a MediaElement")
                }
                try set.connect(
                    element(obj), to: sink, mediaType: args.string("mediaType"),
                    sourceDescription: args.string("sourceMediaDescription") ?? "default",
                    sinkDescription: args.string("sinkMediaDescription") ?? "default")
                return .void
            },
            "disconnect": { obj, args, set throws(KurentoError) in
                guard let sink = try set.object(args.string("sink") ?? "") as? MediaElement else {
                    throw .wrongParam("sink", "a MediaElement")
                }
                set.disconnect(
                    element(obj), from: sink, mediaType: args.string("mediaType"),
                    sourceDescription: args.string("sourceMediaDescription") ?? "default",
                    sinkDescription: args.string("sinkMediaDescription") ?? "default")
                return .void
            },
            "getSourceConnections": { obj, args, _ throws(KurentoError) in
                .value(connections(element(obj).sourceConnections, args, description: \.sinkDescription))
            },
            "getSinkConnections": { obj, args, _ throws(KurentoError) in
                .value(connections(element(obj).sinkConnections, args, description: \.sourceDescription))
            },
            "isMediaFlowingIn": { obj, args, _ throws(KurentoError) in
                .value(.bool(element(obj).flowingIn.contains(try checkedType(args))))
            },
            "isMediaFlowingOut": { obj, args, _ throws(KurentoError) in
                .value(.bool(element(obj).flowingOut.contains(try checkedType(args))))
            },
            "isMediaTranscoding": { _, args, _ throws(KurentoError) in
                // Forwarding elements never transcode; the mixer reports its own.
                _ = try checkedType(args)
                return .value(false)
            },
            "getStats": { obj, args, set throws(KurentoError) in
                let type = args.string("mediaType")
                // DATA: the element register and its data channels only.
                let dataOnly = type == "DATA"
                let kind = type.flatMap(MediaKindKey.init(kurento:))
                let millis = set.clock.wallClockMillis
                let id = obj.id
                return element(obj).loopCall { node in
                    var stats = node.stats(kind: kind)
                    if dataOnly { (stats.inbound, stats.outbound) = ([], []) }
                    return .success(.object(StatsRegisters.json(stats, objectID: id, timestampMillis: millis)))
                }
            },
        ] as [String: ClassBinding.Method]).merging(MediaPipeline.graphMethods) { own, _ in own },
        events: ["ElementConnected", "ElementDisconnected", "MediaFlowInStateChanged", "MediaFlowOutStateChanged"]
    )
}
