package import Mixer
package import RTP
package import Transport

/// Composite's media-loop half: copies what its ports receive over to the
/// mixer engine (on a mixer worker thread) and hands the engine's finished
/// packets to the ports' consumers. Never does codec work itself.
package final class CompositeHubNode: HubNode {
    /// The engine, on `engineLoop`; nil once the Composite is released.
    private var engine: LoopBound<CompositeEngine>?
    package let engineLoop: MediaLoop
    private var ids: [ObjectIdentifier: Int] = [:]
    private var portsByID: [Int: HubPortNode] = [:]
    private var nextID = 0
    private let noExtensions = ExtensionMap()
    /// Packets for the engine, taken on its thread at each of its ticks.
    private let inbox: PacketInbox
    package let context: MediaContext

    package init(engine: CompositeEngine, loop: MediaLoop, context: MediaContext, objectID: String) {
        self.engine = LoopBound(engine)
        self.engineLoop = engine.loop
        self.inbox = engine.inbox
        self.context = context
        super.init(loop: loop, objectID: objectID, mode: .composite)
    }

    /// Released: the engine stops on its thread and lets go of this node.
    package override func close() {
        guard !isClosed else { return }
        super.close()
        shutDown()
    }

    package override func add(_ port: HubPortNode) {
        guard ids[ObjectIdentifier(port)] == nil else { return }
        let id = nextID
        nextID += 1
        ids[ObjectIdentifier(port)] = id
        portsByID[id] = port
        super.add(port)
        onEngine { $0.addPort(id) }
        if port.source(of: .video) != nil { portSourceDidChange(port, kind: .video) }
    }

    package override func remove(_ port: HubPortNode) {
        super.remove(port)
        portConsumersDidChange(port)
        guard let id = ids.removeValue(forKey: ObjectIdentifier(port)) else { return }
        portsByID[id] = nil
        onEngine { $0.removePort(id) }
    }

    /// A port gets a tile while something feeds it video.
    package override func portSourceDidChange(_ port: HubPortNode, kind: MediaKindKey) {
        guard kind == .video, let id = ids[ObjectIdentifier(port)] else { return }
        let hasVideo = port.source(of: .video) != nil
        onEngine { $0.setTile(id, present: hasVideo) }
    }

    /// Nobody receives the grid (a hybrid room, an audio-only recorder): the
    /// engine stops composing and encoding video until someone does.
    package override func portConsumersDidChange(_ port: HubPortNode) {
        let wanted = ports.contains { !$0.consumersOf(.video).isEmpty }
        guard wanted != videoWanted else { return }
        videoWanted = wanted
        onEngine { $0.setVideoWanted(wanted) }
    }

    private var videoWanted = false

    package override func route(
        _ packet: UnsafeMutableRawBufferPointer, header: RTPHeader, kind: MediaKindKey, ext: ExtensionMap, from input: HubPortNode
    ) {
        guard engine != nil, let id = ids[ObjectIdentifier(input)] else { return }
        // The packet buffer is only valid during this call: the inbox keeps a
        // copy, which the engine takes at its next tick.
        inbox.append(
            port: id, video: kind == .video, audioLevelID: kind == .audio ? ext.audioLevel : nil, packet: UnsafeRawBufferPointer(packet),
            arrival: loop.clock.now)
    }

    /// Any viewer of any port wants a keyframe: the next composed frame is one.
    package override func requestKeyframe(for output: HubPortNode, start: Bool = false) {
        onEngine { $0.requestKeyframe(forNewViewer: start) }
    }

    // MARK: From the engine (posted to this node's loop)

    package func deliverAudio(_ tick: AudioTick) {
        guard !tick.packets.isEmpty else { return }
        // One sendmmsg for the whole tick's fan-out on the shared port.
        guard let loop = ports.first?.loop, let mux = context.mux(for: loop) else { return fanOutAudio(tick) }
        mux.batch { fanOutAudio(tick) }
    }

    private func fanOutAudio(_ tick: AudioTick) {
        var headers: [RTPHeader?] = []
        headers.reserveCapacity(tick.packets.count)
        for p in tick.packets { headers.append(p.withUnsafeBytes { try? RTPHeader.parse($0) }) }
        var packets = tick.packets
        for (id, index) in tick.route {
            guard let port = portsByID[id], index < packets.count, let header = headers[index] else { continue }
            packets[index].withUnsafeMutableBytes { port.forward($0, header: header, kind: .audio, ext: noExtensions) }
        }
    }

    /// One composed frame: its packets in each quality, the main one first.
    package func deliverVideo(_ byQuality: [[[UInt8]]]) {
        guard let loop = ports.first?.loop, let mux = context.mux(for: loop) else { return fanOutVideo(byQuality) }
        mux.batch { fanOutVideo(byQuality) }
    }

    private func fanOutVideo(_ byQuality: [[[UInt8]]]) {
        guard byQuality.count > 1 else {
            var packets = byQuality.first ?? []
            for i in packets.indices {
                packets[i].withUnsafeMutableBytes { buf in
                    guard let header = try? RTPHeader.parse(UnsafeRawBufferPointer(buf)) else { return }
                    for port in ports { port.forward(buf, header: header, kind: .video, ext: noExtensions) }
                }
            }
            return
        }
        fanOutQualities(byQuality)
    }

    // MARK: Several qualities (mixer.qualities)

    /// The composite's qualities seen as simulcast layers (docs/mixer.md,
    /// "Several qualities"): sizes from their keyframes, bitrates measured,
    /// and each viewer's quality chosen from its bandwidth estimate exactly
    /// as for a simulcast publisher's layers.
    private var qualities: SimulcastIngress?
    private var lastQualityChoice: Duration = .zero
    private var lastQualityKeyframeRequest: [Int: Duration] = [:]

    private func fanOutQualities(_ byQuality: [[[UInt8]]]) {
        let t = loop.clock.now
        typealias Parsed = (header: RTPHeader, keyframe: (width: Int, height: Int)?)
        var parsed: [[Parsed?]] = []
        var ssrcs: [UInt32] = []
        for packets in byQuality {
            let list = packets.map { p in
                p.withUnsafeBytes { raw -> Parsed? in
                    guard let header = try? RTPHeader.parse(raw) else { return nil }
                    return (header, vp8Descriptor(raw, header: header)?.keyframe)
                }
            }
            ssrcs.append(list.compactMap { $0 }.first?.header.ssrc ?? 0)
            parsed.append(list)
        }
        if qualities == nil || qualities!.layers.count != byQuality.count {
            // The first frame in every quality (each starts with a keyframe) sets up the table.
            guard !ssrcs.contains(0) else { return }
            qualities = SimulcastIngress(ssrcs: ssrcs, rtxPairs: [:])
        }
        for (q, list) in parsed.enumerated() {
            for (i, info) in list.enumerated() {
                guard let info else { continue }
                qualities!.received(layer: q, bytes: byQuality[q][i].count, keyframe: info.keyframe, at: t)
            }
        }
        qualities!.measure(at: t)
        let unplaced = ports.contains { $0.consumersOf(.video).contains { $0.layerSelection.target == nil } }
        if unplaced || t - lastQualityChoice >= RtpSession.layerChoiceInterval {
            lastQualityChoice = t
            chooseQualities(at: t)
        }
        var all = byQuality
        for q in all.indices {
            for i in all[q].indices {
                guard let info = parsed[q][i] else { continue }
                all[q][i].withUnsafeMutableBytes { buf in
                    for port in ports {
                        port.forward(buf, header: info.header, ext: noExtensions, layer: q, keyframeStart: info.keyframe != nil)
                    }
                }
            }
        }
    }

    /// Each viewer's quality: the best its estimate allows (the main one for
    /// a consumer without an estimate, such as a recorder), placed as a
    /// simulcast publisher places its viewers; a keyframe of a quality a
    /// viewer moves to, asked again if it has not come in 700 ms.
    private func chooseQualities(at t: Duration) {
        guard let ingress = qualities else { return }
        let (moved, waiting) = ingress.place(ports.flatMap { $0.consumersOf(.video) }, at: t, logger: context.logger)
        for q in moved.union(waiting) where lastQualityKeyframeRequest[q].map({ t - $0 >= RtpSession.keyframeRetry }) ?? true {
            lastQualityKeyframeRequest[q] = t
            onEngine { $0.requestKeyframe(quality: q) }
        }
    }

    package func requestKeyframeFromInput(_ id: Int) {
        portsByID[id]?.requestKeyframeFromInput()
    }

    /// Tiles in the order of `order` (hub port object ids), drawn as `layout`.
    package func setLayout(_ layout: LayoutKind, order: [String]) {
        let byObject = Dictionary(portsByID.map { ($0.value.objectID, $0.key) }, uniquingKeysWith: { a, _ in a })
        let ids = order.compactMap { byObject[$0] }
        onEngine { $0.setLayout(layout, order: ids) }
    }

    /// Receiver-side mute: the listener port (object id) stops hearing `excluded` ports.
    package func setExclusions(listener: String, excluded: [String]) {
        let byObject = Dictionary(portsByID.map { ($0.value.objectID, $0.key) }, uniquingKeysWith: { a, _ in a })
        guard let id = byObject[listener] else { return }
        let ids = Set(excluded.compactMap { byObject[$0] })
        onEngine { $0.setExcluded(ids, forListener: id) }
    }

    /// The mix's speakers changed: raised as `SpeakersChanged` with hub port object ids.
    package func speakersChanged(speaking: [Int], dominant: Int?, levels: [Int: Double]) {
        func name(_ id: Int) -> String? { portsByID[id]?.objectID }
        var levelsByPort: [String: Double] = [:]
        for (id, level) in levels { if let n = name(id) { levelsByPort[n] = (level * 10).rounded() / 10 } }
        context.raise(.speakers(speaking: speaking.compactMap(name), dominant: dominant.flatMap(name), levels: levelsByPort), on: objectID)
    }

    /// Runs `work` on the mixer thread with the engine, unless it was shut down.
    private func onEngine(_ work: @escaping @Sendable (CompositeEngine) -> Void) {
        guard let engine else { return }
        engineLoop.post { work(engine.value) }
    }

    /// The Composite is released: the engine stops its clocks, and this
    /// node's reference is handed over to the mixer thread, so the engine
    /// is freed there, on its own loop.
    package func shutDown() {
        guard let engine else { return }
        let last = Handover(engine.value)
        self.engine = nil
        engineLoop.post { last.take().close() }
    }
}

/// The mixing work of one Composite, on its mixer worker thread: the audio
/// mix-minus every 20 ms and the video grid every 1/fps, each on an absolute
/// schedule (a late tick does not push the following ones back).
package final class CompositeEngine {
    package let loop: MediaLoop
    private let mediaLoop: MediaLoop
    private let audio: AudioMixer
    private let video: VideoCompositor
    private let fps: Int64
    private var videoStart: Int64 = 0
    private var videoFrames: Int64 = 0
    /// The hub node, by id on `mediaLoop` (set once it exists).
    package var hub: NodeRef?
    private var portCount = 0
    private var audioTimer: LoopTimer?
    private var videoTimer: LoopTimer?
    private var nextAudio: Int64 = 0
    private var nextVideo: Int64 = 0
    private var closed = false
    private let epoch: Duration

    /// Tick timings for /metrics.
    private let metrics: MediaMetrics?

    package init(
        loop: MediaLoop, mediaLoop: MediaLoop, audio: AudioMixerConfiguration, video: VideoCompositorConfiguration,
        metrics: MediaMetrics? = nil
    ) throws {
        self.metrics = metrics
        self.loop = loop
        epoch = loop.clock.now
        self.mediaLoop = mediaLoop
        self.audio = try AudioMixer(configuration: audio)
        self.video = try VideoCompositor(configuration: video)
        fps = Int64(max(1, video.fps))
    }

    private var nowMillis: Int64 {
        let d = loop.clock.now - epoch
        return d.components.seconds * 1000 + d.components.attoseconds / 1_000_000_000_000_000
    }

    package func addPort(_ id: Int) {
        guard !closed else { return }
        audio.addPort(id)
        portCount += 1
        if portCount == 1 { startClocks() }
    }

    package func removePort(_ id: Int) {
        audio.removePort(id)
        video.removePort(id)
        portCount -= 1
        if portCount <= 0 { stopClocks() }
    }

    package func setTile(_ id: Int, present: Bool) {
        guard !closed else { return }
        if present { video.addPort(id) } else { video.removePort(id) }
    }

    /// What the hub node queued for this engine (Sendable: shared with the media loop).
    package let inbox = PacketInbox()

    /// Everything the hub queued since the last drain, in arrival order.
    private func drain() {
        let batch = inbox.take()
        if !closed {
            batch.bytes.withUnsafeBytes { all in
                for e in batch.entries {
                    let packet = UnsafeRawBufferPointer(rebasing: all[e.start..<(e.start + e.count)])
                    // Jitter buffers see when the packet arrived, not when this tick took it
                    // (the media loops' clocks and this one are the same monotonic clock).
                    let arrived = (e.arrival - epoch) / .milliseconds(1)
                    let now = Int64(arrived.rounded(.down))
                    if e.video { pushVideo(e.port, packet, now: now) } else { audio.push(port: e.port, packet: packet, audioLevelID: e.audioLevelID, nowMillis: now) }
                }
            }
        }
        inbox.recycle(batch)
    }

    private func pushVideo(_ id: Int, _ packet: UnsafeRawBufferPointer, now: Int64) {
        let needsKeyframe = video.push(port: id, packet: packet, nowMillis: now)
        if needsKeyframe, let hub {
            hub.post { ($0 as? CompositeHubNode)?.requestKeyframeFromInput(id) }
        }
    }

    package func requestKeyframe(forNewViewer: Bool = false) {
        video.requestKeyframe(forNewViewer: forNewViewer)
    }

    package func requestKeyframe(quality: Int) {
        video.requestKeyframe(quality: quality)
    }

    /// Whether any port's output goes anywhere as video.
    private var videoWanted = false

    package func setVideoWanted(_ wanted: Bool) {
        videoWanted = wanted
        if wanted { video.requestKeyframe() }
    }

    package func setLayout(_ layout: LayoutKind, order: [Int]) {
        video.layout = layout
        video.setOrder(order)
    }

    package func setExcluded(_ excluded: Set<Int>, forListener id: Int) {
        audio.setExcluded(excluded, forListener: id)
    }

    private var reportedSpeaking: [Int] = []
    private var reportedDominant: Int?

    /// Tells the media loop when who speaks, or who dominates, changed.
    private func reportSpeakers() {
        let speaking = audio.portIDs.filter { audio.isSpeaking($0) }.sorted()
        let dominant = audio.dominantSpeaker
        guard speaking != reportedSpeaking || dominant != reportedDominant, let hub else { return }
        reportedSpeaking = speaking
        reportedDominant = dominant
        var levels: [Int: Double] = [:]
        for id in audio.portIDs { levels[id] = audio.level(of: id) }
        let report = levels
        hub.post { ($0 as? CompositeHubNode)?.speakersChanged(speaking: speaking, dominant: dominant, levels: report) }
    }

    package func close() {
        closed = true
        stopClocks()
        hub = nil
    }

    // MARK: Clocks

    private func startClocks() {
        let now = nowMillis
        nextAudio = now + 20
        videoStart = now
        videoFrames = 1
        nextVideo = now + 1000 / fps
        scheduleAudio()
        scheduleVideo()
    }

    private func stopClocks() {
        audioTimer?.cancel()
        audioTimer = nil
        videoTimer?.cancel()
        videoTimer = nil
    }

    private func scheduleAudio() {
        audioTimer = LoopTimer(loop: loop, after: .milliseconds(max(0, nextAudio - nowMillis))) { [unowned self] in
            self.audioTick()
        }
    }

    private func scheduleVideo() {
        videoTimer = LoopTimer(loop: loop, after: .milliseconds(max(0, nextVideo - nowMillis))) { [unowned self] in
            self.videoTick()
        }
    }

    private func audioTick() {
        guard !closed, portCount > 0 else { return }
        let started = ContinuousClock.now
        drain()
        let now = nowMillis
        let tick = audio.tick(nowMillis: now)
        // Late: it started more than half a period after it was due.
        metrics?.mixerTick(kind: 0, took: ContinuousClock.now - started, encoding: audio.lastEncodeTime, late: now - nextAudio > 10)
        video.highlighted = audio.dominantSpeaker
        reportSpeakers()
        if let hub {
            let out = LoopBound(tick)
            hub.post { ($0 as? CompositeHubNode)?.deliverAudio(out.value) }
        }
        nextAudio += 20
        // Far behind (a stall): start the schedule again from now.
        if nextAudio < now - 200 { nextAudio = now + 20 }
        scheduleAudio()
    }

    private func videoTick() {
        guard !closed, portCount > 0 else { return }
        let started = ContinuousClock.now
        drain()
        let now = nowMillis
        let packets = videoWanted ? video.tickAll(nowMillis: now) : []
        if videoWanted {
            metrics?.mixerTick(kind: 1, took: ContinuousClock.now - started, encoding: video.lastEncodeTime + video.lastExtraEncodeTime,
                               late: now - nextVideo > 500 / fps)
        }
        if let hub, packets.contains(where: { !$0.isEmpty }) {
            hub.post { ($0 as? CompositeHubNode)?.deliverVideo(packets) }
        }
        // Frame n is due at start + n/fps: no drift from rounding 1000/fps.
        videoFrames += 1
        nextVideo = videoStart + videoFrames * 1000 / fps
        if nextVideo < now - 500 {
            videoStart = now
            videoFrames = 1
            nextVideo = now + 1000 / fps
        }
        scheduleVideo()
    }
}
