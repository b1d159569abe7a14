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
    var packetsIn: UInt64 = 0
    var bytesIn: UInt64 = 0
    var expectedIn: UInt64 = 0
    var packetsOut: UInt64 = 0
    var rtcpIn: UInt64 = 0
    var jitterMillis: Double = 0
    var connected = false
    /// Tone levels (relative to the strongest bin) of the decoded audio, when decoding.
    var toneLevels: [Int: Double] = [:]
}

/// One WebRTC peer connection of the generator, exactly as a browser's would
/// look to the server: a full-ICE controlling libnice agent, a DTLS client,
/// SRTP, one audio m-line. Not Sendable: made, used and closed on its loop.
final class LoadPeer {
    let id: Int
    private let loop: MediaLoop
    private let certificate: DTLSCertificate
    private let ice: ICEAgent
    private var dtls: DTLSSession?
    private var srtp: SRTPSession?
    private var offer: SessionDescription?
    private let events: @Sendable (PeerEvent) -> Void
    /// What it sends (nil: receive only).
    let clip: AudioClip?
    private var frame = 0
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
    private var closed = false

    init(id: Int, loop: MediaLoop, certificate: DTLSCertificate, settings: ICESettings, clip: AudioClip?,
         decode: Bool, logger: Logger, events: @escaping @Sendable (PeerEvent) -> Void) throws {
        self.id = id
        self.loop = loop
        self.certificate = certificate
        self.clip = clip
        self.events = events
        ice = try ICEAgent(loop: loop, controlling: true, settings: settings, logger: logger)
        if decode { decoder = try OpusDecoder(channels: 1) }
        ice.onCandidate = { candidate in events(.candidate(candidate)) }
        ice.onStateChange = { [weak self] state in self?.iceChanged(state) }
        ice.onReceive = { [weak self] buffer in self?.receive(buffer) }
    }

    var isSending: Bool { clip != nil && srtp != nil && !closed }
    var isConnected: Bool { srtp != nil && !closed }

    /// Our offer: one audio m-line, sendrecv when we publish, recvonly otherwise.
    func makeOffer() -> String {
        let streams = SendPreferences(
            audio: LocalStream(ssrc: ssrc, cname: "load\(id)", streamID: "load\(id)", trackID: "load\(id)-audio"),
            allowSend: clip != nil, allowReceive: true)
        let transport = TransportParameters(
            iceUfrag: ice.localUfrag, icePwd: ice.localPwd,
            fingerprint: Fingerprint(algorithm: "sha-256", value: certificate.fingerprintSHA256))
        let capabilities = LocalMediaCapabilities(
            audioCodecs: [.opus], videoCodecs: [], headerExtensions: [HeaderExtensionURI.mid, HeaderExtensionURI.audioLevel])
        let description = Negotiation.offer(
            capabilities: capabilities, transport: transport, streams: streams, offerAudio: true, offerVideo: false,
            sessionID: UInt64.random(in: 1...UInt64(Int64.max)))
        offer = description
        return description.serialize()
    }

    /// The server's answer: ICE credentials, DTLS fingerprint, payload type and
    /// extension ids; then gathering starts (candidates are trickled).
    func apply(answer text: String) throws {
        guard let offer else { throw RPCSocket.Failure(description: "answer before offer") }
        let answer = try SessionDescription.parse(text)
        let capabilities = LocalMediaCapabilities(
            audioCodecs: [.opus], videoCodecs: [], headerExtensions: [HeaderExtensionURI.mid, HeaderExtensionURI.audioLevel])
        let media = try Negotiation.process(answer: answer, to: offer, capabilities: capabilities)
        guard let audio = media.first(where: { $0.accepted && $0.kind == .audio }), let codec = audio.codec else {
            throw RPCSocket.Failure(description: "the answer accepts no audio")
        }
        payloadType = codec.payloadType
        levelID = audio.extensions[HeaderExtensionURI.audioLevel]
        let remote = try Negotiation.remoteTransport(of: answer)
        ice.setRemoteCredentials(ufrag: remote.ufrag, pwd: remote.pwd)
        // We offered actpass; the server answers passive, so we are the DTLS client.
        let role: DTLSRole = remote.setup == .active ? .server : .client
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
            guard let srtp, srtp.unprotectRTCP(buffer) != nil else { return }
            stats.rtcpIn &+= 1
        default:
            return
        }
    }

    private func received(_ packet: UnsafeRawBufferPointer) {
        guard let header = try? RTPHeader.parse(packet) else { return }
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
    func snapshot(frequencies: [Int]) -> PeerStats {
        var s = stats
        if decoder != nil, decoded.count >= 48_000 {
            let window = Array(decoded.suffix(48_000))
            s.toneLevels = ToneAnalysis.levels(window, frequencies: frequencies)
        }
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
