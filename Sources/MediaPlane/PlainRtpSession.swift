import Foundation
import Logging
import RTP
package import SDP
import STUN
package import Transport

/// The media-plane half of an RtpEndpoint: RTP/RTCP over UDP (no ICE, no
/// DTLS; SRTP only with SDES keys from the SDP) on its pipeline's media
/// loop. Everything after the socket is `RtpSession`'s: forwarding,
/// rewriting, NACK, RTCP, stats.
///
/// Each accepted m-line has its own socket pair: RTP on an even port, RTCP on
/// the next one, or both on the RTP port with rtcp-mux. We send RTP to the
/// peer's c=/m= address and port, RTCP to its a=rtcp port (or port + 1).
///
/// Symmetric RTP (RFC 4961): the first valid RTP packet of an m-line (a known
/// payload type) fixes where we send from then on, if it came from another
/// address than the SDP names; this is what gets media through a NAT. A later
/// change of sender is followed only once the current one has been silent
/// for `relatchAfter`, so stray or hostile datagrams cannot steal the stream.
/// Likewise only one SSRC per m-line is taken at a time.
package final class PlainRtpSession: RtpSession {
    /// One m-line's transport.
    package final class Leg {
        let kind: MediaKindKey
        let ports: UDPPortPair
        var rtcpMux = false
        var rtpDestination: UDPEndpoint?
        var rtcpDestination: UDPEndpoint?
        var latchedFrom: UDPEndpoint?
        var ssrc: UInt32?
        var lastValid: Duration?
        var rtcpLatchedFrom: UDPEndpoint?

        init(kind: MediaKindKey, ports: UDPPortPair) {
            self.kind = kind
            self.ports = ports
        }
    }

    package static let relatchAfter: Duration = .seconds(2)

    private var legs: [Leg?] = [nil, nil]
    private let bindHost: String
    private let advertisedAddress: String
    /// SDES-SRTP: our suite and key (nil: RTP in the clear).
    package let sdes: SDESCrypto?
    private var sdesProtection: SDESProtection?

    package init(loop: MediaLoop, objectID: String, context: MediaContext, sdes: SDESCrypto? = nil) {
        self.sdes = sdes
        bindHost = context.ice.hostAddresses.first { UDPEndpoint(host: $0, port: 0) != nil } ?? "0.0.0.0"
        advertisedAddress = advertisedIPv4Address(boundTo: bindHost)
        super.init(loop: loop, objectID: objectID, context: context, allowSend: true, allowReceive: true)
    }

    package override var reportsPerKind: Bool { true }

    // MARK: Negotiation

    private func openLegs(audio: Bool, video: Bool) throws(NegotiationError) -> PlainLocalTransport {
        for (kind, wanted) in [(MediaKindKey.audio, audio), (.video, video)] where wanted && legs[kind.rawValue] == nil {
            do {
                let pair = try UDPPortPair(loop: loop, host: bindHost, range: context.ice.portRange)
                let leg = Leg(kind: kind, ports: pair)
                pair.rtp.onReceive = { [weak self, unowned leg] buffer, from in self?.received(buffer, from: from, leg: leg, rtcpSocket: false) }
                pair.rtcp.onReceive = { [weak self, unowned leg] buffer, from in self?.received(buffer, from: from, leg: leg, rtcpSocket: true) }
                legs[kind.rawValue] = leg
            } catch {
                throw NegotiationError(.cannotCreateSession, "Cannot open UDP ports for \(kind.kurentoName): \(error.description)")
            }
        }
        func ports(_ kind: MediaKindKey) -> PlainLocalPorts? {
            legs[kind.rawValue].map { PlainLocalPorts(rtp: $0.ports.rtp.local.port, rtcp: $0.ports.rtcp.local.port) }
        }
        return PlainLocalTransport(address: advertisedAddress, audio: ports(.audio), video: ports(.video))
    }

    package override func processOffer(_ text: String) throws(NegotiationError) -> String {
        try ensureNotNegotiated()
        let offer: SessionDescription
        do { offer = try SessionDescription.parse(text) } catch {
            throw NegotiationError(.sdpParse, "Error processing offer: \(error.description)")
        }
        let local = try openLegs(audio: true, video: true)
        let result: (answer: SessionDescription, media: [NegotiatedMedia], remote: [PlainRemoteTransport])
        do throws(SDPError) {
            result = try Negotiation.plainAnswer(to: offer, local: local, streams: sendPreferences,
                                                 sessionID: UInt64.random(in: 1...UInt64(Int64.max)), sdes: sdes)
            try start(result.media, result.remote)
        } catch {
            closeUnusedLegs([])
            throw NegotiationError(.processOffer, "Error processing offer: \(error.description)")
        }
        remoteSDP = text
        return keepLocal(result.answer, isOffer: false)
    }

    package override func generateOffer(audio: Bool, video: Bool) throws(NegotiationError) -> String {
        try ensureNotNegotiated()
        guard audio || video else { throw NegotiationError(.generateOffer, "Offer with neither audio nor video") }
        let local = try openLegs(audio: audio, video: video)
        let offer = Negotiation.plainOffer(local: local, streams: sendPreferences, offerAudio: audio, offerVideo: video,
                                           sessionID: UInt64.random(in: 1...UInt64(Int64.max)), sdes: sdes)
        return keepLocal(offer, isOffer: true)
    }

    package override func processAnswer(_ text: String) throws(NegotiationError) -> String {
        let offer = try offerAwaitingAnswer()
        do {
            let answer: SessionDescription
            do { answer = try SessionDescription.parse(text) } catch {
                throw NegotiationError(.sdpParse, "Error processing answer: \(error.description)")
            }
            let result = try Negotiation.processPlain(answer: answer, to: offer, sdes: sdes)
            try start(result.media, result.remote)
        } catch {
            throw Self.answerError(error)
        }
        remoteSDP = text
        return localSDP ?? ""
    }

    /// Points each accepted m-line's leg at the peer, closes the legs of
    /// rejected kinds, and starts RTCP.
    private func start(_ negotiated: [NegotiatedMedia], _ remotes: [PlainRemoteTransport]) throws(SDPError) {
        var used: [MediaKindKey] = []
        for remote in remotes {
            guard let kind: MediaKindKey = remote.kind == .audio ? .audio : (remote.kind == .video ? .video : nil),
                  let leg = legs[kind.rawValue] else { continue }
            guard let rtp = UDPEndpoint(host: remote.address, port: remote.rtpPort),
                  let rtcp = UDPEndpoint(host: remote.rtcpAddress, port: remote.rtcpPort) else {
                throw .unsupported("connection address '\(remote.address.prefix(64))' for \(remote.kind.rawValue): only IPv4 literals (useIpv6 is not supported)")
            }
            // 0.0.0.0: not known; learnt from the first packet (symmetric RTP).
            leg.rtpDestination = rtp.isUnspecified ? nil : rtp
            leg.rtcpDestination = rtcp.isUnspecified ? nil : rtcp
            leg.rtcpMux = remote.rtcpMux
            used.append(kind)
        }
        closeUnusedLegs(used)
        apply(negotiated)
        if let sdes {
            do {
                let keyed = try SDESProtection(local: sdes, remotes: remotes)
                sdesProtection = keyed
                protection = keyed
            } catch {
                throw .unsupported("SRTP keys could not be set up: \(error.description)")
            }
        } else {
            protection = NoProtection()
        }
        // What we forward starts mid-stream: the peer needs a keyframe first.
        if canSend(.video) { source(of: .video)?.requestStartKeyframe() }
        startRTCP()
        setConnectionState(connected: true)
    }

    private func closeUnusedLegs(_ used: [MediaKindKey]) {
        for kind in MediaKindKey.allCases where !used.contains(kind) {
            legs[kind.rawValue]?.ports.close()
            legs[kind.rawValue] = nil
        }
    }

    // MARK: Datagrams

    private func received(_ buffer: UnsafeMutableRawBufferPointer, from: UDPEndpoint, leg: Leg, rtcpSocket: Bool) {
        guard !isClosed, protection != nil else { return }
        let bytes = UnsafeRawBufferPointer(buffer)
        switch Demux.classify(bytes) {
        case .rtp where !rtcpSocket:
            guard let header = try? RTPHeader.parse(bytes),
                  kind(ofPayloadType: header.payloadType) == leg.kind || header.payloadType == rtxPayloadType
            else { return countDrop() }
            let now = loop.clock.now
            let stale = leg.lastValid.map { now - $0 > Self.relatchAfter } ?? true
            if header.payloadType != rtxPayloadType {
                if let ssrc = leg.ssrc, ssrc != header.ssrc, !stale { return countDrop() }
                if let latched = leg.latchedFrom, latched != from, !stale { return countDrop() }
            } else if leg.latchedFrom != from {
                return countDrop()
            }
            // With SDES only an authenticated packet may move the stream: take it first.
            sdesProtection?.inboundKind = leg.kind
            let dropped = droppedDatagrams
            receivePacket(buffer)
            guard droppedDatagrams == dropped else { return }
            if header.payloadType != rtxPayloadType {
                leg.ssrc = header.ssrc
                leg.lastValid = now
                if leg.latchedFrom != from {
                    if leg.rtpDestination != from {
                        logger.info("RTP \(leg.kind.kurentoName) latched onto \(from) (SDP said \(leg.rtpDestination?.description ?? "nothing"))")
                    }
                    leg.latchedFrom = from
                    leg.rtpDestination = from
                    if leg.rtcpMux { leg.rtcpDestination = from }
                }
            }
            if !sessionStarted {
                sessionStarted = true
                context.raise(.sessionStarted, on: objectID)
            }
        case .rtcp:
            if !rtcpSocket, !leg.rtcpMux, leg.latchedFrom != from { return countDrop() }
            sdesProtection?.inboundKind = leg.kind
            if rtcpSocket, leg.rtcpLatchedFrom != from {
                guard leg.rtcpLatchedFrom == nil else { return countDrop() }
                // The first RTCP packet that is taken (parsed, and authenticated with SDES)
                // fixes the peer's RTCP address.
                let dropped = droppedDatagrams
                receivePacket(buffer)
                if droppedDatagrams == dropped {
                    leg.rtcpLatchedFrom = from
                    leg.rtcpDestination = from
                }
                return
            }
            receivePacket(buffer)
        default:
            countDrop()
        }
    }

    package override func sendDatagram(_ bytes: UnsafeRawBufferPointer, kind: MediaKindKey) {
        guard let leg = legs[kind.rawValue], let to = leg.rtpDestination else { return }
        leg.ports.rtp.send(bytes, to: to)
    }

    package override func sendRTCPDatagram(_ bytes: UnsafeRawBufferPointer, kind: MediaKindKey?) {
        for case let leg? in legs where kind == nil || leg.kind == kind {
            guard let to = leg.rtcpDestination else { continue }
            (leg.rtcpMux ? leg.ports.rtp : leg.ports.rtcp).send(bytes, to: to)
        }
    }

    package override func close() {
        guard !isClosed else { return }
        super.close()
        closeUnusedLegs([])
        if sessionStarted {
            sessionStarted = false
            context.raise(.sessionTerminated, on: objectID)
        }
    }
}

/// SDES-SRTP for an RtpEndpoint: our key protects everything we send; each
/// m-line's packets are unprotected with the key the peer gave for it (the
/// session tells which m-line a datagram came in on before handing it over).
package final class SDESProtection: PacketProtection {
    private let outbound: SRTPSession
    private var inbound: [SRTPSession?] = [nil, nil]
    package var inboundKind: MediaKindKey = .audio

    package init(local: SDESCrypto, remotes: [PlainRemoteTransport]) throws(SRTPError) {
        guard let profile = SRTPProfile(sdesSuite: local.suite) else { throw SRTPError(status: 0) }
        var first: SRTPSession?
        for remote in remotes {
            guard let crypto = remote.crypto, let kind: MediaKindKey = remote.kind == .audio ? .audio : (remote.kind == .video ? .video : nil)
            else { continue }
            let session = try SRTPSession(keys: SRTPKeys(profile: profile, localKeyAndSalt: local.keyAndSalt, remoteKeyAndSalt: crypto.keyAndSalt))
            inbound[kind.rawValue] = session
            if first == nil { first = session }
        }
        guard let first else { throw SRTPError(status: 0) }
        outbound = first
    }

    package func protectRTP(_ buffer: UnsafeMutableRawBufferPointer, length: Int) -> Int? { outbound.protectRTP(buffer, length: length) }
    package func protectRTCP(_ buffer: UnsafeMutableRawBufferPointer, length: Int) -> Int? { outbound.protectRTCP(buffer, length: length) }
    package func unprotectRTP(_ buffer: UnsafeMutableRawBufferPointer) -> Int? { inbound[inboundKind.rawValue]?.unprotectRTP(buffer) }
    package func unprotectRTCP(_ buffer: UnsafeMutableRawBufferPointer) -> Int? { inbound[inboundKind.rawValue]?.unprotectRTCP(buffer) }
}
