import Foundation
import Logging
import RTP
package import SDP
import STUN
package import Transport

/// The media-plane half of a WebRtcEndpoint: ICE (ICE-lite on the loop's
/// shared port, or libnice), DTLS-SRTP and the RTP/RTCP of one peer, on its
/// pipeline's media loop.
///
/// Receive path: datagram -> demux (RFC 7983) -> DTLS, or SRTP unprotect ->
/// forward to consumers (RtpSession). Send path (as a consumer, RtpSession):
/// rewrite into this peer's space -> SRTP protect -> the ICE agent.
package final class WebRtcSession: RtpSession {
    package struct Options: Sendable {
        package var recvonly = false
        package var sendonly = false
        package var keyType: DTLSCertificate.KeyType = .ecdsa
        /// Kurento's `useDataChannels`: accept (and offer) a data channel m-line.
        package var useDataChannels = false

        package init() {}
    }

    /// The data channels, once DTLS is up on a negotiation that kept the data m-line.
    package private(set) var dataChannels: DataChannelSet?
    /// The peer's SCTP port and largest message, from the negotiated data m-line.
    private var sctpRemote: (port: UInt16, maxMessageSize: Int)?
    private var dtlsRole: DTLSRole = .server
    /// createDataChannel calls made before DTLS was up.
    private var pendingDataChannels: [(label: String, ordered: Bool, reliability: SCTPAssociation.Reliability, proto: String)] = []

    package let options: Options
    private let certificate: DTLSCertificate
    private var ice: (any ICETransport)?
    private var dtls: DTLSSession?
    private var pendingCandidates: [String] = []
    private var gatherRequested = false
    /// The server's ICE settings with this endpoint's overrides; the agent
    /// reads them when gathering starts.
    package var iceSettings: ICESettings {
        didSet { ice?.settings = iceSettings }
    }
    package var iceState: ICEState { consentExpired ? .failed : ice?.state ?? .disconnected }
    package var dtlsState: DTLSState { dtls?.state ?? .new }
    private(set) var selectedPair: (local: String, remote: String)?
    /// Set when the peer stayed silent past the consent window; terminal.
    private(set) var consentExpired = false
    /// DTLS datagrams libnice could not send yet (no selected pair): the
    /// peer's ClientHello can arrive before the controlling side has
    /// nominated, and a lost first flight would cost OpenSSL's 1 s
    /// retransmission timer. Sent as soon as a pair is selected.
    private var heldDTLS: [[UInt8]] = []

    package init(loop: MediaLoop, objectID: String, context: MediaContext, options: Options) {
        self.options = options
        self.certificate = context.certificate(options.keyType)
        self.iceSettings = context.ice
        super.init(loop: loop, objectID: objectID, context: context, allowSend: !options.recvonly, allowReceive: !options.sendonly)
    }

    /// What we negotiate: Opus and VP8 (+rtx), NACK, PLI, FIR, REMB and
    /// transport-cc (we send transport-wide feedback for what we receive; we
    /// do not put transport-wide sequence numbers on what we send, so our
    /// peers estimate our stream with REMB, from abs-send-time).
    package static let capabilities = LocalMediaCapabilities.default
    private var capabilities: LocalMediaCapabilities { Self.capabilities.withDataChannels(options.useDataChannels) }

    package override var sendsRTX: Bool { true }

    // MARK: Negotiation (control messages from the signalling plane)

    /// ICE-lite on the loop's shared port unless these settings need full
    /// ICE (`ICESettings.needsFullICE`); chosen once, when negotiation starts.
    private func makeAgent(controlling: Bool) throws(NegotiationError) -> any ICETransport {
        if let ice { return ice }
        let agent: any ICETransport
        if !iceSettings.needsFullICE, let mux = context.mux(for: loop) {
            agent = ICELiteAgent(mux: mux, settings: iceSettings, logger: logger)
        } else {
            do {
                agent = try ICEAgent(loop: loop, controlling: controlling, settings: iceSettings, logger: logger)
            } catch {
                throw NegotiationError(.iceGatherCandidates, error.description)
            }
        }
        let id = objectID
        let ctx = context
        agent.onCandidate = { candidate in
            ctx.raise(.iceCandidate(candidate, mid: self.media.first(where: \.accepted)?.mid ?? "0"), on: id)
        }
        agent.onGatheringDone = { ctx.raise(.iceGatheringDone, on: id) }
        // `unowned`, not `weak`: the agent and the DTLS session belong to this
        // session and are closed with it (callbacks dropped), and a weak
        // reference would give the session a side table, which makes every
        // retain and release of it on the packet path take the slow path.
        agent.onStateChange = { [unowned self] state in
            ctx.raise(.iceState(state), on: id)
            self.iceStateChanged(state)
        }
        agent.onSelectedPair = { [unowned self] local, remote in
            // The peer moved (ICE-lite follows a new address): what it missed
            // meanwhile cannot be repaired, so its video restarts from a keyframe.
            if self.selectedPair != nil { self.source(of: .video)?.requestKeyframe() }
            self.selectedPair = (local, remote)
            self.flushHeldDTLS()
            ctx.raise(.candidatePairSelected(local: local, remote: remote), on: id)
        }
        agent.onReceive = { [unowned self] buffer in self.receiveDatagram(buffer) }
        ice = agent
        return agent
    }

    private var transportParameters: TransportParameters {
        TransportParameters(
            iceUfrag: ice?.localUfrag ?? "", icePwd: ice?.localPwd ?? "",
            fingerprint: Fingerprint(algorithm: "sha-256", value: certificate.fingerprintSHA256), iceLite: ice?.isLite ?? false,
            candidates: ice?.sdpCandidates ?? [])
    }

    package override func processOffer(_ text: String) throws(NegotiationError) -> String {
        try ensureNotNegotiated()
        let offer: SessionDescription
        do { offer = try SessionDescription.parse(text) } catch {
            throw NegotiationError(.sdpParse, "Error processing offer: \(error.description)")
        }
        let remote: (ufrag: String, pwd: String, fingerprints: [Fingerprint], setup: SetupRole?, candidates: [(mid: String?, index: Int, candidate: String)])
        do { remote = try Negotiation.remoteTransport(of: offer) } catch {
            throw NegotiationError(.processOffer, "Error processing offer: \(error.description)")
        }
        let agent = try makeAgent(controlling: false)
        let result: (answer: SessionDescription, media: [NegotiatedMedia])
        do {
            result = try Negotiation.answer(
                to: offer, capabilities: capabilities, transport: transportParameters, streams: sendPreferences,
                sessionID: UInt64.random(in: 1...UInt64(Int64.max)))
        } catch {
            throw NegotiationError(.processOffer, "Error processing offer: \(error.description)")
        }
        // We answer actpass with passive (RFC 8842 §5.3): the peer is the DTLS client.
        let ourSetup = result.answer.media.first { $0.setup != nil }?.setup ?? result.answer.setup ?? .passive
        try startTransport(agent: agent, remote: remote, role: ourSetup == .active ? .client : .server)
        apply(result.media)
        noteDataMedia(result.media)
        remoteSDP = text
        return keepLocal(result.answer, isOffer: false)
    }

    package override func generateOffer(audio: Bool, video: Bool) throws(NegotiationError) -> String {
        try ensureNotNegotiated()
        _ = try makeAgent(controlling: true)
        let offer = Negotiation.offer(
            capabilities: capabilities, transport: transportParameters, streams: sendPreferences,
            offerAudio: audio, offerVideo: video, sessionID: UInt64.random(in: 1...UInt64(Int64.max)))
        return keepLocal(offer, isOffer: true)
    }

    package override func processAnswer(_ text: String) throws(NegotiationError) -> String {
        let offer = try offerAwaitingAnswer()
        do {
            let answer = try SessionDescription.parse(text)
            let negotiated = try Negotiation.process(answer: answer, to: offer, capabilities: capabilities)
            let remote = try Negotiation.remoteTransport(of: answer)
            // The answerer chose: active means it is the DTLS client.
            let role: DTLSRole = remote.setup == .active ? .server : .client
            guard let agent = ice else { throw NegotiationError(.processAnswer, "no ICE agent") }
            try startTransport(agent: agent, remote: remote, role: role)
            apply(negotiated)
            noteDataMedia(negotiated)
        } catch {
            throw Self.answerError(error)
        }
        remoteSDP = text
        return localSDP ?? ""
    }

    private func startTransport(
        agent: any ICETransport,
        remote: (ufrag: String, pwd: String, fingerprints: [Fingerprint], setup: SetupRole?, candidates: [(mid: String?, index: Int, candidate: String)]),
        role: DTLSRole
    ) throws(NegotiationError) {
        agent.setRemoteCredentials(ufrag: remote.ufrag, pwd: remote.pwd)
        dtlsRole = role
        do {
            let session = try DTLSSession(
                certificate: certificate, role: role,
                remoteFingerprints: remote.fingerprints.map { ($0.algorithm, $0.value) }, loop: loop
            ) { [unowned self] bytes in self.sendDTLS(bytes) }
            let id = objectID, ctx = context
            session.onKeys = { [unowned self] keys in
                do {
                    self.protection = try SRTPSession(keys: keys)
                    self.lastAuthenticatedReceive = self.now
                    self.startRTCP()
                    // From now on we can send: a keyframe asked for when this viewer was
                    // connected (before its transport was up) went nowhere, so ask again.
                    // The source's own rate limit keeps this from doubling keyframes.
                    if self.canSend(.video) { self.source(of: .video)?.requestStartKeyframe() }
                } catch {
                    self.logger.error("SRTP setup failed: \(error)")
                }
            }
            session.onStateChange = { [unowned self] state in
                ctx.raise(.dtlsState(state), on: id)
                if state == .failed {
                    ctx.metrics.sessionFailed(.dtls)
                    ctx.raise(.failure(self.dtls?.failure ?? "DTLS failed"), on: id)
                }
                if state == .connected {
                    ctx.raise(.sessionStarted, on: id)
                    self.startDataChannels()
                }
                // The peer closed DTLS (close_notify) or it failed after starting: the session is over.
                if state == .closed || state == .failed, self.sessionStarted == true {
                    self.sessionStarted = false
                    ctx.raise(.sessionTerminated, on: id)
                }
                if state == .connected { self.sessionStarted = true }
            }
            session.onApplicationData = { [unowned self] bytes in self.dataChannels?.sctp.input(bytes) }
            dtls = session
        } catch {
            throw NegotiationError(.cannotCreateSession, "DTLS setup failed: \(error.description)")
        }
        for c in remote.candidates { try? agent.addRemoteCandidate(c.candidate) }
        for c in pendingCandidates { try? agent.addRemoteCandidate(c) }
        pendingCandidates.removeAll()
        if gatherRequested { try? agent.gather() }
    }

    package func gatherCandidates() throws(NegotiationError) {
        gatherRequested = true
        guard let ice, isNegotiated || offerSent != nil else { return }  // gathered once negotiation starts
        do { try ice.gather() } catch { throw NegotiationError(.iceGatherCandidates, error.description) }
    }

    package func addIceCandidate(_ candidate: String) throws(NegotiationError) {
        guard let ice, isNegotiated else {
            pendingCandidates.append(candidate)  // applied once the SDP is processed, as KMS does
            return
        }
        do { try ice.addRemoteCandidate(candidate) } catch { throw NegotiationError(.iceAddCandidate, error.description) }
    }

    private func iceStateChanged(_ state: ICEState) {
        switch state {
        case .connected, .ready:
            setConnectionState(connected: true)
            flushHeldDTLS()
            if dtls?.state == .new { dtls?.start() }
        case .failed:
            context.metrics.sessionFailed(.ice)
            setConnectionState(connected: false)
        case .disconnected:
            setConnectionState(connected: false)
        default:
            break
        }
    }

    /// A datagram from the ICE agent (it consumes STUN itself): DTLS
    /// goes to the handshake, the rest to the shared packet path.
    package func receiveDatagram(_ buffer: UnsafeMutableRawBufferPointer) {
        guard !isClosed else { return }
        if Demux.classify(UnsafeRawBufferPointer(buffer)) == .dtls {
            dtls?.receive(UnsafeRawBufferPointer(buffer))
        } else {
            receivePacket(buffer)
        }
    }

    package override func sendDatagram(_ bytes: UnsafeRawBufferPointer, kind: MediaKindKey) { ice?.send(bytes) }

    private func sendDTLS(_ bytes: UnsafeRawBufferPointer) {
        guard let ice else { return }
        if !heldDTLS.isEmpty || !ice.send(bytes) {
            if heldDTLS.count < 16 { heldDTLS.append(Array(bytes)) }  // one flight is a few datagrams
        }
    }

    /// Sends the DTLS datagrams held while no pair was selected, in order.
    private func flushHeldDTLS() {
        guard let ice, !heldDTLS.isEmpty else { return }
        var sent = 0
        for datagram in heldDTLS {
            guard datagram.withUnsafeBytes({ ice.send($0) }) else { break }
            sent += 1
        }
        heldDTLS.removeFirst(sent)
    }

    package override func reportTick(at t: Duration) {
        ice?.tick()
        checkConsent(at: t)
    }

    /// Consent freshness (RFC 7675 §5.1), kept here rather than in libnice (see
    /// ICEAgent.init): a peer that sent nothing authenticated (SRTP or SRTCP;
    /// every WebRTC peer sends RTCP at least every few seconds) for
    /// `consentTimeout` has withdrawn consent. We stop sending for good, report
    /// ICE FAILED, the connection as DISCONNECTED and the media session as
    /// terminated, so a room or a Kurento client can release the endpoint.
    /// Shorter silences (loss, an outage) only pause: nothing is revoked.
    private func checkConsent(at t: Duration) {
        guard !consentExpired, protection != nil, t - lastAuthenticatedReceive > iceSettings.consentTimeout else { return }
        consentExpired = true
        context.metrics.sessionFailed(.consentExpired)
        logger.warning("consent expired: nothing authenticated from the peer", metadata: ["endpoint": "\(objectID)",
            "silentSeconds": "\((t - lastAuthenticatedReceive) / .seconds(1))"])
        protection = nil  // also ends the RTCP tick this runs in
        // `reason` is Tessera's addition to Kurento's event: rooms evict on it.
        context.raise(.iceState(.failed, consentExpired: true), on: objectID)
        setConnectionState(connected: false)
        if sessionStarted {
            sessionStarted = false
            context.raise(.sessionTerminated, on: objectID)
        }
    }

    package override func close() {
        guard !isClosed else { return }
        super.close()
        dataChannels?.close()
        dataChannels = nil
        dtls?.close()
        ice?.close()
        ice = nil
        dtls = nil
    }

    // MARK: Data channels (RFC 8831/8832)

    package override func stats(kind: MediaKindKey?) -> NodeStats {
        var s = super.stats(kind: kind)
        guard kind == nil, let set = dataChannels else { return s }
        s.dataChannels = set.channels.values.sorted { $0.id < $1.id }.map { c in
            DataChannelStats(id: c.id, label: c.label, protocol: c.protocol, state: c.open ? "open" : "connecting",
                             messagesSent: c.messagesSent, bytesSent: c.bytesSent,
                             messagesReceived: c.messagesReceived, bytesReceived: c.bytesReceived)
        }
        return s
    }

    private func noteDataMedia(_ media: [NegotiatedMedia]) {
        if let m = media.first(where: { $0.kind == .application && $0.accepted }) {
            sctpRemote = (m.sctpPort ?? Negotiation.sctpPort, m.maxMessageSize ?? 65_536)
        }
    }

    /// Once DTLS is up: the SCTP association over it, and DCEP on top.
    private func startDataChannels() {
        guard dataChannels == nil, let remote = sctpRemote, let dtls else { return }
        let set = DataChannelSet(loop: loop, isDTLSClient: dtlsRole == .client)
        set.sctp.maxMessageSize = Negotiation.maxMessageSize
        set.sctp.onSend = { [unowned dtls] bytes in dtls.sendApplicationData(bytes) }
        let id = objectID, ctx = context
        set.onOpen = { info in ctx.raise(.dataChannelOpened(info.id), on: id) }
        set.onClose = { channel in ctx.raise(.dataChannelClosed(channel), on: id) }
        set.onMessage = { [unowned self] channel, binary, bytes in
            let label = self.dataChannels?.channels[channel]?.label ?? ""
            self.forwardData(DataMessage(channel: channel, label: label, binary: binary, bytes: bytes))
        }
        dataChannels = set
        if !set.sctp.start(localPort: Negotiation.sctpPort, remotePort: remote.port) {
            logger.error("SCTP association could not start")
        }
        for c in pendingDataChannels { set.create(label: c.label, ordered: c.ordered, reliability: c.reliability, protocol: c.proto) }
        pendingDataChannels.removeAll()
    }

    /// Kurento's createDataChannel: needs useDataChannels and a negotiated data m-line.
    package func createDataChannel(label: String, ordered: Bool, maxPacketLifeTime: Int, maxRetransmits: Int, protocol proto: String) throws(NegotiationError) {
        guard options.useDataChannels else {
            throw NegotiationError(.dataChannel, "data channels are off on this endpoint: create it with useDataChannels true")
        }
        guard sctpRemote != nil else {
            throw NegotiationError(.dataChannel, "no data channel was negotiated (the SDP has no accepted m=application line)")
        }
        let reliability: SCTPAssociation.Reliability =
            maxPacketLifeTime >= 0 ? .maxLifetime(milliseconds: UInt32(clamping: maxPacketLifeTime))
            : maxRetransmits >= 0 ? .maxRetransmits(UInt32(clamping: maxRetransmits)) : .reliable
        guard let set = dataChannels else {
            // DTLS is not up yet: opened as soon as the association starts.
            pendingDataChannels.append((label, ordered, reliability, proto))
            return
        }
        guard set.create(label: label, ordered: ordered, reliability: reliability, protocol: proto) != nil else {
            throw NegotiationError(.dataChannel, "no free SCTP stream for another data channel")
        }
    }

    package func closeDataChannel(_ channel: Int) throws(NegotiationError) {
        guard let set = dataChannels, let id = UInt16(exactly: channel), set.close(channel: id) else {
            throw NegotiationError(.dataChannelParam, "no open data channel with id \(channel)")
        }
    }

    /// A message from a DATA source (itself when connected to itself): sent on
    /// our open channel with the same id and label, else the same label, else
    /// the same id; dropped when there is none (or no data channels at all).
    package override func consumeData(_ message: DataMessage, from source: MediaNode) {
        guard let set = dataChannels else { return }
        let channel = set.channels[message.channel].flatMap { $0.open && $0.label == message.label ? $0.id : nil }
            ?? set.channels.values.filter { $0.open && $0.label == message.label }.map(\.id).min()
            ?? set.channels[message.channel].flatMap { $0.open ? $0.id : nil }
        if let channel { set.send(channel: channel, binary: message.binary, message.bytes) } else { context.metrics.dataMessageDropped() }
    }
}
