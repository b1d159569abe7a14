// Receive-side loss detection and NACK scheduling.
//
// RFC 4585 §3.5 (timing of feedback) and §6.2.1 (Generic NACK),
// https://www.rfc-editor.org/rfc/rfc4585#section-6.2.1
// RFC 4588 (the retransmissions that answer it),
// https://www.rfc-editor.org/rfc/rfc4588#section-3
//
// A gap in the sequence numbers marks every number in it missing. Each
// missing number is requested as soon as it is eligible (after an optional
// reordering delay), then again every RTT (the time a retransmission needs to
// come back) until it arrives, is asked for `maxRetries` times, or gets older
// than `maxAge`: past that the frame it belongs to is useless, and a
// keyframe request is the better fix. The list is bounded by `maxListSize`;
// overflowing it, or a gap larger than it, asks the caller for a keyframe.
//
// The generator is pure: time comes in as a `Duration` since any fixed
// epoch, so tests drive it with a fake clock and nothing sleeps.

public struct NACKGenerator: Sendable {
    public struct Configuration: Sendable, Equatable {
        /// Times a sequence number is requested before giving up.
        public var maxRetries: Int
        /// Time after detection past which a missing packet is dropped.
        public var maxAge: Duration
        /// Most missing packets tracked at once.
        public var maxListSize: Int
        /// Missing packets this many sequence numbers behind the newest are dropped.
        public var maxSequenceAge: Int64
        /// Wait before the first request, to let reordered packets arrive.
        public var initialDelay: Duration
        /// Floor of the retry interval, for when the RTT estimate is tiny.
        public var minRetryInterval: Duration

        public init(
            maxRetries: Int = 10, maxAge: Duration = .seconds(1), maxListSize: Int = 1000,
            maxSequenceAge: Int64 = 10_000, initialDelay: Duration = .zero,
            minRetryInterval: Duration = .milliseconds(5)
        ) {
            self.maxRetries = maxRetries
            self.maxAge = maxAge
            self.maxListSize = maxListSize
            self.maxSequenceAge = maxSequenceAge
            self.initialDelay = initialDelay
            self.minRetryInterval = minRetryInterval
        }
    }

    struct Entry: Sendable {
        var sequence: Int64
        var detectedAt: Duration
        var lastSentAt: Duration?
        var retries: Int
    }

    public var configuration: Configuration
    /// Current round-trip estimate: the retry interval. Update it from RTCP
    /// (LSR/DLSR) as it changes.
    public var rtt: Duration
    private var unwrapper = SequenceUnwrapper()
    /// Missing packets in ascending extended sequence order.
    private var missing: [Entry] = []
    private var keyframeNeeded = false

    public init(configuration: Configuration = Configuration(), rtt: Duration = .milliseconds(100)) {
        self.configuration = configuration
        self.rtt = rtt
    }

    /// Sequence numbers currently considered missing, oldest first.
    public var missingSequenceNumbers: [UInt16] {
        missing.map { UInt16(truncatingIfNeeded: $0.sequence) }
    }

    /// True once since the last call if losses were too many to repair with
    /// NACKs; the caller should send a PLI.
    public mutating func takeKeyframeRequest() -> Bool {
        defer { keyframeNeeded = false }
        return keyframeNeeded
    }

    /// Feeds a received (or recovered by retransmission) sequence number.
    /// Returns false for a packet that is neither newer than any seen nor
    /// missing: a second copy (a sender's redundant retransmission used as a
    /// bandwidth probe, a duplicate on the network), or one given up on.
    @discardableResult
    public mutating func received(_ sequenceNumber: UInt16, now: Duration) -> Bool {
        guard let highest = unwrapper.highest else {
            _ = unwrapper.unwrap(sequenceNumber)
            return true
        }
        let value = unwrapper.unwrap(sequenceNumber)
        if value <= highest {
            // Late arrival or retransmission: no longer missing.
            if let index = position(of: value), missing[index].sequence == value {
                missing.remove(at: index)
                return true
            }
            return false
        }
        let gap = value - highest - 1
        if gap > Int64(configuration.maxListSize) {
            missing.removeAll(keepingCapacity: true)
            keyframeNeeded = true
        } else if gap > 0 {
            for sequence in (highest + 1)..<value {
                missing.append(Entry(sequence: sequence, detectedAt: now, lastSentAt: nil, retries: 0))
            }
        }
        // Bound the list by sequence age and by size, dropping the oldest.
        let oldestKept = value - configuration.maxSequenceAge
        var drop = missing.prefix { $0.sequence < oldestKept }.count
        drop = min(max(drop, missing.count - max(configuration.maxListSize, 0)), missing.count)
        if drop > 0 {
            missing.removeFirst(drop)
            keyframeNeeded = true
        }
        return true
    }

    /// Sequence numbers to put in a NACK now, oldest first; each returned
    /// number counts as one request.
    public mutating func poll(now: Duration) -> [UInt16] {
        let interval = max(rtt, configuration.minRetryInterval)
        let before = missing.count
        missing.removeAll { entry in
            entry.retries >= configuration.maxRetries || now - entry.detectedAt > configuration.maxAge
        }
        // Giving up on a packet leaves a hole in some frame: ask for a keyframe.
        if missing.count < before { keyframeNeeded = true }
        var result: [UInt16] = []
        for index in missing.indices {
            let due: Bool
            if let sent = missing[index].lastSentAt {
                due = now - sent >= interval
            } else {
                due = now - missing[index].detectedAt >= configuration.initialDelay
            }
            guard due else { continue }
            missing[index].lastSentAt = now
            missing[index].retries += 1
            result.append(UInt16(truncatingIfNeeded: missing[index].sequence))
        }
        return result
    }

    /// Index of the first entry with `sequence >= value` (binary search).
    private func position(of value: Int64) -> Int? {
        var low = 0
        var high = missing.count
        while low < high {
            let mid = (low + high) / 2
            if missing[mid].sequence < value { low = mid + 1 } else { high = mid }
        }
        return low < missing.count ? low : nil
    }

    /// Forgets everything (e.g. after a keyframe made old losses irrelevant).
    public mutating func reset() {
        missing.removeAll(keepingCapacity: true)
        unwrapper.reset()
        keyframeNeeded = false
    }
}
