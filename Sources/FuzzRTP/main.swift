// libFuzzer target: what arrives on a media port after SRTP: the first-byte
// demultiplexer (RFC 7983), the RTP header with its extensions, every RTCP
// type in a compound, the VP8 payload descriptor, Opus TOC parsing and RTX
// unwrapping. No input may trap.
import Foundation
import FuzzDriver
import RTP
import STUN

func fuzzOne(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    guard let data else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data, count: count))
    _ = Demux.classify(bytes)
    _ = try? RTCPCompound.parse(bytes)
    guard let header = try? RTPHeader.parse(bytes) else { return 0 }
    for id in UInt8(1)...UInt8(14) { _ = header.extensionElement(id: id, in: bytes) }
    _ = header.csrcs(in: bytes)
    let payload = Array(bytes[header.payloadRange])
    _ = try? VP8PayloadDescriptor.parse(payload)
    _ = OpusPayload.packetDurationSamples(payload)
    var original: [UInt8] = []
    _ = try? RTXPacketizer.unwrap(bytes, originalPayloadType: 96, originalSSRC: 1, into: &original)
    return 0
}

runLibFuzzer { data, count in fuzzOne(data, count) }
