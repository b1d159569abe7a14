public import CoreMetrics
import Synchronization
package import Transport

/// Packet counters of the media plane for /metrics:
/// `tessera_rtp_packets_total{direction, kind}` and
/// `tessera_rtp_bytes_total{direction, kind}`, for RTP that SDP endpoints
/// (WebRtcEndpoint, RtpEndpoint) received from and sent to their peers. Sessions
/// add what they counted once a second and when they close, never per packet.
/// Datagrams the shared ports drop are counted one by one (they are rare, and
/// a flood of them is what the counter is for).
/// Why a WebRTC session failed (`tessera_session_failures_total{reason}`).
package enum SessionFailure: String, CaseIterable, Sendable {
    case ice, dtls, consentExpired
}

public final class MediaMetrics: Sendable {
    private let packets: [[Counter]]  // [direction][kind]: in = 0, out = 1; audio = 0, video = 1
    private let bytes: [[Counter]]
    /// `tessera_udp_dropped_total{reason}`: what the shared ports dropped (ICE-lite mode).
    private let dropped: [UDPDropReason: Counter]
    /// `tessera_rtcp_feedback_total{type, direction}`: NACK, PLI and FIR messages, sent and received.
    private let feedback: [String: Counter]
    /// `tessera_rtp_retransmissions_total{form}`: packets resent for NACKs (`rtx` or `plain`).
    private let retransmissions: [Counter]
    /// Once a second per live stream: interarrival jitter (`tessera_rtp_jitter_seconds{kind}`),
    /// fraction lost (`tessera_rtp_fraction_lost{direction}`: what we lost receiving, what the peer
    /// reports losing of ours) and round-trip time from RTCP (`tessera_rtt_seconds`).
    private let jitter: [Recorder]
    private let fractionLost: [Recorder]
    private let roundTrip: Recorder
    /// `tessera_mixer_tick_seconds{kind}`, `tessera_mixer_encode_seconds{kind}`,
    /// `tessera_mixer_late_ticks_total{kind}`: the mixers' work per tick and ticks that started late.
    private let tickTime: [Timer]
    private let encodeTime: [Timer]
    private let lateTicks: [Counter]
    /// `tessera_session_failures_total{reason}`: ICE, DTLS and consent failures of WebRTC sessions.
    private let failures: [SessionFailure: Counter]
    /// `tessera_recordings`: files being written now; `tessera_recording_bytes_total`: bytes of
    /// finished files; `tessera_recording_failures_total`: recordings that failed or did not finish cleanly.
    private let recordingsRunning: Gauge
    private let running = Atomic<Int>(0)
    private let recordingBytes: Counter
    private let recordingFailures: Counter
    private let dataDropped: Counter

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
        var f: [String: Counter] = [:]
        for type in ["nack", "pli", "fir"] {
            for direction in ["in", "out"] {
                f["\(type)/\(direction)"] = Counter(label: "tessera_rtcp_feedback_total", dimensions: [("type", type), ("direction", direction)], factory: factory)
            }
        }
        feedback = f
        retransmissions = ["plain", "rtx"].map { Counter(label: "tessera_rtp_retransmissions_total", dimensions: [("form", $0)], factory: factory) }
        jitter = ["audio", "video"].map { Recorder(label: "tessera_rtp_jitter_seconds", dimensions: [("kind", $0)], aggregate: true, factory: factory) }
        fractionLost = ["in", "out"].map { Recorder(label: "tessera_rtp_fraction_lost", dimensions: [("direction", $0)], aggregate: true, factory: factory) }
        roundTrip = Recorder(label: "tessera_rtt_seconds", dimensions: [], aggregate: true, factory: factory)
        tickTime = ["audio", "video"].map { Timer(label: "tessera_mixer_tick_seconds", dimensions: [("kind", $0)], factory: factory) }
        encodeTime = ["audio", "video"].map { Timer(label: "tessera_mixer_encode_seconds", dimensions: [("kind", $0)], factory: factory) }
        lateTicks = ["audio", "video"].map { Counter(label: "tessera_mixer_late_ticks_total", dimensions: [("kind", $0)], factory: factory) }
        var fails: [SessionFailure: Counter] = [:]
        for reason in SessionFailure.allCases {
            fails[reason] = Counter(label: "tessera_session_failures_total", dimensions: [("reason", reason.rawValue)], factory: factory)
        }
        failures = fails
        recordingsRunning = Gauge(label: "tessera_recordings", dimensions: [], factory: factory)
        recordingBytes = Counter(label: "tessera_recording_bytes_total", dimensions: [], factory: factory)
        recordingFailures = Counter(label: "tessera_recording_failures_total", dimensions: [], factory: factory)
        dataDropped = Counter(label: "tessera_datachannel_messages_dropped_total", dimensions: [], factory: factory)
    }

    /// A data channel message passed to an endpoint that had no open channel to send it on.
    package func dataMessageDropped() { dataDropped.increment() }

    package func recordingStarted() {
        recordingsRunning.record(running.add(1, ordering: .relaxed).newValue)
    }

    /// A recording's file is complete (or abandoned): `bytes` its size on disk.
    package func recordingEnded(bytes: Int64, failed: Bool) {
        recordingsRunning.record(running.subtract(1, ordering: .relaxed).newValue)
        if bytes > 0 { recordingBytes.increment(by: bytes) }
        if failed { recordingFailures.increment() }
    }

    package func recordingFailed() { recordingFailures.increment() }

    /// Feedback counted since the last call: `type` nack, pli or fir.
    package func feedback(_ type: String, inbound: Bool, count: UInt64) {
        guard count > 0 else { return }
        feedback["\(type)/\(inbound ? "in" : "out")"]?.increment(by: Int64(clamping: count))
    }

    package func retransmitted(plain: UInt64, rtx: UInt64) {
        if plain > 0 { retransmissions[0].increment(by: Int64(clamping: plain)) }
        if rtx > 0 { retransmissions[1].increment(by: Int64(clamping: rtx)) }
    }

    /// One second's look at a live session's streams.
    package func observe(jitter seconds: Double, kind: Int) { jitter[kind].record(seconds) }
    package func observe(fractionLost f: Double, inbound: Bool) { fractionLost[inbound ? 0 : 1].record(f) }
    package func observe(roundTrip seconds: Double) { roundTrip.record(seconds) }

    /// One mixer tick of `kind` (0 audio, 1 video): its whole work, the encode part, and whether it started late.
    package func mixerTick(kind: Int, took: Duration, encoding: Duration, late: Bool) {
        tickTime[kind].record(took)
        encodeTime[kind].record(encoding)
        if late { lateTicks[kind].increment() }
    }

    package func sessionFailed(_ reason: SessionFailure) { failures[reason]?.increment() }

    package func udpDropped(_ reason: UDPDropReason) { dropped[reason]?.increment() }

    package func add(inbound: Bool, kind: Int, packets n: UInt64, bytes b: UInt64) {
        let d = inbound ? 0 : 1
        if n > 0 { packets[d][kind].increment(by: Int64(clamping: n)) }
        if b > 0 { bytes[d][kind].increment(by: Int64(clamping: b)) }
    }
}

extension Timer {
    /// Records a Swift `Duration` (swift-metrics takes whole nanoseconds).
    package func record(_ duration: Duration) {
        let c = duration.components
        recordNanoseconds(c.seconds * 1_000_000_000 + c.attoseconds / 1_000_000_000)
    }
}
