package import RTP
package import Transport

/// PassThrough's media half: hands every packet on unchanged.
package final class PassThroughNode: MediaNode {
    package override func consume(
        _ packet: UnsafeMutableRawBufferPointer, header: RTPHeader, kind: MediaKindKey, ext: ExtensionMap, from source: MediaNode
    ) {
        forward(packet, header: header, kind: kind, ext: ext)
    }
}

/// A hub port's media half. Media connected INTO the port goes to the hub,
/// which decides which ports' outputs carry it; a port's output feeds the
/// elements connected FROM the port.
package final class HubPortNode: MediaNode {
    /// Strong, not weak (a weak reference would put the hub's every retain on
    /// the slow path, once per packet): the cycle with `HubNode.ports` is
    /// broken by whichever of the two closes first.
    package var hub: HubNode?

    package init(loop: MediaLoop, objectID: String, hub: HubNode) {
        self.hub = hub
        super.init(loop: loop, objectID: objectID)
    }

    package override func consume(
        _ packet: UnsafeMutableRawBufferPointer, header: RTPHeader, kind: MediaKindKey, ext: ExtensionMap, from source: MediaNode
    ) {
        hub?.route(packet, header: header, kind: kind, ext: ext, from: self)
    }

    package override func sourceDidChange(kind: MediaKindKey) {
        hub?.portSourceDidChange(self, kind: kind)
    }

    package override func addConsumer(_ sink: MediaNode, kind: MediaKindKey) {
        super.addConsumer(sink, kind: kind)
        hub?.portConsumersDidChange(self)
    }

    package override func removeConsumer(_ sink: MediaNode, kind: MediaKindKey) {
        super.removeConsumer(sink, kind: kind)
        hub?.portConsumersDidChange(self)
    }

    /// A viewer of this port's output wants a keyframe: ask whoever feeds it through the hub.
    package override func requestKeyframe() {
        hub?.requestKeyframe(for: self)
    }

    package override func requestStartKeyframe() {
        hub?.requestKeyframe(for: self, start: true)
    }

    /// This port's publisher: the element connected into the port.
    package func requestKeyframeFromInput(start: Bool = false) {
        if start { source(of: .video)?.requestStartKeyframe() } else { source(of: .video)?.requestKeyframe() }
    }

    package override func close() {
        super.close()
        hub?.remove(self)
        hub = nil
    }
}

/// Routing inside a hub: which input port feeds which output ports
/// (Dispatcher, DispatcherOneToMany; `CompositeHubNode` mixes instead).
/// Lives on the pipeline's media loop, in its node table like the elements'
/// nodes, though nothing connects to a hub itself (only to its ports).
package class HubNode: MediaNode {
    package enum Mode { case dispatcher, oneToMany, composite }

    package let mode: Mode
    package var ports: [HubPortNode] = []
    /// Dispatcher: input port -> output ports.
    private var routes: [ObjectIdentifier: [HubPortNode]] = [:]
    /// DispatcherOneToMany: the port whose input goes to every other port.
    private(set) var broadcastSource: HubPortNode?

    package init(loop: MediaLoop, objectID: String, mode: Mode) {
        self.mode = mode
        super.init(loop: loop, objectID: objectID)
    }

    /// The port of this hub with object id `id`.
    package func port(_ id: String) -> HubPortNode? { ports.first { $0.objectID == id } }

    package func route(_ packet: UnsafeMutableRawBufferPointer, header: RTPHeader, kind: MediaKindKey, ext: ExtensionMap, from input: HubPortNode) {
        switch mode {
        case .oneToMany:
            guard input === broadcastSource else { return }
            for port in ports where port !== input { port.forward(packet, header: header, kind: kind, ext: ext) }
        case .dispatcher:
            for port in routes[ObjectIdentifier(input)] ?? [] { port.forward(packet, header: header, kind: kind, ext: ext) }
        case .composite:
            break
        }
    }

    /// What feeds `port` changed (an element was connected into it, or left).
    package func portSourceDidChange(_ port: HubPortNode, kind: MediaKindKey) {}

    /// Elements fed by `port` changed.
    package func portConsumersDidChange(_ port: HubPortNode) {}

    package func requestKeyframe(for output: HubPortNode, start: Bool = false) {
        switch mode {
        case .oneToMany:
            broadcastSource?.requestKeyframeFromInput(start: start)
        case .dispatcher:
            for (input, outputs) in routes where outputs.contains(where: { $0 === output }) {
                ports.first { ObjectIdentifier($0) == input }?.requestKeyframeFromInput(start: start)
            }
        case .composite:
            break
        }
    }

    /// DispatcherOneToMany.setSource: every other port now carries the input
    /// of the port with id `portID` (nil: no source).
    package func setBroadcastSource(_ portID: String?) {
        let port = portID.flatMap(port)
        broadcastSource = port
        // Viewers switch sources now: they need a keyframe of the new one.
        port?.requestKeyframeFromInput()
    }

    /// Dispatcher.connect: port `outputID` now carries port `inputID`'s media (one input per output).
    package func connect(_ inputID: String, to outputID: String) {
        guard let input = port(inputID), let output = port(outputID) else { return }
        for key in routes.keys { routes[key]?.removeAll { $0 === output } }
        routes[ObjectIdentifier(input), default: []].append(output)
        input.requestKeyframeFromInput()
    }

    package func add(_ port: HubPortNode) {
        if !ports.contains(where: { $0 === port }) { ports.append(port) }
    }

    /// Released before its ports: they stay, routing nowhere.
    package override func close() {
        guard !isClosed else { return }
        super.close()
        for port in ports { port.hub = nil }
        ports.removeAll()
        routes.removeAll()
        broadcastSource = nil
    }

    package func remove(_ port: HubPortNode) {
        ports.removeAll { $0 === port }
        routes[ObjectIdentifier(port)] = nil
        for key in routes.keys { routes[key]?.removeAll { $0 === port } }
        if broadcastSource === port { broadcastSource = nil }
    }
}
