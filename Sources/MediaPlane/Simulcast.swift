package import RTP

/// The quality a viewer asks for among a publisher's simulcast layers
/// (room extension `simulcast`, WebRtcEndpoint `setReceiveQuality`). `auto`
/// takes the best layer the viewer's bandwidth allows; the others are
/// ceilings that bandwidth may still lower.
package enum SimulcastQuality: String, CaseIterable, Sendable {
    case low, medium, high, auto
}

/// Which simulcast layer one consumer forwards, kept on the consumer (a
/// node has at most one video source). The source picks `target`; the
/// consumer moves `current` to it only at a keyframe of the target layer, so
/// whatever it forwards stays decodable. Layers are indices into the source's
/// layer table.
package struct LayerSelection: Sendable {
    package var preferred: SimulcastQuality = .auto
    package private(set) var current: Int?
    package private(set) var target: Int?
    /// Layer switches done (for stats and tests).
    package private(set) var switches = 0
    /// After bandwidth pushed this consumer down, it may not try a higher
    /// layer before this time; each push doubles the wait (8 s to 64 s).
    package var upBlockedUntil: Duration = .zero
    package var upBackoff: Duration = LayerSelection.firstBackoff
    /// When bandwidth last let this consumer move up a layer, and its estimate then.
    package var lastUp: Duration?
    package var estimateAtUp: UInt64?
    package static let firstBackoff: Duration = .seconds(8)
    /// A fall this soon after a move up counts as that try failing.
    package static let failedTryWithin: Duration = .seconds(10)

    /// VP8 temporal layers (RFC 7741 §4.2, TID): the highest this consumer
    /// should get, and the highest it gets now. Lowered at the next frame
    /// start, raised only where the decoder can follow: a layer sync frame
    /// (Y bit) or a keyframe. `allTemporal`: no cap.
    package var temporalTarget: UInt8 = LayerSelection.allTemporal
    package private(set) var temporalCurrent: UInt8 = LayerSelection.allTemporal
    package static let allTemporal: UInt8 = 3

    package init() {}

    /// What a consumer does with one packet.
    package enum Admission: Equatable {
        /// Forward it.
        case forward
        /// Of the current layer but above the temporal cap: dropped, and the
        /// consumer's sequence numbers (and PictureIDs) must close the gap.
        case dropTemporal
        /// Not for this consumer (another layer).
        case skip
    }

    /// A packet's temporal information (VP8 descriptor T, Y; S with partition 0 for a frame start).
    package struct Temporal: Equatable {
        package var layer: UInt8
        package var sync: Bool
        package var frameStart: Bool
        package init(layer: UInt8, sync: Bool, frameStart: Bool) {
            self.layer = layer
            self.sync = sync
            self.frameStart = frameStart
        }
    }

    /// Whether a packet of `layer` goes to this consumer; a keyframe start
    /// of the target layer switches to it.
    package mutating func admit(layer: Int, keyframeStart: Bool) -> Bool {
        admit(layer: layer, keyframeStart: keyframeStart, temporal: nil) == .forward
    }

    /// `admit` with the temporal cap applied to packets that carry a TID.
    package mutating func admit(layer: Int, keyframeStart: Bool, temporal: Temporal?) -> Admission {
        if layer != current {
            guard layer == target, keyframeStart else { return .skip }
            if current != nil { switches += 1 }
            current = layer
            temporalCurrent = temporalTarget  // a keyframe: every temporal layer can start here
            return .forward
        }
        guard let temporal else { return .forward }
        if keyframeStart {
            temporalCurrent = temporalTarget
        } else if temporal.frameStart {
            if temporalTarget < temporalCurrent {
                temporalCurrent = temporalTarget
            } else if temporalTarget > temporalCurrent, temporal.sync, temporal.layer > temporalCurrent, temporal.layer <= temporalTarget {
                temporalCurrent = temporal.layer
            }
        }
        return temporal.layer <= temporalCurrent ? .forward : .dropTemporal
    }

    /// Sets the layer to move to; returns true when that needs a keyframe
    /// of the new target (it is not what is forwarded now).
    package mutating func retarget(_ layer: Int?) -> Bool {
        guard layer != target else { return false }
        target = layer
        return layer != nil && layer != current
    }

    /// Stops forwarding the current layer before the target's keyframe.
    package mutating func abandonCurrent() {
        if current != nil { switches += 1 }
        current = nil
    }

    /// The source changed or went away: start over.
    package mutating func reset() {
        current = nil
        target = nil
    }
}

/// One simulcast layer a publisher sends, as its receiving endpoint sees it.
package struct IncomingLayer {
    /// Its rid (RFC 8851), or nil for SSRC-group simulcast.
    package var rid: String?
    package var ssrc: UInt32?
    /// Its RTX stream (RFC 4588), once known.
    package var rtxSSRC: UInt32?
    /// Picture size from its last keyframe (RFC 6386 §9.1), 0 until one came.
    package var width = 0
    package var height = 0
    package var stats: ReceiveStatistics?
    package var nack = NACKGenerator()
    /// Bits per second over the last measuring window.
    package var bitrate: UInt64 = 0
    package var bytesInWindow = 0
    package var lastPacket: Duration?
    package var lastKeyframeRequest: Duration?
    package var keyframes: UInt64 = 0
    package var bytes: UInt64 = 0
    /// Temporal layers seen (highest TID + 1; 0 when its packets carry none),
    /// and each one's own bitrate (smoothed as `bitrate`).
    package var temporalLayers = 0
    package var temporalBitrate: [UInt64] = [0, 0, 0, 0]
    package var temporalBytesInWindow: [Int] = [0, 0, 0, 0]

    /// Bits per second of temporal layers 0...k together.
    package func bitrate(upToTemporal k: Int) -> UInt64 {
        temporalBitrate.prefix(k + 1).reduce(0, +)
    }

    package init(rid: String? = nil, ssrc: UInt32? = nil) {
        self.rid = rid
        self.ssrc = ssrc
    }
}

/// The simulcast layers of the video a WebRTC publisher sends us: which
/// packet belongs to which layer (SSRC, else the rid header extension of
/// RFC 8852, which browsers send until the stream is acknowledged), how big
/// and how fast each layer is, and which are still coming (a browser stops
/// sending its upper layers when its bandwidth falls).
package struct SimulcastIngress {
    package var layers: [IncomingLayer]
    /// Header extension ids of rtp-stream-id and repaired-rtp-stream-id in the publisher's packets.
    package var ridExtension: UInt8?
    package var repairedRidExtension: UInt8?
    private var layerBySSRC: [UInt32: Int] = [:]
    private var layerByRTXSSRC: [UInt32: Int] = [:]
    /// Layer indices from the smallest picture to the largest.
    package private(set) var ranked: [Int]
    private var windowStart: Duration = .zero
    /// When consumers' layers were last chosen (RtpSession+Simulcast).
    package var lastLayerChoice: Duration = .zero

    /// A layer that sent nothing for this long counts as stopped.
    package static let inactiveAfter: Duration = .milliseconds(1_000)
    /// A layer is taken only when its bitrate fits in this share of the viewer's estimate.
    package static let headroom = 0.85

    /// Layers named by rid, in the order the offer listed them.
    package init(rids: [String], ridExtension: UInt8?, repairedRidExtension: UInt8?) {
        layers = rids.map { IncomingLayer(rid: $0) }
        self.ridExtension = ridExtension
        self.repairedRidExtension = repairedRidExtension
        ranked = Array(layers.indices)
    }

    /// Layers named by an `ssrc-group:SIM` (lowest first), with their RTX SSRCs from FID groups.
    package init(ssrcs: [UInt32], rtxPairs: [UInt32: UInt32]) {
        layers = ssrcs.map { IncomingLayer(ssrc: $0) }
        ranked = Array(layers.indices)
        for (i, s) in ssrcs.enumerated() { layerBySSRC[s] = i }
        for (rtx, media) in rtxPairs { if let i = layerBySSRC[media] { layerByRTXSSRC[rtx] = i; layers[i].rtxSSRC = rtx } }
    }

    /// The layer of a media packet, learning its SSRC from the rid extension
    /// the first time; nil for a packet of no known layer.
    package mutating func layer(of header: RTPHeader, in packet: UnsafeRawBufferPointer) -> Int? {
        if let i = layerBySSRC[header.ssrc] { return i }
        guard let i = ridLayer(header, packet, extensionID: ridExtension) else { return nil }
        if let old = layers[i].ssrc { layerBySSRC[old] = nil }
        layers[i].ssrc = header.ssrc
        layerBySSRC[header.ssrc] = i
        return i
    }

    /// The layer an RTX packet repairs (by its SSRC, else its repaired-rid extension).
    package mutating func layer(ofRTX header: RTPHeader, in packet: UnsafeRawBufferPointer) -> Int? {
        if let i = layerByRTXSSRC[header.ssrc] { return i }
        guard let i = ridLayer(header, packet, extensionID: repairedRidExtension) else { return nil }
        layers[i].rtxSSRC = header.ssrc
        layerByRTXSSRC[header.ssrc] = i
        return i
    }

    private func ridLayer(_ header: RTPHeader, _ packet: UnsafeRawBufferPointer, extensionID: UInt8?) -> Int? {
        guard header.hasExtension, let id = extensionID, let e = header.extensionElement(id: id, in: packet), e.length > 0 else { return nil }
        let value = UnsafeRawBufferPointer(rebasing: packet[e.offset..<(e.offset + e.length)])
        return layers.firstIndex { layer in
            guard let rid = layer.rid else { return false }
            return rid.utf8.count == value.count && zip(rid.utf8, value).allSatisfy { $0 == $1 }
        }
    }

    /// The layer whose media SSRC this is.
    package func layer(ofSSRC ssrc: UInt32) -> Int? { layerBySSRC[ssrc] }

    /// Counts a packet of layer `i`; a keyframe start tells the picture size.
    package mutating func received(layer i: Int, bytes: Int, keyframe: (width: Int, height: Int)?, temporal: UInt8? = nil, at t: Duration) {
        layers[i].lastPacket = t
        layers[i].bytesInWindow += bytes
        layers[i].bytes &+= UInt64(bytes)
        if let tid = temporal.map({ Int($0 & 3) }) {
            layers[i].temporalBytesInWindow[tid] += bytes
            if tid + 1 > layers[i].temporalLayers { layers[i].temporalLayers = tid + 1 }
        }
        if let keyframe {
            layers[i].keyframes += 1
            if keyframe.width > 0, keyframe.width != layers[i].width {
                layers[i].width = keyframe.width
                layers[i].height = keyframe.height
                rank()
            }
        }
    }

    /// Closes the bitrate window when it is `window` old (called from the session's tick).
    package mutating func measure(at t: Duration, window: Duration = .milliseconds(500)) {
        guard windowStart != .zero else {
            // The first call opens the first window: bytes counted before it have no start time.
            windowStart = t
            for i in layers.indices {
                layers[i].bytesInWindow = 0
                layers[i].temporalBytesInWindow = [0, 0, 0, 0]
            }
            return
        }
        let elapsed = t - windowStart
        guard elapsed >= window, elapsed > .zero else { return }
        let seconds = elapsed / .seconds(1)
        // Smoothed, so that one keyframe does not make a layer look twice as expensive.
        func smoothed(_ old: UInt64, _ bytes: Int) -> UInt64 {
            let now = UInt64(Double(bytes * 8) / seconds)
            return old == 0 ? now : (old * 2 + now) / 3
        }
        for i in layers.indices {
            layers[i].bitrate = smoothed(layers[i].bitrate, layers[i].bytesInWindow)
            layers[i].bytesInWindow = 0
            for k in 0..<4 {
                layers[i].temporalBitrate[k] = smoothed(layers[i].temporalBitrate[k], layers[i].temporalBytesInWindow[k])
                layers[i].temporalBytesInWindow[k] = 0
            }
            if !isActive(i, at: t) { layers[i].bitrate = 0 }
        }
        windowStart = t
        if layers.contains(where: { $0.width == 0 }) { rank() }
    }

    package func isActive(_ i: Int, at t: Duration) -> Bool {
        guard let last = layers[i].lastPacket else { return false }
        return t - last < Self.inactiveAfter
    }

    /// Smallest picture first; layers without a keyframe yet sort by bitrate
    /// (a browser's lower layers are the cheaper ones), then by offer order.
    private mutating func rank() {
        ranked = layers.indices.sorted { a, b in
            let la = layers[a], lb = layers[b]
            if la.width > 0, lb.width > 0, la.width != lb.width { return la.width < lb.width }
            if (la.width == 0 || lb.width == 0), la.bitrate != lb.bitrate, la.bitrate > 0, lb.bitrate > 0 { return la.bitrate < lb.bitrate }
            return a < b
        }
    }

    /// The layer a viewer should get: its preferred quality among the
    /// active layers, lowered while that layer's bitrate does not fit the
    /// viewer's estimate (`estimate` nil: no limit). `current` gets a
    /// margin so that a viewer does not flap between two layers. Nil while
    /// no layer is active.
    package func choose(preferred: SimulcastQuality, estimate: UInt64?, current: Int?, at t: Duration) -> Int? {
        let active = ranked.filter { isActive($0, at: t) }
        guard !active.isEmpty else { return nil }
        var rank: Int
        switch preferred {
        case .low: rank = 0
        case .medium: rank = min(1, active.count - 1)
        case .high, .auto: rank = active.count - 1
        }
        if let estimate {
            while rank > 0 {
                let layer = active[rank]
                // Staying needs the layer to fit; moving up needs headroom too.
                let budget = layer == current ? Double(estimate) : Double(estimate) * Self.headroom
                // A layer not measured yet (it has just started) is not taken on trust.
                if layers[layer].bitrate > 0, Double(layers[layer].bitrate) <= budget { break }
                rank -= 1
            }
        }
        return active[rank]
    }

    /// `choose`, and the consumer's back-off: a consumer that bandwidth
    /// pushed down waits before it tries a higher layer again (each try on a
    /// link too slow for it costs loss), and moves up one layer at a time.
    package func choose(for selection: inout LayerSelection, estimate: UInt64?, at t: Duration) -> Int? {
        guard var layer = choose(preferred: selection.preferred, estimate: estimate, current: selection.current, at: t) else { return nil }
        guard let current = selection.current, isActive(current, at: t),
            let from = ranked.firstIndex(of: current), var to = ranked.firstIndex(of: layer)
        else { return layer }
        let bandwidthLimited = estimate != nil && choose(preferred: selection.preferred, estimate: nil, current: current, at: t) != layer
        if to < from, bandwidthLimited {
            // Down because the estimate fell since the last move up (not
            // because the layer grew dearer, as a browser's layers do while
            // its own estimate climbs): the link is full. Stop sending the
            // layer that overfills it now, rather than until the lower
            // layer's keyframe comes, and wait before trying again. A fall
            // soon after a move up is a failed try: the next one waits twice
            // as long. A fall later on is the link changing: start over.
            let fell = selection.estimateAtUp.map { estimate! < $0 } ?? true
            if fell {
                selection.abandonCurrent()
                if let up = selection.lastUp, t - up >= LayerSelection.failedTryWithin { selection.upBackoff = LayerSelection.firstBackoff }
                selection.upBlockedUntil = t + selection.upBackoff
                selection.upBackoff = min(selection.upBackoff * 2, .seconds(64))
            }
        } else if to > from, let estimate {
            if t < selection.upBlockedUntil { return current }
            to = from + 1
            layer = ranked[to]
            selection.lastUp = t
            selection.estimateAtUp = estimate
        }
        return layer
    }

    /// The temporal cap for a consumer on `layer`: below the lowest spatial
    /// layer, bandwidth is saved by dropping temporal layers (frame rate)
    /// instead: the most temporal layers whose bitrate fits the estimate
    /// (with headroom to raise it), at least the base layer. No cap on
    /// higher spatial layers (a lower spatial layer is the better saving),
    /// without an estimate, or when the layer carries no TIDs.
    package func temporalCap(layer: Int, estimate: UInt64?, current: UInt8, at t: Duration) -> UInt8 {
        let l = layers[layer]
        guard let estimate, l.temporalLayers > 1, ranked.first(where: { isActive($0, at: t) }) == layer else { return LayerSelection.allTemporal }
        if Double(l.bitrate) <= Double(estimate) * (current >= LayerSelection.allTemporal ? 1 : Self.headroom) {
            return LayerSelection.allTemporal
        }
        var k = l.temporalLayers - 2
        while k > 0 {
            let budget = UInt8(k) <= current ? Double(estimate) : Double(estimate) * Self.headroom
            if Double(l.bitrate(upToTemporal: k)) <= budget { break }
            k -= 1
        }
        return UInt8(k)
    }

    /// Every SSRC of the layers, for REMB and reports.
    package var ssrcs: [UInt32] { layers.compactMap(\.ssrc) }
}

/// The picture size in a VP8 keyframe's first bytes (RFC 6386 §9.1: a 3-byte
/// frame tag, the start code 9d 01 2a, then 14-bit width and height, little endian).
package func vp8KeyframeSize(_ payload: UnsafeRawBufferPointer) -> (width: Int, height: Int)? {
    guard payload.count >= 10, payload[0] & 0x01 == 0, payload[3] == 0x9D, payload[4] == 0x01, payload[5] == 0x2A else { return nil }
    let width = Int(payload[6]) | Int(payload[7] & 0x3F) << 8
    let height = Int(payload[8]) | Int(payload[9] & 0x3F) << 8
    return (width, height)
}

/// A VP8 packet's payload descriptor (RFC 7741 §4.2), and its picture size when
/// it starts a keyframe ((0, 0) when the frame header cannot be read); nil when
/// the payload is no VP8 descriptor.
package func vp8Descriptor(_ packet: UnsafeRawBufferPointer, header: RTPHeader)
    -> (descriptor: VP8PayloadDescriptor, keyframe: (width: Int, height: Int)?)?
{
    guard header.payloadLength > 0,
        let d = try? VP8PayloadDescriptor.parse(
            packet.assumingMemoryBound(to: UInt8.self).span, payloadOffset: header.payloadOffset, payloadLength: header.payloadLength)
    else { return nil }
    guard d.isKeyframeStart else { return (d, nil) }
    let end = header.payloadOffset + header.payloadLength
    return (d, vp8KeyframeSize(UnsafeRawBufferPointer(rebasing: packet[d.payloadHeaderOffset..<end])) ?? (0, 0))
}

/// A viewer's available bandwidth as far as its feedback tells (the loss-based
/// half of Google's congestion control, draft-ietf-rmcat-gcc-02 §6, plus the
/// viewer's own REMB when it falls well below what we send). A new viewer
/// starts at `initial`; clean reports raise it by time, not by report count
/// (a browser's NACKs and REMBs carry receiver reports too): +50 % a second
/// until the first loss (a slow start, a few seconds to the top layer), then
/// GCC's +8 % a second, and +50 % again after 5 s without loss. It stays between `floor` and `ceiling`. A consumer
/// that sends no feedback at all (a bare RTP receiver) has no estimate.
package struct ViewerBandwidth: Sendable {
    package static let initial: UInt64 = 300_000
    package static let floor: UInt64 = 50_000
    package static let ceiling: UInt64 = 20_000_000
    /// What the estimate grows by in a second of clean reports.
    package static let slowStartGrowth = 0.5
    package static let growth = 0.08
    /// Clean reports for this long after the last loss: the bottleneck may
    /// have gone, and growth is back to the slow start's (GCC's 8 % a second
    /// would take 25 s from 300 kbit/s to a 1.5 Mbit/s layer). A viewer on a
    /// slow link is kept from trying too often by its layer back-off.
    package static let slowStartAgainAfter: Duration = .seconds(5)
    /// The most loss NACKs alone may stand for.
    package static let maxNACKLoss = 0.5
    /// Sending this long without any feedback means none will come.
    package static let noFeedbackAfter: Duration = .seconds(3)

    private var value = ViewerBandwidth.initial
    /// When the viewer last lost 2 % or more.
    private var lastLoss: Duration?
    private var feedback = false
    private var sendingSince: Duration?
    private var lastBytes: UInt64 = 0
    private var lastReport: Duration?
    /// What we sent this viewer between its last two reports, in bit/s.
    package private(set) var sendRate: UInt64 = 0

    package init() {}

    /// Bits per second the viewer can take; nil when it sends no feedback to tell.
    package var estimate: UInt64? {
        guard !feedback, let since = sendingSince, let t = lastTick, t - since >= Self.noFeedbackAfter else { return value }
        return nil
    }
    private var lastTick: Duration?

    private mutating func lower(to bitrate: Double) {
        value = max(Self.floor, min(value, UInt64(max(0, bitrate))))
    }

    /// A receiver report about our video: `fractionLost` (0...1) since its
    /// previous one; `bytesSent` is our video byte count now.
    package mutating func report(fractionLost: Double, bytesSent: UInt64, at t: Duration) {
        feedback = true
        var elapsed: Duration = .zero
        if let last = lastReport {
            elapsed = t - last
            if elapsed >= .milliseconds(200) {
                sendRate = UInt64(Double((bytesSent &- lastBytes) * 8) / (elapsed / .seconds(1)))
            }
        }
        lastReport = t
        lastBytes = bytesSent
        guard sendRate > 0 else { return }
        apply(loss: fractionLost, rate: sendRate, at: t)
        if fractionLost < 0.02, usage == .normal {
            // A share of the second's growth for the time since the last report, at most a second's.
            let seconds = min(1, max(0, elapsed / .seconds(1)))
            let slowStart = lastLoss.map { t - $0 >= Self.slowStartAgainAfter } ?? true
            let factor = 1 + (slowStart ? Self.slowStartGrowth : Self.growth) * seconds
            value = min(Self.ceiling, UInt64(Double(value) * factor) + UInt64(1000 * seconds))
        }
    }

    /// GCC's decrease on loss above 10 %, but never above what got through
    /// when much was lost: a full bottleneck drops everything beyond its
    /// rate, and several halvings would leave the viewer frozen meanwhile.
    private mutating func apply(loss: Double, rate: UInt64, at t: Duration) {
        if loss >= 0.02 { lastLoss = t }
        guard loss > 0.10 else { return }
        let gcc = Double(rate) * (1 - 0.5 * loss)
        let goodput = Double(rate) * (1 - loss)
        lower(to: loss > 0.25 ? goodput : gcc)
    }

    /// Sequence numbers the viewer NACKed: loss seen at once, a report
    /// interval before its receiver report says so.
    package mutating func nacked(_ count: Int) {
        feedback = true
        windowNacked += count
    }

    /// From the session's tick: every half second, the share of the packets
    /// we sent that the viewer NACKed (a packet NACKed twice counts twice,
    /// so it errs towards seeing loss) is taken as loss.
    package mutating func tick(packetsSent: UInt64, bytesSent: UInt64, at t: Duration) {
        lastTick = t
        if sendingSince == nil, packetsSent > 0 { sendingSince = t }
        guard let start = windowStart else {
            (windowStart, windowPackets, windowBytes) = (t, packetsSent, bytesSent)
            return
        }
        guard t - start >= .milliseconds(500) else { return }
        let packets = packetsSent &- windowPackets
        if packets >= 10, windowNacked > 0 {
            let rate = UInt64(Double((bytesSent &- windowBytes) * 8) / ((t - start) / .seconds(1)))
            // At most half: a packet NACKed several times counts each time, and
            // "everything lost" would throw the estimate to the floor.
            apply(loss: min(Self.maxNACKLoss, Double(windowNacked) / Double(packets)), rate: rate, at: t)
        }
        (windowStart, windowPackets, windowBytes, windowNacked) = (t, packetsSent, bytesSent, 0)
    }
    private var windowStart: Duration?
    private var windowPackets: UInt64 = 0
    private var windowBytes: UInt64 = 0
    private var windowNacked = 0

    /// Transport-wide feedback read by the delay-based detector (`SendSideEstimator`).
    /// Overuse (the queue towards the viewer grows) lowers the estimate to 85 %
    /// of what the viewer acknowledged over the last half second, at most every
    /// 300 ms, and counts as a loss for the growth that follows; while the
    /// detector reads anything but normal the estimate does not grow. The loss
    /// the feedback shows is taken as a receiver report's would be, at once.
    package mutating func transportFeedback(_ reading: SendSideEstimator.Reading, at t: Duration) {
        feedback = true
        usage = reading.usage
        let total = reading.lost + reading.received
        if total >= 10, let rate = reading.ackedBitrate.map({ Double($0) / max(0.01, 1 - Double(reading.lost) / Double(total)) }) {
            apply(loss: Double(reading.lost) / Double(total), rate: UInt64(rate), at: t)
        }
        guard reading.usage == .overusing, let acked = reading.ackedBitrate,
            lastDelayDecrease.map({ t - $0 >= Self.delayDecreaseInterval }) ?? true
        else { return }
        lastDelayDecrease = t
        lastLoss = t
        delayDecreases &+= 1
        lower(to: Double(acked) * Self.delayBackOff)
    }
    /// GCC's decrease on overuse: to this share of the acknowledged rate.
    package static let delayBackOff = 0.85
    package static let delayDecreaseInterval: Duration = .milliseconds(300)
    private var usage: SendSideEstimator.Usage = .normal
    private var lastDelayDecrease: Duration?
    /// Decreases the delay-based detector caused (for getStats).
    package private(set) var delayDecreases: UInt64 = 0

    /// The viewer's REMB. A receive-side estimate grows slowly behind what
    /// arrives (it is no sign of congestion when we just moved up a layer);
    /// it falls when the viewer's delay detector sees the queue grow. So
    /// only a fall to well below what we send is taken.
    package mutating func remb(_ bitrate: UInt64) {
        feedback = true
        defer { lastREMB = bitrate }
        guard let previous = lastREMB, Double(bitrate) < 0.9 * Double(previous),
            sendRate > 0, Double(bitrate) < 0.75 * Double(sendRate)
        else { return }
        lower(to: Double(bitrate))
    }
    private var lastREMB: UInt64?
}
