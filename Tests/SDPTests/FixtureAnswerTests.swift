// Answers to offers captured from real peers (Fixtures/README.md): aiortc
// 1.16, Chromium 156 and GStreamer webrtcbin 1.22.
import SDP
import Testing

@Suite("Answering captured offers")
struct FixtureAnswerTests {
    @Test(arguments: Fixture.offers)
    func answerIsWellFormed(name: String) throws {
        let offer = try Fixture.parse(name)
        let (answer, media) = try Local.answer(offer)
        #expect(answer.media.count == offer.media.count)
        #expect(answer.bundleGroups.count == 1)
        #expect(answer.bundleGroups.first == media.filter(\.accepted).map(\.mid))
        #expect(media.map(\.mid) == offer.media.map { $0.mid ?? "" })
        for (index, section) in answer.media.enumerated() where media[index].accepted {
            #expect(section.mid == offer.media[index].mid)
            #expect(section.proto == offer.media[index].proto)
            #expect(section.iceUfrag == "TsRa" && section.icePwd == "tesseraIcePasswordFor24bytes")
            #expect(section.fingerprints == [Local.fingerprint])
            #expect(section.setup == .passive)
            #expect(section.rtcpMux)
            #expect(section.port == 40000 && section.connectionAddress == "127.0.0.1")
            #expect(section.candidates == Local.transport.candidates)
            #expect(section.endOfCandidates)
        }
        // What we send must parse back to the same thing.
        #expect(try SessionDescription.parse(answer.serialize()) == answer)
    }

    @Test func aiortcOffer() throws {
        let offer = try Fixture.parse("aiortc-offer.sdp")
        #expect(offer.bundleGroups == [["0", "1"]])
        for section in offer.media {
            #expect(section.fingerprints.map(\.algorithm) == ["sha-256", "sha-384", "sha-512"])
            #expect(section.candidates.count == 1 && section.endOfCandidates && section.rtcpMux)
            #expect(section.setup == .actpass)
        }
        #expect(offer.media[1].codecs.map(\.name) == ["VP8", "rtx", "H264", "rtx", "H264", "rtx"])
        #expect(offer.media[0].codecs.map(\.name) == ["opus", "G722", "PCMU", "PCMA"])

        let (answer, media) = try Local.answer(offer)
        #expect(answer.bundleGroups == [["0", "1"]])
        let audio = media[0], video = media[1]
        #expect(audio.codec?.name == "opus" && audio.codec?.payloadType == 96)
        #expect(audio.extensions == [HeaderExtensionURI.mid: 1, HeaderExtensionURI.audioLevel: 2])
        #expect(audio.remoteSSRCs == [2_078_485_236])
        #expect(video.codec?.name == "VP8" && video.codec?.payloadType == 97)
        #expect(video.rtxPayloadType == 98)
        #expect(video.extensions == [HeaderExtensionURI.mid: 1, HeaderExtensionURI.absSendTime: 3])
        #expect(video.nack && video.pli && video.remb && !video.fir && !video.transportCC)
        #expect(video.remoteSSRCs == [1_383_077_803] && video.remoteRTXSSRC == 2_334_358_920)
        #expect(answer.media[1].formats == ["97", "98"])
        #expect(answer.media[1].codecs[0].feedback == ["nack", "nack pli", "goog-remb"])
        #expect(answer.media[1].ssrcGroups == [SSRCGroup(semantics: "FID", ssrcs: [2222, 3333])])
        #expect(answer.media[0].codecs == [Codec(payloadType: 96, name: "opus", clockRate: 48000, channels: 2,
                                                 fmtp: "minptime=10;useinbandfec=1")])

        let remote = try Negotiation.remoteTransport(of: offer)
        #expect(remote.ufrag == "YgZ1" && remote.pwd == "TcOWPTx3Vm96GYHzUfdWZF")
        #expect(remote.fingerprints.count == 3 && remote.setup == .actpass)
        // Only the BUNDLE tag's candidates: aiortc gathered a second port for
        // m-line 1 that it drops once BUNDLE is agreed.
        #expect(remote.candidates.map(\.mid) == ["0"] && remote.candidates.map(\.index) == [0])
        #expect(remote.candidates[0].candidate
            == "candidate:16572de626da4e5384a0ce2d0d93678a 1 udp 2130706431 127.0.0.1 44383 typ host")
    }

    @Test func chromiumOffer() throws {
        let offer = try Fixture.parse("chromium-offer.sdp")
        #expect(offer.otherAttributes.contains(Attribute(name: "extmap-allow-mixed")))
        #expect(offer.media[0].iceOptions == ["trickle"])
        #expect(offer.media[1].codecs.filter { !$0.isAuxiliary }.map(\.name)
            == ["VP8", "H264", "H264", "H264", "H264", "H264", "H264", "AV1", "VP9", "VP9"])
        #expect(offer.media[0].candidates.count == 4)

        let (answer, media) = try Local.answer(offer)
        let audio = media[0], video = media[1]
        #expect(audio.codec?.payloadType == 111 && audio.transportCC)
        #expect(video.codec?.name == "VP8" && video.codec?.payloadType == 96 && video.rtxPayloadType == 97)
        #expect(video.nack && video.pli && video.fir && video.remb && video.transportCC)
        // Chromium offers the rid extensions on every video m-line; they are agreed (and unused without simulcast).
        #expect(video.extensions == [HeaderExtensionURI.absSendTime: 2, HeaderExtensionURI.transportWideCC: 3,
                                     HeaderExtensionURI.mid: 4, HeaderExtensionURI.rtpStreamID: 10,
                                     HeaderExtensionURI.repairedRtpStreamID: 11])
        #expect(video.simulcastRIDs.isEmpty)
        #expect(video.remoteSSRCs == [1_178_778_137] && video.remoteRTXSSRC == 265_835_662)
        #expect(answer.media.allSatisfy { $0.rtcpRsize })
        // extmap-allow-mixed is not echoed: we only promise one-byte headers.
        #expect(answer.otherAttributes.allSatisfy { $0.name != "extmap-allow-mixed" })
    }

    @Test func chromiumTrickleOfferWithOurTrickleTransport() throws {
        let offer = try Fixture.parse("chromium-offer-trickle.sdp")
        #expect(offer.media.allSatisfy { $0.candidates.isEmpty && $0.port == 9 })
        let (answer, _) = try Local.answer(offer, transport: Local.trickleTransport)
        for section in answer.media {
            #expect(section.port == 9 && section.connectionAddress == "0.0.0.0")
            #expect(section.candidates.isEmpty && !section.endOfCandidates)
            #expect(section.iceOptions == ["trickle"])
        }
        #expect(try Negotiation.remoteTransport(of: offer).candidates.isEmpty)
    }

    @Test func gstreamerMaxBundleOffer() throws {
        let offer = try Fixture.parse("gstreamer-offer.sdp")
        #expect(offer.bundleGroups == [["video0", "audio1"]])
        #expect(offer.media[1].port == 0 && offer.media[1].bundleOnly)
        #expect(offer.isActive(mediaAt: 1))
        #expect(offer.media[1].codecs.first?.name == "OPUS")

        let (answer, media) = try Local.answer(offer)
        #expect(media.map(\.accepted) == [true, true])
        #expect(answer.bundleGroups == [["video0", "audio1"]])
        #expect(media[0].kind == .video && media[0].codec?.name == "VP8" && media[0].codec?.payloadType == 96)
        #expect(media[0].rtxPayloadType == nil)   // GStreamer offered no rtx
        #expect(media[1].codec?.name == "OPUS" && media[1].codec?.payloadType == 111)
        #expect(answer.media[1].port == 40000 && !answer.media[1].bundleOnly)
        #expect(answer.media[1].codecs[0].name == "OPUS")   // the offer's spelling is echoed

        let remote = try Negotiation.remoteTransport(of: offer)
        #expect(remote.ufrag == "SyiEcNfwrTnLDP++5T8ts1sSHAwDXG38")
        #expect(remote.candidates.count == 3 && remote.candidates.allSatisfy { $0.mid == "video0" })
    }

    /// Direction rules (RFC 3264 §6.1) applied to the aiortc offer.
    static let directions: [(Direction, SendPreferences, Direction)] = [
        (.sendrecv, Local.sendrecv, .sendrecv),
        (.sendrecv, Local.recvonly, .recvonly),
        (.sendrecv, Local.sendonly, .sendonly),
        (.sendonly, Local.sendrecv, .recvonly),
        (.sendonly, Local.sendonly, .inactive),
        (.recvonly, Local.sendrecv, .sendonly),
        (.recvonly, Local.recvonly, .inactive),
        (.inactive, Local.sendrecv, .inactive),
    ]

    @Test(arguments: directions)
    func directionRules(offered: Direction, streams: SendPreferences, expected: Direction) throws {
        var offer = try Fixture.parse("aiortc-offer.sdp")
        for index in offer.media.indices { offer.media[index].direction = offered }
        let (answer, media) = try Local.answer(offer, streams: streams)
        #expect(media.map(\.direction) == [expected, expected])
        #expect(answer.media.map(\.direction) == [expected, expected])
        for section in answer.media {
            #expect((section.msid != nil) == expected.sends)
            #expect(section.ssrcs.isEmpty == !expected.sends)
        }
    }
}
