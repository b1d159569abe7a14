// The data channel m-line (RFC 8841): answered when data channels are on,
// rejected (port 0, listed) when off, and offered by us when on.
import Foundation
import SDP
import Testing

@Suite("Data channel SDP")
struct DataChannelSDPTests {
    static let dataSection = """
        m=application 9 UDP/DTLS/SCTP webrtc-datachannel
        c=IN IP4 0.0.0.0
        a=mid:1
        a=sctp-port:5000
        a=max-message-size:65536
        """

    @Test func theDataLineIsAnsweredInTheBundleWhenOn() throws {
        let offer = try SessionDescription.parse(syntheticOffer(media: [opusSection, Self.dataSection], session: "a=group:BUNDLE 0 1"))
        let (answer, media) = try Local.answer(offer, capabilities: LocalMediaCapabilities.default.withDataChannels())
        #expect(media.map(\.accepted) == [true, true])
        #expect(media[1].kind == .application && media[1].sctpPort == 5000 && media[1].maxMessageSize == 65536)
        let data = answer.media[1]
        #expect(data.port != 0 && data.proto == "UDP/DTLS/SCTP" && data.formats == ["webrtc-datachannel"])
        #expect(data.attribute("sctp-port")?.value == "5000" && data.attribute("max-message-size")?.value == "262144")
        #expect(answer.bundleGroups == [["0", "1"]])
    }

    @Test func theDataLineIsRejectedWhenOff() throws {
        let offer = try SessionDescription.parse(syntheticOffer(media: [opusSection, Self.dataSection], session: "a=group:BUNDLE 0 1"))
        let (answer, media) = try Local.answer(offer)
        #expect(media.map(\.accepted) == [true, false])
        #expect(answer.media[1].port == 0 && answer.media[1].kind == .application)
        #expect(answer.bundleGroups == [["0"]])
    }

    @Test func aDataOnlyOfferIsAnswered() throws {
        let data = Self.dataSection.replacingOccurrences(of: "a=mid:1", with: "a=mid:0")
        let offer = try SessionDescription.parse(syntheticOffer(media: [data], session: "a=group:BUNDLE 0"))
        let (_, media) = try Local.answer(offer, capabilities: LocalMediaCapabilities.default.withDataChannels())
        #expect(media.map(\.accepted) == [true])
        // Without an SCTP port line the default applies (RFC 8841 §5).
        let bare = data.replacingOccurrences(of: "a=sctp-port:5000\n", with: "")
        let (_, bareMedia) = try Local.answer(try SessionDescription.parse(syntheticOffer(media: [bare], session: "a=group:BUNDLE 0")),
                                              capabilities: LocalMediaCapabilities.default.withDataChannels())
        #expect(bareMedia[0].sctpPort == 5000)
    }

    @Test func ourOfferCarriesADataLineWhenOnAndItsAnswerIsRead() throws {
        let caps = LocalMediaCapabilities.default.withDataChannels()
        let offer = Negotiation.offer(capabilities: caps, transport: Local.transport, streams: Local.sendrecv,
                                      offerAudio: true, offerVideo: false, sessionID: 1)
        #expect(offer.media.map(\.kind) == [.audio, .application])
        #expect(offer.bundleGroups == [["0", "1"]])
        // Answering our own offer with data on gives the data line back.
        let (answer, _) = try Local.answer(offer, capabilities: caps)
        let media = try Negotiation.process(answer: answer, to: offer, capabilities: caps)
        #expect(media.map(\.accepted) == [true, true] && media[1].sctpPort == 5000)
        // Off: no data line.
        let plain = Negotiation.offer(capabilities: .default, transport: Local.transport, streams: Local.sendrecv,
                                      offerAudio: true, offerVideo: false, sessionID: 1)
        #expect(!plain.media.contains { $0.kind == .application })
    }
}
