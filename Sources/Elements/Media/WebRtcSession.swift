import Foundation
import JSONRPC
import Logging
import RTP
import SDP
import STUN
import Transport

/// The media-plane half of a WebRtcEndpoint: ICE (libnice), DTLS-SRTP and the
/// RTP/RTCP of one peer, on its pipeline's media loop.
///
/// Receive path: datagram -> demux (RFC 7983) -> DTLS or SRTP unprotect ->
/// forward to consumers. Send path (as a consumer): rewrite SSRC, payload
/// type, sequence and timestamp into this peer's space -> protect -> send.
final class WebRtcSession: MediaNode {
    struct Options {
        var recvonly = false
        var sendonly = false
        var keyType: DTLSCertificate.KeyType = .ecdsa
    }

    /// Our outgoing stream of one kind, rewritten from whichever source feeds it.
    struct OutStream {
        var ssrc: UInt32
        var payloadType: UInt8 = 0
        var clockRate: UInt32
        var negotiated = false
        var lastSeq: UInt16 = UInt16.random(in: 0...0x7FFF)
        var lastTimestamp: UInt32 = UInt32.random(in: 0...0x7FFF_FFFF)
        var seqDelta: UInt16 = 0
        var timestampDelta: UInt32 = 0
        /// The source SSRC the deltas were computed for; nil forces a recompute.
        var sourceSSRC: UInt32?
        var packets: UInt64 = 0
        var bytes: UInt64 = 0
    }

    let context: MediaContext
    let options: Options
    let logger: Logger
    private let certificate: DTLSCertificate
    private var ice: ICEAgent?
    private var dtls: DTLSSession?
    private var srtp: SRTPSession?
    private(set) var localSDP: String?
    private(set) var remoteSDP: String?
    private var offerSent: SessionDescription?
    private var media: [NegotiatedMedia] = []
    private var kindByPayloadType: [UInt8: MediaKindKey] = [:]
    /// The peer's RTX payload type for video, when negotiated (RFC 4588).
    var rtxPayloadType: UInt8?
    /// Extension ids in the packets this peer sends us, and in those we send it.
    let incomingExtensions = ExtensionMap()
    let outgoingExtensions = ExtensionMap()
    private var remoteSSRC: [UInt32?] = [nil, nil]
    private var out: [OutStream]
    private var pendingCandidates: [String] = []
    private var gatherRequested = false
    private var flowingIn = [false, false]
    private var flowingOut = [false, false]
    var lastKeyframeRequest: ContinuousClock.Instant?
    var rtcp = RTCPState()
    var cnameForReports: String { cname }
    var droppedDatagrams: UInt64 = 0
    private var inPackets: [UInt64] = [0, 0]
    private var inBytes: [UInt64] = [0, 0]
    private var connectionState = "DISCONNECTED"
    var sessionStarted = false
    private let cname = String(UUID().uuidString.prefix(16)).lowercased()
    private let streamID = UUID().uuidString.lowercased()
    /// One buffer for protecting outgoing packets; the loop is single threaded.
    private var scratch = [UInt8](repeating: 0, count: 1500 + SRTPSession.maxTrailer + 16)
    var iceState: ICEState { ice?.state ?? .disconnected }
    var dtlsState: DTLSState { dtls?.state ?? .new }
    private(set) var selectedPair: (local: String, remote: String)?

    init(loop: MediaLoop, objectID: String, context: MediaContext, options: Options) {
        self.context = context
        self.options = options
        self.certificate = context.certificate(options.keyType)
        var l = context.logger
        l[metadataKey: "element"] = "\(objectID.suffix(60))"
        self.logger = l
        out = [
            OutStream(ssrc: UInt32.random(in: 1...UInt32.max), clockRate: 48000),
            OutStream(ssrc: UInt32.random(in: 1...UInt32.max), clockRate: 90000),
        ]
        super.init(loop: loop, objectID: objectID)
    }

    var isNegotiated: Bool { remoteSDP != nil }

    /// What we negotiate: Opus and VP8 (+rtx), NACK, PLI, FIR and REMB. Not
    /// transport-cc: we generate no transport-wide feedback yet, and a sender
    /// that negotiates it waits for that feedback before raising its bitrate.
    static let capabilities: LocalMediaCapabilities = {
        var c = LocalMediaCapabilities.default
        c.audioCodecs = c.audioCodecs.map { var x = $0; x.feedback.removeAll { $0 == "transport-cc" }; return x }
        c.videoCodecs = c.videoCodecs.map { var x = $0; x.feedback.removeAll { $0 == "transport-cc" }; return x }
        c.headerExtensions.removeAll { $0 == HeaderExtensionURI.transportWideCC }
        return c
    }()

    // MARK: Negotiation (control messages from the signalling plane)

    private var sendPreferences: SendPreferences {
        SendPreferences(
            audio: LocalStream(ssrc: out[0].ssrc, cname: cname, streamID: streamID, trackID: "\(streamID)-audio"),
            video: LocalStream(ssrc: out[1].ssrc, cname: cname, streamID: streamID, trackID: "\(streamID)-video"),
            allowSend: !options.recvonly, allowReceive: !options.sendonly)
    }

    private func makeAgent(controlling: Bool) throws(KurentoError) -> ICEAgent {
        if let ice { return ice }
        let agent: ICEAgent
        do {
            agent = try ICEAgent(loop: loop, controlling: controlling, settings: context.ice, logger: logger)
        } catch {
            throw KurentoError(.iceGatherCandidatesError, error.description)
        }
        let id = objectID
        let ctx = context
        agent.onCandidate = { candidate in
            ctx.raise("IceCandidateFound", on: id, [
                "candidate": ["__module__": "kurento", "__type__": "IceCandidate", "candidate": .string(candidate),
                              "sdpMid": .string(self.media.first(where: \.accepted)?.mid ?? "0"), "sdpMLineIndex": 0],
            ])
        }
        agent.onGatheringDone = { ctx.raise("IceGatheringDone", on: id) }
        agent.onStateChange = { [weak self] state in
            ctx.raise("IceComponentStateChanged", on: id, ["streamId": 1, "componentId": 1, "state": .string(state.rawValue)])
            self?.iceStateChanged(state)
        }
        agent.onSelectedPair = { [weak self] local, remote in
            self?.selectedPair = (local, remote)
            ctx.raise("NewCandidatePairSelected", on: id, [
                "candidatePair": ["__module__": "kurento", "__type__": "IceCandidatePair", "streamId": "1", "componentId": 1,
                                  "localCandidate": .string(local), "remoteCandidate": .string(remote)],
            ])
        }
        agent.onReceive = { [weak self] buffer in self?.receiveDatagram(buffer) }
        ice = agent
        return agent
    }

    private var transportParameters: TransportParameters {
        TransportParameters(
            iceUfrag: ice?.localUfrag ?? "", icePwd: ice?.localPwd ?? "",
            fingerprint: Fingerprint(algorithm: "sha-256", value: certificate.fingerprintSHA256))
    }

    func processOffer(_ text: String) throws(KurentoError) -> String {
        guard !isNegotiated, offerSent == nil else {
            throw KurentoError(.sdpEndPointAlreadyNegotiated, "Endpoint already negotiated")
        }
        let offer: SessionDescription
        do { offer = try SessionDescription.parse(text) } catch {
            throw KurentoError(.sdpParseError, "Error processing offer: \(error.description)")
        }
        let remote: (ufrag: String, pwd: String, fingerprints: [Fingerprint], setup: SetupRole?, candidates: [(mid: String?, index: Int, candidate: String)])
        do { remote = try Negotiation.remoteTransport(of: offer) } catch {
            throw KurentoError(.sdpEndPointProcessOfferError, "Error processing offer: \(error.description)")
        }
        let agent = try makeAgent(controlling: false)
        let result: (answer: SessionDescription, media: [NegotiatedMedia])
        do {
            result = try Negotiation.answer(
                to: offer, capabilities: Self.capabilities, transport: transportParameters, streams: sendPreferences,
                sessionID: UInt64.random(in: 1...UInt64(Int64.max)))
        } catch {
            throw KurentoError(.sdpEndPointProcessOfferError, "Error processing offer: \(error.description)")
        }
        // We answer actpass with passive (RFC 8842 §5.3): the peer is the DTLS client.
        let ourSetup = result.answer.media.first { $0.setup != nil }?.setup ?? result.answer.setup ?? .passive
        try startTransport(agent: agent, remote: remote, role: ourSetup == .active ? .client : .server)
        apply(result.media)
        remoteSDP = text
        localSDP = result.answer.serialize()
        return localSDP!  // assigned on the line above
    }

    func generateOffer(audio: Bool, video: Bool) throws(KurentoError) -> String {
        guard !isNegotiated, offerSent == nil else {
            throw KurentoError(.sdpEndPointAlreadyNegotiated, "Endpoint already negotiated")
        }
        _ = try makeAgent(controlling: true)
        let offer = Negotiation.offer(
            capabilities: Self.capabilities, transport: transportParameters, streams: sendPreferences,
            offerAudio: audio, offerVideo: video, sessionID: UInt64.random(in: 1...UInt64(Int64.max)))
        offerSent = offer
        localSDP = offer.serialize()
        return localSDP!  // assigned on the line above
    }

    func processAnswer(_ text: String) throws(KurentoError) -> String {
        guard let offer = offerSent else {
            throw KurentoError(.sdpEndPointNotOfferGenerated, "No offer was generated")
        }
        guard !isNegotiated else { throw KurentoError(.sdpEndPointAnswerAlreadyProcessed, "Answer already processed") }
        do {
            let answer = try SessionDescription.parse(text)
            let negotiated = try Negotiation.process(answer: answer, to: offer, capabilities: Self.capabilities)
            let remote = try Negotiation.remoteTransport(of: answer)
            // The answerer chose: active means it is the DTLS client.
            let role: DTLSRole = remote.setup == .active ? .server : .client
            guard let agent = ice else { throw KurentoError(.sdpEndPointProcessAnswerError, "no ICE agent") }
            try startTransport(agent: agent, remote: remote, role: role)
            apply(negotiated)
        } catch let e as KurentoError {
            throw e
        } catch let e as SDPError {
            throw KurentoError(.sdpEndPointProcessAnswerError, "Error processing answer: \(e.description)")
        } catch {
            throw KurentoError(.sdpEndPointProcessAnswerError, "Error processing answer: \(error)")
        }
        remoteSDP = text
        return localSDP ?? ""
    }

    private func startTransport(
        agent: ICEAgent,
        remote: (ufrag: String, pwd: String, fingerprints: [Fingerprint], setup: SetupRole?, candidates: [(mid: String?, index: Int, candidate: String)]),
        role: DTLSRole
    ) throws(KurentoError) {
        agent.setRemoteCredentials(ufrag: remote.ufrag, pwd: remote.pwd)
        do {
            let session = try DTLSSession(
                certificate: certificate, role: role,
                remoteFingerprints: remote.fingerprints.map { ($0.algorithm, $0.value) }, loop: loop
            ) { [weak self] bytes in self?.ice?.send(bytes) }
            let id = objectID, ctx = context
            session.onKeys = { [weak self] keys in
                do {
                    self?.srtp = try SRTPSession(keys: keys)
                    self?.startRTCP()
                } catch {
                    self?.logger.error("SRTP setup failed: \(error)")
                }
            }
            session.onStateChange = { [weak self] state in
                ctx.raise("DtlsConnectionStateChange", on: id, [
                    "streamId": "1", "componentId": "1", "connectionId": "1", "state": .string(state.rawValue),
                ])
                if state == .failed {
                    ctx.raise("Error", on: id, [
                        "type": "UNEXPECTED_ELEMENT_ERROR", "errorCode": 0,
                        "description": .string(self?.dtls?.failure ?? "DTLS failed"),
                    ])
                }
                if state == .connected { ctx.raise("MediaSessionStarted", on: id) }
                // The peer closed DTLS (close_notify) or it failed after starting: the session is over.
                if state == .closed || state == .failed, self?.sessionStarted == true {
                    self?.sessionStarted = false
                    ctx.raise("MediaSessionTerminated", on: id)
                }
                if state == .connected { self?.sessionStarted = true }
            }
            dtls = session
        } catch {
            throw KurentoError(.sdpEndPointCannotCreateSession, "DTLS setup failed: \(error.description)")
        }
        for c in remote.candidates { try? agent.addRemoteCandidate(c.candidate) }
        for c in pendingCandidates { try? agent.addRemoteCandidate(c) }
        pendingCandidates.removeAll()
        if gatherRequested { try? agent.gather() }
    }

    private func apply(_ negotiated: [NegotiatedMedia]) {
        media = negotiated
        for m in negotiated where m.accepted {
            // One id per URI across the bundle; we send what we receive with the same ids.
            if let id = m.extensions[HeaderExtensionURI.absSendTime] {
                incomingExtensions.absSendTime = id
                outgoingExtensions.absSendTime = id
            }
            if let id = m.extensions[HeaderExtensionURI.audioLevel] {
                incomingExtensions.audioLevel = id
                outgoingExtensions.audioLevel = id
            }
            guard let kind: MediaKindKey = m.kind == .audio ? .audio : (m.kind == .video ? .video : nil), let codec = m.codec else { continue }
            kindByPayloadType[codec.payloadType] = kind
            out[kind.rawValue].payloadType = codec.payloadType
            out[kind.rawValue].clockRate = codec.clockRate
            out[kind.rawValue].negotiated = m.direction == .sendrecv || m.direction == .sendonly
            remoteSSRC[kind.rawValue] = m.remoteSSRCs.first
            if kind == .video {
                rtcp.nackEnabled = m.nack
                rtcp.rembEnabled = m.remb
                if let rtx = m.rtxPayloadType { rtxPayloadType = rtx }
            }
        }
    }

    func gatherCandidates() throws(KurentoError) {
        gatherRequested = true
        guard let ice, isNegotiated || offerSent != nil else { return }  // gathered once negotiation starts
        do { try ice.gather() } catch { throw KurentoError(.iceGatherCandidatesError, error.description) }
    }

    func addIceCandidate(_ candidate: String) throws(KurentoError) {
        guard let ice, isNegotiated else {
            pendingCandidates.append(candidate)  // applied once the SDP is processed, as KMS does
            return
        }
        do { try ice.addRemoteCandidate(candidate) } catch { throw KurentoError(.iceAddCandidateError, error.description) }
    }

    private func iceStateChanged(_ state: ICEState) {
        switch state {
        case .connected, .ready:
            setConnectionState("CONNECTED")
            if dtls?.state == .new { dtls?.start() }
        case .failed, .disconnected:
            setConnectionState("DISCONNECTED")
        default:
            break
        }
    }

    private func setConnectionState(_ s: String) {
        guard s != connectionState else { return }
        context.raise("ConnectionStateChanged", on: objectID, ["oldState": .string(connectionState), "newState": .string(s)])
        connectionState = s
    }

    // MARK: State used by the packet path (WebRtcSession+Packets.swift)

    var dtlsSession: DTLSSession? { dtls }
    var srtpSession: SRTPSession? { srtp }
    var remoteVideoSSRC: UInt32? { remoteSSRC[MediaKindKey.video.rawValue] }
    var scratchCapacity: Int { scratch.count }

    func kind(ofPayloadType pt: UInt8) -> MediaKindKey? { kindByPayloadType[pt] }
    func noteRemoteSSRC(_ ssrc: UInt32, kind: MediaKindKey) {
        if remoteSSRC[kind.rawValue] != ssrc { remoteSSRC[kind.rawValue] = ssrc }
    }
    func flowing(in kind: MediaKindKey) -> Bool { flowingIn[kind.rawValue] }
    func setFlowing(in kind: MediaKindKey) { flowingIn[kind.rawValue] = true }
    func flowing(out kind: MediaKindKey) -> Bool { flowingOut[kind.rawValue] }
    func setFlowing(out kind: MediaKindKey) { flowingOut[kind.rawValue] = true }
    func countIn(_ kind: MediaKindKey, bytes: Int) {
        inPackets[kind.rawValue] &+= 1
        inBytes[kind.rawValue] &+= UInt64(bytes)
    }
    func canSend(_ kind: MediaKindKey) -> Bool { out[kind.rawValue].negotiated }
    func outStream(_ kind: MediaKindKey) -> OutStream { out[kind.rawValue] }
    func setOutStream(_ s: OutStream, _ kind: MediaKindKey) { out[kind.rawValue] = s }
    func withScratch<T>(_ body: (UnsafeMutableRawBufferPointer) -> T) -> T { scratch.withUnsafeMutableBytes(body) }
    func sendDatagram(_ bytes: UnsafeRawBufferPointer) { ice?.send(bytes) }

    /// Counters for getStats and the tests.
    var counters: (inPackets: [UInt64], inBytes: [UInt64], outPackets: [UInt64], outBytes: [UInt64]) {
        (inPackets, inBytes, out.map(\.packets), out.map(\.bytes))
    }

    override func consume(
        _ packet: UnsafeMutableRawBufferPointer, header: RTPHeader, kind: MediaKindKey, ext: ExtensionMap, from source: MediaNode
    ) {
        sendAsConsumer(packet, header: header, kind: kind, ext: ext)
    }

    override func requestKeyframe() { sendPLI() }

    override func stats(kind: MediaKindKey?, timestampMillis: Int64) -> [String: JSONValue] {
        var all = super.stats(kind: kind, timestampMillis: timestampMillis)
        let id = "\(statsPrefix)_element"
        all[id] = [
            "__module__": "kurento", "__type__": "EndpointStats", "id": .string(id), "type": "endpoint",
            "timestampMillis": .int(timestampMillis), "inputLatency": [], "E2ELatency": [],
        ]
        all.merge(rtpStats(kind: kind, timestampMillis: timestampMillis)) { a, _ in a }
        return all
    }

    override func sourceDidChange(kind: MediaKindKey) { resetOutStream(kind) }

    override func close() {
        guard !isClosed else { return }
        super.close()
        rtcp.timer?.cancel()
        rtcp.timer = nil
        dtls?.close()
        ice?.close()
        ice = nil
        dtls = nil
        srtp = nil
    }
}
