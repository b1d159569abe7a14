// Our offer, and processing the answers real peers gave to it (aiortc,
// Chromium and GStreamer answered Fixtures/tessera-offer.sdp).
import SDP
import Testing

@Suite("Offer and answer processing")
struct OfferTests {
    func ourOffer(streams: SendPreferences = Local.sendrecv, audio: Bool = true, video: Bool = true,
                  transport: TransportParameters = Local.transport) -> SessionDescription {
        Negotiation.offer(capabilities: .default, transport: transport, streams: streams,
                          offerAudio: audio, offerVideo: video, sessionID: 4242)
    }

    @Test func offerMatchesTheFixturePeersAnswered() throws {
        #expect(ourOffer().serialize() == (try Fixture.text("tessera-offer.sdp")))
    }

    @Test func offerStructure() {
        let offer = ourOffer()
        #expect(offer.bundleGroups == [["0", "1"]])
        #expect(offer.media.map(\.kind) == [.audio, .video])
        #expect(offer.media[0].codecs.map(\.payloadType) == [111])
        #expect(offer.media[1].codecs.map(\.payloadType) == [96, 97] && offer.media[1].codecs[1].apt == 96)
        for section in offer.media {
            #expect(section.setup == .actpass && section.rtcpMux && section.rtcpRsize)
            #expect(section.direction == .sendrecv)
        }
        // Same URI, same id on both m-lines (RFC 8843 §9.1.2); audio level
        // only on audio.
        #expect(offer.media[0].extmaps.map(\.id) == [1, 2, 3, 4])
        #expect(offer.media[1].extmaps.map(\.id) == [1, 2, 4])
        #expect(offer.media[1].ssrcGroups == [SSRCGroup(semantics: "FID", ssrcs: [2222, 3333])])
    }

    @Test func audioOnlyReceiveOnlyTrickleOffer() {
        let offer = ourOffer(streams: Local.recvonly, video: false, transport: Local.trickleTransport)
        #expect(offer.media.count == 1 && offer.media[0].mid == "0" && offer.bundleGroups == [["0"]])
        #expect(offer.media[0].direction == .recvonly && offer.media[0].ssrcs.isEmpty && offer.media[0].msid == nil)
        #expect(offer.media[0].port == 9 && offer.media[0].connectionAddress == "0.0.0.0")
    }

    @Test func offerWithMoreCodecsKeepsPayloadTypesApart() {
        var capabilities = LocalMediaCapabilities.default
        capabilities.audioCodecs.append(CodecCapability(name: "PCMU", clockRate: 8000))
        capabilities.audioCodecs.append(CodecCapability(name: "telephone-event", clockRate: 48000))
        capabilities.videoCodecs.append(CodecCapability(name: "H264", clockRate: 90000,
                                                        fmtp: "packetization-mode=1;profile-level-id=42e01f", rtx: true))
        let offer = Negotiation.offer(capabilities: capabilities, transport: Local.transport, streams: Local.sendrecv,
                                      offerAudio: true, offerVideo: true, sessionID: 1)
        #expect(offer.media[0].formats == ["111", "0", "112"])
        #expect(offer.media[1].formats == ["96", "97", "98", "99"])
        #expect(offer.media[1].codecs[3].apt == 98)
    }

    @Test func aiortcAnswer() throws {
        let media = try Negotiation.process(answer: Fixture.parse("aiortc-answer.sdp"), to: ourOffer(),
                                            capabilities: .default)
        // aiortc had no tracks, so it answered recvonly: we only send.
        #expect(media.map(\.direction) == [.sendonly, .sendonly])
        #expect(media[0].codec?.payloadType == 111)
        #expect(media[0].extensions == [HeaderExtensionURI.mid: 1, HeaderExtensionURI.audioLevel: 3])
        #expect(media[1].codec?.name == "VP8" && media[1].rtxPayloadType == 97)
        #expect(media[1].nack && media[1].pli && media[1].remb && !media[1].transportCC && !media[1].fir)
        #expect(media[1].remoteSSRCs == [4_279_856_073] && media[1].remoteRTXSSRC == 2_220_987_678)
        let remote = try Negotiation.remoteTransport(of: Fixture.parse("aiortc-answer.sdp"))
        #expect(remote.setup == .active && remote.fingerprints.count == 3)
    }

    @Test func chromiumAnswer() throws {
        let media = try Negotiation.process(answer: Fixture.parse("chromium-answer.sdp"), to: ourOffer(),
                                            capabilities: .default)
        #expect(media.map(\.direction) == [.sendrecv, .sendrecv])
        #expect(media.map(\.mid) == ["0", "1"])
        #expect(media[0].transportCC && media[1].transportCC && media[1].fir)
        #expect(media[1].rtxPayloadType == 97 && media[1].remoteRTXSSRC == 971_501_251)
        #expect(media[1].extensions[HeaderExtensionURI.transportWideCC] == 4)
        let remote = try Negotiation.remoteTransport(of: Fixture.parse("chromium-answer.sdp"))
        #expect(remote.setup == .active && remote.ufrag == "JtBZ" && remote.candidates.isEmpty)
    }

    @Test func gstreamerAnswer() throws {
        let answer = try Fixture.parse("gstreamer-answer.sdp")
        let media = try Negotiation.process(answer: answer, to: ourOffer(), capabilities: .default)
        #expect(media.map(\.direction) == [.sendonly, .sendonly])
        #expect(media[0].codec?.name == "OPUS" && media[1].codec?.name == "VP8")
        #expect(media[1].rtxPayloadType == nil && media[1].pli && media[1].fir && !media[1].nack)
        #expect(try Negotiation.remoteTransport(of: answer).setup == .active)
    }

    @Test func answersThatDoNotMatchTheOfferThrow() throws {
        let offer = ourOffer()
        var answer = try Fixture.parse("chromium-answer.sdp")
        var fewer = answer
        fewer.media.removeLast()
        #expect(sdpError { () throws(SDPError) in try Negotiation.process(answer: fewer, to: offer, capabilities: .default) }
            == .offerAnswerMismatch("1 m= lines in the answer, 2 offered"))
        var swapped = answer
        swapped.media.swapAt(0, 1)
        #expect(sdpError { () throws(SDPError) in try Negotiation.process(answer: swapped, to: offer, capabilities: .default) }
            == .offerAnswerMismatch("m-line 0 is video, offered audio"))
        answer.media[0].mid = "zzz"
        #expect(sdpError { () throws(SDPError) in try Negotiation.process(answer: answer, to: offer, capabilities: .default) }
            == .offerAnswerMismatch("m-line 0 has mid 'zzz', offered '0'"))
    }

    @Test func answerRejectingEverythingThrows() throws {
        var answer = try Fixture.parse("chromium-answer.sdp")
        for index in answer.media.indices { answer.media[index].port = 0 }
        let error = sdpError { () throws(SDPError) in
            try Negotiation.process(answer: answer, to: ourOffer(), capabilities: .default)
        }
        #expect(error == .noUsableMedia("the answer accepts no m= line with a codec we offered"))
    }

    @Test func answerWithCodecWeDidNotOfferIsRejected() throws {
        var answer = try Fixture.parse("chromium-answer.sdp")
        answer.media[1].codecs[0].payloadType = 120   // VP8 under a number we never offered
        let media = try Negotiation.process(answer: answer, to: ourOffer(), capabilities: .default)
        #expect(media.map(\.accepted) == [true, false])
    }
}
