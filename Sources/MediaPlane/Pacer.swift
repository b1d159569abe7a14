/// Spreads a viewer's video over time instead of sending each frame as one
/// burst: packets leave at `factor` times the viewer's estimated bandwidth
/// (as browsers pace theirs), from a budget that refills with time and holds
/// at most `burst` worth. A keyframe of a 720p layer (tens of packets) then
/// crosses a slow link's queue spread out, and the delay-based detector sees
/// the link and not our bursts. What cannot leave at once waits here,
/// unprotected (it gets its transport-wide number and its SRTP protection as
/// it leaves), in order; audio is never held.
///
/// Only for viewers that give transport-wide feedback (the send-side estimate
/// exists): others are sent to as before.
package struct Pacer: Sendable {
    /// Pacing rate over the estimate.
    package static let factor = 2.5
    /// How often the queue is drained while it holds anything.
    package static let interval: Duration = .milliseconds(5)
    /// The most the budget holds: this much time at the pacing rate.
    package static let burst: Duration = .milliseconds(20)
    /// A packet that waited this long means the estimate is far too low for
    /// what the viewer is given: everything waiting leaves at once.
    package static let maxWait: Duration = .milliseconds(300)
    /// No pacing below this rate (bit/s): the budget would hold less than a packet.
    package static let minimumRate = 100_000.0

    package struct Waiting: Sendable {
        package var bytes: [UInt8]
        /// Where its transport-wide sequence number goes.
        package var transportOffset: Int?
        package var queuedAt: Duration
    }

    private var queue: [Waiting] = []
    private var head = 0
    /// Bytes that may leave now (negative after a packet larger than what was left).
    private var budget = 0.0
    private var refilled: Duration?
    /// Bits per second; 0 when not pacing.
    package private(set) var rate = 0.0
    /// Packets that waited, and the longest wait (for getStats).
    package private(set) var packetsDelayed: UInt64 = 0
    package private(set) var longestWait: Duration = .zero

    package init() {}

    package var isEmpty: Bool { head == queue.count }
    package var count: Int { queue.count - head }

    /// What we sent the viewer over about the last second, from the session's
    /// ticks: (time, video bytes sent so far), oldest first.
    private var samples: [(Duration, UInt64)] = []
    /// Video bits per second sent over the last second (before pacing).
    package private(set) var sendRate = 0.0

    /// Sets the pacing rate: `factor` times the viewer's estimate, or times
    /// what we send it when that is more. Pacing smooths bursts (a keyframe);
    /// it does not limit the rate: a forwarded stream that the estimate says
    /// is too much is a layer choice's business, not the pacer's. Nil estimate: no pacing.
    package mutating func update(estimate: UInt64?, videoBytesSent: UInt64, at t: Duration) {
        samples.append((t, videoBytesSent))
        while samples.count > 2, t - samples[1].0 >= .seconds(1) { samples.removeFirst() }
        if let first = samples.first, t - first.0 >= .milliseconds(200) {
            sendRate = Double((videoBytesSent &- first.1) * 8) / ((t - first.0) / .seconds(1))
        }
        rate = estimate.map { max(Self.minimumRate, max(Double($0), sendRate) * Self.factor) } ?? 0
    }

    private mutating func refill(at t: Duration) {
        let cap = rate / 8 * (Self.burst / .seconds(1))
        if let last = refilled {
            budget = min(cap, budget + rate / 8 * ((t - last) / .seconds(1)))
        } else {
            budget = cap
        }
        refilled = t
    }

    /// Whether a packet of `size` bytes may leave now; when it may, its size is spent.
    package mutating func admit(size: Int, at t: Duration) -> Bool {
        guard rate > 0 else { return true }
        refill(at: t)
        guard isEmpty, budget > 0 else { return false }
        budget -= Double(size)
        return true
    }

    /// Keeps a packet that may not leave yet.
    package mutating func enqueue(_ bytes: [UInt8], transportOffset: Int?, at t: Duration) {
        queue.append(Waiting(bytes: bytes, transportOffset: transportOffset, queuedAt: t))
        packetsDelayed &+= 1
    }

    /// The packets that may leave now, oldest first: as the budget allows, or
    /// all of them once the oldest has waited `maxWait`.
    package mutating func due(at t: Duration) -> [Waiting] {
        refill(at: t)
        var out: [Waiting] = []
        let flush = !isEmpty && t - queue[head].queuedAt >= Self.maxWait
        while head < queue.count, flush || budget > 0 {
            budget -= Double(queue[head].bytes.count)
            longestWait = max(longestWait, t - queue[head].queuedAt)
            out.append(queue[head])
            head += 1
        }
        if head == queue.count {
            queue.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 256 {
            queue.removeFirst(head)
            head = 0
        }
        return out
    }

    /// Drops everything waiting (the session closes).
    package mutating func clear() {
        queue.removeAll()
        head = 0
    }
}
