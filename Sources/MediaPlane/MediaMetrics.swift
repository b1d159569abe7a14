public import CoreMetrics
package import Transport

/// Packet counters of the media plane for /metrics:
/// `tessera_rtp_packets_total{direction, kind}` and
/// `tessera_rtp_bytes_total{direction, kind}`, for RTP that SDP endpoints
/// (WebRtcEndpoint, RtpEndpoint) received from and sent to their peers. Sessions
/// add what they counted once a second and when they close, never per packet.
/// Datagrams the shared ports drop are counted one by one (they are rare, and
/// a flood of them is what the counter is for).
public final class MediaMetrics: Sendable {
    private let packets: [[Counter]]  // [direction][kind]: in = 0, out = 1; audio = 0, video = 1
    private let bytes: [[Counter]]
    /// `tessera_udp_dropped_total{reason}`: what the shared ports dropped (ICE-lite mode).
    private let dropped: [UDPDropReason: Counter]

    public init(factory: any MetricsFactory = MetricsSystem.factory) {
        func counters(_ label: String) -> [[Counter]] {
            ["in", "out"].map { direction in
                ["audio", "video"].map { kind in
                    Counter(label: label, dimensions: [("direction", direction), ("kind", kind)], factory: factory)
                }
            }
        }
        packets = counters("tessera_rtp_packets_total")
        bytes = counters("tessera_rtp_bytes_total")
        var d: [UDPDropReason: Counter] = [:]
        for reason in UDPDropReason.allCases {
            d[reason] = Counter(label: "tessera_udp_dropped_total", dimensions: [("reason", reason.rawValue)], factory: factory)
        }
        dropped = d
    }

    package func udpDropped(_ reason: UDPDropReason) { dropped[reason]?.increment() }

    package func add(inbound: Bool, kind: Int, packets n: UInt64, bytes b: UInt64) {
        let d = inbound ? 0 : 1
        if n > 0 { packets[d][kind].increment(by: Int64(clamping: n)) }
        if b > 0 { bytes[d][kind].increment(by: Int64(clamping: b)) }
    }
}
