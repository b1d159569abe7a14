// Shared test helpers: fixture loading and the transport/stream parameters
// used to generate Tessera's offer fixture (see Fixtures/README.md).
import Foundation
import SDP
import Testing

enum Fixture {
    /// The text of `Fixtures/<name>`, exactly as captured (CRLF line ends).
    static func text(_ name: String) throws -> String {
        let dot = try #require(name.lastIndex(of: "."))
        let base = String(name[..<dot]), ext = String(name[name.index(after: dot)...])
        let url = try #require(Bundle.module.url(forResource: base, withExtension: ext, subdirectory: "Fixtures"),
                               "missing fixture \(name)")
        return try String(contentsOf: url, encoding: .utf8)
    }

    static func parse(_ name: String) throws -> SessionDescription {
        try SessionDescription.parse(text(name))
    }

    static let offers = ["aiortc-offer.sdp", "chromium-offer.sdp", "chromium-offer-trickle.sdp", "gstreamer-offer.sdp",
                         "chromium-simulcast-offer.sdp"]
    static let all = offers + ["aiortc-answer.sdp", "chromium-answer.sdp", "gstreamer-answer.sdp", "tessera-offer.sdp"]
}

/// The parameters Fixtures/capture/sdpgen-main.swift.txt used.
enum Local {
    static let fingerprint = Fingerprint(
        algorithm: "sha-256",
        value: "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89")
    static let transport = TransportParameters(
        iceUfrag: "TsRa", icePwd: "tesseraIcePasswordFor24bytes", fingerprint: fingerprint,
        candidates: ["candidate:1 1 udp 2130706431 127.0.0.1 40000 typ host"], endOfCandidates: true)
    static let trickleTransport = TransportParameters(iceUfrag: "TsRa", icePwd: "tesseraIcePasswordFor24bytes",
                                                      fingerprint: fingerprint)
    static let audio = LocalStream(ssrc: 1111, cname: "tessera", streamID: "stream0", trackID: "audio0")
    static let video = LocalStream(ssrc: 2222, rtxSSRC: 3333, cname: "tessera", streamID: "stream0", trackID: "video0")
    static let sendrecv = SendPreferences(audio: audio, video: video)
    static let recvonly = SendPreferences(audio: audio, video: video, allowSend: false, allowReceive: true)
    static let sendonly = SendPreferences(audio: audio, video: video, allowSend: true, allowReceive: false)

    static func answer(_ offer: SessionDescription, streams: SendPreferences = sendrecv,
                       transport: TransportParameters = transport,
                       capabilities: LocalMediaCapabilities = .default) throws(SDPError)
        -> (answer: SessionDescription, media: [NegotiatedMedia]) {
        try Negotiation.answer(to: offer, capabilities: capabilities, transport: transport, streams: streams,
                               sessionID: 77)
    }
}

/// Runs `body` and returns the SDPError it threw (nil if it did not throw).
func sdpError<T>(_ body: () throws(SDPError) -> T) -> SDPError? {
    do {
        _ = try body()
        return nil
    } catch {
        return error
    }
}

/// A minimal valid offer to mutate in tests.
func syntheticOffer(media: [String], session: String = "") -> String {
    var lines = ["v=0", "o=- 1 1 IN IP4 127.0.0.1", "s=-", "t=0 0",
                 "a=ice-ufrag:abcd", "a=ice-pwd:abcdefghijklmnopqrstuvwx",
                 "a=fingerprint:sha-256 00:11:22:33", "a=setup:actpass"]
    if !session.isEmpty { lines.append(session) }
    return (lines + media).joined(separator: "\r\n") + "\r\n"
}

let opusSection = """
    m=audio 9 UDP/TLS/RTP/SAVPF 111 0
    c=IN IP4 0.0.0.0
    a=mid:0
    a=sendrecv
    a=rtcp-mux
    a=rtpmap:111 opus/48000/2
    a=fmtp:111 minptime=10;useinbandfec=1
    """

let vp8Section = """
    m=video 9 UDP/TLS/RTP/SAVPF 100 101
    c=IN IP4 0.0.0.0
    a=mid:1
    a=sendrecv
    a=rtcp-mux
    a=rtpmap:100 VP8/90000
    a=rtcp-fb:100 nack
    a=rtcp-fb:100 nack pli
    a=rtpmap:101 rtx/90000
    a=fmtp:101 apt=100
    """
