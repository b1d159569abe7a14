package import RTP
import Logging

/// Simulcast on the publisher's endpoint (docs/simulcast.md): per-layer
/// receive statistics, NACK and keyframe requests, and the choice of a
/// layer for each consumer of its video, from the quality the consumer asked
/// for and what the consumer's own peer says it can take.
extension RtpSession {
    /// How often consumers' layers are chosen again (bandwidth changes, layers stopping).
    package static let layerChoiceInterval: Duration = .milliseconds(200)

    /// Receive statistics and NACK state of layer `layer`.
    @discardableResult
    package func recordReceived(_ header: RTPHeader, layer: Int) -> Bool {
        let t = now
        guard var l = simulcast?.layers[layer] else { return false }
        let new = Self.noteArrival(header, clockRate: 90000, stats: &l.stats, nack: &l.nack, trackLoss: rtcp.nackEnabled, at: t)
        simulcast?.layers[layer] = l
        return new
    }

    /// From the RTCP tick: NACKs per layer, bitrates, and the consumers' layers.
    package func simulcastTick(at t: Duration) {
        guard var ingress = simulcast else { return }
        var hopeless: [Int] = []
        if rtcp.nackEnabled {
            for i in ingress.layers.indices {
                guard let ssrc = ingress.layers[i].ssrc else { continue }
                sendNACK(ingress.layers[i].nack.poll(now: t), mediaSSRC: ssrc)
                // A gap NACK cannot fill: that layer needs a keyframe.
                if ingress.layers[i].nack.takeKeyframeRequest() { hopeless.append(i) }
            }
        }
        ingress.measure(at: t)
        let due = t - ingress.lastLayerChoice >= Self.layerChoiceInterval
        if due { ingress.lastLayerChoice = t }
        simulcast = ingress
        for i in hopeless { sendLayerPLI(i) }
        if due { chooseLayers(at: t) }
    }

    /// A consumer still waiting for its target layer's keyframe asks again
    /// this long after the last request: the request or the keyframe may
    /// have been lost, or the request fell within another one's 300 ms
    /// limit, and a viewer that decodes its current layer never asks itself.
    package static let keyframeRetry: Duration = .milliseconds(700)

    /// Picks each video consumer's layer; a consumer moving to a layer it
    /// does not have yet needs a keyframe of that layer, asked for until it comes.
    package func chooseLayers(at t: Duration) {
        guard let ingress = simulcast else { return }
        let (moved, waiting) = ingress.place(consumersOf(.video), at: t, logger: logger)
        let overdue = waiting.filter { ingress.layers[$0].lastKeyframeRequest.map { t - $0 >= Self.keyframeRetry } ?? true }
        for layer in moved.union(overdue).sorted() { sendLayerPLI(layer, at: t) }
    }

    /// A consumer asked for a keyframe (a new viewer, a PLI from a viewer):
    /// ask for the layers consumers take now and those they wait to switch to.
    package func requestSimulcastKeyframes(start: Bool = false) {
        guard simulcast != nil else { return }
        var layers = Set<Int>()
        var unplaced = false
        for c in consumersOf(.video) {
            if let l = c.layerSelection.current { layers.insert(l) }
            if let l = c.layerSelection.target { layers.insert(l) } else { unplaced = true }
        }
        // A consumer without a layer yet gets one now (its first keyframe is on its way).
        if unplaced { chooseLayers(at: now) }
        for layer in layers.sorted() { sendLayerPLI(layer, minInterval: Self.pliInterval(start: start)) }
    }

    /// PLI for one layer (RFC 4585 §6.3.1, media SSRC of that layer), at most every `minInterval` each.
    package func sendLayerPLI(_ layer: Int, at t: Duration? = nil, minInterval: Duration = RtpSession.pliInterval(start: false)) {
        guard protection != nil, var ingress = simulcast, let ssrc = ingress.layers[layer].ssrc else { return }
        sendPLI(mediaSSRC: ssrc, last: &ingress.layers[layer].lastKeyframeRequest, at: t ?? now, minInterval: minInterval)
        simulcast = ingress
    }


    /// What this endpoint's peer can take, as a viewer (ViewerBandwidth),
    /// within our bandwidth settings for it; nil while no limit showed.
    /// Kurento's default maxVideoSendBandwidth (500 kbps) is not applied here:
    /// it would keep every viewer off a publisher's top layer; a value the
    /// client set is.
    package var viewerBitrateEstimate: UInt64? {
        let cap: UInt64? = bandwidth.maxSendSet && bandwidth.maxSendKbps > 0 ? UInt64(bandwidth.maxSendKbps) * 1000 : nil
        switch (viewerBandwidth.estimate, cap) {
        case (nil, nil): return nil
        case (let e?, nil): return e
        case (nil, let c?): return c
        case (let e?, let c?): return min(e, c)
        }
    }

    /// The quality this endpoint wants from a simulcast source (Tessera's
    /// WebRtcEndpoint `setReceiveQuality`); applied at once.
    package func setReceiveQuality(_ quality: SimulcastQuality) {
        layerSelection.preferred = quality
        if let publisher = source(of: .video) as? RtpSession, publisher.simulcast != nil {
            publisher.chooseLayers(at: publisher.now)
        }
    }

    /// Report blocks for every layer (RFC 3550 §6.4: one per source we receive).
    package func simulcastReportBlocks(now t: Duration) -> [ReportBlock] {
        guard simulcast != nil else { return [] }
        var blocks: [ReportBlock] = []
        for i in simulcast!.layers.indices where simulcast!.layers[i].stats != nil {
            blocks.append(simulcast!.layers[i].stats!.makeReportBlock(now: t))
        }
        return blocks
    }

    /// getStats: one inbound video stream per layer.
    package func simulcastStreamStats(into stats: inout NodeStats) {
        guard let ingress = simulcast else { return }
        for l in ingress.layers {
            guard let st = l.stats else { continue }
            stats.inbound.append(InboundStreamStats(
                kind: .video, ssrc: st.ssrc, packetsReceived: UInt64(st.packetsReceived), bytesReceived: l.bytes,
                packetsLost: Int64(st.cumulativeLost), fractionLost: Double(st.fractionLostSinceLastReport) / 256,
                jitter: Double(st.jitter) / 90000, plisSent: rtcp.plisSent, nacksSent: rtcp.nacksSent,
                rembSent: rtcp.rembSent, transportFeedbackSent: rtcp.transportFeedbackSent, packetsDuplicated: rtcp.packetsDuplicated,
                rid: l.rid, width: l.width, height: l.height, bitrate: l.bitrate, temporalLayers: l.temporalLayers))
        }
    }
}

extension SimulcastIngress {
    /// Places each consumer on a layer (and under a temporal cap) from the
    /// quality it asked for and its peer's bandwidth estimate: the shared
    /// step of a simulcast publisher's layers and a composite's qualities.
    /// Returns the layers consumers just moved to (their keyframes are needed
    /// now) and those consumers are still waiting on, for the caller to ask
    /// again once its last request is `RtpSession.keyframeRetry` old.
    func place(_ consumers: [MediaNode], at t: Duration, logger: Logger) -> (moved: Set<Int>, waiting: Set<Int>) {
        var moved = Set<Int>(), waiting = Set<Int>()
        for c in consumers {
            let estimate = (c as? RtpSession)?.viewerBitrateEstimate
            let from = c.layerSelection.target
            let layer = choose(for: &c.layerSelection, estimate: estimate, at: t)
            let temporal = layer.map { temporalCap(layer: $0, estimate: estimate, current: c.layerSelection.temporalTarget, at: t) }
                ?? LayerSelection.allTemporal
            if temporal != c.layerSelection.temporalTarget {
                logger.debug("simulcast temporal cap", metadata: [
                    "consumer": "\(c.objectID.suffix(36))", "from": "\(c.layerSelection.temporalTarget)", "to": "\(temporal)",
                    "estimate": "\(estimate.map { "\($0 / 1000)k" } ?? "none")",
                ])
                c.layerSelection.temporalTarget = temporal
            }
            if c.layerSelection.retarget(layer), let layer {
                moved.insert(layer)
            } else if let pending = c.layerSelection.target, pending != c.layerSelection.current {
                waiting.insert(pending)
            }
            if let layer, layer != from {
                logger.debug("simulcast layer", metadata: [
                    "consumer": "\(c.objectID.suffix(36))", "from": "\(from.map(name) ?? "-")", "to": "\(name(layer))",
                    "estimate": "\(estimate.map { "\($0 / 1000)k" } ?? "none")",
                    "upBlocked": "\(max(0, (c.layerSelection.upBlockedUntil - t) / .seconds(1)))s",
                    "layers": "\(ranked.map { "\(name($0)) \(layers[$0].width)x\(layers[$0].height)@\(layers[$0].bitrate / 1000)k" })",
                ])
            }
        }
        return (moved, waiting)
    }

    /// A layer's rid, or its index for SSRC-group simulcast and composite qualities.
    func name(_ layer: Int) -> String { layers[layer].rid ?? "\(layer)" }
}
