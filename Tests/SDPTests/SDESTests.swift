// SDES key exchange (RFC 4568) for the RtpEndpoint: a=crypto parsing and
// writing, and plain RTP offer/answer with keys.
import SDP
import Testing

@Suite("SDES a=crypto")
struct SDESTests {
    static let key30: [UInt8] = Array(1...30)
    static let ourKey: [UInt8] = Array(101...130)

    @Test func parsesAndWritesCryptoLines() throws {
        // RFC 4568 §5's example key, with a lifetime.
        let example = try #require(SDESCrypto(attributeValue: "1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20"))
        #expect(example.tag == 1 && example.suite == "AES_CM_128_HMAC_SHA1_80" && example.keyAndSalt.count == 30)
        let ours = SDESCrypto(tag: 3, suite: "AES_256_CM_HMAC_SHA1_32", keyAndSalt: Array(0..<46))
        #expect(SDESCrypto(attributeValue: ours.attributeValue) == ours)
        // Base64 of every length round-trips through the line.
        for n in [30, 46] {
            let c = SDESCrypto(tag: 1, suite: n == 30 ? "AES_CM_128_HMAC_SHA1_32" : "AES_256_CM_HMAC_SHA1_80", keyAndSalt: Array(repeating: 0xFF, count: n))
            #expect(SDESCrypto(attributeValue: c.attributeValue)?.keyAndSalt == c.keyAndSalt)
        }
        for bad in [
            "1 AES_CM_128_HMAC_SHA1_80 inline:c2hvcnQ=",  // 5 bytes
            "1 F8_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR",  // a suite we do not do
            "1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:4",  // MKI
            "1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR;inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR",
            "x AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR", "1 AES_CM_128_HMAC_SHA1_80 inline:!!!!", "",
        ] {
            #expect(SDESCrypto(attributeValue: bad) == nil, "\(bad)")
        }
    }

    func sdesOffer(proto: String = "RTP/SAVP", cryptos: [String]) -> String {
        PlainLocal.sdp(["m=audio 5002 \(proto) 96", "a=rtpmap:96 OPUS/48000/2"] + cryptos.map { "a=crypto:\($0)" }
                       + ["m=video 5004 \(proto) 97", "a=rtpmap:97 VP8/90000"] + cryptos.map { "a=crypto:\($0)" })
    }

    @Test func answerPicksTheLineInOurSuiteAndCarriesOurKey() throws {
        let theirs80 = SDESCrypto(tag: 2, suite: "AES_CM_128_HMAC_SHA1_80", keyAndSalt: Self.key30)
        let theirs32 = SDESCrypto(tag: 1, suite: "AES_CM_128_HMAC_SHA1_32", keyAndSalt: Array(repeating: 7, count: 30))
        let offer = try SessionDescription.parse(sdesOffer(cryptos: [theirs32.attributeValue, theirs80.attributeValue]))
        let ours = SDESCrypto(tag: 1, suite: "AES_CM_128_HMAC_SHA1_80", keyAndSalt: Self.ourKey)
        let (answer, media, remote) = try Negotiation.plainAnswer(
            to: offer, local: PlainLocal.transport, streams: Local.sendrecv, sessionID: 1, sdes: ours)
        #expect(media.map(\.accepted) == [true, true])
        #expect(remote.map(\.crypto) == [theirs80, theirs80])
        #expect(answer.media.map(\.proto) == ["RTP/SAVP", "RTP/SAVP"])
        // Our key, under the tag of the line we took.
        #expect(answer.media.map(\.cryptos) == Array(repeating: [SDESCrypto(tag: 2, suite: ours.suite, keyAndSalt: Self.ourKey)], count: 2))
        #expect(try SessionDescription.parse(answer.serialize()).media[1].cryptos == answer.media[1].cryptos)
    }

    @Test func keysAndProfilesMustAgree() throws {
        let ours = SDESCrypto(tag: 1, suite: "AES_CM_128_HMAC_SHA1_80", keyAndSalt: Self.ourKey)
        func failure(_ text: String, sdes: SDESCrypto?) -> String {
            do {
                _ = try Negotiation.plainAnswer(to: SessionDescription.parse(text), local: PlainLocal.transport,
                                                streams: Local.sendrecv, sessionID: 1, sdes: sdes)
                return "accepted"
            } catch { return error.description }
        }
        let plain = PlainLocal.sdp(["m=audio 5002 RTP/AVP 96", "a=rtpmap:96 OPUS/48000/2"])
        #expect(failure(plain, sdes: ours).contains("the offer must use RTP/SAVP or RTP/SAVPF with a=crypto"))
        let other = sdesOffer(cryptos: [SDESCrypto(tag: 1, suite: "AES_256_CM_HMAC_SHA1_80", keyAndSalt: Array(0..<46)).attributeValue])
        #expect(failure(other, sdes: ours).contains("no usable a=crypto line for AES_CM_128_HMAC_SHA1_80 (offered: AES_256_CM_HMAC_SHA1_80)"))
        #expect(failure(sdesOffer(cryptos: []), sdes: ours).contains("(offered: none)"))
        let secure = sdesOffer(cryptos: [SDESCrypto(tag: 1, suite: ours.suite, keyAndSalt: Self.key30).attributeValue])
        #expect(failure(secure, sdes: nil).contains("needs SDES-SRTP: create the RtpEndpoint with 'crypto'"))
    }

    @Test func offerAndAnswerRoundTrip() throws {
        let ours = SDESCrypto(tag: 1, suite: "AES_256_CM_HMAC_SHA1_32", keyAndSalt: Array(0..<46))
        let offer = Negotiation.plainOffer(local: PlainLocal.transport, streams: Local.sendrecv, offerAudio: true, offerVideo: true,
                                           sessionID: 5, sdes: ours)
        #expect(offer.media.map(\.proto) == ["RTP/SAVPF", "RTP/SAVPF"] && offer.media.allSatisfy { $0.cryptos == [ours] })
        let theirs = SDESCrypto(tag: 1, suite: ours.suite, keyAndSalt: Array(repeating: 9, count: 46))
        var answer = try SessionDescription.parse(offer.serialize())
        for i in answer.media.indices {
            answer.media[i].otherAttributes.removeAll { $0.name == "crypto" }
            answer.media[i].otherAttributes.append(Attribute(name: "crypto", value: theirs.attributeValue))
        }
        let (media, remote) = try Negotiation.processPlain(answer: answer, to: offer, sdes: ours)
        #expect(media.allSatisfy(\.accepted) && remote.map(\.crypto) == [theirs, theirs])
        // An answer in the clear to an encrypted offer is refused.
        var clear = answer
        for i in clear.media.indices { clear.media[i].proto = "RTP/AVPF" }
        #expect(throws: SDPError.self) { try Negotiation.processPlain(answer: clear, to: offer, sdes: ours) }
    }
}
