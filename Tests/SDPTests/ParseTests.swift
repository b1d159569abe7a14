// Parser tables: well-formed descriptions and lines, malformed ones (which
// must throw the right SDPError, never trap), and hostile input.
import SDP
import Testing

@Suite("Parse")
struct ParseTests {
    static let minimal = "v=0\r\no=- 42 7 IN IP4 10.0.0.1\r\ns=Tessera\r\nt=0 0\r\n"

    @Test func minimalDescription() throws {
        let sdp = try SessionDescription.parse(Self.minimal)
        #expect(sdp.originUsername == "-")
        #expect(sdp.sessionID == 42)
        #expect(sdp.sessionVersion == 7)
        #expect(sdp.originAddress == "10.0.0.1")
        #expect(sdp.sessionName == "Tessera")
        #expect(sdp.media.isEmpty)
    }

    @Test func bareLineFeedsAndBlankLinesAreAccepted() throws {
        let text = "\nv=0\no=- 1 2 IN IP4 0.0.0.0\n\ns=-\nt=0 0\nm=audio 9 UDP/TLS/RTP/SAVPF 0\n\n"
        let sdp = try SessionDescription.parse(text)
        #expect(sdp.media.count == 1)
        #expect(sdp.media[0].codecs == [Codec(payloadType: 0, name: "PCMU", clockRate: 8000)])
    }

    /// One media attribute line each, and what the parser makes of it.
    static let mediaLines: [(String, @Sendable (MediaDescription) -> Bool)] = [
        ("a=mid:audio", { $0.mid == "audio" }),
        ("a=recvonly", { $0.direction == .recvonly }),
        ("a=inactive", { $0.direction == .inactive }),
        ("a=rtcp-mux", { $0.rtcpMux }),
        ("a=rtcp-rsize", { $0.rtcpRsize }),
        ("a=bundle-only", { $0.bundleOnly }),
        ("a=ice-ufrag:u1", { $0.iceUfrag == "u1" }),
        ("a=ice-pwd:p/w+d", { $0.icePwd == "p/w+d" }),
        ("a=ice-options:trickle renomination", { $0.iceOptions == ["trickle", "renomination"] }),
        ("a=setup:PASSIVE", { $0.setup == .passive }),
        ("a=fingerprint:sha-256 AB:CD", { $0.fingerprints == [Fingerprint(algorithm: "sha-256", value: "AB:CD")] }),
        ("a=extmap:3/sendonly urn:x", { $0.extmaps == [Extmap(id: 3, direction: .sendonly, uri: "urn:x")] }),
        ("a=extmap:200 urn:y attr", { $0.extmaps == [Extmap(id: 200, uri: "urn:y", attributes: "attr")] }),
        ("a=ssrc:4294967295 cname:a:b", { $0.ssrcs == [SSRCAttribute(ssrc: 4_294_967_295, name: "cname", value: "a:b")] }),
        ("a=ssrc:1 foo", { $0.ssrcs == [SSRCAttribute(ssrc: 1, name: "foo")] }),
        ("a=ssrc-group:FID 1 2", { $0.ssrcGroups == [SSRCGroup(semantics: "FID", ssrcs: [1, 2])] && $0.rtxSSRC == 2 }),
        ("a=msid:s t", { $0.msid == "s t" }),
        ("a=candidate:1 1 UDP 2015364095 127.0.0.1 53848 typ host",
         { $0.candidates == ["candidate:1 1 UDP 2015364095 127.0.0.1 53848 typ host"] }),
        ("a=end-of-candidates", { $0.endOfCandidates }),
        ("b=AS:512", { $0.bandwidthAS == 512 }),
        ("b=TIAS:512000", { $0.bandwidthAS == nil }),
        ("c=IN IP6 ::1", { $0.connectionAddress == "::1" }),
        ("a=rtcp:9 IN IP4 0.0.0.0", { $0.otherAttributes == [Attribute(name: "rtcp", value: "9 IN IP4 0.0.0.0")] }),
        ("a=x-flag", { $0.otherAttributes == [Attribute(name: "x-flag")] }),
        ("a=sendrecv   ", { $0.direction == .sendrecv }),
    ]

    @Test(arguments: mediaLines)
    func mediaAttribute(line: String, check: @Sendable (MediaDescription) -> Bool) throws {
        let sdp = try SessionDescription.parse(Self.minimal + "m=audio 9 UDP/TLS/RTP/SAVPF 0\r\n" + line + "\r\n")
        #expect(check(sdp.media[0]), "line: \(line)")
    }

    @Test func codecLinesInAnyOrderJoinTheFormatList() throws {
        let text = Self.minimal + """
            m=video 9 UDP/TLS/RTP/SAVPF 97 98 0 120
            a=rtcp-fb:* nack
            a=fmtp:98 apt=97
            a=rtpmap:98 rtx/90000
            a=rtcp-fb:97 ccm fir
            a=rtpmap:97 VP8/90000
            a=rtpmap:55 H264/90000
            """
        let media = try SessionDescription.parse(text).media[0]
        // 120 has no rtpmap and is not static: no codec; 55 is not listed.
        #expect(media.formats == ["97", "98", "0", "120"])
        #expect(media.codecs.map(\.payloadType) == [97, 98, 0])
        #expect(media.codecs[0].feedback == ["ccm fir", "nack"])
        #expect(media.codecs[1].apt == 97)
        #expect(media.codecs[1].isRTX)
        #expect(media.codecs[2].name == "PCMU")
    }

    @Test func fmtpParameters() {
        let codec = Codec(payloadType: 102, name: "H264", clockRate: 90000,
                          fmtp: "level-asymmetry-allowed=1; packetization-mode=1;profile-level-id=42e01f;flag")
        #expect(codec.fmtpParameters == ["level-asymmetry-allowed": "1", "packetization-mode": "1",
                                         "profile-level-id": "42e01f", "flag": ""])
        #expect(codec.apt == nil)
        #expect(Codec(payloadType: 1, name: "rtx", clockRate: 90000, fmtp: "apt=300").apt == nil)
    }

    @Test func sessionLevelAttributes() throws {
        let text = Self.minimal + """
            a=ice-lite
            a=group:BUNDLE a b
            a=group:LS a b
            a=ice-ufrag:U
            a=ice-pwd:P
            a=fingerprint:sha-1 00
            a=setup:active
            a=recvonly
            c=IN IP4 192.0.2.1
            m=audio 9 RTP/AVP 0
            m=audio 9 RTP/AVP 0
            a=sendonly
            """
        let sdp = try SessionDescription.parse(text)
        #expect(sdp.iceLite)
        #expect(sdp.bundleGroups == [["a", "b"]])
        #expect(sdp.otherAttributes == [Attribute(name: "group", value: "LS a b"), Attribute(name: "recvonly")])
        #expect(sdp.iceUfrag == "U" && sdp.icePwd == "P" && sdp.setup == .active)
        // Session-level direction and c= are defaults for the media.
        #expect(sdp.media.map(\.direction) == [.recvonly, .sendonly])
        #expect(sdp.media[0].connectionAddress == "192.0.2.1")
    }

    @Test func unknownMediaKindIsKept() throws {
        let sdp = try SessionDescription.parse(Self.minimal + "m=text 9 RTP/AVP 98\r\n")
        #expect(sdp.media[0].kind == .other("text"))
        #expect(sdp.media[0].kind.rawValue == "text")
        #expect(MediaKind(rawValue: "VIDEO") == .video)
        #expect(sdp.media[0].codecs.isEmpty)
    }

    @Test func dataChannelFormatsAreTokens() throws {
        let sdp = try SessionDescription.parse(Self.minimal + """
            m=application 9 UDP/DTLS/SCTP webrtc-datachannel
            a=sctp-port:5000
            a=fmtp:webrtc-datachannel max-message-size=262144
            """)
        #expect(sdp.media[0].kind == .application)
        #expect(sdp.media[0].formats == ["webrtc-datachannel"])
        #expect(sdp.media[0].attribute("sctp-port")?.value == "5000")
        #expect(sdp.media[0].otherAttributes.count == 2)
    }

    /// Malformed input and the exact error it must produce.
    static let malformed: [(String, SDPError)] = [
        ("", .missingField("v= line (empty description)")),
        ("\r\n\r\n", .missingField("v= line (empty description)")),
        ("o=- 1 1 IN IP4 0.0.0.0\r\n", .missingField("v=0 as the first line")),
        ("v=1\r\n", .invalidField(line: 1, field: "version", text: "v=1")),
        ("v=0\r\ns=-\r\n", .missingField("o= line")),
        ("hello world", .malformedLine(line: 1, text: "hello world")),
        ("v=0\r\nX=1", .malformedLine(line: 2, text: "X=1")),
        ("v=0\r\n=x", .malformedLine(line: 2, text: "=x")),
        ("v=0\r\nq=unknown", .malformedLine(line: 2, text: "q=unknown")),
        ("v=0\r\nv=0", .malformedLine(line: 2, text: "v=0")),
        ("v=0\r\no=- 1 1 IN IP4", .malformedLine(line: 2, text: "o=- 1 1 IN IP4")),
        ("v=0\r\no=- x 1 IN IP4 0.0.0.0", .invalidField(line: 2, field: "session id", text: "o=- x 1 IN IP4 0.0.0.0")),
        ("v=0\r\no=- 1 99999999999999999999 IN IP4 a",
         .invalidField(line: 2, field: "session version", text: "o=- 1 99999999999999999999 IN IP4 a")),
        ("m=audio 9 RTP/AVP", .malformedLine(line: 3, text: "m=audio 9 RTP/AVP")),
        ("m=audio", .malformedLine(line: 3, text: "m=audio")),
        ("m=audio 70000 RTP/AVP 0", .invalidField(line: 3, field: "port", text: "m=audio 70000 RTP/AVP 0")),
        ("m=audio -1 RTP/AVP 0", .invalidField(line: 3, field: "port", text: "m=audio -1 RTP/AVP 0")),
        ("m=audio 9/x RTP/AVP 0", .invalidField(line: 3, field: "port count", text: "m=audio 9/x RTP/AVP 0")),
        ("m=audio 9 RTP/AVP opus", .invalidField(line: 3, field: "payload type 'opus'", text: "m=audio 9 RTP/AVP opus")),
        ("m=audio 9 RTP/AVP 128", .invalidField(line: 3, field: "payload type '128'", text: "m=audio 9 RTP/AVP 128")),
        ("m=audio 9 RTP/AVP 0\r\na=rtpmap:96", .invalidField(line: 4, field: "rtpmap", text: "a=rtpmap:96")),
        ("m=audio 9 RTP/AVP 0\r\na=rtpmap:x opus/48000",
         .invalidField(line: 4, field: "rtpmap payload type", text: "a=rtpmap:x opus/48000")),
        ("m=audio 9 RTP/AVP 0\r\na=rtpmap:96 opus", .invalidField(line: 4, field: "rtpmap", text: "a=rtpmap:96 opus")),
        ("m=audio 9 RTP/AVP 0\r\na=rtpmap:96 opus/fast", .invalidField(line: 4, field: "rtpmap", text: "a=rtpmap:96 opus/fast")),
        ("m=audio 9 RTP/AVP 0\r\na=rtpmap:96 /48000", .invalidField(line: 4, field: "rtpmap", text: "a=rtpmap:96 /48000")),
        ("m=audio 9 RTP/AVP 0\r\na=rtpmap:96 opus/48000/two",
         .invalidField(line: 4, field: "rtpmap channels", text: "a=rtpmap:96 opus/48000/two")),
        ("m=audio 9 RTP/AVP 0\r\na=fmtp:abc x=1", .invalidField(line: 4, field: "fmtp payload type", text: "a=fmtp:abc x=1")),
        ("m=audio 9 RTP/AVP 0\r\na=rtcp-fb:96", .invalidField(line: 4, field: "rtcp-fb", text: "a=rtcp-fb:96")),
        ("m=audio 9 RTP/AVP 0\r\na=extmap:0 urn:x", .invalidField(line: 4, field: "extmap id", text: "a=extmap:0 urn:x")),
        ("m=audio 9 RTP/AVP 0\r\na=extmap:256 urn:x", .invalidField(line: 4, field: "extmap id", text: "a=extmap:256 urn:x")),
        ("m=audio 9 RTP/AVP 0\r\na=extmap:1/up urn:x", .invalidField(line: 4, field: "extmap direction", text: "a=extmap:1/up urn:x")),
        ("m=audio 9 RTP/AVP 0\r\na=ssrc:-5 cname:x", .invalidField(line: 4, field: "ssrc", text: "a=ssrc:-5 cname:x")),
        ("m=audio 9 RTP/AVP 0\r\na=ssrc:5", .invalidField(line: 4, field: "ssrc attribute", text: "a=ssrc:5")),
        ("m=audio 9 RTP/AVP 0\r\na=ssrc-group:FID 1 x", .invalidField(line: 4, field: "ssrc-group ssrc", text: "a=ssrc-group:FID 1 x")),
        ("m=audio 9 RTP/AVP 0\r\na=candidate:1 1 udp", .invalidField(line: 4, field: "candidate", text: "a=candidate:1 1 udp")),
        ("m=audio 9 RTP/AVP 0\r\na=setup:sometimes", .invalidField(line: 4, field: "setup role", text: "a=setup:sometimes")),
        ("m=audio 9 RTP/AVP 0\r\na=fingerprint:sha-256", .invalidField(line: 4, field: "fingerprint", text: "a=fingerprint:sha-256")),
        ("m=audio 9 RTP/AVP 0\r\nb=AS:lots", .invalidField(line: 4, field: "bandwidth", text: "b=AS:lots")),
        ("m=audio 9 RTP/AVP 0\r\nc=IN IP4", .invalidField(line: 4, field: "connection data", text: "c=IN IP4")),
        ("m=audio 9 RTP/AVP 0\r\ns=late", .malformedLine(line: 4, text: "s=late")),
    ]

    @Test(arguments: malformed)
    func malformedInputThrows(input: String, expected: SDPError) {
        // Inputs starting with "m=" get a valid session header (lines 1-2).
        let text = input.hasPrefix("m=") ? "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\n" + input : input
        #expect(sdpError { () throws(SDPError) in try SessionDescription.parse(text) } == expected)
    }

    @Test func errorMessagesNameLineAndContent() {
        let error = SDPError.invalidField(line: 3, field: "port", text: "m=audio x RTP/AVP 0")
        #expect(error.description == "SDP parse error: invalid port at line 3: 'm=audio x RTP/AVP 0'")
        #expect(SDPError.malformedLine(line: 1, text: "x").description == "SDP parse error: malformed line 1: 'x'")
    }

    @Test func garbageNeverTraps() {
        // Deterministic pseudo-random bytes, printable and not, with some
        // SDP-looking fragments mixed in.
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        let fragments = ["v=0\r\n", "m=audio ", "a=rtpmap:", "/", ":", " ", "\r\n", "a=", "9", "é", "\u{0}", "=",
                         "c=IN IP4 ", "a=ssrc:", "o=- 1 1 IN IP4 x\r\n", "a=extmap:", "\u{301}"]
        for _ in 0..<500 {
            var text = ""
            for _ in 0..<40 {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                let pick = Int(truncatingIfNeeded: state >> 33)
                text += pick % 3 == 0 ? String(UnicodeScalar(UInt8(truncatingIfNeeded: pick >> 8)))
                                      : fragments[pick % fragments.count]
            }
            _ = try? SessionDescription.parse(text)
        }
    }

    @Test func oversizedInputIsRejectedWithoutParsing() {
        let text = String(repeating: "a=x-filler:0123456789abcdef\r\n", count: 40_000)   // 1.16 MB
        let error = sdpError { () throws(SDPError) in try SessionDescription.parse(text) }
        #expect(error == .tooLarge(bytes: text.utf8.count, limit: SessionDescription.maxInputBytes))
    }

    @Test func largeValidInputParses() throws {
        // ~600 kB: many SSRC lines, as a big conference offer might have.
        var text = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n"
        for ssrc in 1...15_000 { text += "a=ssrc:\(ssrc) cname:participant-\(ssrc)\r\n" }
        let sdp = try SessionDescription.parse(text)
        #expect(sdp.media[0].ssrcs.count == 15_000)
    }

    @Test func tooManyMediaSectionsAreRejected() {
        let text = ParseTests.minimal + String(repeating: "m=audio 9 RTP/AVP 0\r\n", count: SessionDescription.maxMediaSections + 1)
        #expect(sdpError { () throws(SDPError) in try SessionDescription.parse(text) }
            == .unsupported("more than \(SessionDescription.maxMediaSections) m= sections"))
    }

    /// Repetitive hostile input within the size limit must stay cheap
    /// (de-duplication and SSRC bookkeeping are linear, not quadratic).
    @Test func repetitiveInputIsLinear() throws {
        var text = syntheticOffer(media: [opusSection])
        for n in 0..<12_000 { text += "a=rtcp-fb:* x-\(n)\r\na=ssrc-group:FID \(n) \(n + 100_000)\r\n" }
        let clock = ContinuousClock()
        let elapsed = try clock.measure {
            let offer = try SessionDescription.parse(text)
            #expect(offer.media[0].codecs[0].feedback.count == 12_000)
            #expect(offer.media[0].mediaSSRCs.count == 12_000)
            _ = try Local.answer(offer)
        }
        #expect(elapsed < .seconds(20))
    }

    @Test func hugeLineIsQuotedTruncated() {
        let line = "x" + String(repeating: "y", count: 10_000)
        guard case .malformedLine(1, let text) = sdpError({ () throws(SDPError) in try SessionDescription.parse(line) }) else {
            Issue.record("expected malformedLine")
            return
        }
        #expect(text.count == SDPError.maxQuotedLength + 3)
    }

    @Test func candidateFields() throws {
        let candidate = try #require(SDPCandidate(
            "candidate:3861239960 1 tcp 1518214911 192.0.2.2 9 typ host tcptype active generation 0 network-id 1"))
        #expect(candidate.transport == "tcp" && candidate.port == 9 && candidate.tcpType == "active")
        #expect(candidate.extensions.count == 3)
        let relay = try #require(SDPCandidate("a=candidate:1 1 udp 5 fd00::2 5000 typ relay raddr 1.2.3.4 rport 7"))
        #expect(relay.isIPv6 && relay.relatedAddress == "1.2.3.4" && relay.relatedPort == 7)
        #expect(SDPCandidate("candidate:1 1 udp 5 1.2.3.4 99999 typ host") == nil)
        #expect(SDPCandidate("candidate:1 1 udp 5 1.2.3.4 9 type host") == nil)
    }
}
