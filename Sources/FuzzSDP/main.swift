// libFuzzer target: SDP parsing and answer generation, as processOffer does
// with a client's offer; a parsed description must serialize and parse again.
import Foundation
import FuzzDriver
import SDP

func fuzzOne(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    guard let data else { return 0 }
    let text = String(decoding: UnsafeBufferPointer(start: data, count: count), as: UTF8.self)
    guard let offer = try? SessionDescription.parse(text) else { return 0 }
    _ = try? SessionDescription.parse(offer.serialize())
    _ = try? Negotiation.remoteTransport(of: offer)
    let transport = TransportParameters(
        iceUfrag: "fuzz", icePwd: "fuzzfuzzfuzzfuzzfuzzfuzz",
        fingerprint: Fingerprint(algorithm: "sha-256", value: String(repeating: "AB:", count: 31) + "AB"))
    let streams = SendPreferences(
        audio: LocalStream(ssrc: 1, cname: "c", streamID: "s", trackID: "a"),
        video: LocalStream(ssrc: 2, rtxSSRC: 3, cname: "c", streamID: "s", trackID: "v"))
    if let result = try? Negotiation.answer(
        to: offer, capabilities: .default, transport: transport, streams: streams, sessionID: 1)
    {
        _ = result.answer.serialize()
    }
    return 0
}

runLibFuzzer { data, count in fuzzOne(data, count) }
