import Elements
import MediaPlane
import JSONRPC
import TestSupport
import Testing

/// Media-plane nodes live in their loop's table, by id: one per element or
/// hub, gone when the element is released (MediaNode's deinit also checks,
/// in debug builds, that it runs on the node's loop).
@Suite struct NodeLifetimeTests {
    let h = ProtocolHarness()

    init() { h.connect() }

    private func create(_ type: String, _ params: JSONValue) -> String {
        h.result("create", ["type": .string(type), "constructorParams": params])?["value"]?.stringValue ?? ""
    }

    /// One pipeline with an element of each kind that has a node, wired up.
    private func buildPipeline() -> (pipeline: String, nodes: Int) {
        let p = h.result("create", ["type": "MediaPipeline"])?["value"]?.stringValue ?? ""
        let owner: JSONValue = ["mediaPipeline": .string(p)]
        let w = create("WebRtcEndpoint", owner)
        let pass = create("PassThrough", owner)
        let dispatcher = create("Dispatcher", owner)
        let d1 = create("HubPort", ["hub": .string(dispatcher)]), d2 = create("HubPort", ["hub": .string(dispatcher)])
        let oneToMany = create("DispatcherOneToMany", owner)
        let o1 = create("HubPort", ["hub": .string(oneToMany)])
        let composite = create("Composite", owner)
        let c1 = create("HubPort", ["hub": .string(composite)])
        for (source, sink) in [(w, pass), (pass, d1), (d2, w), (w, o1), (w, c1), (c1, w)] {
            _ = h.result("invoke", ["object": .string(source), "operation": "connect", "operationParams": ["sink": .string(sink)]])
        }
        _ = h.result("invoke", ["object": .string(dispatcher), "operation": "connect", "operationParams": ["source": .string(d1), "sink": .string(d2)]])
        _ = h.result("invoke", ["object": .string(oneToMany), "operation": "setSource", "operationParams": ["source": .string(o1)]])
        return (p, 9)  // the endpoint, the pass-through, 3 hubs and 4 hub ports
    }

    @Test func aReleasedPipelineLeavesNoNode() async throws {
        let media = try h.mediaSet.mediaContext()
        let (p, count) = buildPipeline()
        await media.drainLoops()
        let made = await media.nodeCount()
        #expect(made == count)
        #expect(h.result("release", ["object": .string(p)]) != nil)
        #expect(await media.nodeCount() == 0)
    }

    @Test func aReleasedHubPortLeavesItsHub() async throws {
        let media = try h.mediaSet.mediaContext()
        let p = h.result("create", ["type": "MediaPipeline"])?["value"]?.stringValue ?? ""
        let composite = create("Composite", ["mediaPipeline": .string(p)])
        let port = create("HubPort", ["hub": .string(composite)])
        #expect(await media.nodeCount() == 2)
        #expect(h.result("release", ["object": .string(port)]) != nil)
        #expect(await media.nodeCount() == 1)
        #expect(h.result("release", ["object": .string(p)]) != nil)
        #expect(await media.nodeCount() == 0)
    }

    @Test func hundredsOfCreateReleaseCyclesLeaveNothing() async throws {
        let media = try h.mediaSet.mediaContext()
        for _ in 0..<100 {
            let (p, _) = buildPipeline()
            _ = h.result("release", ["object": .string(p)])
        }
        await media.drainLoops()
        #expect(await media.nodeCount() == 0)
        #expect(h.mediaSet.objects.count == 1)  // the ServerManager
    }
}
