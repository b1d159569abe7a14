// Simulcast in SDP (RFC 8851 rids, RFC 8853 a=simulcast): what Chromium
// offers when it sends three encodings, and what we answer.
import SDP
import Testing

@Suite("Simulcast")
struct SimulcastTests {
    @Test func chromiumsSimulcastOfferIsReadAndAccepted() throws {
        let offer = try Fixture.parse("chromium-simulcast-offer.sdp")
        let video = offer.media[0]
        #expect(video.rids.map(\.id) == ["q", "h", "f"] && video.rids.allSatisfy(\.sends))
        #expect(video.offeredSimulcastRIDs == ["q", "h", "f"])
        let (answer, media) = try Local.answer(offer)
        let section = answer.media[0]
        #expect(section.rids == [RIDDescription(id: "q", sends: false), RIDDescription(id: "h", sends: false), RIDDescription(id: "f", sends: false)])
        #expect(section.simulcast?.recv?.streams.map(\.rids) == [["q"], ["h"], ["f"]])
        #expect(section.simulcast?.send == nil)
        #expect(section.otherAttributes.contains(Attribute(name: "simulcast", value: "recv q;h;f")))
        // The rid extensions are agreed with Chromium's ids, so packets can be told apart.
        #expect(media[0].extensions[HeaderExtensionURI.rtpStreamID] == 10)
        #expect(media[0].extensions[HeaderExtensionURI.repairedRtpStreamID] == 11)
        #expect(media[0].simulcastRIDs == ["q", "h", "f"])
        #expect(try SessionDescription.parse(answer.serialize()) == answer)
    }

    @Test func noSimulcastWithoutTheRidExtension() throws {
        var offer = try Fixture.parse("chromium-simulcast-offer.sdp")
        offer.media[0].extmaps.removeAll { $0.uri == HeaderExtensionURI.rtpStreamID }
        let (answer, media) = try Local.answer(offer)
        #expect(answer.media[0].simulcast == nil && answer.media[0].rids.isEmpty)
        #expect(media[0].simulcastRIDs.isEmpty)
    }

    @Test func simulcastLinesParse() {
        let s = SimulcastDescription(value: "send a,b;~c recv d")
        #expect(s?.send?.streams.map(\.rids) == [["a", "b"], ["c"]])
        #expect(s?.send?.streams.map(\.paused) == [false, true])
        #expect(s?.recv?.streams.map(\.rids) == [["d"]])
        #expect(s?.serialized == "send a,b;~c recv d")
        for bad in ["", "send", "send a;;b", "sideways a", "send a send b", "send a;b!", "recv a recv b"] {
            #expect(SimulcastDescription(value: bad) == nil, "\(bad)")
        }
        #expect(RIDDescription(value: "hi send pt=96;max-width=640") == RIDDescription(id: "hi", sends: true, restrictions: "pt=96;max-width=640"))
        #expect(RIDDescription(value: "hi sideways") == nil)
        #expect(RIDDescription(value: "h!i send") == nil)
    }

    @Test func aSingleStreamOrAnSSRCGroupIsNotRidSimulcast() throws {
        var offer = try Fixture.parse("chromium-offer.sdp")
        let video = offer.media.firstIndex { $0.kind == .video }!
        offer.media[video].ssrcGroups.append(SSRCGroup(semantics: "SIM", ssrcs: [1, 2, 3]))
        let (_, media) = try Local.answer(offer)
        #expect(media[video].simulcastRIDs.isEmpty)
        #expect(media[video].simulcastSSRCs == [1, 2, 3])
    }
}
