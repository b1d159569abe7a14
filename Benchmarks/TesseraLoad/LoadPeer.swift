import Foundation
import Logging
import Mixer
import RTP
import SDP
import STUN
import Transport

/// What a peer tells the control side (from its loop).
enum PeerEvent: Sendable {
    case candidate(String)
    case connected
    case failed(String)
}

/// Counters of one peer connection, copied off its loop.
struct PeerStats: Sendable {
    var videoPacketsIn: UInt64 = 0
    var videoFramesIn: UInt64 = 0
    var keyframesIn: UInt64 = 0
    var videoPacketsOut: UInt64 = 0
    var keyframeRequests: UInt64 = 0
    var packetsIn: UInt64 = 0
    var bytesIn: UInt64 = 0
    var expectedIn: UInt64 = 0
    var packetsOut: UInt64 = 0
    var rtcpIn: UInt64 = 0
    var jitterMillis: Double = 0
    var connected = false
    /// Tone levels (relative to the strongest bin) of the decoded audio, when decoding.
    var toneLevels: [Int: Double] = [:]
    /// The decoded video's colours, when decoding video (`kurento --video-colours`).
    var colour: ColourStats?
}

/// One WebRTC peer connection of the generator, exactly as a browser's would
/// look to the server: a full-ICE controlling agent (ours on the loop's
/// epoll set, or libnice with `--ice-agent libnice`), a DTLS client, SRTP,
/// one audio m-line. Not Sendable: made, used and closed on its loop.
final class LoadPeer {
    let id: Int
    private let loop: MediaLoop
    private let certificate: DTLSCertificate
    private let ice: any ICETransport
    private var dtls: DTLSSession?
    private var srtp: SRTPSession?
    private var offer: SessionDescription?
    private let events: @Sendable (PeerEvent) -> Void
    /// What it sends (nil: receive only).
    let clip: AudioClip?
    private var frame = 0
    /// Video it sends (nil: none), and whether it negotiates video at all.
    let video: VideoClip?
    private let wantsVideo: Bool
    private var videoFrame = 0
    /// Ticks of the loops' video clock to let pass before the next frame (clips slower than the clock).
    private var videoSkip = 0
    private let videoSSRC = UInt32.random(in: 1...UInt32.max)
    private var videoSequence = UInt16.random(in: 0...0x7FFF)
    private var videoTimestamp = UInt32.random(in: 0...0x7FFF_FFFF)
    private var pictureID = UInt16.random(in: 0...0x7FFF)
    private var videoPayloadType: UInt8?
    private let ssrc = UInt32.random(in: 1...UInt32.max)
    private var sequence = UInt16.random(in: 0...0x7FFF)
    private var timestamp = UInt32.random(in: 0...0x7FFF_FFFF)
    private var payloadType: UInt8 = 111
    private var levelID: UInt8?
    private(set) var stats = PeerStats()
    private var firstSequence: Int64?
    private var highestSequence: Int64 = 0
    private var lastTransit: Double?
    private var lastReport: ContinuousClock.Instant = .now
    private var decoder: OpusDecoder?
    private var decoded: [Int16] = []
    /// Decodes the received video and checks its colour (nil: video is only counted).
    private var colourProbe: ColourProbe?
    private var lastKeyframeRequest: ContinuousClock.Instant?
    private var closed = false

    init(id: Int, loop: MediaLoop, certificate: DTLSCertificate, settings: ICESettings, clip: AudioClip?,
         video: VideoClip? = nil, wantsVideo: Bool = false, expectColour: RGB? = nil,
         decode: Bool, sockets: SocketSet?, logger: Logger, events: @escaping @Sendable (PeerEvent) -> Void) throws {
        self.id = id
        self.loop = loop
        self.certificate = certificate
        self.clip = clip
        self.video = video
        self.wantsVideo = wantsVideo || video != nil
        self.events = events
        if let sockets {
            ice = try ICEClient(set: sockets, settings: settings, logger: logger)
        } else {
            ice = try ICEAgent(loop: loop, controlling: true, settings: settings, logger: logger)
        }
        if decode { decoder = try OpusDecoder(channels: 1) }
        if let expectColour { colourProbe = try ColourProbe(own: expectColour) }
        ice.onCandidate = { candidate in events(.candidate(candidate)) }
        ice.onStateChange = { [weak self] state in self?.iceChanged(state) }
        ice.onReceive = { [weak self] buffer in self?.receive(buffer) }
    }

    var isSending: Bool { clip != nil && srtp != nil && !closed }
    var isSendingVideo: Bool { video != nil && videoPayloadType != nil && srtp != nil && !closed }

    private var capabilities: LocalMediaCapabilities {
        LocalMediaCapabilities(
            audioCodecs: [.opus], videoCodecs: wantsVideo ? [.vp8] : [],
            headerExtensions: [HeaderExtensionURI.mid, HeaderExtensionURI.audioLevel])
    }

    private var sendPreferences: SendPreferences {
        SendPreferences(
            audio: LocalStream(ssrc: ssrc, cname: "load\(id)", streamID: "load\(id)", trackID: "load\(id)-audio"),
            video: video == nil ? nil : LocalStream(ssrc: videoSSRC, cname: "load\(id)", streamID: "load\(id)", trackID: "load\(id)-video"),
            allowSend: clip != nil || video != nil, allowReceive: true)
    }

    private var transport: TransportParameters {
        TransportParameters(
            iceUfrag: ice.localUfrag, icePwd: ice.localPwd,
            fingerprint: Fingerprint(algorithm: "sha-256", value: certificate.fingerprintSHA256))
    }
    var isConnected: Bool { srtp != nil && !closed }

    /// Our offer: one audio m-line, sendrecv when we publish, recvonly otherwise.
    func makeOffer() -> String {
        let description = Negotiation.offer(
            capabilities: capabilities, transport: transport, streams: sendPreferences, offerAudio: true, offerVideo: wantsVideo,
            sessionID: UInt64.random(in: 1...UInt64(Int64.max)))
        offer = description
        return description.serialize()
    }

    /// The server's answer: ICE credentials, DTLS fingerprint, payload type and
    /// extension ids; then gathering starts (candidates are trickled).
    func apply(answer text: String) throws {
        guard let offer else { throw RPCSocket.Failure(description: "answer before offer") }
        let answer = try SessionDescription.parse(text)
        let media = try Negotiation.process(answer: answer, to: offer, capabilities: capabilities)
        try use(media)
        let remote = try Negotiation.remoteTransport(of: answer)
        // We offered actpass; the server answers passive, so we are the DTLS client.
        try start(remote: remote, role: remote.setup == .active ? .server : .client)
    }

    /// Janus's subscriber flow: the server offers, we answer (passive: the server is the DTLS client).
    func answer(offer text: String) throws -> String {
        let offer = try SessionDescription.parse(text)
        let result = try Negotiation.answer(
            to: offer, capabilities: capabilities, transport: transport, streams: sendPreferences,
            sessionID: UInt64.random(in: 1...UInt64(Int64.max)))
        try use(result.media)
        let remote = try Negotiation.remoteTransport(of: offer)
        let ours = result.answer.media.first { $0.setup != nil }?.setup ?? result.answer.setup ?? .passive
        try start(remote: remote, role: ours == .active ? .client : .server)
        return result.answer.serialize()
    }

    private func use(_ media: [NegotiatedMedia]) throws {
        guard let audio = media.first(where: { $0.accepted && $0.kind == .audio }), let codec = audio.codec else {
            throw RPCSocket.Failure(description: "the answer accepts no audio")
        }
        payloadType = codec.payloadType
        levelID = audio.extensions[HeaderExtensionURI.audioLevel]
        if let v = media.first(where: { $0.accepted && $0.kind == .video }), let codec = v.codec {
            videoPayloadType = codec.payloadType
        }
    }

    private func start(
        remote: (ufrag: String, pwd: String, fingerprints: [Fingerprint], setup: SetupRole?,
                 candidates: [(mid: String?, index: Int, candidate: String)]),
        role: DTLSRole
    ) throws {
        ice.setRemoteCredentials(ufrag: remote.ufrag, pwd: remote.pwd)
        let session = try DTLSSession(
            certificate: certificate, role: role, remoteFingerprints: remote.fingerprints.map { ($0.algorithm, $0.value) },
            loop: loop
        ) { [weak self] bytes in self?.ice.send(bytes) }
        session.onKeys = { [weak self] keys in
            guard let self else { return }
            do {
                self.srtp = try SRTPSession(keys: keys)
                self.stats.connected = true
                self.events(.connected)
            } catch {
                self.events(.failed("SRTP: \(error)"))
            }
        }
        session.onStateChange = { [weak self] state in
            if state == .failed { self?.events(.failed("DTLS: \(self?.dtls?.failure ?? "failed")")) }
        }
        dtls = session
        for c in remote.candidates { try? ice.addRemoteCandidate(c.candidate) }
        try ice.gather()
    }

    func addRemoteCandidate(_ candidate: String) {
        try? ice.addRemoteCandidate(candidate)
    }

    private func iceChanged(_ state: ICEState) {
        switch state {
        case .connected, .ready:
            if dtls?.state == .new { dtls?.start() }
        case .failed:
            if srtp == nil { events(.failed("ICE failed")) }
        default:
            break
        }
    }

    // MARK: Packets

    private func receive(_ buffer: UnsafeMutableRawBufferPointer) {
        guard !closed else { return }
        switch Demux.classify(UnsafeRawBufferPointer(buffer)) {
        case .dtls:
            dtls?.receive(UnsafeRawBufferPointer(buffer))
        case .rtp:
            guard let srtp, let n = srtp.unprotectRTP(buffer) else { return }
            received(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
        case .rtcp:
            guard let srtp, let n = srtp.unprotectRTCP(buffer) else { return }
            stats.rtcpIn &+= 1
            guard video != nil, let packets = try? RTCPCompound.parse(UnsafeRawBufferPointer(rebasing: buffer[0..<n])) else { return }
            for p in packets {
                switch p {
                case .pli, .fir:
                    // Restart the clip at its keyframe, sent on the next tick (at most one restart per tick).
                    videoFrame = 0
                    videoSkip = 0
                    stats.keyframeRequests &+= 1
                default:
                    break
                }
            }
        default:
            return
        }
    }

    private func received(_ packet: UnsafeRawBufferPointer) {
        guard let header = try? RTPHeader.parse(packet) else { return }
        if header.payloadType == videoPayloadType {
            stats.videoPacketsIn &+= 1
            stats.bytesIn &+= UInt64(packet.count)
            if header.marker { stats.videoFramesIn &+= 1 }
            let span = packet.bindMemory(to: UInt8.self).span
            if let d = try? VP8PayloadDescriptor.parse(span, payloadOffset: header.headerLength, payloadLength: header.payloadLength),
                d.isKeyframeStart
            { stats.keyframesIn &+= 1 }
            if let colourProbe, colourProbe.push(packet) { requestKeyframe(of: header.ssrc) }
            return
        }
        guard header.payloadType == payloadType else { return }
        stats.packetsIn &+= 1
        stats.bytesIn &+= UInt64(packet.count)
        // Loss from the extended sequence numbers (RFC 3550 §A.1, simplified).
        let seq = Int64(header.sequenceNumber)
        if let first = firstSequence {
            var extended = (highestSequence & ~0xFFFF) | seq
            if extended < highestSequence - 0x8000 { extended += 0x10000 }
            if extended > highestSequence { highestSequence = extended }
            stats.expectedIn = UInt64(highestSequence - first + 1)
        } else {
            firstSequence = seq
            highestSequence = seq
            stats.expectedIn = 1
        }
        // Interarrival jitter in milliseconds (RFC 3550 §6.4.1).
        let arrival = Double(DispatchTime.now().uptimeNanoseconds) / 1e6
        let transit = arrival - Double(header.timestamp) / 48.0
        if let last = lastTransit {
            var d = abs(transit - last)
            if d > 1000 { d = 0 }  // a timestamp jump (new source), not jitter
            stats.jitterMillis += (d - stats.jitterMillis) / 16
        }
        lastTransit = transit
        if let decoder {
            let payload = UnsafeRawBufferPointer(rebasing: packet[header.headerLength..<(header.headerLength + header.payloadLength)])
            if let pcm = try? decoder.decode(Array(payload)) {
                decoded.append(contentsOf: pcm)
                if decoded.count > 96_000 { decoded.removeFirst(decoded.count - 48_000) }
            }
        }
    }

    /// A PLI for the video we receive (at most every 500 ms), after a lost or
    /// undecodable frame or while no keyframe has come yet.
    private func requestKeyframe(of mediaSSRC: UInt32) {
        let now = ContinuousClock.now
        guard let srtp, !closed, lastKeyframeRequest.map({ now - $0 >= .milliseconds(500) }) ?? true else { return }
        lastKeyframeRequest = now
        let rtcp = RTCPCompound.serialize([
            .receiverReport(ReceiverReport(ssrc: ssrc)),
            .pli(PictureLossIndication(senderSSRC: ssrc, mediaSSRC: mediaSSRC)),
        ])
        // Room for the SRTCP index and authentication tag.
        var packet = rtcp + [UInt8](repeating: 0, count: SRTPSession.maxTrailer + 4)
        packet.withUnsafeMutableBytes { buffer in
            guard let n = srtp.protectRTCP(buffer, length: rtcp.count) else { return }
            if ice.send(UnsafeRawBufferPointer(rebasing: buffer[0..<n])) { colourProbe?.keyframeRequested() }
        }
    }

    /// Sends the next frame of the clip (called every 20 ms by the loop's clock).
    func sendFrame(into scratch: UnsafeMutableRawBufferPointer) {
        guard let clip, let srtp, !closed else { return }
        let payload = clip.frames[frame % clip.frames.count]
        frame &+= 1
        var at = 0
        scratch[0] = 0x80 | (levelID != nil ? 0x10 : 0)
        scratch[1] = payloadType
        scratch[2] = UInt8(sequence >> 8); scratch[3] = UInt8(sequence & 0xFF)
        scratch[4] = UInt8(timestamp >> 24); scratch[5] = UInt8(timestamp >> 16 & 0xFF)
        scratch[6] = UInt8(timestamp >> 8 & 0xFF); scratch[7] = UInt8(timestamp & 0xFF)
        scratch[8] = UInt8(ssrc >> 24); scratch[9] = UInt8(ssrc >> 16 & 0xFF)
        scratch[10] = UInt8(ssrc >> 8 & 0xFF); scratch[11] = UInt8(ssrc & 0xFF)
        at = 12
        if let levelID {
            // One-byte header extension (RFC 8285 §4.2) with the audio level (RFC 6464).
            scratch[12] = 0xBE; scratch[13] = 0xDE; scratch[14] = 0; scratch[15] = 1
            scratch[16] = levelID << 4
            scratch[17] = (clip.voice ? 0x80 : 0) | clip.level
            scratch[18] = 0; scratch[19] = 0
            at = 20
        }
        payload.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: scratch[at..<(at + $0.count)]).copyMemory(from: $0) }
        let length = at + payload.count
        sequence &+= 1
        timestamp &+= UInt32(AudioClip.frameSamples)
        guard let n = srtp.protectRTP(scratch, length: length) else { return }
        if ice.send(UnsafeRawBufferPointer(rebasing: scratch[0..<n])) { stats.packetsOut &+= 1 }
    }

    /// Sends the next frame of the video clip (the loop's clock ticks 30 times
    /// a second; a slower clip lets ticks pass).
    func sendVideoFrame(into scratch: UnsafeMutableRawBufferPointer) {
        guard let video, let srtp, let pt = videoPayloadType, !closed else { return }
        if videoSkip > 0 {
            videoSkip -= 1
            return
        }
        videoSkip = VideoClip.clockRate / video.fps - 1
        let slices = video.frames[videoFrame % video.frames.count]
        videoFrame = (videoFrame + 1) % video.frames.count
        for (index, slice) in slices.enumerated() {
            let last = index == slices.count - 1
            scratch[0] = 0x80
            scratch[1] = (last ? 0x80 : 0) | pt
            scratch[2] = UInt8(videoSequence >> 8); scratch[3] = UInt8(videoSequence & 0xFF)
            scratch[4] = UInt8(videoTimestamp >> 24); scratch[5] = UInt8(videoTimestamp >> 16 & 0xFF)
            scratch[6] = UInt8(videoTimestamp >> 8 & 0xFF); scratch[7] = UInt8(videoTimestamp & 0xFF)
            scratch[8] = UInt8(videoSSRC >> 24); scratch[9] = UInt8(videoSSRC >> 16 & 0xFF)
            scratch[10] = UInt8(videoSSRC >> 8 & 0xFF); scratch[11] = UInt8(videoSSRC & 0xFF)
            // VP8 payload descriptor (RFC 7741 §4.2): X, S on the first packet, a 15-bit picture id.
            scratch[12] = index == 0 ? 0x90 : 0x80
            scratch[13] = 0x80
            scratch[14] = 0x80 | UInt8(pictureID >> 8); scratch[15] = UInt8(pictureID & 0xFF)
            slice.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: scratch[16..<(16 + $0.count)]).copyMemory(from: $0) }
            videoSequence &+= 1
            guard let n = srtp.protectRTP(scratch, length: 16 + slice.count) else { continue }
            if ice.send(UnsafeRawBufferPointer(rebasing: scratch[0..<n])) { stats.videoPacketsOut &+= 1 }
        }
        pictureID = (pictureID &+ 1) & 0x7FFF
        videoTimestamp &+= 90_000 / UInt32(video.fps)
    }

    /// A receiver report about what we get (every second): the server's proof
    /// that we are alive (consent) and its view of our loss.
    func sendReportIfDue(now: ContinuousClock.Instant, into scratch: UnsafeMutableRawBufferPointer) {
        guard let srtp, !closed, now - lastReport >= .seconds(1) else { return }
        lastReport = now
        let bytes = RTCPCompound.serialize([.receiverReport(ReceiverReport(ssrc: ssrc))])
        bytes.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: scratch[0..<$0.count]).copyMemory(from: $0) }
        guard let n = srtp.protectRTCP(scratch, length: bytes.count) else { return }
        ice.send(UnsafeRawBufferPointer(rebasing: scratch[0..<n]))
    }

    /// Counters, with tone levels of the decoded audio for `frequencies`.
    /// Its own tone and the two loopback neighbours' are always among them.
    func snapshot(frequencies: [Int]) -> PeerStats {
        var s = stats
        if decoder != nil, decoded.count >= 48_000 {
            let window = Array(decoded.suffix(48_000))
            var wanted = frequencies
            if let hz = clip?.hz, hz > 0 {
                wanted += [hz, hz - AudioClip.loopbackSpacing, hz + AudioClip.loopbackSpacing]
            }
            s.toneLevels = ToneAnalysis.levels(window, frequencies: wanted)
        }
        s.colour = colourProbe?.stats
        return s
    }

    func close() {
        guard !closed else { return }
        closed = true
        dtls?.close()
        ice.close()
        srtp = nil
    }
}
