// Per-stream reception statistics for RTCP receiver reports.
//
// RFC 3550 Appendix A.1 (sequence number validity), A.3 (expected and lost
// packets) and A.8 (interarrival jitter):
// https://www.rfc-editor.org/rfc/rfc3550#appendix-A.1
// https://www.rfc-editor.org/rfc/rfc3550#appendix-A.3
// https://www.rfc-editor.org/rfc/rfc3550#appendix-A.8
//
// The bookkeeping follows the appendix code closely so its numbers can be
// checked against any other RFC 3550 implementation:
//
//   expected       = extended_max - base_seq + 1
//   lost           = expected - received            (duplicates make it < 0)
//   fraction       = (lost_interval << 8) / expected_interval, 0 if <= 0
//   J(i)           = J(i-1) + (|D(i-1,i)| - J(i-1)) / 16
//   D(i-1,i)       = (R_i - S_i) - (R_{i-1} - S_{i-1})
//
// The probation step of A.1 is left out: in WebRTC the SSRC is signalled or
// bound by MID/RID before media flows, so there is nothing to filter. The
// "large jump" rule is kept: a jump of MAX_DROPOUT or more is believed only
// when the next packet follows it, so one corrupt sequence number cannot
// inflate `expected` by thousands.
//
// Arrival times are given in RTP clock units (the caller converts from its
// monotonic clock with the stream's clock rate), as A.8 requires.

public struct ReceiveStatistics: Sendable, Equatable {
    public let ssrc: UInt32

    /// RFC 3550 A.1 constants.
    public static let maxDropout: UInt16 = 3000
    public static let maxMisorder: UInt16 = 100

    private var started = false
    private var baseSequence: Int64 = 0
    private var maxSequence: UInt16 = 0
    private var cycles: Int64 = 0
    private var badSequence: UInt32 = 0x1_0001  // outside 0...65535: no pending jump
    public private(set) var packetsReceived: Int64 = 0
    private var expectedPrior: Int64 = 0
    private var receivedPrior: Int64 = 0
    private var transit: UInt32 = 0
    /// Jitter scaled by 16, the integer form of A.8.
    private var scaledJitter: UInt32 = 0
    private var lastSRMiddle: UInt32 = 0
    private var lastSRArrival: Duration?

    public init(ssrc: UInt32) {
        self.ssrc = ssrc
    }

    // MARK: Feeding

    /// Accounts one received packet. Returns false when the packet was
    /// ignored as an unconfirmed large jump (the caller may still use it).
    @discardableResult
    public mutating func received(sequenceNumber: UInt16, rtpTimestamp: UInt32, arrival: UInt32) -> Bool {
        let seq = sequenceNumber
        if !started {
            started = true
            restart(at: seq)
            packetsReceived = 1
            transit = arrival &- rtpTimestamp
            return true
        }
        let delta = seq &- maxSequence
        if delta < Self.maxDropout {
            // In order, possibly with a gap: a smaller value means a wrap.
            if seq < maxSequence { cycles += 0x1_0000 }
            maxSequence = seq
        } else if Int(delta) <= 0x1_0000 - Int(Self.maxMisorder) {
            // A big jump: only believe it when the next packet confirms it
            // (the sender restarted its sequence), as A.1 does.
            if UInt32(seq) == badSequence {
                restart(at: seq)
            } else {
                badSequence = UInt32(seq &+ 1)
                return false
            }
        }
        // Else: duplicate or reordered within MAX_MISORDER; counted as received.
        packetsReceived += 1
        updateJitter(rtpTimestamp: rtpTimestamp, arrival: arrival)
        return true
    }

    /// Same, with the arrival time from a monotonic clock and the stream's
    /// clock rate (90000 for video, 48000 for Opus).
    @discardableResult
    public mutating func received(
        sequenceNumber: UInt16, rtpTimestamp: UInt32, arrival: Duration, clockRate: Int
    ) -> Bool {
        received(
            sequenceNumber: sequenceNumber, rtpTimestamp: rtpTimestamp,
            arrival: Self.clockUnits(arrival, clockRate: clockRate))
    }

    /// A duration in RTP clock units, truncated to 32 bits (only differences
    /// matter, and those are taken modulo 2^32).
    public static func clockUnits(_ time: Duration, clockRate: Int) -> UInt32 {
        let (seconds, attoseconds) = time.components
        let rate = Int64(clockRate)
        let whole = seconds &* rate
        // attoseconds < 1e18 and rate < 2^32 would overflow Int64; split it.
        let fraction = (attoseconds / 1_000_000_000) &* rate / 1_000_000_000
        return UInt32(truncatingIfNeeded: whole &+ fraction)
    }

    private mutating func restart(at seq: UInt16) {
        baseSequence = Int64(seq)
        maxSequence = seq
        badSequence = 0x1_0001
        cycles = 0
        packetsReceived = 0
        receivedPrior = 0
        expectedPrior = 0
    }

    private mutating func updateJitter(rtpTimestamp: UInt32, arrival: UInt32) {
        let newTransit = arrival &- rtpTimestamp
        // Transit times wrap with the clocks; their difference is small.
        let difference = Int32(bitPattern: newTransit &- transit).magnitude
        transit = newTransit
        // J += |D| - J/16, rounding J/16 to nearest (RFC 3550 A.8).
        scaledJitter = scaledJitter &+ difference &- ((scaledJitter &+ 8) &>> 4)
    }

    /// Records an SR from this stream's sender so the next report block can
    /// carry LSR and DLSR (RFC 3550 §6.4.1), which give the sender its RTT.
    public mutating func receivedSenderReport(ntpTimestamp: UInt64, at now: Duration) {
        lastSRMiddle = NTPTime.middle32(ntpTimestamp)
        lastSRArrival = now
    }

    // MARK: Reading

    /// Cycle count in the high 16 bits, highest sequence number in the low 16.
    public var extendedHighestSequence: UInt32 {
        UInt32(truncatingIfNeeded: cycles + Int64(maxSequence))
    }

    /// Packets expected since the first one (A.3).
    public var expected: Int64 {
        started ? cycles + Int64(maxSequence) - baseSequence + 1 : 0
    }

    /// Packets lost since the first one; negative when duplicates arrived.
    public var cumulativeLost: Int64 { expected - packetsReceived }

    /// Interarrival jitter in RTP timestamp units.
    public var jitter: UInt32 { scaledJitter >> 4 }

    /// Fraction lost (1/256 units) since the last `makeReportBlock`.
    public var fractionLostSinceLastReport: UInt8 {
        let expectedInterval = expected - expectedPrior
        let receivedInterval = packetsReceived - receivedPrior
        let lostInterval = expectedInterval - receivedInterval
        if expectedInterval == 0 || lostInterval <= 0 { return 0 }
        return UInt8(clamping: (lostInterval << 8) / expectedInterval)
    }

    /// Builds the report block for this stream and starts a new interval for
    /// the fraction lost. `now` (same clock as `receivedSenderReport`) gives
    /// the DLSR; without an SR both LSR and DLSR are 0.
    public mutating func makeReportBlock(now: Duration) -> ReportBlock {
        let fraction = fractionLostSinceLastReport
        expectedPrior = expected
        receivedPrior = packetsReceived
        let range = ReportBlock.cumulativeLostRange
        let lost = Int32(clamping: min(max(cumulativeLost, Int64(range.lowerBound)), Int64(range.upperBound)))
        var delay: UInt32 = 0
        if let arrival = lastSRArrival { delay = NTPTime.compactUnits(now - arrival) }
        return ReportBlock(
            ssrc: ssrc, fractionLost: fraction, cumulativeLost: lost,
            highestSequence: extendedHighestSequence, jitter: jitter,
            lastSR: lastSRArrival == nil ? 0 : lastSRMiddle, delaySinceLastSR: delay)
    }
}
