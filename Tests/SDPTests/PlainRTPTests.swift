// Offer/answer for plain RTP (RtpEndpoint): a real GStreamer sender's
// description, a Kurento-style client offer, our own offer, and the cases
// that must fail with a message naming the problem.
import SDP
import Testing

enum PlainLocal {
    static let transport = PlainLocalTransport(
        address: "127.0.0.1", audio: PlainLocalPorts(rtp: 40000, rtcp: 40001), video: PlainLocalPorts(rtp: 40002, rtcp: 40003))

    static func answer(_ text: String, streams: SendPreferences = Local.sendrecv) throws
        -> (answer: SessionDescription, media: [NegotiatedMedia], remote: [PlainRemoteTransport]) {
        try Negotiation.plainAnswer(to: SessionDescription.parse(text), local: transport, streams: streams, sessionID: 9)
    }

    static func offer(audio: Bool = true, video: Bool = true) -> SessionDescription {
        Negotiation.plainOffer(local: transport, streams: Local.sendrecv, offerAudio: audio, offerVideo: video, sessionID: 5)
    }

    static func sdp(_ media: [String], connection: String? = "c=IN IP4 127.0.0.1") -> String {
        (["v=0", "o=- 1 1 IN IP4 127.0.0.1", "s=-"] + (connection.map { [$0] } ?? []) + ["t=0 0"] + media)
            .joined(separator: "\r\n") + "\r\n"
    }
}

@Suite("Plain RTP offer/answer")
struct PlainRTPTests {
    @Test func answerToGStreamerSender() throws {
        let (answer, media, remote) = try PlainLocal.answer(Fixture.text("gstreamer-rtp-sender.sdp"))
        #expect(media.map(\.accepted) == [true, true])
        #expect(media[0].codec?.name == "OPUS" && media[0].codec?.payloadType == 96)
        #expect(media[1].codec?.name == "VP8" && media[1].codec?.payloadType == 97)
        #expect(media.map(\.direction) == [.recvonly, .recvonly])
        #expect(remote == [
            PlainRemoteTransport(kind: .audio, address: "127.0.0.1", rtpPort: 5002, rtcpAddress: "127.0.0.1", rtcpPort: 5003, rtcpMux: false),
            PlainRemoteTransport(kind: .video, address: "127.0.0.1", rtpPort: 5004, rtcpAddress: "127.0.0.1", rtcpPort: 5005, rtcpMux: false),
        ])
        // The answer keeps the offered profile and names our ports.
        #expect(answer.media.map(\.proto) == ["RTP/AVP", "RTP/AVP"])
        #expect(answer.media.map(\.port) == [40000, 40002])
        #expect(answer.media.map { $0.attribute("rtcp")?.value } == ["40001", "40003"])
        #expect(answer.connectionAddress == "127.0.0.1")
        let text = answer.serialize()
        for absent in ["ice-", "fingerprint", "setup", "candidate", "rtcp-mux", "group:BUNDLE", "rtx"] {
            #expect(!text.contains(absent), "\(absent) in \(text)")
        }
        #expect(text.contains("c=IN IP4 127.0.0.1\r\n") && text.contains("a=rtpmap:96 OPUS/48000/2\r\n"))
        #expect(text.contains("m=video 40002 RTP/AVP 97\r\n") && text.contains("a=recvonly\r\n"))
        // Our answer parses back (c= is then filled in per m-line from the session level).
        let reparsed = try SessionDescription.parse(text)
        #expect(reparsed.media.map(\.port) == answer.media.map(\.port) && reparsed.media.map(\.codecs) == answer.media.map(\.codecs))
        #expect(reparsed.media.allSatisfy { $0.connectionAddress == "127.0.0.1" })
    }

    @Test func ourOfferNamesTheHeaderExtensionsWeUse() throws {
        let offer = PlainLocal.offer()
        #expect(offer.media[0].extmaps.map(\.uri) == [HeaderExtensionURI.absSendTime, HeaderExtensionURI.audioLevel])
        #expect(offer.media[1].extmaps.map(\.uri) == [HeaderExtensionURI.absSendTime])
        // An answer from another plain endpoint keeps the audio level, so a mixer can read it.
        let (_, media, _) = try PlainLocal.answer(offer.serialize())
        #expect(media[0].extensions[HeaderExtensionURI.audioLevel] == 2)
    }

    @Test func answerToKurentoStyleClientOffer() throws {
        let (answer, media, remote) = try PlainLocal.answer(Fixture.text("kurento-rtp-client-offer.sdp"))
        #expect(media[0].codec?.payloadType == 96 && media[0].codec?.name == "opus")
        // H264 is listed first but not supported: VP8 is chosen.
        #expect(media[1].codec?.payloadType == 96 && media[1].codec?.name == "VP8")
        #expect(media[1].nack && media[1].pli && media[1].fir && media[1].remb)
        #expect(media[1].remoteSSRCs == [112233] && media[0].remoteSSRCs == [445566])
        #expect(remote.map(\.rtpPort) == [5006, 5004] && remote.map(\.rtcpPort) == [5007, 5005])
        #expect(answer.media.map(\.proto) == ["RTP/AVPF", "RTP/AVPF"])
        #expect(answer.media[1].codecs.map(\.feedback) == [["goog-remb", "ccm fir", "nack", "nack pli"]])
        #expect(answer.media[1].formats == ["96"])
        // We send nothing to a sendonly peer, so no a=ssrc lines.
        #expect(answer.media.allSatisfy { $0.direction == .recvonly && $0.ssrcs.isEmpty })
    }

    @Test func sendrecvOfferGetsOurSSRCAndRTCPMuxIsKept() throws {
        let text = PlainLocal.sdp([
            "m=audio 6000 RTP/AVP 111", "a=rtpmap:111 opus/48000/2", "a=rtcp-mux",
            "m=video 6002 RTP/AVPF 100 101", "c=IN IP4 127.0.0.2", "a=rtpmap:100 VP8/90000", "a=rtpmap:101 rtx/90000",
            "a=fmtp:101 apt=100", "a=rtcp:7000 IN IP4 127.0.0.3",
        ])
        let (answer, media, remote) = try PlainLocal.answer(text)
        #expect(media.map(\.direction) == [.sendrecv, .sendrecv])
        #expect(answer.media[0].rtcpMux && answer.media[0].attribute("rtcp") == nil)
        #expect(remote[0].rtcpPort == 6000 && remote[0].rtcpMux)
        #expect(remote[1] == PlainRemoteTransport(kind: .video, address: "127.0.0.2", rtpPort: 6002, rtcpAddress: "127.0.0.3",
                                                  rtcpPort: 7000, rtcpMux: false))
        #expect(answer.media[0].ssrcs.map(\.ssrc) == [1111] && answer.media[1].ssrcs.map(\.ssrc) == [2222])
        // The peer offered rtx, so its rtx is accepted; we never add one ourselves.
        #expect(media[1].rtxPayloadType == 101 && answer.media[1].formats == ["100", "101"])
    }

    @Test func rejectedStreamsStayListedWithPortZero() throws {
        let text = PlainLocal.sdp([
            "m=audio 0 RTP/AVP 96", "a=rtpmap:96 opus/48000/2",
            "m=video 5004 RTP/AVP 96", "a=rtpmap:96 VP8/90000",
            "m=application 5010 UDP/BFCP *",
        ])
        let (answer, media, _) = try PlainLocal.answer(text)
        #expect(media.map(\.accepted) == [false, true, false])
        #expect(answer.media.map(\.port) == [0, 40002, 0])
    }

    /// (what the offer has, its m-lines, text the noUsableMedia message must contain)
    static let failures: [(String, [String], String)] = [
        ("no usable codec", ["m=audio 5002 RTP/AVP 0", "m=video 5004 RTP/AVP 103", "a=rtpmap:103 H264/90000"],
         "no common codec; offered audio: PCMU/8000"),
        ("all ports 0", ["m=audio 0 RTP/AVP 96", "a=rtpmap:96 opus/48000/2"], "port 0 (a rejected stream)"),
        ("SDES profile", ["m=audio 5002 RTP/SAVPF 96", "a=rtpmap:96 opus/48000/2", "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:x"],
         "needs SDES-SRTP"),
        ("WebRTC profile", ["m=audio 5002 UDP/TLS/RTP/SAVPF 96", "a=rtpmap:96 opus/48000/2"], "WebRtcEndpoint"),
        ("no m-lines", [], "no m= lines"),
    ]

    @Test(arguments: failures)
    func offersThatFail(_ name: String, media: [String], message: String) throws {
        let offer = try SessionDescription.parse(PlainLocal.sdp(media))
        let error = sdpError { () throws(SDPError) in
            try Negotiation.plainAnswer(to: offer, local: PlainLocal.transport, streams: Local.sendrecv, sessionID: 1)
        }
        let e = try #require(error, "\(name) did not fail")
        guard case .noUsableMedia = e else { Issue.record("\(name): \(e)"); return }
        #expect(e.description.contains(message), "\(name): \(e.description)")
    }

    @Test func missingConnectionLineIsNamed() throws {
        let offer = try SessionDescription.parse(PlainLocal.sdp(["m=audio 5002 RTP/AVP 96", "a=rtpmap:96 opus/48000/2"], connection: nil))
        let error = sdpError { () throws(SDPError) in
            try Negotiation.plainAnswer(to: offer, local: PlainLocal.transport, streams: Local.sendrecv, sessionID: 1)
        }
        #expect(error == .missingField("c= line for m-line 0 (audio)"))
    }

    @Test func ourOffer() {
        let offer = PlainLocal.offer()
        #expect(offer.media.map(\.proto) == ["RTP/AVPF", "RTP/AVPF"])
        #expect(offer.media.map(\.port) == [40000, 40002])
        #expect(offer.media.map { $0.attribute("rtcp")?.value } == ["40001", "40003"])
        #expect(offer.media[0].codecs.map(\.payloadType) == [111] && offer.media[1].codecs.map(\.payloadType) == [96])
        #expect(offer.media[1].codecs[0].feedback == ["nack", "nack pli", "ccm fir", "goog-remb"])
        #expect(offer.media.allSatisfy { !$0.rtcpMux && $0.direction == .sendrecv && $0.mid == nil })
        let text = offer.serialize()
        #expect(text == """
            v=0\r
            o=- 5 1 IN IP4 127.0.0.1\r
            s=Tessera\r
            c=IN IP4 127.0.0.1\r
            t=0 0\r
            m=audio 40000 RTP/AVPF 111\r
            a=extmap:1 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time\r
            a=extmap:2 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r
            a=sendrecv\r
            a=rtcp:40001\r
            a=rtpmap:111 opus/48000/2\r
            a=fmtp:111 minptime=10;useinbandfec=1\r
            a=ssrc:1111 cname:tessera\r
            m=video 40002 RTP/AVPF 96\r
            a=extmap:1 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time\r
            a=sendrecv\r
            a=rtcp:40003\r
            a=rtpmap:96 VP8/90000\r
            a=rtcp-fb:96 nack\r
            a=rtcp-fb:96 nack pli\r
            a=rtcp-fb:96 ccm fir\r
            a=rtcp-fb:96 goog-remb\r
            a=ssrc:2222 cname:tessera\r

            """)
        #expect(PlainLocal.offer(audio: false).media.map(\.kind) == [.video])
    }

    @Test func answerToOurOfferFromAGStreamerStyleReceiver() throws {
        let offer = PlainLocal.offer()
        let answer = try SessionDescription.parse(PlainLocal.sdp([
            "m=audio 5002 RTP/AVP 111", "a=rtpmap:111 OPUS/48000/2", "a=recvonly",
            "m=video 5004 RTP/AVP 96", "a=rtpmap:96 VP8/90000", "a=rtcp-fb:96 nack pli", "a=recvonly",
        ]))
        let (media, remote) = try Negotiation.processPlain(answer: answer, to: offer)
        #expect(media.map(\.direction) == [.sendonly, .sendonly])
        #expect(media[1].pli && !media[1].nack)
        #expect(remote.map(\.rtpPort) == [5002, 5004] && remote.map(\.rtcpPort) == [5003, 5005])
    }

    @Test func ourOfferAnsweredByOurselves() throws {
        let offer = PlainLocal.offer()
        let other = PlainLocalTransport(address: "127.0.0.1", audio: PlainLocalPorts(rtp: 42000, rtcp: 42001),
                                        video: PlainLocalPorts(rtp: 42002, rtcp: 42003))
        let answered = try Negotiation.plainAnswer(to: SessionDescription.parse(offer.serialize()), local: other,
                                                   streams: Local.sendrecv, sessionID: 2)
        let (media, remote) = try Negotiation.processPlain(answer: SessionDescription.parse(answered.answer.serialize()), to: offer)
        #expect(media.allSatisfy { $0.accepted && $0.direction == .sendrecv })
        #expect(remote.map(\.rtpPort) == [42000, 42002] && remote.map(\.rtcpPort) == [42001, 42003])
    }

    @Test func badAnswers() throws {
        let offer = PlainLocal.offer()
        func failure(_ media: [String]) throws -> SDPError? {
            let answer = try SessionDescription.parse(PlainLocal.sdp(media))
            return sdpError { () throws(SDPError) in try Negotiation.processPlain(answer: answer, to: offer) }
        }
        let audioOnly = try failure(["m=audio 5002 RTP/AVP 111", "a=rtpmap:111 opus/48000/2"])
        #expect(audioOnly == .offerAnswerMismatch("1 m= lines in the answer, 2 offered"))
        let foreign = try failure(["m=audio 5002 RTP/AVP 0", "m=video 5004 RTP/AVP 100", "a=rtpmap:100 VP8/90000"])
        #expect(foreign == .noUsableMedia("the answer accepts no m= line with a codec we offered"))
        let secure = try failure(["m=audio 5002 RTP/SAVP 111", "a=rtpmap:111 opus/48000/2", "m=video 0 RTP/AVP 96"])
        #expect(secure?.description.contains("RTP/SAVP") == true)
    }
}
