import Logging
import Mixer
package import RTP
import STUN
import Transport

/// The packet path of an SDP endpoint (WebRtcEndpoint, RtpEndpoint) (shared/DESIGN.md, "The packet path").
extension RtpSession {
    /// An RTP or RTCP datagram from the transport: unprotect, then take it.
    /// Anything else (garbage, STUN on a plain socket) is counted and dropped.
    package func receivePacket(_ buffer: UnsafeMutableRawBufferPointer) {
        guard !isClosed else { return }
        switch Demux.classify(UnsafeRawBufferPointer(buffer)) {
        case .rtp:
            guard let protection, let n = protection.unprotectRTP(buffer) else { return countDrop() }
            lastAuthenticatedReceive = now
            receiveRTP(UnsafeMutableRawBufferPointer(rebasing: buffer[0..<n]))
        case .rtcp:
            guard let protection, let n = protection.unprotectRTCP(buffer) else { return countDrop() }
            lastAuthenticatedReceive = now
            receiveRTCP(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
        default:
            countDrop()
        }
    }

    package func countDrop() {
        droppedDatagrams &+= 1
    }

    private func countRedundantRetransmission() {
        if rtcp.packetsDuplicated == 0 {
            logger.debug("the peer resends packets we already have (RTX probes): not passed on", metadata: ["endpoint": "\(objectID)"])
        }
        rtcp.packetsDuplicated &+= 1
    }

    private func receiveRTP(_ packet: UnsafeMutableRawBufferPointer) {
        guard let header = try? RTPHeader.parse(UnsafeRawBufferPointer(packet)) else { return countDrop() }
        // Every packet with a transport-wide sequence number counts for the
        // feedback, RTX and padding probes included.
        if header.hasExtension, let id = incomingExtensions.transportSequence,
            let e = header.extensionElement(id: id, in: UnsafeRawBufferPointer(packet)), e.length == 2
        {
            recordTransportSequence(UInt16(packet[e.offset]) << 8 | UInt16(packet[e.offset + 1]))
        }
        if header.payloadType == rtxPayloadType, header.payloadType != 0 { return receiveRTX(packet) }
        guard let kind = kind(ofPayloadType: header.payloadType) else { return }  // unknown payload types are dropped
        if kind == .video, simulcast != nil { return receiveSimulcast(packet, header: header) }
        noteRemoteSSRC(header.ssrc, kind: kind)
        recordReceived(header, kind: kind)
        if !flowing(in: kind) {
            setFlowing(in: kind)
            context.raise(.flowingIn(kind), on: objectID)
        }
        countIn(kind, bytes: packet.count)
        if kind == .audio, header.hasExtension, let id = incomingExtensions.audioLevel,
            let level = AudioLevel.read(id: id, header: header, in: UnsafeRawBufferPointer(packet))
        {
            let t = now
            if speech.packet(level: level.level, nowMillis: Int64(t / .milliseconds(1))) { reportSpeech(at: t) }
        }
        forward(packet, header: header, kind: kind, ext: incomingExtensions)
    }

    /// A video packet of a simulcast publisher: counted for its layer (loss,
    /// NACK, bitrate, picture size) and handed to the consumers that take
    /// that layer. Packets of no known layer (no SSRC seen with a rid yet)
    /// are dropped.
    private func receiveSimulcast(_ packet: UnsafeMutableRawBufferPointer, header: RTPHeader) {
        let raw = UnsafeRawBufferPointer(packet)
        guard let layer = simulcast?.layer(of: header, in: raw) else { return countDrop() }
        if remoteVideoSSRC == nil { noteRemoteSSRC(header.ssrc, kind: .video) }
        recordReceived(header, layer: layer)
        if !flowing(in: .video) {
            setFlowing(in: .video)
            context.raise(.flowingIn(.video), on: objectID)
        }
        countIn(.video, bytes: packet.count)
        var size: (width: Int, height: Int)?
        var temporal: LayerSelection.Temporal?
        if videoIsVP8, let (d, keyframe) = vp8Descriptor(raw, header: header) {
            size = keyframe
            if let tid = d.temporalLayer {
                temporal = LayerSelection.Temporal(layer: tid, sync: d.layerSync, frameStart: d.startOfPartition && d.partitionIndex == 0)
            }
        }
        simulcast?.received(layer: layer, bytes: packet.count, keyframe: size, temporal: temporal?.layer, at: now)
        forward(packet, header: header, ext: incomingExtensions, layer: layer, keyframeStart: size != nil, temporal: temporal)
    }

    /// A packet of our current source left out by the temporal cap: the
    /// packets after it move down one sequence number (and the pictures after
    /// a dropped picture one PictureID), so the viewer sees no gap. Only a
    /// packet newer than any seen from the source counts: a retransmission
    /// of a dropped packet was already counted.
    package func closeTemporalGap(_ header: RTPHeader, frameStart: Bool) {
        var stream = outStream(.video)
        guard stream.sourceSSRC == header.ssrc, stream.noteSourceSequence(header.sequenceNumber) else { return }
        stream.seqDelta &-= 1
        if frameStart, stream.pictureSynced { stream.pictureIDDelta &-= 1 }
        stream.temporalDropped &+= 1
        setOutStream(stream, .video)
    }

    /// Raises `SpeakingChanged` (a Tessera extension): on every edge, and once a
    /// second while speaking so listeners can compare levels.
    package func reportSpeech(at t: Duration) {
        speechReported = t
        context.raise(.speaking(speech.speaking, level: (speech.level * 10).rounded() / 10), on: objectID)
    }

    private func receiveRTCP(_ bytes: UnsafeRawBufferPointer) {
        guard let packets = try? RTCPCompound.parse(bytes) else { return countDrop() }
        handleRTCP(packets)
    }

    /// A retransmission in RTX form (RFC 4588 §4): rebuild the original and
    /// take it like any other packet, so consumers fill their gap too.
    private func receiveRTX(_ packet: UnsafeMutableRawBufferPointer) {
        guard let pt = outStream(.video).payloadType as UInt8?, pt != 0 else { return }
        // Simulcast: the layer this repairs, by its RTX SSRC or repaired-rid.
        var layer: Int?
        if simulcast != nil, let header = try? RTPHeader.parse(UnsafeRawBufferPointer(packet)) {
            layer = simulcast?.layer(ofRTX: header, in: UnsafeRawBufferPointer(packet))
            if layer == nil { return countDrop() }
        }
        guard let ssrc = layer.flatMap({ simulcast?.layers[$0].ssrc }) ?? remoteVideoSSRC else { return }
        var original: [UInt8] = []
        guard (try? RTXPacketizer.unwrap(Array(UnsafeRawBufferPointer(packet)), originalPayloadType: pt, originalSSRC: ssrc, into: &original)) != nil
        else { return }
        original.withUnsafeMutableBytes { buf in
            guard let header = try? RTPHeader.parse(UnsafeRawBufferPointer(buf)) else { return }
            // A copy of a packet we already have is not passed on. Browsers send
            // such copies as bandwidth probes (RTX "redundant payloads"); handed to a
            // viewer connected a moment ago, an old packet would start its stream
            // and the packets in between would look lost to it, unrepairable.
            if let layer {
                guard recordReceived(header, layer: layer) else { return countRedundantRetransmission() }
                forward(buf, header: header, ext: incomingExtensions, layer: layer, keyframeStart: false)
            } else {
                guard recordReceived(header, kind: .video) else { return countRedundantRetransmission() }
                forward(buf, header: header, kind: .video, ext: incomingExtensions)
            }
        }
    }

    /// As a consumer: send `packet` from `source` to this peer, rewritten into our stream.
    package func sendAsConsumer(_ packet: UnsafeMutableRawBufferPointer, header: RTPHeader, kind: MediaKindKey, ext: ExtensionMap) {
        guard !isClosed, let protection, canSend(kind) else { return }
        var stream = outStream(kind)
        if stream.sourceSSRC != header.ssrc {
            // A new source (or the first): continue our sequence and timestamps
            // from where they were, so the receiver sees one seamless stream.
            let frame: UInt32 = kind == .audio ? 960 : 3000
            stream.seqDelta = (stream.lastSeq &+ 1) &- header.sequenceNumber
            stream.timestampDelta = (stream.lastTimestamp &+ frame) &- header.timestamp
            stream.sourceSSRC = header.ssrc
            stream.pictureSynced = false
            stream.sourceStartSeq = stream.lastSeq &+ 1
            stream.highestSourceSeq = header.sequenceNumber
            // Connecting the source asked it for a keyframe already.
            stream.keyframeSent = false
            stream.lastKeyframeAsk = now
        }
        _ = stream.noteSourceSequence(header.sequenceNumber)
        // Older than the first packet this peer got from the source (reordered, or
        // a late retransmission): it cannot use it, and it would read as a jump back.
        if let start = stream.sourceStartSeq, Int16(bitPattern: (header.sequenceNumber &+ stream.seqDelta) &- start) < 0 {
            setOutStream(stream, kind)
            return
        }
        // VP8: PictureID and TL0PICIDX continue across sources too (a simulcast
        // layer switch, a dispatcher's new source), or the decoder sees a jump.
        var vp8: VP8PayloadDescriptor?
        if kind == .video, videoIsVP8, header.payloadLength > 0 {
            vp8 = try? VP8PayloadDescriptor.parse(
                UnsafeRawBufferPointer(packet).assumingMemoryBound(to: UInt8.self).span,
                payloadOffset: header.payloadOffset, payloadLength: header.payloadLength)
            if let d = vp8, !stream.pictureSynced {
                if let pid = d.pictureID { stream.pictureIDDelta = (stream.lastPictureID &+ 1) &- pid }
                if let tl0 = d.tl0PicIdx { stream.tl0Delta = (stream.lastTL0 &+ 1) &- tl0 }
                stream.pictureSynced = true
            }
            // A viewer cannot decode before a keyframe. The request made when it was
            // connected can be lost (sent while the publisher's transport was not up
            // at both ends, or unanswered), and a still picture (a shared screen) may
            // send no other keyframe for minutes: ask again until one goes out.
            if let d = vp8, d.isKeyframeStart {
                stream.keyframeSent = true
            } else if !stream.keyframeSent {
                let t = now
                if stream.lastKeyframeAsk.map({ t - $0 >= Self.keyframeRetry }) ?? true {
                    stream.lastKeyframeAsk = t
                    logger.debug("no keyframe yet for this viewer: asking the source again", metadata: ["endpoint": "\(objectID)"])
                    source(of: .video)?.requestStartKeyframe()
                }
            }
        }
        // Header extensions: abs-send-time and audio level are carried over with
        // this peer's ids (one-byte form, RFC 8285 §4.2); others are not forwarded.
        let src = UnsafeRawBufferPointer(packet)
        // At most two elements, kept in locals: no allocation per packet.
        var absSendTime: (id: UInt8, offset: Int)?
        var audioLevel: (id: UInt8, offset: Int)?
        if header.hasExtension {
            if let mine = outgoingExtensions.absSendTime, let theirs = ext.absSendTime,
                let e = header.extensionElement(id: theirs, in: src), e.length == 3
            { absSendTime = (mine, e.offset) }
            if kind == .audio, let mine = outgoingExtensions.audioLevel, let theirs = ext.audioLevel,
                let e = header.extensionElement(id: theirs, in: src), e.length == 1
            { audioLevel = (mine, e.offset) }
        }
        // Transport-wide sequence number: on every packet, when the peer gives feedback on them.
        let transportID = sendSide == nil ? nil : outgoingExtensions.transportSequence
        let extensionBody = (absSendTime == nil ? 0 : 4) + (audioLevel == nil ? 0 : 2) + (transportID == nil ? 0 : 3)
        let hasExtensions = extensionBody > 0
        let extensionBytes = hasExtensions ? 4 + (extensionBody + 3) / 4 * 4 : 0
        let csrcBytes = header.csrcCount * 4
        let newHeaderLength = 12 + csrcBytes + extensionBytes
        let payloadStart = header.headerLength
        let payloadEnd = header.headerLength + header.payloadLength
        let length = newHeaderLength + (payloadEnd - payloadStart)
        guard length + SRTPSession.maxTrailer <= scratchCapacity else { return }
        let seq = header.sequenceNumber &+ stream.seqDelta
        let ts = header.timestamp &+ stream.timestampDelta
        var transportOffset: Int?
        let sent: Int? = withScratch { buf in
            buf[0] = 0x80 | (hasExtensions ? 0x10 : 0) | UInt8(header.csrcCount)  // V=2, no padding
            buf[1] = (header.marker ? 0x80 : 0) | stream.payloadType
            buf[2] = UInt8(seq >> 8); buf[3] = UInt8(seq & 0xFF)
            buf[4] = UInt8(ts >> 24); buf[5] = UInt8(ts >> 16 & 0xFF); buf[6] = UInt8(ts >> 8 & 0xFF); buf[7] = UInt8(ts & 0xFF)
            let ssrc = stream.ssrc
            buf[8] = UInt8(ssrc >> 24); buf[9] = UInt8(ssrc >> 16 & 0xFF); buf[10] = UInt8(ssrc >> 8 & 0xFF); buf[11] = UInt8(ssrc & 0xFF)
            if csrcBytes > 0 {
                UnsafeMutableRawBufferPointer(rebasing: buf[12..<(12 + csrcBytes)]).copyMemory(from: UnsafeRawBufferPointer(rebasing: src[12..<(12 + csrcBytes)]))
            }
            if hasExtensions {
                var at = 12 + csrcBytes
                let words = (extensionBytes - 4) / 4
                buf[at] = 0xBE; buf[at + 1] = 0xDE; buf[at + 2] = UInt8(words >> 8); buf[at + 3] = UInt8(words & 0xFF)
                at += 4
                if let e = absSendTime {
                    // Our own send time (6.18 fixed-point seconds, 24 bits), not the
                    // publisher's: the viewer's delay-based estimate is of our link to it.
                    let sendTime = absSendTimeNow()
                    buf[at] = e.id << 4 | 2  // length 3 is coded as 2
                    buf[at + 1] = UInt8(sendTime >> 16 & 0xFF); buf[at + 2] = UInt8(sendTime >> 8 & 0xFF); buf[at + 3] = UInt8(sendTime & 0xFF)
                    at += 4
                }
                if let e = audioLevel {
                    buf[at] = e.id << 4  // length 1 is coded as 0
                    buf[at + 1] = src[e.offset]
                    at += 2
                }
                if let id = transportID {
                    // The number itself is written as the packet leaves (it may wait for the pacer).
                    buf[at] = id << 4 | 1  // length 2 is coded as 1
                    buf[at + 1] = 0; buf[at + 2] = 0
                    transportOffset = at + 1
                    at += 3
                }
                while at < 12 + csrcBytes + extensionBytes { buf[at] = 0; at += 1 }  // padding
            }
            UnsafeMutableRawBufferPointer(rebasing: buf[newHeaderLength..<length]).copyMemory(from: UnsafeRawBufferPointer(rebasing: src[payloadStart..<payloadEnd]))
            if let d = vp8 {
                // Offsets in the descriptor are of the source packet; the payload moved by this much.
                let shift = newHeaderLength - payloadStart
                if let pid = d.pictureID, let at = d.pictureIDOffset {
                    let out = pid &+ stream.pictureIDDelta
                    if d.pictureIDIs15Bit {
                        buf[at + shift] = 0x80 | UInt8(out >> 8 & 0x7F)
                        buf[at + shift + 1] = UInt8(out & 0xFF)
                    } else {
                        buf[at + shift] = UInt8(out & 0x7F)
                    }
                    stream.lastPictureID = out & (d.pictureIDIs15Bit ? 0x7FFF : 0x7F)
                }
                if let tl0 = d.tl0PicIdx, let at = d.tl0PicIdxOffset {
                    let out = tl0 &+ stream.tl0Delta
                    buf[at + shift] = out
                    stream.lastTL0 = out
                }
            }
            // Video to a viewer with a send-side estimate leaves at the pacing rate.
            if kind == .video, transportOffset != nil, !pacer.admit(size: length, at: now) {
                pacer.enqueue(Array(UnsafeRawBufferPointer(rebasing: buf[0..<length])), transportOffset: transportOffset, at: now)
                schedulePacer()
                return length
            }
            return leave(buf, length: length, kind: kind, transportOffset: transportOffset, protection: protection)
        }
        guard sent != nil else { return }
        stream.lastSeq = seq
        stream.lastTimestamp = ts
        stream.packets &+= 1
        stream.bytes &+= UInt64(length)
        setOutStream(stream, kind)
        if !flowing(out: kind) {
            setFlowing(out: kind)
            context.raise(.flowingOut(kind), on: objectID)
        }
    }

    /// Sends a finished packet (header rewritten, in `buf[0..<length]`): its
    /// transport-wide number (now: the detector needs the time it really left),
    /// the resend buffer, SRTP, the wire. The protected length, or nil.
    func leave(_ buf: UnsafeMutableRawBufferPointer, length: Int, kind: MediaKindKey, transportOffset: Int?, protection: any PacketProtection) -> Int? {
        if let at = transportOffset, let number = sendSide?.sent(size: length, atMicros: nowMicros) {
            buf[at] = UInt8(number >> 8)
            buf[at + 1] = UInt8(number & 0xFF)
        }
        recordSent(UnsafeRawBufferPointer(rebasing: buf[0..<length]), kind: kind)
        guard let n = protection.protectRTP(buf, length: length) else { return nil }
        sendDatagram(UnsafeRawBufferPointer(rebasing: buf[0..<n]), kind: kind)
        return n
    }

    /// Drains the pacer again in `Pacer.interval` while it holds anything.
    func schedulePacer() {
        guard !pacerArmed, !pacer.isEmpty else { return }
        pacerArmed = true
        // Replaced from its own callback, as the compositor's timers are; close() cancels it.
        pacerTimer = LoopTimer(loop: loop, after: Pacer.interval) { [unowned self] in
            pacerArmed = false
            drainPacer()
        }
    }

    /// Sends what the pacer lets go now.
    func drainPacer() {
        guard !isClosed, let protection else { return pacer.clear() }
        let run = { [self] in
            for w in pacer.due(at: now) {
                withScratch { buf in
                    guard w.bytes.count + SRTPSession.maxTrailer <= buf.count else { return }
                    UnsafeMutableRawBufferPointer(rebasing: buf[0..<w.bytes.count]).copyBytes(from: w.bytes)
                    _ = leave(buf, length: w.bytes.count, kind: .video, transportOffset: w.transportOffset, protection: protection)
                }
            }
        }
        if let mux = context.mux(for: loop) { mux.batch(run) } else { run() }
        schedulePacer()
    }

    /// The loop clock in microseconds (send times of the transport-wide history).
    var nowMicros: Int64 {
        let c = loop.clock.now.components
        return c.seconds * 1_000_000 + c.attoseconds / 1_000_000_000_000
    }

    /// A packet we send again (a NACK's answer) gets a new transport-wide
    /// number: under its old one, its late arrival would read as queuing delay.
    func restampTransportSequence(_ buf: UnsafeMutableRawBufferPointer, length: Int) {
        guard sendSide != nil, let id = outgoingExtensions.transportSequence,
            let header = try? RTPHeader.parse(UnsafeRawBufferPointer(rebasing: buf[0..<length])), header.hasExtension,
            let e = header.extensionElement(id: id, in: UnsafeRawBufferPointer(rebasing: buf[0..<length])), e.length == 2,
            let number = sendSide?.sent(size: length, atMicros: nowMicros)
        else { return }
        buf[e.offset] = UInt8(number >> 8)
        buf[e.offset + 1] = UInt8(number & 0xFF)
    }

    /// abs-send-time now (http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time):
    /// seconds in 6.18 fixed point, 24 bits.
    func absSendTimeNow() -> UInt32 {
        let c = loop.clock.now.components
        let fraction = UInt64(c.attoseconds) / 1_000_000_000  // nanoseconds
        let value = (UInt64(c.seconds) << 18) | (fraction << 18) / 1_000_000_000
        return UInt32(truncatingIfNeeded: value) & 0xFF_FFFF
    }

    /// Sends a PLI to the peer for the video it sends us (RFC 4585 §6.3.1),
    /// at most every `pliInterval` however many viewers ask (`startPLIInterval`
    /// when a viewer is `start`ing). A simulcast publisher is asked for the
    /// layers its consumers take or are moving to.
    package func sendPLI(start: Bool = false) {
        if simulcast != nil { return requestSimulcastKeyframes(start: start) }
        guard protection != nil, let media = remoteVideoSSRC else { return }
        sendPLI(mediaSSRC: media, last: &lastKeyframeRequest, at: loop.clock.now, minInterval: Self.pliInterval(start: start))
    }

    /// The least time between two PLIs for the same stream: a repair request
    /// 300 ms, a starting viewer's 100 ms (it shows nothing until its keyframe).
    package static func pliInterval(start: Bool) -> Duration { start ? .milliseconds(100) : .milliseconds(300) }

    package func resetOutStream(_ kind: MediaKindKey) {
        var s = outStream(kind)
        s.sourceSSRC = nil
        setOutStream(s, kind)
    }
}
