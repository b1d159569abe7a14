public import Logging
public import Transport
package import Dispatch
import Synchronization

/// A signal raised on a media loop, on its way to the signalling actor.
public struct MediaEvent: Sendable {
    public var objectID: String
    package var signal: MediaSignal
}

/// What media objects share: the media loops, ICE settings, the server's
/// DTLS identities, and the channel that carries their events to the
/// signalling plane (in order, through one stream).
public final class MediaContext: Sendable {
    public let loops: MediaLoopGroup
    /// Worker threads for codec work (Composite): never a media loop.
    public let mixerLoops: MediaLoopGroup
    public let mixer: MixerSettings
    public let ice: ICESettings
    public let logger: Logger
    /// Where RecorderEndpoint may write (`recording.directory`); recordings must resolve inside it.
    public let recordingDirectory: String
    public let events: AsyncStream<MediaEvent>
    /// Packet counters for /metrics (no-ops unless a metrics backend is given).
    public let metrics: MediaMetrics
    /// Recordings being finished off the media loops (muxer draining, index
    /// written, file closed); shutdown waits for it to empty.
    package let finishing = DispatchGroup()
    package let eventSink: AsyncStream<MediaEvent>.Continuation
    private let ecdsa: DTLSCertificate
    /// The shared port of each media loop (ICE-lite mode), by loop index; each
    /// is touched only on its loop.
    private let muxes: [LoopBound<UDPMux>]
    /// The RTP sessions' clock of each media loop, by loop index (made on first use, on its loop).
    private let clocks: [LoopBound<ClockSlot>]
    /// The nodes of each media loop, by loop index.
    private let tables: [LoopBound<NodeTable>]
    /// Made on first use: RSA key generation takes a noticeable time and few peers ask for it.
    private let rsa = Mutex<DTLSCertificate?>(nil)

    public init(
        loopCount: Int = 0, mixerThreads: Int = 0, mixer: MixerSettings = MixerSettings(),
        ice: ICESettings = ICESettings(), logger: Logger = Logger(label: "tessera.media"),
        recordingDirectory: String = "recordings", metrics: MediaMetrics = MediaMetrics()
    ) throws {
        self.recordingDirectory = recordingDirectory
        self.metrics = metrics
        loops = MediaLoopGroup(count: loopCount, name: "media")
        mixerLoops = MediaLoopGroup(count: mixerThreads, name: "mixer")
        self.mixer = mixer
        self.ice = ice
        self.logger = logger
        (events, eventSink) = AsyncStream.makeStream(of: MediaEvent.self)
        clocks = loops.loops.map { _ in LoopBound(ClockSlot()) }
        tables = loops.loops.map { _ in LoopBound(NodeTable()) }
        // ICE-lite: one shared port per media loop, bound now so that a port
        // in use is a startup error rather than a failed call later.
        if ice.mode == .lite {
            let bindTo = Self.bindAddress(for: ice)
            var opened: [LoopBound<UDPMux>] = []
            for loop in loops.loops {
                let port = ice.udpPort == 0 ? 0 : ice.udpPort + loop.index
                do {
                    let mux = try UDPMux(loop: loop, host: bindTo, port: port)
                    let drops = metrics
                    mux.onDrop = { drops.udpDropped($0) }
                    opened.append(LoopBound(mux))
                } catch {
                    for m in opened { m.value.loop.post { m.value.close() } }
                    loops.shutdown()
                    mixerLoops.shutdown()
                    throw error
                }
            }
            muxes = opened
        } else {
            muxes = []
        }
        // One identity per server and key type (RFC 8827 allows reuse across peers).
        ecdsa = try DTLSCertificate(keyType: .ecdsa)
    }

    /// The server's identity of `type`; falls back to ECDSA if RSA generation fails.
    public func certificate(_ type: DTLSCertificate.KeyType) -> DTLSCertificate {
        guard type == .rsa else { return ecdsa }
        return rsa.withLock { cached in
            if let c = cached { return c }
            guard let c = try? DTLSCertificate(keyType: .rsa) else { return ecdsa }
            cached = c
            return c
        }
    }

    /// Stops the media and mixer threads after what was already posted to them
    /// and waits for them to exit. Nothing may be posted afterwards.
    public func shutdown() {
        closeOnLoops()
        loops.shutdown()
        mixerLoops.shutdown()
    }

    /// Returns once every media loop has run what was posted to it before this
    /// call (releases post their node's close to the loop).
    public func drainLoops() async {
        for loop in loops.loops { await loop.run {} }
    }

    /// Waits (off the caller's thread) until every recording that was being
    /// finished is complete, or `timeout` passes. Returns false on timeout.
    public func waitForRecordingsToFinish(timeout: Duration) async -> Bool {
        let group = finishing
        return await runBlocking(qos: .utility) { group.wait(timeout: .now() + timeout / .seconds(1)) == .success }
    }

    deinit {
        // Without a shutdown the loops stop when their last reference goes;
        // the nodes and the ports close on them first.
        closeOnLoops()
    }

    /// Posts to each media loop the release of its nodes and the close of its shared port.
    private func closeOnLoops() {
        for (index, table) in tables.enumerated() { loops.loops[index].post { table.value.releaseAll() } }
        for mux in muxes { mux.value.loop.post { mux.value.close() } }
    }

    /// Whether `loop` is one of this context's media loops.
    private func owns(_ loop: MediaLoop) -> Bool {
        loops.loops.indices.contains(loop.index) && loops.loops[loop.index] === loop
    }

    /// The address of node `id` on `loop` (a loop of this context).
    package func nodeRef(_ id: String, on loop: MediaLoop) -> NodeRef {
        precondition(owns(loop), "not a media loop of this context")
        return NodeRef(loop: loop, id: id, table: tables[loop.index])
    }

    /// How many nodes live on the loops (call off the loops; for tests and /health).
    public func nodeCount() async -> Int {
        var total = 0
        for (index, loop) in loops.loops.enumerated() {
            let table = tables[index]
            total += await loop.run { table.value.count }
        }
        return total
    }

    /// The RTP sessions' clock of `loop` (call on that loop).
    package func clock(for loop: MediaLoop) -> SessionClock? {
        guard owns(loop) else { return nil }
        let slot = clocks[loop.index].value
        if let c = slot.clock { return c }
        let c = SessionClock(loop: loop, context: self)
        slot.clock = c
        return c
    }

    /// The shared port of `loop` (call on that loop); nil in full-ICE mode.
    package func mux(for loop: MediaLoop) -> UDPMux? {
        owns(loop) && muxes.indices.contains(loop.index) ? muxes[loop.index].value : nil
    }

    /// The ports the media loops listen on (ICE-lite mode), in loop order.
    public var sharedPorts: [Int] { muxes.map { Int($0.value.port) } }

    /// Where the shared ports are bound: the one configured host address when
    /// there is exactly one (answers then leave from the address the peer
    /// used), else every address.
    package static func bindAddress(for ice: ICESettings) -> String {
        let configured = (try? ice.gatherAddresses()) ?? []
        let v4 = configured.filter { ICESettings.isIPAddress($0, v6: false) }
        return v4.count == 1 ? v4[0] : "0.0.0.0"
    }

    /// Queues a signal of node `objectID` for the signalling plane (from any
    /// thread; signals of one node keep the order they were raised in).
    package func raise(_ signal: MediaSignal, on objectID: String) {
        eventSink.yield(MediaEvent(objectID: objectID, signal: signal))
    }
}

/// Holds a loop's SessionClock once made (touched only on that loop).
package final class ClockSlot {
    package var clock: SessionClock?
}
