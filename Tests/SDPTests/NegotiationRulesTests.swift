// Answer rules on small synthetic offers: codec choice, rejection, errors,
// DTLS roles, BUNDLE and transport requirements.
import Foundation
import SDP
import Testing

@Suite("Negotiation rules")
struct NegotiationRulesTests {
    static let bundle = "a=group:BUNDLE 0 1"

    func answer(_ text: String, capabilities: LocalMediaCapabilities = .default)
        throws -> (answer: SessionDescription, media: [NegotiatedMedia]) {
        try Local.answer(SessionDescription.parse(text), capabilities: capabilities)
    }

    func answerError(_ text: String) throws -> SDPError? {
        let offer = try SessionDescription.parse(text)
        return sdpError { () throws(SDPError) in try Local.answer(offer) }
    }

    @Test func h264OnlyVideoIsRejectedButListed() throws {
        let video = vp8Section.replacingOccurrences(of: "VP8", with: "H264")
        let (answer, media) = try answer(syntheticOffer(media: [opusSection, video], session: Self.bundle))
        #expect(media.map(\.accepted) == [true, false])
        #expect(answer.media[1].port == 0 && answer.media[1].kind == .video && answer.media[1].mid == "1")
        #expect(answer.media[1].formats == ["100", "101"])
        #expect(answer.bundleGroups == [["0"]])
        #expect(media[1].direction == .inactive && media[1].codec == nil)
    }

    @Test func noCommonCodecAtAllThrows() throws {
        let audio = opusSection.replacingOccurrences(of: "opus/48000/2", with: "PCMU/8000")
        let video = vp8Section.replacingOccurrences(of: "VP8", with: "H264")
        let error = try answerError(syntheticOffer(media: [audio, video], session: Self.bundle))
        guard case .noUsableMedia(let why) = error else {
            Issue.record("expected noUsableMedia, got \(String(describing: error))")
            return
        }
        #expect(why.contains("audio: PCMU/8000") && why.contains("video: H264/90000"))
        #expect(error?.description.hasPrefix("SDP negotiation failed: no usable media") == true)
    }

    @Test func upperCaseNamesMatch() throws {
        let audio = opusSection.replacingOccurrences(of: "opus/48000/2", with: "OPUS/48000/2")
        let video = vp8Section.replacingOccurrences(of: "VP8", with: "vp8").replacingOccurrences(of: "rtx/", with: "RTX/")
        let (_, media) = try answer(syntheticOffer(media: [audio, video], session: Self.bundle))
        #expect(media[0].codec?.name == "OPUS" && media[0].codec?.payloadType == 111)
        #expect(media[1].codec?.name == "vp8" && media[1].rtxPayloadType == 101)
    }

    @Test func firstSupportedCodecInOfferOrderWins() throws {
        let video = """
            m=video 9 UDP/TLS/RTP/SAVPF 102 103 100 120 101
            a=mid:1
            a=rtcp-mux
            a=rtpmap:102 H264/90000
            a=rtpmap:103 rtx/90000
            a=fmtp:103 apt=102
            a=rtpmap:100 VP8/90000
            a=rtpmap:120 VP8/90000
            a=rtpmap:101 rtx/90000
            a=fmtp:101 apt=100
            """
        let (answer, media) = try answer(syntheticOffer(media: [opusSection, video], session: Self.bundle))
        #expect(media[1].codec?.payloadType == 100 && media[1].rtxPayloadType == 101)
        #expect(answer.media[1].formats == ["100", "101"])
    }

    @Test func opusNeedsTwoChannels() throws {
        let mono = opusSection.replacingOccurrences(of: "opus/48000/2", with: "opus/48000")
        let (_, media) = try answer(syntheticOffer(media: [mono, vp8Section], session: Self.bundle))
        #expect(media.map(\.accepted) == [false, true])
    }

    @Test func rtxOnlyWhenBothSupportIt() throws {
        var capabilities = LocalMediaCapabilities.default
        capabilities.videoCodecs[0].rtx = false
        let (answer, media) = try answer(syntheticOffer(media: [opusSection, vp8Section], session: Self.bundle),
                                         capabilities: capabilities)
        #expect(media[1].rtxPayloadType == nil && answer.media[1].formats == ["100"])
        #expect(answer.media[1].ssrcGroups.isEmpty)
    }

    @Test func transportCCNeedsItsHeaderExtension() throws {
        let video = vp8Section + "\na=rtcp-fb:100 transport-cc"
        let (_, without) = try answer(syntheticOffer(media: [opusSection, video], session: Self.bundle))
        #expect(!without[1].transportCC)
        let withExtension = video + "\na=extmap:5 \(HeaderExtensionURI.transportWideCC)"
        let (_, with) = try answer(syntheticOffer(media: [opusSection, withExtension], session: Self.bundle))
        #expect(with[1].transportCC && with[1].extensions == [HeaderExtensionURI.transportWideCC: 5])
    }

    @Test(arguments: [("actpass", SetupRole.passive), ("active", .passive), ("passive", .active)])
    func dtlsRole(offered: String, expected: SetupRole) throws {
        let text = syntheticOffer(media: [opusSection]).replacingOccurrences(of: "a=setup:actpass",
                                                                            with: "a=setup:\(offered)")
        #expect(try answer(text).answer.media[0].setup == expected)
    }

    @Test func missingSetupMeansActpass() throws {
        let text = syntheticOffer(media: [opusSection]).replacingOccurrences(of: "a=setup:actpass\r\n", with: "")
        #expect(try answer(text).answer.media[0].setup == .passive)
        #expect(SetupRole.answering(nil) == .passive)
    }

    @Test func holdconnIsUnsupported() throws {
        let text = syntheticOffer(media: [opusSection]).replacingOccurrences(of: "actpass", with: "holdconn")
        #expect(try answerError(text) == .unsupported("a=setup:holdconn (RFC 4145 §4)"))
    }

    @Test(arguments: [("a=ice-ufrag:abcd\r\n", "a=ice-ufrag (m-line 0)"), ("a=ice-pwd:abcdefghijklmnopqrstuvwx\r\n", "a=ice-pwd (m-line 0)"),
                      ("a=fingerprint:sha-256 00:11:22:33\r\n", "a=fingerprint (m-line 0)")])
    func transportAttributesAreRequired(removed: String, missing: String) throws {
        let text = syntheticOffer(media: [opusSection]).replacingOccurrences(of: removed, with: "")
        #expect(try answerError(text) == .missingField(missing))
    }

    @Test func rtcpMuxIsRequired() throws {
        let text = syntheticOffer(media: [opusSection.replacingOccurrences(of: "a=rtcp-mux\n", with: "")])
        guard case .unsupported(let what) = try answerError(text) else {
            Issue.record("expected unsupported")
            return
        }
        #expect(what.contains("rtcp-mux"))
    }

    @Test func emptyOfferThrows() throws {
        #expect(try answerError(syntheticOffer(media: [])) == .noUsableMedia("the offer has no m= lines"))
    }

    @Test func dataChannelAndSecondAudioAndPlainRTPAreRejected() throws {
        let data = "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\na=mid:2\na=sctp-port:5000"
        let secondAudio = opusSection.replacingOccurrences(of: "a=mid:0", with: "a=mid:3")
        let plain = opusSection.replacingOccurrences(of: "UDP/TLS/RTP/SAVPF", with: "RTP/AVP")
            .replacingOccurrences(of: "a=mid:0", with: "a=mid:4")
        let text = syntheticOffer(media: [opusSection, vp8Section, data, secondAudio, plain],
                                  session: "a=group:BUNDLE 0 1 2 3 4")
        let (answer, media) = try answer(text)
        #expect(media.map(\.accepted) == [true, true, false, false, false])
        #expect(answer.media.map(\.port) == [40000, 40000, 0, 0, 0])
        #expect(answer.media[2].kind == .application && answer.media[2].formats == ["webrtc-datachannel"])
        #expect(answer.media[4].proto == "RTP/AVP")
        #expect(answer.bundleGroups == [["0", "1"]])
    }

    @Test func portZeroWithoutBundleOnlyIsRejectedByTheOfferer() throws {
        let disabled = vp8Section.replacingOccurrences(of: "m=video 9", with: "m=video 0")
        let (_, media) = try answer(syntheticOffer(media: [opusSection, disabled], session: Self.bundle))
        #expect(media.map(\.accepted) == [true, false])
        let bundleOnly = disabled + "\na=bundle-only"
        let (_, bundled) = try answer(syntheticOffer(media: [opusSection, bundleOnly], session: Self.bundle))
        #expect(bundled.map(\.accepted) == [true, true])
    }

    @Test func severalMediaWithoutBundleIsUnsupported() throws {
        guard case .unsupported = try answerError(syntheticOffer(media: [opusSection, vp8Section])) else {
            Issue.record("expected unsupported")
            return
        }
        // A single m-line needs no BUNDLE; the answer then has no group either.
        let (answer, media) = try answer(syntheticOffer(media: [vp8Section]))
        #expect(media.map(\.accepted) == [true] && answer.bundleGroups.isEmpty)
    }

    @Test func sendingAnnouncesStreamsWithRTXGroup() throws {
        let (answer, _) = try answer(syntheticOffer(media: [opusSection, vp8Section], session: Self.bundle))
        let video = answer.media[1]
        #expect(video.msid == "stream0 video0")
        #expect(video.ssrcGroups == [SSRCGroup(semantics: "FID", ssrcs: [2222, 3333])])
        #expect(video.ssrcs.filter { $0.name == "cname" }.map(\.ssrc) == [2222, 3333])
        #expect(answer.media[0].ssrcs == [SSRCAttribute(ssrc: 1111, name: "cname", value: "tessera"),
                                          SSRCAttribute(ssrc: 1111, name: "msid", value: "stream0 audio0")])
    }

    @Test func directionHelpers() {
        #expect(Direction.sendonly.reversed == .recvonly && Direction.recvonly.reversed == .sendonly)
        #expect(Direction.sendrecv.reversed == .sendrecv && Direction.inactive.reversed == .inactive)
        #expect(Direction.sendrecv.intersection(.recvonly) == .recvonly)
    }
}
