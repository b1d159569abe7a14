package import RTP
package import Transport

/// Audio or video: the media kinds that carry RTP through the graph.
package enum MediaKindKey: Int, CaseIterable {
    case audio = 0, video = 1

    package init?(kurento: String) {
        switch kurento {
        case "AUDIO": self = .audio
        case "VIDEO": self = .video
        default: return nil
        }
    }

    package var kurentoName: String { self == .audio ? "AUDIO" : "VIDEO" }
}

/// A data channel message passed between elements: the channel it came on
/// (its id and label), text or binary, and its bytes.
package struct DataMessage: Sendable {
    package var channel: UInt16
    package var label: String
    package var binary: Bool
    package var bytes: [UInt8]
}

/// Where the header extensions we forward sit in a source's packets: the ids
/// its negotiation gave them (RFC 8285). Consumers rewrite them into their own.
package final class ExtensionMap {
    package var absSendTime: UInt8?
    package var audioLevel: UInt8?
    /// Transport-wide sequence number (draft-holmer-rmcat-transport-wide-cc-extensions-01 §2);
    /// read on what we receive, never forwarded.
    package var transportSequence: UInt8?
}

/// The media-plane half of an element: lives on its pipeline's media loop
/// and is touched only there. Producers hand RTP to their consumers
/// synchronously; feedback (keyframe requests) flows back to the producer.
/// The signalling half (`MediaElement`) reaches it only by posting to the loop.
package class MediaNode {
    package let loop: MediaLoop
    package let objectID: String
    /// Sinks fed by this node, per kind, in connection order.
    private(set) var consumers: [[MediaNode]] = [[], []]
    /// The node feeding this one, per kind (at most one, as in Kurento).
    private(set) var sources: [MediaNode?] = [nil, nil]
    package var isClosed = false
    /// Which simulcast layer of its video source this node takes (Simulcast.swift).
    package var layerSelection = LayerSelection()

    package init(loop: MediaLoop, objectID: String) {
        self.loop = loop
        self.objectID = objectID
    }

    deinit {
        // Made, used and freed on its loop (NodeTable, Handover): a node freed
        // elsewhere means some thread kept a reference it should not have.
        assert(loop.isCurrent, "media node \(objectID) freed off its media loop")
    }

    package func addConsumer(_ sink: MediaNode, kind: MediaKindKey) {
        if let old = sink.sources[kind.rawValue] { old.removeConsumer(sink, kind: kind) }
        consumers[kind.rawValue].append(sink)
        sink.sources[kind.rawValue] = self
        if kind == .video { sink.layerSelection.reset() }
        sink.sourceDidChange(kind: kind)
        // A new viewer needs a keyframe to start decoding.
        if kind == .video { requestStartKeyframe() }
    }

    package func removeConsumer(_ sink: MediaNode, kind: MediaKindKey) {
        consumers[kind.rawValue].removeAll { $0 === sink }
        if sink.sources[kind.rawValue] === self {
            sink.sources[kind.rawValue] = nil
            if kind == .video { sink.layerSelection.reset() }
            sink.sourceDidChange(kind: kind)
        }
    }

    package func source(of kind: MediaKindKey) -> MediaNode? { sources[kind.rawValue] }

    /// Sinks of this node's data channel messages (Kurento's DATA connections).
    private(set) var dataConsumers: [MediaNode] = []
    private(set) var dataSource: MediaNode?

    package func addDataConsumer(_ sink: MediaNode) {
        if let old = sink.dataSource { old.removeDataConsumer(sink) }
        dataConsumers.append(sink)
        sink.dataSource = self
    }

    package func removeDataConsumer(_ sink: MediaNode) {
        dataConsumers.removeAll { $0 === sink }
        if sink.dataSource === self { sink.dataSource = nil }
    }

    /// Hands a data channel message to every DATA consumer.
    package func forwardData(_ message: DataMessage) {
        for c in dataConsumers { c.consumeData(message, from: self) }
    }

    /// Sink entry point for data channel messages; endpoints with data channels override.
    package func consumeData(_ message: DataMessage, from source: MediaNode) {}

    package func consumersOf(_ kind: MediaKindKey) -> [MediaNode] { consumers[kind.rawValue] }

    /// Hands a plain RTP packet to every consumer of `kind`. The buffer is
    /// valid only during the call; consumers that keep it must copy.
    package func forward(_ packet: UnsafeMutableRawBufferPointer, header: RTPHeader, kind: MediaKindKey, ext: ExtensionMap) {
        for c in consumers[kind.rawValue] { c.consume(packet, header: header, kind: kind, ext: ext, from: self) }
    }

    /// Hands a video packet of simulcast layer `layer` to the consumers that
    /// take that layer now (or switch to it at this keyframe start).
    package func forward(
        _ packet: UnsafeMutableRawBufferPointer, header: RTPHeader, ext: ExtensionMap, layer: Int, keyframeStart: Bool,
        temporal: LayerSelection.Temporal? = nil
    ) {
        for c in consumers[MediaKindKey.video.rawValue] {
            switch c.layerSelection.admit(layer: layer, keyframeStart: keyframeStart, temporal: temporal) {
            case .forward: c.consume(packet, header: header, kind: .video, ext: ext, from: self)
            case .dropTemporal: c.droppedTemporal(header, frameStart: temporal?.frameStart ?? false)
            case .skip: break
            }
        }
    }

    /// A packet of this consumer's layer left out by its temporal cap: a
    /// consumer that rewrites sequence numbers closes the gap. Sinks override.
    package func droppedTemporal(_ header: RTPHeader, frameStart: Bool) {}

    /// Sink entry point: an RTP packet from `source`, whose header extension
    /// ids are described by `ext`. Subclasses override.
    package func consume(
        _ packet: UnsafeMutableRawBufferPointer, header: RTPHeader, kind: MediaKindKey, ext: ExtensionMap, from source: MediaNode
    ) {}

    /// A consumer needs a keyframe. Endpoints send PLI upstream; others pass it on.
    package func requestKeyframe() {
        sources[MediaKindKey.video.rawValue]?.requestKeyframe()
    }

    /// A consumer that can receive from now on (just connected, or its
    /// transport just came up) needs a keyframe to start: sources answer it
    /// sooner than a repair request (a viewer waits on it to show anything).
    package func requestStartKeyframe() {
        sources[MediaKindKey.video.rawValue]?.requestStartKeyframe()
    }

    /// The source of `kind` changed; forwarders reset their rewriting state.
    package func sourceDidChange(kind: MediaKindKey) {}

    /// What `getStats` reports for this node, for `kind` or both kinds when nil.
    package func stats(kind: MediaKindKey?) -> NodeStats { NodeStats() }

    /// Detaches from every neighbour; called once when the element is released.
    package func close() {
        guard !isClosed else { return }
        isClosed = true
        for kind in MediaKindKey.allCases {
            sources[kind.rawValue]?.removeConsumer(self, kind: kind)
            for c in consumers[kind.rawValue] { removeConsumer(c, kind: kind) }
        }
    }
}
