// parse -> serialize -> parse must give an equal description, for every
// captured fixture and for synthetic descriptions that use every field.
import SDP
import Testing

@Suite("Round trip")
struct RoundTripTests {
    @Test(arguments: Fixture.all)
    func fixtureRoundTrips(name: String) throws {
        let first = try Fixture.parse(name)
        let text = first.serialize()
        let second = try SessionDescription.parse(text)
        #expect(first == second)
        #expect(second.serialize() == text)
    }

    @Test(arguments: Fixture.all)
    func serializedTextUsesCRLFAndRFCOrder(name: String) throws {
        let text = try Fixture.parse(name).serialize()
        #expect(text.hasSuffix("\r\n"))
        let lines = text.split(separator: "\r\n" as Character, omittingEmptySubsequences: false).dropLast()
        #expect(!lines.contains { $0.contains("\n") || $0.contains("\r") || $0.isEmpty })
        // RFC 8866 §5: v=, o=, s=, then t= before any attribute or media.
        #expect(lines.prefix(4).map { $0.prefix(2) } == ["v=", "o=", "s=", "t="])
        #expect(lines[3] == "t=0 0")
    }

    @Test func capturedTessaraOfferIsByteIdentical() throws {
        // Our own serializer wrote this fixture; re-serializing is exact.
        let text = try Fixture.text("tessera-offer.sdp")
        #expect(try SessionDescription.parse(text).serialize() == text)
    }

    @Test func everyFieldSurvives() throws {
        let media = MediaDescription(
            kind: .video, port: 5004, proto: "UDP/TLS/RTP/SAVPF", formats: ["96", "97", "0"],
            connectionAddress: "2001:db8::1", mid: "v", direction: .sendonly, iceUfrag: "uf", icePwd: "pw",
            iceOptions: ["trickle"], fingerprints: [Fingerprint(algorithm: "sha-256", value: "00:FF")],
            setup: .active, rtcpMux: true, rtcpRsize: true, bundleOnly: true,
            codecs: [Codec(payloadType: 96, name: "VP8", clockRate: 90000, fmtp: "max-fr=30",
                           feedback: ["nack", "nack pli"]),
                     Codec(payloadType: 97, name: "rtx", clockRate: 90000, fmtp: "apt=96"),
                     Codec(payloadType: 0, name: "PCMU", clockRate: 8000, channels: 1)],
            extmaps: [Extmap(id: 14, direction: .recvonly, uri: "urn:a", attributes: "x y")],
            ssrcs: [SSRCAttribute(ssrc: 1, name: "cname", value: "c"), SSRCAttribute(ssrc: 2, name: "flag")],
            ssrcGroups: [SSRCGroup(semantics: "FID", ssrcs: [1, 2])], msid: "s t",
            candidates: ["candidate:1 1 udp 1 ::1 5004 typ host"], endOfCandidates: true, bandwidthAS: 300,
            otherAttributes: [Attribute(name: "x-a", value: "1"), Attribute(name: "x-b"), Attribute(name: "x-c", value: "")])
        let session = SessionDescription(
            originUsername: "user", sessionID: .max, sessionVersion: 3, originAddress: "::1", sessionName: "name",
            connectionAddress: "192.0.2.1", bundleGroups: [["v"], []], iceLite: true, iceUfrag: "U", icePwd: "P",
            iceOptions: ["ice2"], fingerprints: [Fingerprint(algorithm: "sha-1", value: "AA")], setup: .actpass,
            media: [media, MediaDescription(kind: .other("text"), port: 0, proto: "RTP/AVP", formats: ["98"],
                                            connectionAddress: "192.0.2.1")],
            otherAttributes: [Attribute(name: "extmap-allow-mixed")])
        let text = session.serialize()
        #expect(try SessionDescription.parse(text) == session)
        #expect(text.contains("o=user 18446744073709551615 3 IN IP6 ::1\r\n"))
        #expect(text.contains("c=IN IP6 2001:db8::1\r\n"))
    }
}
