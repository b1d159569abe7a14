package import RTP

/// Send-side, delay-based congestion detection from transport-wide feedback
/// (draft-holmer-rmcat-transport-wide-cc-extensions-01): every RTP packet we
/// send a viewer carries a transport-wide sequence number, the viewer reports
/// when each one arrived, and the growth of the one-way queuing delay tells
/// that our rate is above what its path carries, before anything is lost.
///
/// The detector is the delay-based half of Google's congestion control
/// (draft-ietf-rmcat-gcc-02 §5) with the trendline filter browsers use in
/// place of the draft's Kalman filter: packets sent within 5 ms form a group;
/// for consecutive groups the delay variation (arrival spacing minus send
/// spacing) is accumulated and smoothed, and the slope of that curve over the
/// last 20 groups, scaled, is compared with an adaptive threshold. Above it
/// for more than 10 ms is overuse, below its negative underuse. What to do
/// about it (lower the estimate to what was acknowledged, hold, grow) is
/// `ViewerBandwidth`'s.
package struct SendSideEstimator: Sendable {
    /// The detector's reading after the latest feedback.
    package enum Usage: Sendable, Equatable {
        case normal, overusing, underusing
    }

    /// What one feedback message said.
    package struct Reading: Sendable, Equatable {
        package var usage: Usage
        /// Bits per second the viewer received over the last half second of arrivals (nil until known).
        package var ackedBitrate: UInt64?
        /// Packets the feedback reported lost and received (of those we know we sent).
        package var lost: Int
        package var received: Int
    }

    // MARK: Send history

    private struct Sent {
        var sequence: UInt16 = 0
        var sendMicros: Int64 = 0
        var size: Int32 = 0
        var valid = false
    }

    /// Enough for about 4 s of 1,000 packets a second; older feedback is ignored.
    private static let historySize = 4096
    private var history = [Sent](repeating: Sent(), count: SendSideEstimator.historySize)
    /// The transport-wide sequence number the next packet gets.
    package private(set) var nextSequence: UInt16 = 1
    /// Feedback messages taken, and overuse episodes detected (for getStats).
    package private(set) var feedbackReceived: UInt64 = 0
    package private(set) var overuses: UInt64 = 0

    package init() {}

    /// Numbers a packet of `size` bytes sent at `micros` (our clock): the value to put in its extension.
    package mutating func sent(size: Int, atMicros micros: Int64) -> UInt16 {
        let sequence = nextSequence
        nextSequence &+= 1
        history[Int(sequence) & (Self.historySize - 1)] = Sent(sequence: sequence, sendMicros: micros, size: Int32(size), valid: true)
        return sequence
    }

    // MARK: Feedback

    /// Takes one transport-wide feedback message (arrival times on the viewer's clock).
    package mutating func feedback(_ message: TransportCCFeedback, atMicros now: Int64) -> Reading {
        feedbackReceived &+= 1
        var lost = 0, received = 0
        for (sequence, arrival) in message.arrivalTimes() {
            let slot = history[Int(sequence) & (Self.historySize - 1)]
            guard slot.valid, slot.sequence == sequence else { continue }  // not ours, or too old
            guard let arrival else {
                lost += 1
                continue
            }
            received += 1
            acknowledge(arrivalMicros: arrival, size: Int(slot.size))
            packet(sendMicros: slot.sendMicros, arrivalMicros: arrival, now: now)
        }
        return Reading(usage: usage, ackedBitrate: ackedBitrate, lost: lost, received: received)
    }

    // MARK: Acknowledged bitrate

    /// Arrivals of the last `ackWindow`, as (arrival µs, bytes).
    private var arrivals: [(Int64, Int)] = []
    private var arrivalsHead = 0
    private var arrivalBytes = 0
    private static let ackWindowMicros: Int64 = 500_000

    private mutating func acknowledge(arrivalMicros: Int64, size: Int) {
        arrivals.append((arrivalMicros, size))
        arrivalBytes += size
        while arrivalsHead < arrivals.count, arrivalMicros - arrivals[arrivalsHead].0 > Self.ackWindowMicros {
            arrivalBytes -= arrivals[arrivalsHead].1
            arrivalsHead += 1
        }
        if arrivalsHead > 1024 {
            arrivals.removeFirst(arrivalsHead)
            arrivalsHead = 0
        }
    }

    /// What arrived over the last half second of arrivals, once that much is covered.
    package var ackedBitrate: UInt64? {
        guard arrivals.count - arrivalsHead >= 2 else { return nil }
        let span = arrivals[arrivals.count - 1].0 - arrivals[arrivalsHead].0
        guard span >= Self.ackWindowMicros / 2 else { return nil }
        return UInt64(Double(arrivalBytes * 8) / (Double(span) / 1_000_000))
    }

    // MARK: Packet groups

    private struct Group {
        var firstSend: Int64
        var lastSend: Int64
        var lastArrival: Int64
    }
    private var current: Group?
    private var previous: Group?
    /// Packets sent within this of a group's first one belong to it (a frame's burst).
    private static let groupMicros: Int64 = 5_000

    private mutating func packet(sendMicros: Int64, arrivalMicros: Int64, now: Int64) {
        guard var group = current else {
            current = Group(firstSend: sendMicros, lastSend: sendMicros, lastArrival: arrivalMicros)
            return
        }
        if sendMicros < group.firstSend { return }  // reordered from an earlier group: no information
        if sendMicros - group.firstSend <= Self.groupMicros {
            group.lastSend = max(group.lastSend, sendMicros)
            group.lastArrival = max(group.lastArrival, arrivalMicros)
            current = group
            return
        }
        // `group` is complete: compare it with the one before.
        if let before = previous {
            let sendDelta = Double(group.lastSend - before.lastSend) / 1000
            let arrivalDelta = Double(group.lastArrival - before.lastArrival) / 1000
            trend(delayDelta: arrivalDelta - sendDelta, sendDelta: sendDelta, arrivalMillis: Double(group.lastArrival) / 1000, now: now)
        }
        previous = group
        current = Group(firstSend: sendMicros, lastSend: sendMicros, lastArrival: arrivalMicros)
    }

    // MARK: Trendline filter and overuse detector

    private static let window = 20
    private static let smoothing = 0.9
    private static let gain = 4.0
    private var accumulatedDelay = 0.0
    private var smoothedDelay = 0.0
    private var points: [(x: Double, y: Double)] = []
    private var firstArrival: Double?
    private var deltas = 0

    /// The adaptive threshold (ms), and how it moves (draft-ietf-rmcat-gcc-02 §5.4).
    private var threshold = 12.5
    private static let kUp = 0.0087, kDown = 0.039
    private var lastThresholdUpdate: Int64?
    private var overusingFor = -1.0
    private var overuseCount = 0
    private var previousTrend = 0.0
    package private(set) var usage: Usage = .normal
    /// The latest scaled trend, for tests and diagnostics.
    package private(set) var modifiedTrend = 0.0

    private mutating func trend(delayDelta: Double, sendDelta: Double, arrivalMillis: Double, now: Int64) {
        deltas = min(deltas + 1, 60)
        accumulatedDelay += delayDelta
        smoothedDelay = Self.smoothing * smoothedDelay + (1 - Self.smoothing) * accumulatedDelay
        let start = firstArrival ?? arrivalMillis
        firstArrival = start
        points.append((arrivalMillis - start, smoothedDelay))
        if points.count > Self.window { points.removeFirst() }
        guard points.count == Self.window, let slope = Self.slope(points) else { return }
        let trend = Double(deltas) * slope * Self.gain
        modifiedTrend = trend
        detect(trend: trend, sendDelta: sendDelta, now: now)
    }

    /// The least-squares slope of `points`; nil when they share one x.
    static func slope(_ points: [(x: Double, y: Double)]) -> Double? {
        let n = Double(points.count)
        let meanX = points.reduce(0) { $0 + $1.x } / n, meanY = points.reduce(0) { $0 + $1.y } / n
        var num = 0.0, den = 0.0
        for p in points {
            num += (p.x - meanX) * (p.y - meanY)
            den += (p.x - meanX) * (p.x - meanX)
        }
        return den == 0 ? nil : num / den
    }

    private mutating func detect(trend: Double, sendDelta: Double, now: Int64) {
        if trend > threshold {
            overusingFor = overusingFor < 0 ? sendDelta / 2 : overusingFor + sendDelta
            overuseCount += 1
            if overusingFor > 10, overuseCount > 1, trend >= previousTrend {
                if usage != .overusing { overuses &+= 1 }
                usage = .overusing
                overusingFor = 0
                overuseCount = 0
            }
        } else if trend < -threshold {
            overusingFor = -1
            overuseCount = 0
            usage = .underusing
        } else {
            overusingFor = -1
            overuseCount = 0
            usage = .normal
        }
        previousTrend = trend
        // The threshold follows the trend slowly upwards, faster downwards, and
        // ignores spikes far above it (a sudden route change, not a queue).
        let magnitude = abs(trend)
        defer { lastThresholdUpdate = now }
        guard let last = lastThresholdUpdate, magnitude <= threshold + 15 else { return }
        let dt = min(Double(now - last) / 1000, 100)
        let k = magnitude < threshold ? Self.kDown : Self.kUp
        threshold = min(600, max(6, threshold + k * (magnitude - threshold) * dt))
    }
}
