import Benchmark
import Foundation
import MediaPlane
import RTP
import SDP
import Transport

// What simulcast costs the SFU's packet path (docs/simulcast.md): one second
// of a publisher's video taken by its WebRtcEndpoint and forwarded to N
// viewers, on a media loop, with the transport replaced by a counter (no
// sockets, no SRTP: those cost the same per packet sent in both cases).
//
// - `single`: one 1.5 Mbit/s VP8 stream (150 packets a second), every viewer
//   gets every packet.
// - `simulcast`: the same top layer plus 500 and 150 kbit/s layers (150 + 50 +
//   17 packets a second, rids f, h, q); the viewers take the top layer, so they
//   receive what `single` sends them, and the difference is the cost of the
//   layers themselves (per-layer stats, the layer lookup, the keyframe check,
//   the per-viewer choice).
// - `simulcast-spread`: the same, the viewers spread over the three layers (a
//   third each, by setReceiveQuality): what a real meeting with weak links sends.
// Run with `make bench-forwarding`.

let context = try! MediaContext(loopCount: 1)
let ridExtension: UInt8 = 10

func video(simulcast: Bool) -> NegotiatedMedia {
    var m = NegotiatedMedia(mid: "0", kind: .video, index: 0, accepted: true, direction: .sendrecv,
                            codec: Codec(payloadType: 96, name: "VP8", clockRate: 90000), nack: true)
    if simulcast {
        m.simulcastRIDs = ["q", "h", "f"]
        m.extensions[HeaderExtensionURI.rtpStreamID] = ridExtension
    }
    return m
}

/// One second of packets: (layer rid, ssrc, packet count) with VP8 descriptors, a keyframe first.
func second(simulcast: Bool) -> [[UInt8]] {
    let layers: [(String, UInt32, Int)] = simulcast ? [("f", 3, 150), ("h", 2, 50), ("q", 1, 17)] : [("f", 3, 150)]
    var packets: [[UInt8]] = []
    for (rid, ssrc, count) in layers {
        for i in 0..<count {
            // RID extension on every packet (a browser stops once acknowledged; the lookup is by SSRC then).
            var p: [UInt8] = [0x90, 96, UInt8(i >> 8), UInt8(i & 0xFF), 0, 0, UInt8(i >> 8), UInt8(i & 0xFF)]
            p += [UInt8(ssrc >> 24), UInt8(ssrc >> 16 & 0xFF), UInt8(ssrc >> 8 & 0xFF), UInt8(ssrc & 0xFF)]
            p += [0xBE, 0xDE, 0x00, 0x01, ridExtension << 4 | UInt8(rid.utf8.count - 1)] + Array(rid.utf8)
            while p.count % 4 != 0 { p.append(0) }
            // VP8 descriptor: X, S; I with a 15-bit picture id; then a keyframe header on the first packet.
            p += [0x90, 0x80, 0x80 | UInt8(i >> 8 & 0x7F), UInt8(i & 0xFF)]
            if i == 0 { p += [0x50, 0x42, 0x00, 0x9D, 0x01, 0x2A, 0x00, 0x05, 0xD0, 0x02] } else { p += [0x51] }
            p += [UInt8](repeating: 0xAB, count: 1_100 - p.count)
            packets.append(p)
        }
    }
    return packets
}

/// A publisher and `viewers` viewers on the loop; the viewers' qualities cycle through `qualities`.
func setUp(viewers: Int, simulcast: Bool, qualities: [SimulcastQuality]) -> (NodeRef, [NodeRef]) {
    let loop = context.loops.loops[0]
    func make(_ name: String, _ media: NegotiatedMedia) -> NodeRef {
        let ref = context.nodeRef("\(name)-\(UInt32.random(in: 0...UInt32.max))", on: loop)
        let id = ref.id
        ref.install { _ in
            let s = CountingSession(loop: loop, objectID: id, context: context, allowSend: true, allowReceive: true)
            s.apply([media])
            s.protection = NoProtection()
            return s
        }
        return ref
    }
    let publisher = make("publisher", video(simulcast: simulcast))
    let sinks = (0..<viewers).map { _ in make("viewer", video(simulcast: false)) }
    for (i, sink) in sinks.enumerated() {
        let quality = qualities[i % qualities.count]
        _ = sink.sync { v in
            (v as! CountingSession).setReceiveQuality(quality)
            return 0
        }
        publisher.post(with: sink) { p, v in p.addConsumer(v, kind: .video) }
    }
    // Let every viewer lock on to its layer: a first second of packets, then a layer choice.
    feed(publisher, second(simulcast: simulcast))
    _ = publisher.sync { p in
        (p as! CountingSession).chooseLayers(at: (p as! CountingSession).now)
        return 0
    }
    let before = sinks.map { s in s.sync { ($0 as? CountingSession)?.datagramsSent ?? 0 } }
    feed(publisher, second(simulcast: simulcast))
    // What one second gave the viewers: the check that every one is forwarding.
    let sent = zip(sinks, before).map { s, b in s.sync { ($0 as? CountingSession)?.datagramsSent ?? 0 } - b }
    FileHandle.standardError.write("\(viewers) viewers, simulcast \(simulcast), \(qualities.map(\.rawValue)): packets per viewer in 1 s \(Set(sent).sorted())\n".data(using: .utf8)!)
    return (publisher, sinks)
}

struct Nodes {
    var publisher: NodeRef
    var viewers: [NodeRef]
}

func feed(_ publisher: NodeRef, _ packets: [[UInt8]]) {
    _ = publisher.sync { node in
        guard let p = node as? CountingSession else { return 0 }
        var copy = [UInt8](repeating: 0, count: 1_500)
        for packet in packets {
            copy.withUnsafeMutableBytes { buf in
                UnsafeMutableRawBufferPointer(rebasing: buf[0..<packet.count]).copyBytes(from: packet)
                p.receivePacket(UnsafeMutableRawBufferPointer(rebasing: buf[0..<packet.count]))
            }
        }
        return 0
    }
}

// The nodes of each benchmark stay in the context's tables until the process
// exits: ordo-one runs a benchmark's closure several times on one setup.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(metrics: [.wallClock, .cpuTotal, .throughput], maxDuration: .seconds(3))
    for viewers in [10, 50] {
        for (name, simulcast, qualities) in [
            ("single", false, [SimulcastQuality.auto]), ("simulcast", true, [.auto]), ("simulcast-spread", true, [.low, .medium, .high]),
        ] {
            Benchmark("forward 1 s of video to \(viewers) viewers: \(name)") { (benchmark: Benchmark, state: Nodes) in
                let packets = second(simulcast: simulcast)
                for _ in benchmark.scaledIterations { feed(state.publisher, packets) }
            } setup: {
                let (publisher, viewers) = setUp(viewers: viewers, simulcast: simulcast, qualities: qualities)
                return Nodes(publisher: publisher, viewers: viewers)
            }
        }
    }
}
